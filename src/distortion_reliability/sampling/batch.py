"""Batch GP sampling: q levels per iteration, evaluated by the oracle in one call (beyond the paper).

The batch is built greedily with the Kriging believer (Ginsbourger et al. 2010): maximise the paper's
acquisition, pretend f at the chosen level equals the GP mean there, rebuild the GP on that belief
with the same hyperparameters, and repeat q times. The belief shrinks sigma around chosen levels, so
the next pick goes elsewhere. We chose it over a joint Monte-Carlo qUCB because it keeps the paper's
exact analytic acquisition (beta multiplies sigma) and costs q small Cholesky updates, not a joint
optimisation in q*d dimensions. beta uses t = the number of *real* observations for all q picks.
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.models import SingleTaskGP

from .base import check_positive_int
from .gp import DTYPE, GPSampler, build_gp


class GPBatchSampler(GPSampler):
    """GP sampler that proposes ``q`` distinct levels per iteration (Kriging believer).

    Parameters
    ----------
    q : int, default 10
        Levels per iteration (the last iteration takes what is left of the budget).
    **gp_params
        Everything :class:`~distortion_reliability.sampling.gp.GPSampler` takes (budget, t0, kernel,
        target, delta, refit_every, ...). ``refit_every`` counts observations, so with
        ``refit_every <= q`` hyperparameters are refitted every iteration.
    """

    name = "gp_batch"

    def __init__(self, q: int = 10, **gp_params):
        super().__init__(**gp_params)
        self.q = check_positive_int("q", q)

    def _levels_per_step(self) -> int:
        return self.q

    def _propose(
        self,
        model: SingleTaskGP,
        unit_levels: np.ndarray,
        values: np.ndarray,
        n_new: int,
        h: float,
        target: str,
        rng: np.random.Generator,
        unit_upper: np.ndarray,
    ) -> tuple[np.ndarray, list[float]]:
        d = unit_levels.shape[1]
        n_real = len(unit_levels)
        believed_levels, believed_values = unit_levels, values
        believer = model
        batch: list[np.ndarray] = []
        acquisition_values: list[float] = []
        for _ in range(n_new):
            acquisition = self._acquisition(believer, n_real, d, h, target)
            point, value = self._maximize(acquisition, unit_upper, rng)
            # Duplicates of real levels *and* of this batch's picks: the q levels must be distinct.
            point, value = self._replace_duplicate(point, value, believed_levels, rng, unit_upper)
            batch.append(point)
            acquisition_values.append(value)
            if len(batch) == n_new:
                break
            with torch.no_grad():
                mean = believer.posterior(torch.as_tensor(point, dtype=DTYPE).reshape(1, -1)).mean.item()
            believed_levels = np.vstack([believed_levels, point])
            believed_values = np.append(believed_values, mean)
            believer = build_gp(believed_levels, believed_values, self.kernel, warm_start=model)
        return np.vstack(batch), acquisition_values

