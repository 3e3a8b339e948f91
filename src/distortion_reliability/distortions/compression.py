"""Digital losses as continuous ops: JPEG compression and pixelation.

Each is a factory ``op(domain) -> DistortionOp``; both are deterministic.

Library choices
---------------
* ``jpeg``: :func:`kornia.enhance.jpeg_codec_differentiable`, a JPEG encode-decode in torch
  (YCbCr, 4:2:0 chroma subsampling, 8x8 DCT, the standard quantisation tables scaled by quality),
  batched over levels x images in one call, on any device, and defined for real-valued qualities,
  so the severity is continuous. ``torchvision.io.encode_jpeg`` / ``decode_jpeg`` run libjpeg
  itself but image by image on the CPU (one round trip per level x image, ~10^6 per grid) and only
  at integer qualities. kornia rounds with a smooth polynomial instead of ``round``, so its output
  differs from libjpeg's by a fraction of a quantisation step; the fixture test bounds the
  difference. Grey images are coded as grey RGB (their chroma is constant) and averaged back.
  Quality 100 is treated as the identity (no codec): the level's scale is JPEG quality, and the
  uncompressed image is where it starts.
* ``pixelate``: ``torch.nn.functional.interpolate`` -- ``area`` down to ``int(size x level)``
  pixels a side, then ``nearest`` back up, which is ImageNet-C's two PIL ``BOX`` resizes when the
  size divides evenly and within a few grey levels otherwise (checked against a committed
  fixture). The output size is an integer, so pixelate is piecewise constant in the level.

Severity scales (ImageNet-C, ``imagecorruptions`` 1.1; see :mod:`.imagenet_c`)
--------------------------------------------------------------------------------
* ``jpeg`` level = JPEG quality (identity 100, lower is worse): severities 1..5 are 25, 18, 15,
  10, 7 (ImageNet-C's ``jpeg_compression``, via PIL).
* ``pixelate`` level = the downscale factor (identity 1): severities 1..5 are 0.6, 0.5, 0.4, 0.3,
  0.25.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from kornia.enhance import jpeg_codec_differentiable

from .noise import active_levels
from .op import DistortionOp


def apply_jpeg(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """JPEG encode-decode at quality ``level`` (1-100; 100 leaves images unchanged)."""
    rows = active_levels(levels, 100.0)
    if not rows:
        return images
    _, n, channels, height, width = images.shape
    index = torch.tensor([i for i, _ in rows], device=images.device)
    picked = images[index].reshape(len(rows) * n, channels, height, width)
    rgb = picked if channels == 3 else picked[:, :1].expand(-1, 3, -1, -1)
    quality = torch.tensor([q for _, q in rows], dtype=images.dtype, device=images.device).repeat_interleave(n)
    # The codec's cost is per image, so all levels go through in one call.
    coded = jpeg_codec_differentiable(rgb.contiguous(), quality)
    if channels != 3:
        coded = coded.mean(dim=1, keepdim=True).expand(-1, channels, -1, -1)
    images[index] = coded.reshape(len(rows), n, channels, height, width).clamp(0, 1)
    return images


def apply_pixelate(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Pixelation: average down to int(size x level) pixels a side, blow back up with nearest."""
    height, width = images.shape[-2:]
    for i, level in active_levels(levels, 1.0):
        small = (max(1, int(height * level)), max(1, int(width * level)))
        if small == (height, width):
            continue
        down = F.interpolate(images[i], size=small, mode="area")
        images[i] = F.interpolate(down, size=(height, width), mode="nearest")
    return images


def jpeg(domain: Sequence[float]) -> DistortionOp:
    """JPEG compression, quality 1-100 (identity 100: not compressed)."""
    return DistortionOp("jpeg", apply_jpeg, domain, identity=100.0, kind="pixel", order=500, limits=(1.0, 100.0))


def pixelate(domain: Sequence[float]) -> DistortionOp:
    """Pixelation, the downscale factor (identity 1; ImageNet-C's c)."""
    return DistortionOp("pixelate", apply_pixelate, domain, identity=1.0, kind="pixel", order=400,
                        limits=(1e-3, 1.0))
