"""Exposure and weather as continuous ops: contrast, brightness, saturation, fog.

Each is a factory ``op(domain) -> DistortionOp``. Every level is computed from its own image
only (statistics per image and channel, never across the batch).

Library choices
---------------
* ``brightness`` and ``saturation`` on colour images go through kornia's HSV
  (:func:`kornia.color.rgb_to_hsv` / :func:`kornia.color.hsv_to_rgb`,
  :func:`kornia.enhance.adjust_saturation`), batched over levels x images, any device. On grey
  images brightness is ``x + level`` (what the HSV shift is there) and saturation is the identity.
* ``contrast`` is ImageNet-C's own formula, ``(x - mean) level + mean`` with the mean per image and
  channel, in two tensor ops: kornia's ``adjust_contrast`` scales about 0 (a brightness change),
  and its ``adjust_contrast_with_mean_subtraction`` uses the grey mean for all channels.
* ``fog`` follows ImageNet-C's formula ``(x + a F) max(x) / (max(x) + a)`` with ``F`` a smooth
  random field in [0, 1]. ImageNet-C's ``F`` is a diamond-square plasma fractal drawn afresh per
  image; ours is a sum of octaves of bilinearly upsampled uniform noise (amplitude halving per
  octave, as plasma's ``wibbledecay`` 2), made once per image from the oracle's noise seed by
  :func:`make_fog_field`, so every level reuses it.

Severity scales (ImageNet-C, ``imagecorruptions`` 1.1; see :mod:`.imagenet_c`)
--------------------------------------------------------------------------------
* ``contrast`` level = ImageNet-C's factor ``c`` (identity 1, lower is worse): severities 1..5
  are 0.4, 0.3, 0.2, 0.1, 0.05 (checked against a committed fixture).
* ``brightness`` level = the shift of the HSV value ``V`` (identity 0): severities 1..5 are 0.1,
  0.2, 0.3, 0.4, 0.5 (checked against a committed fixture).
* ``saturation`` level = the factor on the HSV saturation (identity 1): ImageNet-C's ``saturate``
  severities 1..3 are 0.3, 0.1, 2 (4 and 5 are 5 and 20 plus an offset of 0.1 we do not model).
* ``fog`` level = ImageNet-C's fog amplitude ``c[0]`` (identity 0): severities 1..5 are 1.5, 2,
  2.5, 2.5, 3 (its field is random, so the mapping is by definition, not pixel for pixel).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from kornia.color import hsv_to_rgb, rgb_to_hsv
from kornia.enhance import adjust_saturation

from .noise import active_levels
from .op import DistortionOp

#: Octaves of the fog field: coarsest grid 2x2 cells, each octave doubling the cells.
FOG_OCTAVES = 5
FOG_DECAY = 2.0  # amplitude ratio between octaves (plasma's wibbledecay at severity 1-2)


def apply_contrast(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Contrast (x - mean) * level + mean, mean per image and channel (< 1 flatter)."""
    for i, level in active_levels(levels, 1.0):
        mean = images[i].mean(dim=(-2, -1), keepdim=True)
        images[i].sub_(mean).mul_(level).add_(mean).clamp_(0, 1)
    return images


def apply_brightness(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Brightness: the HSV value V + level (grey images: x + level)."""
    for i, level in active_levels(levels, 0.0):
        if images.shape[2] != 3:
            images[i].add_(level).clamp_(0, 1)
            continue
        hsv = rgb_to_hsv(images[i])
        hsv[:, 2:].add_(level).clamp_(0, 1)
        images[i] = hsv_to_rgb(hsv).clamp_(0, 1)
    return images


def apply_saturation(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Saturation: the HSV saturation x level (identity on grey images)."""
    if images.shape[2] != 3:
        return images
    for i, level in active_levels(levels, 1.0):
        images[i] = adjust_saturation(images[i], level).clamp_(0, 1)
    return images


def make_fog_field(num_images: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Smooth random field ``[N, 1, H, W]`` in [0, 1] (per image min 0, max 1): octaves of value noise."""
    field = torch.zeros(num_images, 1, height, width)
    for octave in range(FOG_OCTAVES):
        cells = 2 ** (octave + 1)
        coarse = torch.rand(num_images, 1, cells + 1, cells + 1, generator=generator)
        up = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=True)
        field.add_(up, alpha=FOG_DECAY ** -octave)
    low = field.amin(dim=(-2, -1), keepdim=True)
    high = field.amax(dim=(-2, -1), keepdim=True)
    return (field - low) / (high - low).clamp(min=1e-12)


def apply_fog(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Fog (x + level F) max(x) / (max(x) + level), F a smooth random field in [0, 1]."""
    assert noise is not None  # DistortionSpace.apply checks and explains this
    fog = noise[:, :1]
    for i, level in active_levels(levels, 0.0):
        peak = images[i].amax(dim=(-3, -2, -1), keepdim=True)
        images[i].add_(fog, alpha=level).mul_(peak / (peak + level)).clamp_(0, 1)
    return images


def contrast(domain: Sequence[float]) -> DistortionOp:
    """Contrast factor about the image mean (identity 1; ImageNet-C's c, lower is worse)."""
    return DistortionOp("contrast", apply_contrast, domain, identity=1.0, kind="pixel", order=150,
                        limits=(0.0, np.inf))


def brightness(domain: Sequence[float]) -> DistortionOp:
    """Brightness shift of the HSV value (identity 0; ImageNet-C's c)."""
    return DistortionOp("brightness", apply_brightness, domain, identity=0.0, kind="pixel", order=170,
                        limits=(-1.0, 1.0))


def saturation(domain: Sequence[float]) -> DistortionOp:
    """Saturation factor in HSV (identity 1; no effect on grey images)."""
    return DistortionOp("saturation", apply_saturation, domain, identity=1.0, kind="pixel", order=160,
                        limits=(0.0, np.inf))


def fog(domain: Sequence[float]) -> DistortionOp:
    """Fog amplitude over a smooth random field (identity 0; ImageNet-C's fog c[0])."""
    return DistortionOp("fog", apply_fog, domain, identity=0.0, kind="pixel", order=90, limits=(0.0, np.inf),
                        make_noise=make_fog_field, noise_channels=1)
