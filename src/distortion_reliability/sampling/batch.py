"""Batch GP sampling: q levels per step, evaluated by the oracle in one call (beyond the paper).

The batch is built greedily with the Kriging believer (Ginsbourger et al. 2010): maximise the paper's
acquisition, pretend f at the chosen level equals the GP mean there, condition the GP on that belief
(a rank-one update, same hyperparameters), and repeat q times. The belief shrinks sigma around chosen
levels, so the next pick goes elsewhere. We chose it over a joint Monte-Carlo qUCB because it keeps the
paper's exact analytic acquisition (beta multiplies sigma) and costs q rank-one updates, not a joint
optimisation in q*d dimensions. beta uses t = the number of *real* observations for all q picks.

Being greedy, the first k picks of a batch do not depend on q's remainder: a budget that ends inside
a batch takes its first picks, and a resume inside a batch conditions on the picks already evaluated
and continues with the rest, as the uninterrupted run would.
"""

from __future__ import annotations

import numpy as np
import torch

from ..gp import DTYPE, GP
from .base import check_positive_int
from .gp_sampler import GPSampler


class GPBatchSampler(GPSampler):
    """GP sampler that proposes ``q`` distinct levels per step (Kriging believer).

    Parameters
    ----------
    q : int, default 10
        Levels per step (the last step takes what is left of the budget).
    **gp_params
        Everything :class:`~distortion_reliability.sampling.gp_sampler.GPSampler` takes. ``refit_every``
        counts levels, so with ``refit_every <= q`` hyperparameters are refitted every step.
    """

    name = "gp_batch"

    def __init__(self, q: int = 10, **gp_params):
        super().__init__(**gp_params)
        self.q = check_positive_int("q", q)

    def _levels_per_step(self) -> int:
        return self.q

    def _propose(self, model: GP, unit: np.ndarray, done: np.ndarray, n_new: int, h: float, target: str, seed: int,
                 step: int, upper: np.ndarray, box) -> tuple[np.ndarray, list[float]]:
        d = unit.shape[1]
        believer = model
        picked: list[np.ndarray] = [p for p in done]
        new: list[np.ndarray] = []
        values: list[float] = []

        def believe(gp: GP, point: np.ndarray) -> GP:
            with torch.no_grad():
                mean, _ = gp.mean_and_sigma(torch.as_tensor(point, dtype=DTYPE, device=gp.device).reshape(1, d))
            return gp.condition(point.reshape(1, d), mean.cpu().numpy())

        for point in picked:  # a resumed batch: condition on the picks already evaluated
            believer = believe(believer, point)
        for j in range(len(done), len(done) + n_new):
            existing = np.vstack([unit, *[p.reshape(1, d) for p in picked]])
            warm = existing[-1:]
            point, value = self._pick(believer, len(unit), d, h, target, seed, step, j, existing, upper, warm)
            new.append(point)
            values.append(value)
            # Believe at what the record will hold (the level in natural units, back in the unit cube),
            # so a run resumed inside this batch conditions on the same numbers.
            recorded = box.to_unit(box.from_unit(np.clip(point, 0.0, upper)))[0]
            picked.append(recorded)
            if j < len(done) + n_new - 1:
                believer = believe(believer, recorded)
        return np.vstack(new), values
