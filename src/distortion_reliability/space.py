"""The search space C: a box of distortion levels, its scaling to [0, 1]^d and its grids.

Levels are stored in natural units (degrees, fractions); the GP and the distortion-classifiers
work on the unit cube, so conversions live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import ConfigError


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
