"""The baseline: I levels drawn uniformly in C (the paper's "random sampling")."""

from __future__ import annotations

import numpy as np

from .base import Run, Sampler, check_positive_int, uniform_levels


class RandomSampler(Sampler):
    """Uniform sampling of ``budget`` levels in the box.

    Parameters
    ----------
    budget : int, default 600
        Number of levels I.
    batch_size : int, default 50
        Levels passed to the objective per call. Only the chunking changes with it, never the
        levels: level t is the t-th uniform draw of ``numpy.random.default_rng(seed)``, so any
        budget's levels are the prefix of a larger budget's.
    progress : bool, default True
        Show a progress bar.
    label : str, optional
        Display name.

    Notes
    -----
    ``state`` holds nothing beyond the seed: the levels are regenerated from it.
    """

    name = "random"

    def __init__(self, budget: int = 600, batch_size: int = 50, progress: bool = True, label: str | None = None):
        super().__init__(budget=budget, progress=progress, label=label)
        self.batch_size = check_positive_int("batch_size", batch_size)

    def settings(self) -> dict:
        return {}  # the chunking does not change the levels

    def _run(self, run: Run) -> None:
        levels = uniform_levels(run.box, self.budget, np.random.default_rng(run.seed))
        for start in range(run.n, self.budget, self.batch_size):
            stop = min(start + self.batch_size, self.budget)
            run.evaluate(levels[start:stop], np.full(stop - start, np.nan))
