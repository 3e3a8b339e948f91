"""Tracking: every job an MLflow run, a multirun one parent run, finished jobs not recomputed.

    tracker = make_tracker(cfg)          # conf/tracking/mlflow.yaml (default) or none.yaml
    with tracker.job(cfg) as job:
        if job.already_done: ...         # FINISHED run with the same resolved config (rerun=false)
        else: job.log_result(pipeline.run(cfg, output_dir))

The store defaults to ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<project root>/mlflow.db``
with artifacts in ``<project root>/mlartifacts/``. MLflow itself is imported only when used.
"""

from __future__ import annotations

import os
from typing import Any

# This project runs offline on clusters: no usage telemetry from MLflow (it would try the network).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from omegaconf import DictConfig, OmegaConf

from .base import Job, JobInfo, NullTracker, Tracker, experiment_name, job_tags
from .result import JobResult, summary_line, write_result_files
from .store import TrackingError
from .sweep import SweepState, SweepSummary

__all__ = ["JobResult", "Job", "JobInfo", "Tracker", "NullTracker", "MlflowTracker", "TrackingError",
           "SweepState", "SweepSummary", "make_tracker", "summary_line", "write_result_files",
           "experiment_name", "job_tags"]


def make_tracker(cfg: DictConfig) -> Tracker:
    """The tracker ``cfg.tracking`` describes (``_target_`` + settings; ``name`` is a label only).

    Without a ``tracking`` node: MLflow with its defaults.
    """
    from ..build import build

    node = cfg.get("tracking") if isinstance(cfg, DictConfig) else None
    if node is None or "_target_" not in node:
        from .mlflow_tracker import MlflowTracker

        settings = {} if node is None else OmegaConf.to_container(node, resolve=True)
        settings.pop("name", None)
        return MlflowTracker(**settings)
    return build("tracking", node)


def __getattr__(name: str) -> Any:  # MlflowTracker without importing mlflow up front
    if name == "MlflowTracker":
        from .mlflow_tracker import MlflowTracker

        return MlflowTracker
    raise AttributeError(name)
