"""The built-in pixel ops (paper Table 1): rain (streaks on the lens) and darkness (the light level).

Each is a factory ``op(domain) -> DistortionOp``; the domain comes from ``conf/distortion/*.yaml``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .op import DistortionOp

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


def apply_rain(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
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


def apply_darkness(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Intensity scaling x * level: < 1 darker, > 1 brighter (clamped to [0, 1] afterwards)."""
    for i, level in enumerate(levels.tolist()):
        if level != 1:
            images[i].mul_(level)
    return images


def rain(domain: Sequence[float]) -> DistortionOp:
    """Rain streaks, 0 (none, the identity) to 1 (a lot); drawn after the geometry."""
    return DistortionOp("rain", apply_rain, domain, identity=0.0, kind="pixel", order=100, limits=(0.0, 1.0),
                        make_noise=make_rain_field)


def darkness(domain: Sequence[float]) -> DistortionOp:
    """Light level: intensities x level (identity 1); applied last, so it dims the rain too."""
    return DistortionOp("darkness", apply_darkness, domain, identity=1.0, kind="pixel", order=200,
                        limits=(0.0, np.inf))
