"""One Hydra job, tracked: what ``run.py`` calls (kept here so launchers pickle a plain import).

    validate -> tracker.job(cfg) -> already done? (link, skip) : pipeline.run(cfg, output_dir) -> log_result

Single run: bad input (any DistortionReliabilityError, an unusable tracking store included) prints
one ``error: ...`` line and exits 2; any other exception propagates (traceback, exit 1). In a
multirun a failing job is recorded (MLflow FAILED with error tag and traceback.txt, a ``failed``
status file) and returns normally so the sweep goes on; the sweep callback reports it at the end.

``DR_PIPELINE=<module or file.py>:<function>`` replaces ``pipeline.run`` (tests use a fake pipeline).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, open_dict

from .base import JobInfo, Tracker
from .result import summary_line
from .sweep import FAILED, RUNNING, SweepState

log = logging.getLogger("distortion_reliability.run")


def load_pipeline() -> Callable[..., Any]:
    spec = os.environ.get("DR_PIPELINE")
    if not spec:
        from ..pipeline import run

        return run
    target, _, name = spec.rpartition(":")
    if target.endswith(".py"):
        module_spec = importlib.util.spec_from_file_location(f"_dr_pipeline_{abs(hash(target))}", target)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)  # type: ignore[union-attr]
    else:
        module = importlib.import_module(target)
    return getattr(module, name)


def validate(cfg: DictConfig) -> None:
    from ..config import validate as validate_config

    validate_config(cfg)


def default_threads(cfg: DictConfig) -> int | None:
    """Torch/BLAS threads per job when ``threads`` is unset: cores / parallel jobs under joblib,
    ``cpus_per_task`` under submitit, None (library default) otherwise."""
    if cfg.get("threads"):
        return int(cfg.threads)
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return None
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return None
    launcher = hc.launcher
    target = str(launcher.get("_target_", ""))
    cores = os.cpu_count() or 1
    if "joblib" in target.lower():
        n_jobs = int(launcher.get("n_jobs") or -1)
        n_jobs = cores + 1 + n_jobs if n_jobs < 0 else n_jobs  # joblib: -1 = all cores, -2 = all but one
        return max(1, cores // max(1, n_jobs))
    if "submitit" in target.lower():
        return int(launcher.get("cpus_per_task") or 1)
    return None


def _apply_threads(cfg: DictConfig) -> None:
    threads = default_threads(cfg)
    if threads is None:
        return
    if not cfg.get("threads"):
        with open_dict(cfg):
            cfg.threads = threads
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:  # pragma: no cover
        pass


def make_job_tracker(cfg: DictConfig) -> Tracker:
    from . import make_tracker

    if cfg.get("dry_run"):  # a plan, not a result: nothing to record
        return Tracker()
    return make_tracker(cfg)


def run_job(cfg: DictConfig, pipeline: Callable[..., Any] | None = None) -> float | None:
    """Run and track one job; returns its f1_mean (for Hydra sweepers that optimise)."""
    from ..errors import DistortionReliabilityError

    info = JobInfo.from_hydra()
    try:
        with _interrupt_guard(info):
            return _run(cfg, info, pipeline)
    except DistortionReliabilityError as err:
        if not info.multirun:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        if _mark_failed(info, err):
            log.error("error: %s", err)
        return None
    except Exception as err:
        if not info.multirun:
            raise
        if _mark_failed(info, err):  # failed before the tracked part: its traceback is nowhere else
            log.error("job failed (the sweep goes on)", exc_info=True)
        return None


def _interrupt_guard(info: JobInfo):
    """Single runs: Ctrl-C/SIGTERM save progress and exit with one line (H-resilience's guard).

    Not in a multirun: submitit owns the job's signals there (USR2 = checkpoint and requeue; the
    stages save their progress on its SystemExit like on any exception) and joblib workers are
    stopped by their parent.
    """
    import contextlib

    if info.multirun:
        return contextlib.nullcontext()
    from ..locks import interrupt_guard

    return interrupt_guard(preemption=True)


def _mark_failed(info: JobInfo, err: BaseException) -> bool:
    """A job that failed before its tracked part began still counts in the sweep summary.

    Returns True when this wrote the record (the tracked part, which logs its own error, did not run).
    """
    if info.sweep_dir is None or info.num is None:
        return True
    state = SweepState(info.sweep_dir)
    record = state.read_job(info.num)
    if record is None or record.get("status") == RUNNING:
        from .base import error_text

        state.write_job(info.num, status=FAILED, overrides=info.overrides, error=error_text(err),
                        output_dir=str(info.output_dir))
        return True
    return False


def _run(cfg: DictConfig, info: JobInfo, pipeline: Callable[..., Any] | None) -> float | None:
    if not info.multirun:
        validate(cfg)  # a single run with bad input: one error line, nothing recorded
    _apply_threads(cfg)
    tracker = make_job_tracker(cfg)
    with tracker.job(cfg, info) as job:
        if info.multirun:
            validate(cfg)  # in a sweep a bad cell is a FAILED run like any other failure
        if not job.already_done:
            fn = pipeline or load_pipeline()
            job.log_result(fn(cfg, output_dir=str(info.output_dir)))
    for line in job.describe():
        print(line)
    metrics = job.summary_metrics()
    if job.result is not None and job.result.skipped:
        print(f"skipped: {job.result.skipped}")
    print(summary_line(metrics), flush=True)
    f1 = metrics.get("f1_mean")
    return None if f1 is None else float(f1)
