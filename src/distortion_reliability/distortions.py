"""The distortion space C and its batched, deterministic distortion ops (paper Table 1, Figure 5).

A level ``c`` is one value per distortion, in natural units (a scale factor, degrees, fractions of
the image size). :meth:`DistortionSpace.apply` distorts a whole batch of images by a whole batch of
levels in one call and returns ``[L, N, C, H, W]``.

Pipeline (fixed, whatever the order of the ops in the config)
-------------------------------------------------------------
1. **Geometry** -- every ``"affine"`` op contributes a 2x3 forward matrix in centred pixel
   coordinates (x right, y down, origin at the image centre). They are composed in ``order``
   (scale, then rotation, then translation), inverted, and applied in ONE bilinear
   ``affine_grid`` + ``grid_sample`` resample (``align_corners=False``, black fill outside), so
   fusing several geometric distortions interpolates once, not once per op.
2. **Rain** -- streaks on the lens, so they are not moved by the geometry.
3. **Darkness** -- the light level scales everything, rain included.

Output is clamped to [0, 1] and has the images' dtype and device.

Conventions of the built-in ops
-------------------------------
``scale`` s > 1 zooms in (content magnified about the centre). ``rotation`` is in degrees,
counter-clockwise as displayed (row 0 at the top): 90 degrees on a square image equals
``torch.rot90(images, k=1, dims=(-2, -1))``. ``translation_x`` t shifts content right by t * width,
``translation_y`` t shifts it down by t * height. ``darkness`` multiplies intensities by the level
(< 1 darker, > 1 brighter). ``rain`` draws slanted streaks, none at 0, denser and more opaque as it
grows to 1, from a per-image random field made once by :meth:`DistortionSpace.make_noise`.

Determinism
-----------
Same inputs give bitwise the same output; one level's result does not depend on the other levels in
the batch, nor one image's on the other images, so callers may chunk levels and images freely
(``noise`` rows must follow the images).

Adding a distortion
-------------------
Write one function and register it, then name it in ``conf/distortion/*.yaml``::

    @register_distortion("contrast", domain=(0.5, 1.5), identity=1.0, kind="pixel", order=150)
    def contrast(images, levels, noise):
        # images [L, N, C, H, W] (a buffer the pipeline owns: work in place), levels [L]
        mean = images.mean(dim=(-3, -2, -1), keepdim=True)
        return images.sub_(mean).mul_(levels.view(-1, 1, 1, 1, 1)).add_(mean)

An ``"affine"`` op instead maps ``(levels [L] float64 ndarray, height, width)`` to forward
matrices ``[L, 2, 3]`` in centred pixel coordinates. A pixel op must treat every level and every
image on its own (no statistics across the batch), or the chunking contract above breaks; one that
needs randomness declares ``make_noise`` and reads its fields from ``noise``. Bump ``version``
whenever an op's output changes: it is part of :meth:`DistortionSpace.spec`, which keys the
oracle's cache.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F

from .errors import ConfigError, UnknownNameError
from .space import Box

__all__ = [
    "DistortionOp",
    "DistortionSpace",
    "available_distortions",
    "get_distortion",
    "make_distortion_space",
    "register_distortion",
    "PRESETS",
]

Kind = Literal["affine", "pixel"]
KINDS: tuple[str, ...] = ("affine", "pixel")


@dataclass(frozen=True)
class DistortionOp:
    """One named distortion: how to apply it and the default range of its levels.

    Attributes
    ----------
    name : str
        Registry name, also the dimension name in the search space.
    fn : callable
        ``"affine"``: ``fn(levels, height, width) -> ndarray [L, 2, 3]`` forward matrices in centred
        pixel coordinates. ``"pixel"``: ``fn(images, levels, noise) -> Tensor`` with images
        ``[L, N, C, H, W]``, levels ``[L]`` and ``noise`` this op's rows ``[N, k, H, W]`` or None;
        ``images`` is a scratch buffer the pipeline owns, so the op may (for speed, should) modify
        it in place and return it.
    domain : tuple of float
        Default ``(lower, upper)`` of the levels (paper Table 1 for the built-ins).
    identity : float
        The level that leaves images unchanged.
    kind : {"affine", "pixel"}
    version : str
        Bumped whenever the op's output changes (keys caches).
    order : float
        Position in the pipeline among ops of the same kind (affine composition order, or
        pixel application order).
    limits : tuple of float
        Levels the op can handle at all; a configured domain must lie inside.
    make_noise : callable or None
        ``make_noise(num_images, height, width, generator) -> Tensor [N, k, H, W]`` float32 random
        fields this pixel op needs, or None.
    noise_channels : int
        ``k``, the number of fields per image that ``make_noise`` returns.
    """

    name: str
    fn: Callable[..., Any]
    domain: tuple[float, float]
    identity: float
    kind: Kind
    version: str = "1"
    order: float = 0.0
    limits: tuple[float, float] = (-np.inf, np.inf)
    make_noise: Callable[[int, int, int, torch.Generator], torch.Tensor] | None = None
    noise_channels: int = 1
    description: str = ""


_REGISTRY: dict[str, DistortionOp] = {}


def register_distortion(
    name: str,
    *,
    domain: tuple[float, float],
    identity: float,
    kind: Kind,
    version: str = "1",
    order: float = 0.0,
    limits: tuple[float, float] = (-np.inf, np.inf),
    make_noise: Callable[[int, int, int, torch.Generator], torch.Tensor] | None = None,
    noise_channels: int = 1,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding a distortion function to the registry under ``name``.

    See :class:`DistortionOp` for the meaning of the arguments and the module docstring for an
    example.
    """
    if kind not in KINDS:
        raise ConfigError(f"{name}.kind", kind, f"must be one of {', '.join(KINDS)}")
    if name in _REGISTRY:
        raise ConfigError("distortion name", name, "is already registered")
    if make_noise is not None and kind != "pixel":
        raise ConfigError(f"{name}.make_noise", make_noise, "is only supported for pixel ops")
    lower, upper = _check_domain(name, domain, limits)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = DistortionOp(
            name=name, fn=fn, domain=(lower, upper), identity=float(identity), kind=kind,
            version=str(version), order=float(order), limits=(float(limits[0]), float(limits[1])),
            make_noise=make_noise, noise_channels=int(noise_channels), description=description or (fn.__doc__ or "").strip().split("\n")[0],
        )
        return fn

    return decorate


