"""The search space C: a box of distortion levels, its scaling to [0, 1]^d and its test sets.

Levels are stored in natural units (degrees, fractions); the GP and the distortion-classifiers
work on the unit cube, so conversions live here and nowhere else. The test set R' is the full
factorial grid while it is small (the paper's 4^6 = 4,096 levels) and a scrambled Sobol set of
``grid.size`` levels beyond (4^10 would be 1,048,576): :func:`test_levels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ConfigError

#: ``grid.kind``: auto = the grid while ``points_per_dim ** d <= grid.size``, else Sobol.
TEST_SET_KINDS = ("auto", "grid", "sobol")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``C = prod_i [lower_i, upper_i]`` with named dimensions."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray

    def __init__(self, names: Sequence[str], lower: Sequence[float], upper: Sequence[float]):
        names = tuple(str(n) for n in names)
        lower_arr = np.asarray(lower, dtype=float).reshape(-1)
        upper_arr = np.asarray(upper, dtype=float).reshape(-1)
        if not (len(names) == lower_arr.size == upper_arr.size) or not names:
            raise ConfigError("box", (names, lower, upper), "needs one lower and one upper bound per name")
        if len(set(names)) != len(names):
            raise ConfigError("box.names", names, "must be distinct")
        for name, lo, hi in zip(names, lower_arr, upper_arr):
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise ConfigError(f"{name}.domain", [lo, hi], "must be finite")
            if lo > hi:
                raise ConfigError(f"{name}.domain", [float(lo), float(hi)], "must have lower <= upper")
        lower_arr.setflags(write=False)
        upper_arr.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "lower", lower_arr)
        object.__setattr__(self, "upper", upper_arr)

    @property
    def d(self) -> int:
        return len(self.names)

    @property
    def width(self) -> np.ndarray:
        # A degenerate dimension (lower == upper) maps to 0 in the unit cube instead of dividing by 0.
        w = self.upper - self.lower
        return np.where(w > 0, w, 1.0)

    def to_unit(self, levels: np.ndarray) -> np.ndarray:
        """Natural units -> [0, 1]^d."""
        levels = self._as_2d(levels)
        return (levels - self.lower) / self.width

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        """[0, 1]^d -> natural units."""
        unit = self._as_2d(unit)
        return self.lower + unit * self.width

    def sample_uniform(self, n: int, rng: np.random.Generator | int | None) -> np.ndarray:
        """``n`` levels drawn uniformly in the box (natural units)."""
        if int(n) < 0:
            raise ConfigError("n", n, "must be >= 0")
        rng = np.random.default_rng(rng)
        return self.from_unit(rng.random((int(n), self.d)))

    def grid(self, points_per_dim: int) -> np.ndarray:
        """The full factorial grid, ``points_per_dim ** d`` levels, first dimension varying slowest."""
        if int(points_per_dim) != points_per_dim or points_per_dim < 2:
            raise ConfigError("points_per_dim", points_per_dim, "must be an integer >= 2")
        axes = [np.linspace(lo, hi, int(points_per_dim)) for lo, hi in zip(self.lower, self.upper)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.reshape(-1) for m in mesh], axis=1)

    def validate(self, levels: np.ndarray, atol: float = 1e-9) -> np.ndarray:
        """Return ``levels`` as a 2-D float array, or raise naming the first level outside the box."""
        levels = self._as_2d(levels)
        if not np.all(np.isfinite(levels)):
            raise ConfigError("level", levels[~np.all(np.isfinite(levels), axis=1)][0].tolist(), "must be finite")
        bad = (levels < self.lower - atol) | (levels > self.upper + atol)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ConfigError(
                f"level[{self.names[j]}]",
                float(levels[i, j]),
                f"must lie in its domain [{self.lower[j]:g}, {self.upper[j]:g}]",
            )
        return levels

    def _as_2d(self, levels: np.ndarray) -> np.ndarray:
        arr = np.asarray(levels, dtype=float)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1) if arr.size == self.d else arr.reshape(-1, self.d)
        if arr.ndim != 2 or arr.shape[1] != self.d:
            raise ConfigError("levels", arr.shape, f"must have shape (n, {self.d})")
        return arr


def check_threshold(h: float, field: str = "h") -> float:
    """The reliability threshold h must lie in [0, 1]."""
    try:
        h = float(h)
    except (TypeError, ValueError):
        raise ConfigError(field, h, "must be a number in [0, 1]") from None
    if not (0.0 <= h <= 1.0):
        raise ConfigError(field, h, "must lie in [0, 1]")
    return h


def test_set_settings(grid: Any) -> dict:
    """``grid.*`` settings (the config node, its schema, or just ``points_per_dim``) as keyword arguments."""
    if isinstance(grid, (int, np.integer)):
        return {"kind": "grid", "points_per_dim": int(grid), "size": 4096, "seed": 0}
    return {"kind": str(getattr(grid, "kind", "auto")), "points_per_dim": int(grid.points_per_dim),
            "size": int(getattr(grid, "size", 4096)), "seed": int(getattr(grid, "seed", 0))}


def test_set_kind(d: int, kind: str, points_per_dim: int, size: int) -> str:
    """``"grid"`` or ``"sobol"``: what ``kind`` (auto, grid, sobol) means for a ``d``-dimensional box."""
    if kind not in TEST_SET_KINDS:
        raise ConfigError("grid.kind", kind, f"must be one of {', '.join(TEST_SET_KINDS)}")
    if kind == "auto":
        return "grid" if int(points_per_dim) ** int(d) <= int(size) else "sobol"
    return kind


def test_set_notice(d: int, kind: str, points_per_dim: int, size: int, seed: int = 0) -> str | None:
    """The one line that says ``auto`` switched to Sobol, else None."""
    if kind != "auto" or test_set_kind(d, kind, points_per_dim, size) == "grid":
        return None
    return (f"grid: {points_per_dim}^{d} = {points_per_dim ** d:,} levels > grid.size = {size:,}: "
            f"the test set is a scrambled Sobol set of {size:,} levels (grid.kind=sobol)")


def test_set_spec(box: Box, kind: str = "auto", points_per_dim: int = 4, size: int = 4096,
                  seed: int = 0) -> dict:
    """What determines the test set's levels (part of its cache key; the grid's is what it always was)."""
    if test_set_kind(box.d, kind, points_per_dim, size) == "grid":
        return {"points_per_dim": int(points_per_dim)}
    return {"kind": "sobol", "size": int(size), "seed": int(seed)}


def test_levels(box: Box, kind: str = "auto", points_per_dim: int = 4, size: int = 4096,
                seed: int = 0) -> np.ndarray:
    """The test set R' in natural units: ``box.grid(points_per_dim)`` or ``size`` scrambled Sobol levels.

    A scrambled Sobol sequence (scipy's ``qmc.Sobol``, Owen scrambling seeded by ``seed``) fills
    the box evenly in every dimension and in every projection, which a grid of 4^10 levels does
    only at a million times the cost; its first ``2^m`` points are balanced, so ``size`` is best a
    power of two (4,096 = 2^12, the paper's grid size).
    """
    if test_set_kind(box.d, kind, points_per_dim, size) == "grid":
        return box.grid(points_per_dim)
    if int(size) != size or size < 2:
        raise ConfigError("grid.size", size, "must be an integer >= 2")
    from scipy.stats import qmc

    sobol = qmc.Sobol(box.d, scramble=True, seed=np.random.default_rng(int(seed)))
    exponent = int(np.log2(size))
    unit = sobol.random_base2(exponent) if 2 ** exponent == size else sobol.random(int(size))
    return box.from_unit(unit)


# Names of functions, not tests: keep pytest from collecting them where they are imported.
for _fn in (test_set_settings, test_set_kind, test_set_notice, test_set_spec, test_levels):
    _fn.__test__ = False  # type: ignore[attr-defined]
