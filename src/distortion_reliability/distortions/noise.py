"""Sensor noise as continuous, seeded ops: gaussian noise, shot noise and impulse (salt-and-pepper) noise.

Each is a factory ``op(domain) -> DistortionOp`` like :func:`.pixel.rain`. The randomness is a
per-image field made ONCE from the oracle's ``noise_seed`` by :meth:`DistortionSpace.make_noise`
(each op its own generator), and every level reuses the same field. So an image's noise does not
depend on the batch it is evaluated in, the result is deterministic, and a higher level never
undoes a lower one: gaussian and shot noise scale the same standard-normal field, and impulse
noise replaces a nested set of pixels (those whose uniform draw falls below the level).

Why not a library here: ``imagecorruptions`` and ``skimage.util.random_noise`` draw fresh numpy
randomness per call and per image, which breaks batching and caching; kornia's
``RandomGaussianNoise`` draws per batch. The ops themselves are one line of tensor arithmetic each.

Severity scales (ImageNet-C, ``imagecorruptions`` 1.1, at severities 1..5; see :mod:`.imagenet_c`)
-------------------------------------------------------------------------------------------------
* ``gaussian_noise`` level = the standard deviation on [0, 1] intensities, exactly ImageNet-C's
  ``c``: severities 1..5 are 0.08, 0.12, 0.18, 0.26, 0.38.
* ``shot_noise`` level = 1 / ImageNet-C's photon count ``c`` (so 0 is the identity): severities
  1..5 are 1/60, 1/25, 1/12, 1/5, 1/3. ImageNet-C draws ``Poisson(x c) / c``; we use its normal
  approximation ``x + sqrt(x / c) z`` (same mean and variance), which keeps one seeded field for
  all levels.
* ``impulse_noise`` level = the fraction of values replaced (skimage's ``amount``), half by 0
  and half by 1, per channel: severities 1..5 are 0.03, 0.06, 0.09, 0.17, 0.27.

These three are random in ImageNet-C, so the mapping is by definition (same parameter, same
distribution), not checked pixel for pixel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .op import DistortionOp

#: Noise fields per image: one per colour channel (grey images read the first).
NOISE_CHANNELS = 3


def active_levels(levels: torch.Tensor, identity: float) -> list[tuple[int, float]]:
    """(row, level) of every level that changes images; identity rows are left bitwise untouched."""
    return [(i, level) for i, level in enumerate(levels.tolist()) if level != identity]


def make_normal_field(num_images: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Standard-normal field ``[N, 3, H, W]``, one value per pixel and channel."""
    return torch.randn(num_images, NOISE_CHANNELS, height, width, generator=generator)


def make_uniform_field(num_images: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Uniform field ``[N, 3, H, W]`` on [0, 1), one value per pixel and channel."""
    return torch.rand(num_images, NOISE_CHANNELS, height, width, generator=generator)


def apply_gaussian_noise(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Additive gaussian noise x + level * z (level: standard deviation on [0, 1] intensities)."""
    assert noise is not None  # DistortionSpace.apply checks and explains this
    z = noise[:, : images.shape[2]]
    for i, level in active_levels(levels, 0.0):
        images[i].add_(z, alpha=level).clamp_(0, 1)
    return images


def apply_shot_noise(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Photon (shot) noise x + sqrt(x * level) * z: the normal approximation of Poisson(x / level) * level."""
    assert noise is not None
    z = noise[:, : images.shape[2]]
    for i, level in active_levels(levels, 0.0):
        spread = images[i].clamp(min=0).mul_(level).sqrt_().mul_(z)
        images[i].add_(spread).clamp_(0, 1)
    return images


def apply_impulse_noise(images: torch.Tensor, levels: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
    """Salt-and-pepper noise: a fraction ``level`` of the values set to 0 or 1 (half each)."""
    assert noise is not None
    u = noise[:, : images.shape[2]]
    # One uniform u gives two independent ones: its first bit (u >= 1/2: salt) and the rest
    # (2u mod 1: replaced when below the level), so the replaced set grows with the level.
    salt = (u >= 0.5).to(images.dtype)
    rank = torch.remainder(2 * u, 1.0)
    for i, level in active_levels(levels, 0.0):
        images[i].copy_(torch.where(rank < level, salt, images[i]))
    return images


def gaussian_noise(domain: Sequence[float]) -> DistortionOp:
    """Gaussian sensor noise, standard deviation on [0, 1] intensities (identity 0)."""
    return DistortionOp("gaussian_noise", apply_gaussian_noise, domain, identity=0.0, kind="pixel", order=310,
                        limits=(0.0, np.inf), make_noise=make_normal_field, noise_channels=NOISE_CHANNELS)


def shot_noise(domain: Sequence[float]) -> DistortionOp:
    """Shot (photon) noise, 1 / photons per unit intensity (identity 0; ImageNet-C's 1 / c)."""
    return DistortionOp("shot_noise", apply_shot_noise, domain, identity=0.0, kind="pixel", order=300,
                        limits=(0.0, np.inf), make_noise=make_normal_field, noise_channels=NOISE_CHANNELS)


def impulse_noise(domain: Sequence[float]) -> DistortionOp:
    """Salt-and-pepper noise, the fraction of values replaced (identity 0)."""
    return DistortionOp("impulse_noise", apply_impulse_noise, domain, identity=0.0, kind="pixel", order=320,
                        limits=(0.0, 1.0), make_noise=make_uniform_field, noise_channels=NOISE_CHANNELS)
