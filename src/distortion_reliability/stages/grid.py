"""The test set R': every level of a points_per_dim^d grid (or, beyond ``grid.size`` levels, a
scrambled Sobol set) labelled I[f >= h] by the oracle.

Shared by every sampler, method and seed of a (D, T, C, h, test set): its key is exactly those.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..advice import grid_warning
from ..artifacts import stable_hash
from ..console import format_count
from ..box import test_levels, test_set_notice, test_set_settings, test_set_spec
from .base import Estimate, Stage, duration, image_rate

log = logging.getLogger(__name__)

#: Levels a pilot labels for real (cached, so the grid reuses them) to estimate the grid's time.
PILOT_LEVELS = 48


@dataclass
class Grid:
    """The test set R': grid levels (natural units) and their labels I[f >= h]."""

    levels: np.ndarray
    labels: np.ndarray
    seconds: float = 0.0

    @property
    def n_positive(self) -> int:
        return int(self.labels.sum())

    @property
    def n_negative(self) -> int:
        return int(len(self.labels) - self.labels.sum())


class GridStage(Stage):
    name = "grid"

    @property
    def settings(self) -> dict:
        return test_set_settings(self.job.settings.grid)

    @property
    def levels(self) -> np.ndarray:
        return test_levels(self.job.bundle.box, **self.settings)

    def key(self) -> str:
        bundle = self.job.bundle  # a grid's key is what it always was: points_per_dim only
        return stable_hash({"oracle": bundle.oracle.context_key, **test_set_spec(bundle.box, **self.settings),
                            "h": bundle.h})

    def cached(self) -> bool:
        return self.job.store.get_arrays("grid", self.key()) is not None  # a damaged entry says so once

    def _size(self) -> tuple[int, str]:
        n_levels, n = len(self.levels), self.job.bundle.oracle.n
        return n_levels, (f"grid: {format_count(n_levels)} levels x {format_count(n)} images = "
                          f"{n_levels * n / 1e6:.1f} M images")

    def estimate(self) -> Estimate:
        n_levels, size = self._size()
        if self.cached():
            return Estimate(0.0, f"{size}: cached")
        full = n_levels * self.job.bundle.oracle.n / self.job.rate
        return Estimate(full, f"{size}: {duration(full)} without early stopping, "
                              f"typically {duration(0.3 * full)} with it")

    def run(self) -> None:
        job = self.job
        if notice := test_set_notice(job.bundle.box.d, **self.settings):
            log.info(notice)
        grid = self._load()
        read_before = job.bundle.oracle.images_evaluated
        if grid is None:
            self._announce()
        start = time.perf_counter()
        job.grid = grid = grid or self._label()
        job.summary.update(grid_positive=grid.n_positive, grid_negative=grid.n_negative,
                           # what labelling the grid cost when it was labelled (this job may have read it)
                           seconds_grid_labelling=float(grid.seconds),
                           seconds_oracle_grid=time.perf_counter() - start,
                           # images this job's oracle read for the grid, pilot included (0 when cached)
                           oracle_images_grid=int(job.bundle.oracle.images_evaluated - read_before))
        log.info("grid: %s levels, %s positive, %s negative", format_count(len(grid.levels)),
                 format_count(grid.n_positive), format_count(grid.n_negative))
        warning = grid_warning(grid)
        if warning:
            log.warning(warning)

    def _load(self) -> Grid | None:
        cached = self.job.store.get_arrays("grid", self.key())
        if cached is None:
            return None
        arrays, meta = cached
        log.info("%s; cached", self._size()[1].replace(" = ", " <= "))
        return Grid(arrays["levels"], arrays["labels"].astype(bool), float(meta.get("seconds", 0.0)))

    def _label(self) -> Grid:
        # No claim around the whole grid: jobs that share it split its blocks inside the oracle instead
        # of one labelling while the others wait.
        bundle = self.job.bundle
        levels = self.levels
        start = time.perf_counter()
        labels = bundle.oracle.label(levels, bundle.h)
        seconds = time.perf_counter() - start
        meta = {"seconds": seconds, "h": bundle.h, **self.settings}
        self.job.store.put_arrays("grid", self.key(), meta=meta, levels=levels, labels=labels)
        return Grid(levels, labels, seconds)

    def _announce(self) -> None:
        """Log the grid's size and time, estimated from a pilot of its levels (labelled for real, cached)."""
        bundle = self.job.bundle
        levels = self.levels
        n_levels, n_images = len(levels), bundle.oracle.n
        size = self._size()[1].replace(" = ", " <= ")
        picks = np.random.default_rng(0).choice(n_levels, size=min(PILOT_LEVELS + 8, n_levels), replace=False)
        # The first call pays one-time costs (kernel set-up, allocator): warm up on 8 levels, time the rest.
        bundle.oracle.label(levels[picks[:8]], bundle.h)
        pilot = levels[picks[8:]] if len(picks) > 8 else levels[picks]
        before = bundle.oracle.images_evaluated
        start = time.perf_counter()
        bundle.oracle.label(pilot, bundle.h)
        seconds = time.perf_counter() - start
        read = bundle.oracle.images_evaluated - before
        if read == 0:  # the pilot came from the cache: fall back to the image rate, no early stopping
            estimate = n_levels * n_images / image_rate(bundle.oracle)
            log.info("%s; %s at most here; cached for reruns", size, duration(estimate))
            return
        estimate = seconds * n_levels / len(pilot)
        share = read / (len(pilot) * n_images)
        log.info("%s; a pilot of %d levels read %.0f %% of their images in %.1f s -> %s here; cached for reruns",
                 size, len(pilot), 100 * share, seconds, duration(estimate))
