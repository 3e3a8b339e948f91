"""The built-in geometric ops (paper Table 1): scale, rotation, translation_x, translation_y.

Each is a factory ``op(domain) -> DistortionOp``; the domain comes from ``conf/distortion/*.yaml``.
The matrix functions map a content point (x right, y down, origin at the centre, pixel units) to
where it lands in the distorted image; the space composes them (scale, then rotation, then
translation) and resamples once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .op import DistortionOp


def _affine(levels: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray,
            d: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> np.ndarray:
    out = np.zeros((len(levels), 2, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 0, 2] = a, b, tx
    out[:, 1, 0], out[:, 1, 1], out[:, 1, 2] = c, d, ty
    return out


def scale_matrices(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Zoom about the centre: s > 1 magnifies (zoom in), s < 1 shrinks with a black border."""
    zeros = np.zeros_like(levels)
    return _affine(levels, levels, zeros, zeros, levels, zeros, zeros)


def rotation_matrices(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Rotate about the centre by the level in degrees, counter-clockwise as displayed."""
    theta = np.deg2rad(levels)
    cos, sin = np.cos(theta), np.sin(theta)
    zeros = np.zeros_like(levels)
    # y points down, so a visually counter-clockwise turn is [[cos, sin], [-sin, cos]]:
    # the top-right corner (1, -1) goes to the top-left (-1, -1) at 90 degrees, as rot90 does.
    return _affine(levels, cos, sin, -sin, cos, zeros, zeros)


def translation_x_matrices(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shift content right by level * width (left when negative)."""
    ones, zeros = np.ones_like(levels), np.zeros_like(levels)
    return _affine(levels, ones, zeros, zeros, ones, levels * width, zeros)


def translation_y_matrices(levels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Shift content down by level * height (up when negative)."""
    ones, zeros = np.ones_like(levels), np.zeros_like(levels)
    return _affine(levels, ones, zeros, zeros, ones, zeros, levels * height)


def scale(domain: Sequence[float]) -> DistortionOp:
    """Scale factor s about the centre (identity 1; s > 1 zooms in)."""
    return DistortionOp("scale", scale_matrices, domain, identity=1.0, kind="affine", order=10, limits=(1e-3, 1e3))


def rotation(domain: Sequence[float]) -> DistortionOp:
    """Rotation in degrees, counter-clockwise (identity 0)."""
    return DistortionOp("rotation", rotation_matrices, domain, identity=0.0, kind="affine", order=20)


def translation_x(domain: Sequence[float]) -> DistortionOp:
    """Horizontal shift as a fraction of the width, > 0 right (identity 0)."""
    return DistortionOp("translation_x", translation_x_matrices, domain, identity=0.0, kind="affine", order=30)


def translation_y(domain: Sequence[float]) -> DistortionOp:
    """Vertical shift as a fraction of the height, > 0 down (identity 0)."""
    return DistortionOp("translation_y", translation_y_matrices, domain, identity=0.0, kind="affine", order=31)