def available_distortions() -> list[str]:
    """Names of every registered distortion, sorted."""
    return sorted(_REGISTRY)


def get_distortion(name: str) -> DistortionOp:
    """The registered op ``name``; raises :class:`UnknownNameError` listing valid names."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise UnknownNameError("distortion", str(name), available_distortions()) from None


def _check_domain(name: str, domain: Any, limits: tuple[float, float]) -> tuple[float, float]:
    field = f"{name}.domain"
    if isinstance(domain, (str, bytes)) or not isinstance(domain, Sequence) or len(domain) != 2:
        raise ConfigError(field, domain, "must be [lower, upper]")
    try:
        lower, upper = float(domain[0]), float(domain[1])
    except (TypeError, ValueError):
        raise ConfigError(field, list(domain), "must be two numbers [lower, upper]") from None
    if not (np.isfinite(lower) and np.isfinite(upper)):
        raise ConfigError(field, [lower, upper], "must be finite")
    if lower > upper:
        raise ConfigError(field, [lower, upper], "must have lower <= upper")
    if lower < limits[0] or upper > limits[1]:
        raise ConfigError(field, [lower, upper], f"must lie within [{limits[0]:g}, {limits[1]:g}]")
    return lower, upper


# ---------------------------------------------------------------------------------- built-in ops
# Forward matrices map a content point (x right, y down, origin at the centre, pixel units) to
# where it lands in the distorted image.


def _affine(levels: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
            d: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    out = np.zeros((len(levels), 2, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = a, b, tx
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = c, d, ty
    return out


@register_distortion("scale", domain=(0.7, 1.3), identity=1.0, kind="affine", order=10, limits=(1e-3, 1e3))
def scale(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Zoom about the centre: s > 1 magnifies (zoom in), s < 1 shrinks with a black border."""
    zeros = np.zeros_like(levels)
    return _affine(levels, levels, zeros, zeros, levels, zeros, zeros)


