"""The paper's GP sampler held at a target positive share of R: the paper's imbalance, our f.

On our models the GP sampler's R is 36-64 % positive (digits 214-307 of 600), where the paper's
Figure 6 shows 130 of 600 (21.7 %) on CIFAR-10: the imbalance SMOTE-GP exists to fix hardly exists.
This sampler keeps everything of the paper's sampler (t0 uniform levels, then the acquisition of
equation 3, I = 600) and adds one rule, applied at every pick after t0:

    share of positives in R so far >= positive_share  ->  a uniform level (mostly negative in C)
    otherwise                                          ->  the acquisition's level (often positive)

so R ends near the target share with the budget unchanged, its positives all found by the GP's
acquisition. Why not subsample the positives of a GP run instead: that shrinks R below I and
changes which levels the GP saw; here R keeps I levels and the paper's acquisition.

The rule depends only on the values of R so far, so a seed still fixes the levels and a resumed
run continues exactly. The share can fall short when the acquisition stops finding positives
(then every pick is the acquisition's, as in the paper's sampler) and overshoots by at most one
level per pick.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .gp_sampler import GPSampler

#: The paper's GP sampler on CIFAR-10 (Figure 6, the one count its text gives): 130 positives of 600.
PAPER_GP_SHARE = 130 / 600


class MatchedShareGPSampler(GPSampler):
    """GP sampler whose training set R holds ``positive_share`` positives (uniform levels fill the rest).

    Parameters
    ----------
    positive_share : float, default 130/600
        Target share of R with f >= h, in (0, 1).
    **gp_params
        :class:`~distortion_reliability.sampling.gp_sampler.GPSampler`'s parameters except ``random_fraction``,
        which the share rule replaces.
    """

    name = "gp_matched"

    def __init__(self, positive_share: float = PAPER_GP_SHARE, **gp_params):
        if gp_params.get("random_fraction", 0.0):
            raise ConfigError("random_fraction", gp_params["random_fraction"],
                              "must be 0 for gp_matched (positive_share decides which picks are uniform)")
        super().__init__(**gp_params)
        if isinstance(positive_share, bool) or not isinstance(positive_share, (int, float)) \
                or not 0.0 < positive_share < 1.0:
            raise ConfigError("positive_share", positive_share, "must be a number in (0, 1)")
        self.positive_share = float(positive_share)

    def _random_pick(self, rng: np.random.Generator) -> bool:
        return self._positive_share >= self.positive_share
