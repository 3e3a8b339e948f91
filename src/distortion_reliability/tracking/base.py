"""The tracker interface run.py uses, and the no-MLflow tracker (``tracking=none``).

    tracker = make_tracker(cfg)
    with tracker.job(cfg) as job:
        if job.already_done:            # a FINISHED run with this exact config exists (rerun=false)
            ...
        else:
            job.log_result(pipeline.run(cfg, output_dir))

A job that raises is recorded (FAILED, error message, traceback) and the exception propagates; the
caller decides whether it ends the process (single run) or only this job (multirun).
"""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ..build import label_of
from ..errors import DistortionReliabilityError
from .params import to_container
from .result import CONFIG_YAML, JobResult, write_result_files
from .sweep import ALREADY_DONE, FAILED, FINISHED, INTERRUPTED, RUNNING, SKIPPED, SweepState, SweepSummary

log = logging.getLogger(__name__)

#: The contract's tags, in order.
TAG_KEYS = ("dataset", "model", "sampler", "imbalance", "seed", "h", "study", "sweep")
GROUP_TAGS = ("dataset", "model", "sampler", "imbalance")


@dataclass
class JobInfo:
    """Where a job runs: its output folder and, in a multirun, its sweep folder, number and overrides."""

    output_dir: Path
    multirun: bool = False
    sweep_dir: Path | None = None
    num: int | None = None
    overrides: list[str] = field(default_factory=list)
    choices: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_hydra(cls, output_dir: str | Path | None = None) -> "JobInfo":
        """From the running Hydra job (falls back to the working directory outside Hydra)."""
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        if not HydraConfig.initialized():
            return cls(output_dir=Path(output_dir or Path.cwd()))
        hc = HydraConfig.get()
        multirun = hc.mode == RunMode.MULTIRUN
        return cls(output_dir=Path(output_dir or hc.runtime.output_dir), multirun=multirun,
                   sweep_dir=Path(str(hc.sweep.dir)) if multirun else None,
                   num=int(hc.job.num) if multirun and hc.job.get("num") is not None else None,
                   overrides=[str(o) for o in hc.overrides.task], choices=_choices(hc))

    @classmethod
    def of_sweep_job(cls, hydra_node: DictConfig, num: int) -> "JobInfo":
        """Job ``num`` of a multirun, from its composed config's ``hydra`` node (before it is launched)."""
        sweep_dir = Path(str(hydra_node.sweep.dir))
        return cls(output_dir=sweep_dir / str(num), multirun=True, sweep_dir=sweep_dir, num=num,
                   overrides=[str(o) for o in hydra_node.overrides.task], choices=_choices(hydra_node))

    def run_name(self) -> str:
        """The job's own overrides (not study=/dataset=, which name the experiment): e.g. ``sampler=gp imbalance=smote seed=0``."""
        keep = [o for o in self.overrides if not o.split("=", 1)[0].lstrip("+~").startswith(("study", "hydra"))]
        return (" ".join(keep) or "default")[:250]


def _choices(hydra_node: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (hydra_node.runtime.choices or {}).items() if v is not None}


def job_tags(cfg: DictConfig, info: JobInfo) -> dict[str, str]:
    """dataset model sampler imbalance seed h study sweep; group tags are the config choice names."""
    tags: dict[str, str] = {}
    for group in GROUP_TAGS:
        choice = info.choices.get(group)
        if choice in (None, "auto"):  # model=auto: its resolved option, as the gateway labels it
            choice = label_of(group, cfg[group]) if group in cfg else None
        tags[group] = str(choice or "none")
    tags["seed"] = str(OmegaConf.select(cfg, "seed", default=""))
    h = OmegaConf.select(cfg, "h", default=None, throw_on_resolution_failure=False)
    tags["h"] = "" if h is None else str(h)
    tags["study"] = str(cfg.get("study") or "none")
    tags["sweep"] = str(info.sweep_dir) if info.multirun and info.sweep_dir is not None else "none"
    return tags


#: Runs outside a study go to MLflow's built-in experiment (id 0), so ``mlflow.search_runs()`` and the
#: UI's first page show them.
DEFAULT_EXPERIMENT = "Default"


def experiment_name(cfg: DictConfig, fixed: str | None = None) -> str:
    """``<study>-<dataset>`` for a study, else MLflow's ``Default`` (``tracking.experiment`` overrides both)."""
    if fixed:
        return str(fixed)
    study = cfg.get("study")
    if not study:
        return DEFAULT_EXPERIMENT
    dataset = OmegaConf.select(cfg, "dataset.name", default=None) or "unknown"
    return f"{study}-{dataset}"


