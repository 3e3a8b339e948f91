"""One job: the stages of :mod:`distortion_reliability.stages` run in data-flow order.

Every group is built first through the one gateway (:func:`distortion_reliability.build.build`), so
a typo costs nothing; each stage then owns its cache key, its cost estimate and its run, and this
module only sequences them. A dry run prints every stage's estimate instead and spends nothing.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig

from .config import compose_config
from .stages import STAGES, Job, job_result, print_plan

log = logging.getLogger(__name__)

__all__ = ["compose_config", "run"]


def run(cfg: DictConfig, output_dir: str | Path | None = None):
    """Oracle, grid, training set, rebalancing, predictors, scores (and the report) -> a ``JobResult``."""
    from .tracking.result import JobResult

    start = time.perf_counter()
    job = Job.from_config(cfg, output_dir)
    job.probe_cache()
    oracle, grid, sampling, fitting, scoring, report = stages = [stage(job) for stage in STAGES]
    if job.settings.dry_run:
        print_plan(job, stages)
        return JobResult(summary={"dry_run": 1}, skipped="dry run", tags=job.tags())
    log.info("job: dataset=%s model=%s sampler=%s imbalance=%s seed=%d h=%s", job.labels["dataset"],
             job.labels["model"], job.labels["sampler"], job.labels["imbalance"], job.seed, job.h)
    for stage in (oracle, grid, sampling, fitting, scoring):
        stage.run()
    result = job_result(job, wall_seconds=time.perf_counter() - start)
    report.run()  # after the summary: the map's oracle work is not the job's (and is cached for the next map)
    return result
