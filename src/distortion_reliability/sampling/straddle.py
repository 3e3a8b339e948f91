"""Level-set (straddle) sampling: seek the boundary f = h rather than only the reliable side.

Bryan et al. (2005), as used by the authors' sibling paper "Few-shot Algorithm Assurance": the same
loop as the paper's GP sampler with acquisition ``kappa * sigma(c) - |mu(c) - h|`` (beyond the paper).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..gp import GP
from .acquisition import Straddle
from .gp_sampler import GPSampler


class StraddleSampler(GPSampler):
    """GP sampler with the straddle acquisition, one level per step.

    Parameters
    ----------
    kappa : float, default 1.96
        Weight of sigma in ``kappa * sigma - |mu - h|``.
    **gp_params
        :class:`~distortion_reliability.sampling.gp_sampler.GPSampler`'s parameters except ``target``,
        ``delta`` and ``beta_form``, which the straddle rule does not use.
    """

    name = "straddle"

    def __init__(self, kappa: float = 1.96, **gp_params):
        for unused in ("target", "delta", "beta_form"):
            if unused in gp_params:
                raise ConfigError(unused, gp_params[unused], "is not a straddle parameter (remove it)")
        super().__init__(**gp_params)
        if isinstance(kappa, bool) or not isinstance(kappa, (int, float)) or not math.isfinite(kappa) or kappa < 0:
            raise ConfigError("kappa", kappa, "must be a finite number >= 0")
        self.kappa = float(kappa)
        del self.target, self.delta, self.beta_form  # not used: keep repr, settings and configs honest

    def _resolve_target(self, initial_values: np.ndarray, h: float) -> str:
        return "boundary"

    def _acquisition(self, model: GP, n_observations: int, d: int, h: float, target: str):
        return Straddle(model, h=h, kappa=self.kappa)
