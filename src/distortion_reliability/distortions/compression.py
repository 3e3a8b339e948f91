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
* ``pixelate``: ImageNet-C's two PIL resizes (``BOX`` down to ``int(size x level)`` pixels a side,
  ``NEAREST`` back up), in torch: the box downscale is two small averaging matrices
  (:func:`box_matrix`, PIL's rule: torch's ``interpolate(mode="area")`` weighs overlaps instead and
  differs by up to ~100 grey levels when the size does not divide), the upscale is
  ``interpolate(mode="nearest-exact")`` (PIL's pixel-centre rule; plain ``nearest`` is off by
  one). Checked against a committed fixture. The output size is an integer, so pixelate is
  piecewise constant in the level.

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


def box_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """``[out, in]`` PIL's BOX downscale along one axis: the mean of the inputs whose centres fall in each output.

    Output pixel o covers ``[o, o + 1) * in / out`` in input units; input pixel i counts when its
    centre ``i + 1/2`` lies there (PIL evaluates the box filter at centres rather than integrating
    overlaps, which is what ``interpolate(mode="area")`` does -- they differ when out does not divide in).
    """
    scale = size_in / size_out
    centres = torch.arange(size_in, dtype=torch.float64) + 0.5
    starts = torch.arange(size_out, dtype=torch.float64)[:, None] * scale
    inside = ((centres >= starts) & (centres < starts + scale)).to(torch.float64)
    return inside / inside.sum(dim=1, keepdim=True)


def apply_pixelate(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Pixelation: box-average down to int(size x level) pixels a side, blow back up with nearest."""
    height, width = images.shape[-2:]
    for i, level in active_levels(levels, 1.0):
        small = (max(1, int(height * level)), max(1, int(width * level)))
        if small == (height, width):
            continue
        rows = box_matrix(height, small[0]).to(images.dtype).to(images.device)
        cols = box_matrix(width, small[1]).to(images.dtype).to(images.device)
        down = rows @ images[i] @ cols.T  # [N, C, h, w]
        # nearest-exact samples input floor((o + 1/2) in / out), as PIL's NEAREST does
        images[i] = F.interpolate(down, size=(height, width), mode="nearest-exact").clamp_(0, 1)
    return images


def jpeg(domain: Sequence[float]) -> DistortionOp:
    """JPEG compression, quality 1-100 (identity 100: not compressed)."""
    return DistortionOp("jpeg", apply_jpeg, domain, identity=100.0, kind="pixel", order=500, limits=(1.0, 100.0))


def pixelate(domain: Sequence[float]) -> DistortionOp:
    """Pixelation, the downscale factor (identity 1; ImageNet-C's c)."""
    return DistortionOp("pixelate", apply_pixelate, domain, identity=1.0, kind="pixel", order=400,
                        limits=(1e-3, 1.0))
