"""The quality-control answer of a single run: reliability map, profile and the predictors' region.

Runs after the summary (the map's oracle work is not the job's, and is cached for the next map).
Sweeps skip it (one map per model is enough: ``python -m distortion_reliability.report map``).
"""

from __future__ import annotations

import logging

from ..console import format_count
from .base import Estimate, Stage, duration

log = logging.getLogger(__name__)



def _in_multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # not inside a Hydra app
        return False


class ReportStage(Stage):
    name = "reliability report"

    def wanted(self) -> bool:
        return bool(self.job.settings.report) and self.job.output_dir is not None and not _in_multirun()

    def estimate(self) -> Estimate:
        if not self.wanted():
            return Estimate(0.0, "reliability map: skipped (report=false, a sweep, or no output folder)")
        from ..reporting.maps import DEFAULT_PROFILE_POINTS, DEFAULT_RESOLUTION

        d, n = self.job.bundle.box.d, self.job.bundle.oracle.n
        levels = DEFAULT_RESOLUTION ** 2 * d * (d - 1) // 2 + DEFAULT_PROFILE_POINTS * d
        seconds = levels * n / self.job.rate
        # At most: the slices are labelled with early stopping, so they usually read far fewer images.
        return Estimate(seconds, f"reliability map: {format_count(levels)} levels x {format_count(n)} images = "
                                 f"{levels * n / 1e6:.1f} M images at most, {duration(seconds)} (cached levels are free)")

    def run(self) -> None:
        from ..reporting.maps import write_reliability_report

        if not self.wanted():
            return
        job = self.job
        out = job.output_dir / "reliability"
        log.info("reliability map and profile: %s (report=false skips them)", out)
        report = write_reliability_report(job.bundle.oracle, job.space, job.h, out, training=job.training,
                                          proposals=getattr(job.method, "stats_", None), fitted=job.fitted or None,
                                          grid=job.grid,
                                          title=f"{job.labels['dataset']}, h = {job.h:g}")
        summary = getattr(report, "summary", None)
        if summary:
            log.info("reliable when each distortion acts alone: %s", summary)