def error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Job:
    """One tracked job (context manager). Subclasses log to a store; this base only writes files."""

    def __init__(self, tracker: "Tracker", cfg: DictConfig, info: JobInfo | None = None):
        self.tracker = tracker
        self.cfg = cfg
        self.info = info or JobInfo.from_hydra()
        self.already_done: str | None = None   # run id of the FINISHED run this job repeats
        self.run_id: str | None = None
        self.result: JobResult | None = None
        self.linked_metrics: dict[str, float] = {}
        self.status: str | None = None
        self.previous: dict[str, Any] | None = None
        self._t0 = time.perf_counter()

    # context --------------------------------------------------------------------------------
    def __enter__(self) -> "Job":
        self._t0 = time.perf_counter()
        self.info.output_dir.mkdir(parents=True, exist_ok=True)
        (self.info.output_dir / CONFIG_YAML).write_text(OmegaConf.to_yaml(to_container(self.cfg)))
        self.previous = self._read_status()  # an earlier attempt of this very job (requeued on SLURM)
        self._write_status(RUNNING)
        self._start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None:
            if self.already_done:
                self.status = ALREADY_DONE
            elif self.result is not None and self.result.skipped:
                self.status = SKIPPED
            else:
                self.status = FINISHED
        elif isinstance(exc, (KeyboardInterrupt, SystemExit)):
            self.status = INTERRUPTED
        else:
            self.status = FAILED
            trace = "".join(traceback.format_exception(exc_type, exc, tb))
            (self.info.output_dir / "traceback.txt").write_text(trace)
            if self.info.multirun or not isinstance(exc, DistortionReliabilityError):
                # a single run's bad input is printed once, as "error: ...", by the runner
                log.error("job failed: %s (traceback: %s)", error_text(exc), self.info.output_dir / "traceback.txt")
        try:
            self._end(exc, tb)
        except Exception as err:  # never hide the job's own exception behind a tracking one
            log.warning("could not record the end of the job in the tracking store: %s", err)
        self._write_status(self.status, error=error_text(exc) if exc is not None else None)
        return False

    def log_result(self, result: Any) -> JobResult:
        self.result = JobResult.coerce(result)
        files = write_result_files(self.result, self.info.output_dir)
        files += self._report_files()
        self._log_result(self.result, files)
        return self.result

    def _report_files(self) -> list[Path]:
        """``report.html`` and the reliability map and profile the pipeline drew (reporting.html); a report
        that cannot be written costs a warning, never the job's result."""
        from ..reporting.html import job_report_files

        try:
            return job_report_files(self.result, self.cfg, self.info.output_dir, self.run_id, self.info.overrides)
        except Exception as err:  # noqa: BLE001
            log.warning("report.html not written: %s", err)
            return []

    # what the summary line shows -------------------------------------------------------------
    @property
    def wall_seconds(self) -> float:
        return time.perf_counter() - self._t0

    def summary_metrics(self) -> dict[str, float]:
        if self.already_done:
            return {**self.linked_metrics, "oracle_images_evaluated": 0.0, "wall_seconds": self.wall_seconds}
        metrics = self.result.metrics() if self.result is not None else {}
        metrics.setdefault("wall_seconds", self.wall_seconds)
        return metrics

    def describe(self) -> list[str]:
        """Lines that tell the user where the job was recorded (empty without a store)."""
        return []

    # hooks ---------------------------------------------------------------------------------
    def _start(self) -> None: ...

    def _end(self, exc: BaseException | None, tb: Any) -> None: ...

    def _log_result(self, result: JobResult, files: list[Path]) -> None: ...

    def _status_extra(self) -> dict[str, Any]:
        return {}

    def _read_status(self) -> dict[str, Any] | None:
        if not (self.info.multirun and self.info.sweep_dir is not None and self.info.num is not None):
            return None
        return SweepState(self.info.sweep_dir).read_job(self.info.num)

    def _write_status(self, status: str, error: str | None = None) -> None:
        if not (self.info.multirun and self.info.sweep_dir is not None and self.info.num is not None):
            return
        SweepState(self.info.sweep_dir).write_job(
            self.info.num, status=status, overrides=self.info.overrides, error=error,
            output_dir=str(self.info.output_dir), skipped=self.result.skipped if self.result else None,
            already_done=self.already_done, **self._status_extra())


class Tracker:
    """``tracking=none``: jobs write their files (scores.csv, training_set.csv, ...) and nothing else."""

    enabled = False

    def job(self, cfg: DictConfig, info: JobInfo | None = None) -> Job:
        return Job(self, cfg, info)

    def prepare_sweep(self, cfg: DictConfig, sweep_dir: Path) -> None:
        """Before any job of a multirun starts (main process)."""

    def finished_jobs(self, jobs: list[tuple[Any, DictConfig]]) -> dict[Any, Any]:
        """Before a multirun launches: which (key, job config) already have a FINISHED run (none without a store)."""
        return {}

    def link_jobs(self, sweep_dir: Path, jobs: list[tuple[int, DictConfig, JobInfo, Any]]) -> None:
        """Record (num, job config, info, finished run) as done in this sweep without running them."""

    def finish_sweep(self, cfg: DictConfig, sweep_dir: Path, summary: SweepSummary, aborted: bool = False) -> None:
        """After every job of a multirun returned (main process); ``aborted``: the sweep itself died."""


NullTracker = Tracker
