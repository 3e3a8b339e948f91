"""The stages of one job, in data-flow order; each owns its cache key, its cost estimate and its run.

    oracle (D, T, f) -> grid R' -> sampling R -> rebalancing + fitting -> scoring -> reliability report

A stage is a small class (:class:`~.base.Stage`): ``key()`` is the hash of exactly what determines
its output (None when nothing is stored), ``estimate()`` its cost without spending it (what a dry run
prints: it evaluates no level and trains nothing), ``run()`` the work, reading earlier outputs from
the :class:`~.job.Job` and writing its own there. ``pipeline.run`` only sequences them; a new stage
is a new class here and one entry in :data:`STAGES`.
"""

from __future__ import annotations

import logging

import numpy as np

from .base import Estimate, Stage, duration, image_rate
from .fitting import FittingStage, ScoringStage, frame, rebalanced_frames
from .grid import Grid, GridStage
from .job import Job
from .oracle import OracleBundle, OracleStage
from .reliability import ReportStage
from .sampling import SamplingStage, budgets_for

log = logging.getLogger(__name__)

#: Every stage of a job, in the order they run.
STAGES = (OracleStage, GridStage, SamplingStage, FittingStage, ScoringStage, ReportStage)

__all__ = ["Estimate", "FittingStage", "Grid", "GridStage", "Job", "OracleBundle", "OracleStage", "ReportStage",
           "STAGES", "SamplingStage", "ScoringStage", "Stage", "budgets_for", "duration", "image_rate",
           "job_result", "print_plan"]


def print_plan(job: Job, stages) -> dict[str, float]:
    """The dry run: each stage's estimate, one line each; returns the seconds by stage (unknown: absent)."""
    log.info("plan (dry run, nothing evaluated or trained): dataset=%s model=%s sampler=%s imbalance=%s seed=%s h=%s",
             job.labels["dataset"], job.labels["model"], job.labels["sampler"], job.labels["imbalance"], job.seed,
             job.h)
    seconds = {}
    for stage in stages:
        estimate = stage.estimate()
        log.info("  %s", estimate.text)
        if estimate.seconds is not None:
            seconds[stage.name] = estimate.seconds
    log.info("  total: %s here, at most (cached stages cost nothing)", duration(sum(seconds.values())))
    return seconds


def job_result(job: Job, wall_seconds: float):
    """The JobResult the tracker logs: the stages' summary, tables and fitted predictors."""
    from ..tracking.result import JobResult

    box, training = job.bundle.box, job.training
    space = {"names": list(box.names), "lower": box.lower.tolist(), "upper": box.upper.tolist(),
             "identity": None if getattr(job.space, "identity", None) is None else
             np.asarray(job.space.identity, dtype=float).tolist()}
    job.summary["oracle_images_evaluated"] = int(job.bundle.oracle.images_evaluated)  # 0 when all came from cache
    job.summary["wall_seconds"] = wall_seconds
    result = JobResult(summary=job.summary, space=space, tags=job.tags(), skipped=job.skipped,
                       training=frame(training.levels, box.names, f=training.values,
                                      label=training.labels.astype(int)), **rebalanced_frames(job))
    if job.scores is not None:
        result.scores = job.scores.loc[:, ["predictor", "f1", "precision", "recall", "balanced_accuracy"]]
        result.fitted = dict(job.fitted)
    return result
