"""The baseline: I levels drawn uniformly in C (the paper's "random sampling")."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ..space import Box
from .base import Sampler, TimedObjective, check_positive_int, uniform_levels, update_bar


class RandomSampler(Sampler):
    """Uniform sampling of ``budget`` levels in the box.

    Parameters
    ----------
    budget : int, default 600
        Number of levels I.
    batch_size : int, default 50
        Levels passed to the objective per call. Only the chunking changes with it, never the
        levels: all are drawn up front from the seed.
    progress : bool, default True
        Show a progress bar.
    """

    name = "random"

    def __init__(self, budget: int = 600, batch_size: int = 50, progress: bool = True):
        super().__init__(budget=budget, progress=progress)
        self.batch_size = check_positive_int("batch_size", batch_size)

    def _run(self, objective: TimedObjective, box: Box, h: float, seed: int, bar: tqdm):
        levels = uniform_levels(box, self.budget, np.random.default_rng(seed))
        values = np.empty(self.budget)
        for start in range(0, self.budget, self.batch_size):
            stop = min(start + self.batch_size, self.budget)
            values[start:stop] = objective(levels[start:stop])
            update_bar(bar, stop - start, values[:stop], h, None)
        return levels, values, np.full(self.budget, np.nan), [], None
