"""A synthetic 6-D accuracy surface with a known reliable region, for benchmarks and tests.

Box: the paper's Table 1 (natural units c, unit-cube coordinates u)::

    f(c) = 0.1 + 0.9 * exp(-r^2 / 2),   r^2 = sum_i ((u_i - u0_i) / s_i)^2
    u0 = the undistorted level (scale 1, rotation 0, shifts 0, darkness 1, rain 0) = (.5, 0, .5, .5, .5, 0)
    s  = (0.40, 0.80, 0.36, 0.36, 0.46, 0.90),   h = 0.6

so f decays from 1 at the undistorted level to chance (0.1) far from it, and f >= h exactly on the
ellipsoid r <= rho, rho^2 = 2 ln(0.9 / 0.5), halved twice by the faces rotation = 0 and rain = 0
(it fits inside the box otherwise). Its share of C is ``(pi^3 / 6) * rho^6 * prod(s) / 4 = 3.60 %``.
"""

from __future__ import annotations

import math

import numpy as np

from ..box import Box

PAPER_BOX = Box(
    ["scale", "rotation", "translation_x", "translation_y", "darkness", "rain"],
    [0.7, 0.0, -0.2, -0.2, 0.7, 0.0],
    [1.3, 90.0, 0.2, 0.2, 1.3, 1.0],
)
U0 = np.array([0.5, 0.0, 0.5, 0.5, 0.5, 0.0])
SPREADS = np.array([0.40, 0.80, 0.36, 0.36, 0.46, 0.90])
SYNTHETIC_H = 0.6


def synthetic_accuracy(levels: np.ndarray) -> np.ndarray:
    """The synthetic f of the module docstring, for levels in natural units."""
    u = PAPER_BOX.to_unit(levels)
    r2 = np.sum(((u - U0) / SPREADS) ** 2, axis=1)
    return 0.1 + 0.9 * np.exp(-0.5 * r2)


def synthetic_fraction() -> float:
    """Exact share of C where the synthetic f >= h (a quarter of a 6-D ellipsoid)."""
    rho2 = 2.0 * math.log(0.9 / (SYNTHETIC_H - 0.1))
    assert np.all(np.sqrt(rho2) * SPREADS[[0, 2, 3, 4]] <= 0.5) and np.all(np.sqrt(rho2) * SPREADS[[1, 5]] <= 1)
    return math.pi**3 / 6.0 * rho2**3 * float(np.prod(SPREADS)) / 4.0