@register_distortion("rotation", domain=(0.0, 90.0), identity=0.0, kind="affine", order=20)
def rotation(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rotate about the centre by the level in degrees, counter-clockwise as displayed."""
    theta = np.deg2rad(levels)
    cos, sin = np.cos(theta), np.sin(theta)
    zeros = np.zeros_like(levels)
    # y points down, so a visually counter-clockwise turn is [[cos, sin], [-sin, cos]]:
    # the top-right corner (1, -1) goes to the top-left (-1, -1) at 90 degrees, as rot90 does.
    return _affine(levels, cos, sin, -sin, cos, zeros, zeros)


@register_distortion("translation_x", domain=(-0.2, 0.2), identity=0.0, kind="affine", order=30)
def translation_x(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shift content right by level * width (left when negative)."""
    ones, zeros = np.ones_like(levels), np.zeros_like(levels)
    return _affine(levels, ones, zeros, zeros, ones, levels * width, zeros)


@register_distortion("translation_y", domain=(-0.2, 0.2), identity=0.0, kind="affine", order=31)
def translation_y(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shift content down by level * height (up when negative)."""
    ones, zeros = np.ones_like(levels), np.zeros_like(levels)
    return _affine(levels, ones, zeros, zeros, ones, zeros, levels * height)


# Rain: a streak is seeded at pixels where a uniform field exceeds 1 - p(level) and drawn downward
# with a slight slant. Precomputing, per pixel, the max of the field over the streak footprint that
# could reach it turns "is this pixel on a streak at this level" into one comparison, and makes
# the streak set at a higher level a superset of the one at a lower level (monotone in the level).
RAIN_STREAK_FRACTION = 0.15  # streak length / image height
RAIN_SLANT = 0.3  # horizontal pixels per vertical pixel
RAIN_COVERAGE = 0.35  # expected seeds * footprint / pixels at level 1 (so ~30 % of pixels wet)
RAIN_VALUE = 0.9  # white-ish drops
RAIN_ALPHA = (0.3, 0.5)  # opacity = a + b * level


def _rain_footprint(height: int, width: int) -> tuple[int, int]:
    """(length, thickness) of one streak in pixels; both grow with the image so 8x8 and 224x224 look alike."""
    length = max(2, round(RAIN_STREAK_FRACTION * height))
    thickness = max(1, round(min(height, width) / 100))
    return length, thickness


def make_rain_field(num_images: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Per-image field ``[N, 1, H, W]``: max of a uniform field over the streak footprint ending at each pixel."""
    length, thickness = _rain_footprint(height, width)
    shift_x = round(RAIN_SLANT * (length - 1)) + thickness - 1
    # Seeds above and left of the image draw streaks that enter it, so the top rows get rain too.
    seeds = torch.rand(num_images, height + length - 1, width + shift_x, generator=generator)
    field = torch.zeros(num_images, height, width)
    offsets = {(k, round(RAIN_SLANT * k) + j) for k in range(length) for j in range(thickness)}
    for dy, dx in sorted(offsets):
        rows = slice(length - 1 - dy, length - 1 - dy + height)
        cols = slice(shift_x - dx, shift_x - dx + width)
        torch.maximum(field, seeds[:, rows, cols], out=field)
    return field.unsqueeze(1)


@register_distortion("rain", domain=(0.0, 1.0), identity=0.0, kind="pixel", order=100, limits=(0.0, 1.0),
                     make_noise=make_rain_field)
def rain(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Slanted white-ish streaks; density and opacity grow with the level (0: none, 1: a lot)."""
    assert noise is not None  # DistortionSpace.apply checks and explains this
    _, _, _, height, width = images.shape
    length, thickness = _rain_footprint(height, width)
    field = noise[:, :1]  # [N, 1, H, W], broadcast over colour channels
    weight = torch.empty_like(field)
    for i, level in enumerate(levels.tolist()):
        if level == 0:
            continue  # no seed passes the threshold: the images stay bitwise unchanged
        seed_rate = RAIN_COVERAGE / (length * thickness) * level  # p(level), fraction of seed pixels
        alpha = RAIN_ALPHA[0] + RAIN_ALPHA[1] * level  # opacity of a full streak
        # Opacity alpha * clamp(2 (field - (1 - p)) / p, 0, 1): streaks fade in over the lowest half of
        # the seeds above the threshold, so each pixel's opacity never decreases with the level.
        # Per level with Python scalars and in place: broadcast ops and fresh buffers cost ~10x here.
        slope = 2 * alpha / seed_rate
        torch.mul(field, slope, out=weight)
        weight.add_(slope * (seed_rate - 1)).clamp_(0, alpha)
        images[i].lerp_(torch.full((), RAIN_VALUE, dtype=images.dtype, device=images.device), weight)
    return images


@register_distortion("darkness", domain=(0.7, 1.3), identity=1.0, kind="pixel", order=200, limits=(0.0, np.inf))
def darkness(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Intensity scaling x * level: < 1 darker, > 1 brighter (clamped to [0, 1] afterwards)."""
    for i, level in enumerate(levels.tolist()):
        if level != 1:
            images[i].mul_(level)
    return images


# ---------------------------------------------------------------------------------- the space

PRESETS: dict[str, list[dict[str, Any]]] = {
    # Paper Table 1, in this column order.
    "paper": [
        {"name": "scale", "domain": [0.7, 1.3]},
        {"name": "rotation", "domain": [0.0, 90.0]},
        {"name": "translation_x", "domain": [-0.2, 0.2]},
        {"name": "translation_y", "domain": [-0.2, 0.2]},
        {"name": "darkness", "domain": [0.7, 1.3]},
        {"name": "rain", "domain": [0.0, 1.0]},
    ],
}


class DistortionSpace:
    """The search space C (one dimension per op, in config order) and the batched distortion.

    Parameters
    ----------
    ops : sequence
        Each entry a registered op name, or a mapping ``{name: ..., domain: [lower, upper]}``
        (domain optional, default the op's).
    label : str
        A human name for the space (e.g. ``"paper"``); not part of :meth:`spec`.
    """

    def __init__(self, ops: Sequence[str | Mapping[str, Any]], label: str = "custom"):
        if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Sequence) or len(ops) == 0:
            raise ConfigError("distortion.ops", ops, "must be a non-empty list of distortions")
        resolved: list[tuple[DistortionOp, float, float]] = []
        for i, entry in enumerate(ops):
            if isinstance(entry, str):
                name, domain = entry, None
            elif isinstance(entry, Mapping):
                unknown = set(entry) - {"name", "domain"}
                if unknown or "name" not in entry:
                    raise ConfigError(f"distortion.ops[{i}]", dict(entry), "must have keys name and optional domain")
                name, domain = entry["name"], entry.get("domain")
            else:
                raise ConfigError(f"distortion.ops[{i}]", entry, "must be a name or {name, domain}")
            op = get_distortion(name)
            lower, upper = _check_domain(op.name, op.domain if domain is None else domain, op.limits)
            resolved.append((op, lower, upper))
        names = [op.name for op, _, _ in resolved]
        if len(set(names)) != len(names):
            raise ConfigError("distortion.ops", names, "must not repeat a distortion")
        self.label = str(label)
        self.ops: tuple[DistortionOp, ...] = tuple(op for op, _, _ in resolved)
        self.box = Box(names, [lo for _, lo, _ in resolved], [hi for _, _, hi in resolved])
        self.identity = np.array([op.identity for op in self.ops])
        self.identity.setflags(write=False)
        # Pipeline: all geometry (one resample), then pixel ops, each group in `order`.
        ranked = sorted(range(len(self.ops)), key=lambda j: (self.ops[j].kind != "affine", self.ops[j].order))
        self._affine_cols = [j for j in ranked if self.ops[j].kind == "affine"]
        self._pixel_cols = [j for j in ranked if self.ops[j].kind == "pixel"]
        # Channels of make_noise's output per op that needs noise, stacked in pipeline order.
        self._noise_slices: dict[str, slice] = {}
        start = 0
        for j in self._pixel_cols:
            if self.ops[j].make_noise is not None:
                self._noise_slices[self.ops[j].name] = slice(start, start + self.ops[j].noise_channels)
                start += self.ops[j].noise_channels
        self._noise_channels = start

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | Sequence[Any]) -> DistortionSpace:
        """Build from ``conf/distortion/*.yaml`` content (``{name, ops}``) or a plain list of ops."""
        if isinstance(cfg, Mapping):
            unknown = set(cfg) - {"name", "ops"}
            if unknown:
                key = sorted(unknown)[0]
                raise ConfigError(f"distortion.{key}", cfg[key], "is not a setting (expected name, ops)")
            return make_distortion_space(str(cfg.get("name", "custom")), cfg.get("ops"))
        return cls(cfg)

    # ------------------------------------------------------------------ description
    @property
    def names(self) -> tuple[str, ...]:
        return self.box.names

    @property
    def d(self) -> int:
        return self.box.d

    @property
    def pipeline(self) -> list[str]:
        """Op names in the order they act on images."""
        return [self.ops[j].name for j in self._affine_cols + self._pixel_cols]

    def spec(self) -> dict[str, Any]:
        """JSON-able description of everything that determines :meth:`apply`'s output (for cache keys)."""
        return {
            "names": list(self.names),
            "domains": [[float(lo), float(hi)] for lo, hi in zip(self.box.lower, self.box.upper)],
            "versions": {op.name: op.version for op in self.ops},
            "pipeline": self.pipeline,
            "interpolation": "bilinear, align_corners=False, zero fill",
        }

    def __repr__(self) -> str:
        doms = ", ".join(f"{n}=[{lo:g}, {hi:g}]" for n, lo, hi in zip(self.names, self.box.lower, self.box.upper))
        return f"DistortionSpace({self.label}: {doms})"

    # ------------------------------------------------------------------ levels
    def validate(self, levels: Any) -> np.ndarray:
        """``levels`` as float64 ``[L, d]``; raises :class:`ConfigError` naming the op and value outside its domain."""
        # float32 levels (the oracle sends them) may round just past a bound such as 0.2.
        if isinstance(levels, torch.Tensor):
            eps = float(torch.finfo(levels.dtype).eps) if levels.is_floating_point() else 0.0
            levels = levels.detach().to("cpu", torch.float64).numpy()
        else:
            levels = np.asarray(levels)
            eps = float(np.finfo(levels.dtype).eps) if np.issubdtype(levels.dtype, np.floating) else 0.0
        bound = float(np.max(np.abs(np.concatenate([self.box.lower, self.box.upper]))))
        return self.box.validate(levels, atol=max(1e-9, 4 * eps * max(1.0, bound)))

    # ------------------------------------------------------------------ noise
    def make_noise(self, num_images: int, height: int, width: int, seed: int,
                   device: str | torch.device | None = None) -> torch.Tensor | None:
        """Per-image random fields ``[N, k, H, W]`` (float32) for the pixel ops that need them, or None.

        Made once for the whole verification set from ``seed`` (on the CPU, so every device gets
        the same numbers); row i belongs to image i. Each op draws from its own generator seeded by
        ``(seed, op name)``, so adding an op does not change another op's field.
        """
        for field, value in (("num_images", num_images), ("height", height), ("width", width)):
            if int(value) != value or value < 1:
                raise ConfigError(field, value, "must be an integer >= 1")
        fields = []
        for name in self._noise_slices:
            op = get_distortion(name)
            op_seed = np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0]
            generator = torch.Generator().manual_seed(int(op_seed))
            field = op.make_noise(int(num_images), int(height), int(width), generator)
            expected = (int(num_images), op.noise_channels, int(height), int(width))
            if tuple(field.shape) != expected:
                raise ConfigError(f"{name}.make_noise output", tuple(field.shape), f"must have shape {expected}")
            fields.append(field.to(torch.float32))
        if not fields:
            return None
        return torch.cat(fields, dim=1).to(device if device is not None else "cpu")

    # ------------------------------------------------------------------ the distortion
    def apply(self, images: torch.Tensor, levels: Any, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Distort every image by every level in one batched call.

        Parameters
        ----------
        images : Tensor ``[N, C, H, W]``
            In [0, 1], floating point (float32, bfloat16, float16 or float64), any device.
        levels : Tensor or ndarray ``[L, d]``
            Levels in natural units, columns in :attr:`names` order (a single level may be 1-D).
        noise : Tensor ``[N, k, H, W]`` or None
            Rows of :meth:`make_noise` for these images; needed only when a level uses rain.

        Returns
        -------
        Tensor ``[L, N, C, H, W]``
            Clamped to [0, 1], with the images' dtype and device.
        """
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ConfigError("images", getattr(images, "shape", type(images)), "must be a tensor [N, C, H, W]")
        if not images.is_floating_point():
            raise ConfigError("images.dtype", images.dtype, "must be floating point with values in [0, 1]")
        lv = self.validate(levels)
        n, c, height, width = images.shape
        device, out_dtype = images.device, images.dtype
        # Coordinates and blending in at least float32: a bf16 sampling grid is off by pixels.
        work = torch.float64 if out_dtype == torch.float64 else torch.float32
        noise_slices = self._check_noise(noise, lv, n, height, width)
        # Autocast (the oracle runs under bf16) must not change the precision chosen here.
        with torch.autocast(device_type=device.type, enabled=False):
            x = images.to(work)
            out, owned = self._resample(x, lv)
            for j in self._pixel_cols:
                op = self.ops[j]
                col = lv[:, j]
                if np.all(col == op.identity):
                    continue  # e.g. no rain anywhere in this batch: skip the op entirely
                if not owned:  # pixel ops work in place, never on the caller's images
                    out, owned = out.clone(memory_format=torch.contiguous_format), True
                op_noise = None
                if op.name in noise_slices:
                    op_noise = noise[:, noise_slices[op.name]].to(device=device, dtype=work)
                out = op.fn(out, torch.as_tensor(col, dtype=work, device=device), op_noise)
            if out_dtype != work:
                return out.to(out_dtype).clamp_(0, 1)
            return out.clamp_(0, 1) if owned else out.clamp(0, 1)

    def _check_noise(self, noise: torch.Tensor | None, lv: np.ndarray, n: int, height: int,
                     width: int) -> dict[str, slice]:
        needs = [self.ops[j].name for j in self._pixel_cols
                 if self.ops[j].make_noise is not None and np.any(lv[:, j] != self.ops[j].identity)]
        if not needs:
            return {}
        k = self._noise_channels
        if noise is None:
            raise ConfigError("noise", None, f"is required by {', '.join(needs)} (make it with make_noise)")
        if tuple(noise.shape) != (n, k, height, width):
            raise ConfigError("noise", tuple(noise.shape),
                              f"must have shape {(n, k, height, width)}: the make_noise rows of these images")
        return self._noise_slices

    def forward_matrices(self, levels: np.ndarray, height: int, width: int) -> np.ndarray:
        """Composite forward geometry ``[L, 3, 3]`` in centred pixel coordinates (identity if none)."""
        total = np.broadcast_to(np.eye(3), (len(levels), 3, 3)).copy()
        for j in self._affine_cols:
            factor = np.broadcast_to(np.eye(3), (len(levels), 3, 3)).copy()
            factor[:, :2, :] = self.ops[j].fn(levels[:, j].astype(float), height, width)
            total = factor @ total  # later ops act on the result of earlier ones
        return total

    def _resample(self, x: torch.Tensor, lv: np.ndarray) -> tuple[torch.Tensor, bool]:
        """Geometry for all levels: ``[L, N, C, H, W]`` and whether it is a fresh tensor."""
        n, c, height, width = x.shape
        n_levels = len(lv)
        cols = self._affine_cols
        moved = np.any(lv[:, cols] != self.identity[cols], axis=1) if cols else np.zeros(n_levels, bool)
        expanded = x.unsqueeze(0).expand(n_levels, n, c, height, width)
        if not moved.any():
            return expanded, False
        forward = self.forward_matrices(lv[moved], height, width)
        # Sampling maps output -> input, so invert; then pixel units -> normalised [-1, 1].
        to_norm = np.diag([2.0 / width, 2.0 / height, 1.0])
        theta = to_norm @ np.linalg.inv(forward) @ np.linalg.inv(to_norm)
        theta_t = torch.as_tensor(theta[:, :2, :], dtype=x.dtype, device=x.device)
        m = len(theta_t)
        # Images ride in the channel axis: one grid per level, shared by all N*C planes, and the
        # input is a stride-0 view, so nothing is copied per level.
        grid = F.affine_grid(theta_t, [m, n * c, height, width], align_corners=False)
        planes = x.reshape(1, n * c, height, width).expand(m, n * c, height, width)
        warped = F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        warped = warped.view(m, n, c, height, width)
        if moved.all():
            return warped, True
        # Identity levels keep the exact input, so a level's result never depends on its batch.
        out = torch.empty((n_levels, n, c, height, width), dtype=x.dtype, device=x.device)
        moved_t = torch.as_tensor(moved, device=x.device)
        out[moved_t] = warped
        out[~moved_t] = x
        return out, True


def make_distortion_space(name: str = "paper", ops: Sequence[Any] | None = None) -> DistortionSpace:
    """Factory for Hydra: ``make_distortion_space(cfg.name, **rest)``.

    With ``ops`` given, ``name`` is only a label; without, ``name`` must be a preset
    (:data:`PRESETS`, e.g. ``"paper"``), else :class:`UnknownNameError` lists the presets.
    """
    if ops is None:
        if name not in PRESETS:
            raise UnknownNameError("distortion space", str(name), list(PRESETS))
        ops = PRESETS[name]
    return DistortionSpace(list(ops), label=name)


if __name__ == "__main__":  # `make contact-sheet` runs this module
    from .reports.contact_sheet import main

    main()
