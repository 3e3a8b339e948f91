"""Digital losses as continuous ops: JPEG compression and pixelation.

Each is a factory ``op(domain) -> DistortionOp``; both are deterministic.

Library choices
---------------
* ``jpeg``: libjpeg itself, through :func:`torchvision.io.encode_jpeg` / ``decode_jpeg`` (the
  codec PIL calls, so ImageNet-C's ``jpeg_compression`` is reproduced to about a grey level; a
  fixture test bounds it). Images are quantised to uint8 as PIL's input is, and coded on the CPU
  whatever the device, so CPU and CUDA give the same bytes. libjpeg takes integer qualities, so
  the op is piecewise constant in the level (quality ``floor(level + 1/2)``), like pixelate.
  kornia's ``jpeg_codec_differentiable`` (batched, real-valued quality) was tried first: it is
  25x slower per image on this CPU (2.9 ms vs 0.12 ms for 28x28 under load), which made a
  10-D test set (every level compressed) take hours, and it rounds with a smooth polynomial, so
  it is not libjpeg's output either. Grey images are coded as one-channel JPEGs (ImageNet-C codes
  them as grey RGB: the same luma, no chroma). Quality 100 is treated as the identity (no codec):
  the level's scale is JPEG quality, and the uncompressed image is where it starts.
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
  10, 7 (ImageNet-C's ``jpeg_compression``, via PIL's libjpeg; checked against a committed fixture).
* ``pixelate`` level = the downscale factor (identity 1): severities 1..5 are 0.6, 0.5, 0.4, 0.3,
  0.25.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import torch
import torch.nn.functional as F
from torchvision.io import decode_jpeg, encode_jpeg

from .noise import active_levels
from .op import DistortionOp

#: torchvision 0.29 deprecates its image codecs for torchcodec's (not a dependency); the lock pins
#: torchvision, so they stay. PIL, the other libjpeg at hand, costs ~10x more per image here.
TORCHVISION_IO_DEPRECATION = "The image decoding and encoding capabilities of TorchVision are deprecated"


def apply_jpeg(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """JPEG encode-decode at quality ``level`` (libjpeg, integer qualities 1-100; 100 leaves images unchanged)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=TORCHVISION_IO_DEPRECATION, category=DeprecationWarning)
        for i, level in active_levels(levels, 100.0):
            quality = int(math.floor(level + 0.5))
            pixels = images[i].mul(255).round_().clamp_(0, 255).to("cpu", torch.uint8)  # [N, C, H, W]
            decoded = decode_jpeg(encode_jpeg(list(pixels), quality=quality))
            images[i] = torch.stack(decoded).to(device=images.device, dtype=images.dtype).div_(255)
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
    return DistortionOp("jpeg", apply_jpeg, domain, identity=100.0, kind="pixel", order=500, limits=(1.0, 100.0),
                        version="2-libjpeg")


def pixelate(domain: Sequence[float]) -> DistortionOp:
    """Pixelation, the downscale factor (identity 1; ImageNet-C's c)."""
    return DistortionOp("pixelate", apply_pixelate, domain, identity=1.0, kind="pixel", order=400,
                        limits=(1e-3, 1.0))
