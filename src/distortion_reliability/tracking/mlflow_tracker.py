"""MLflow tracking: one run per job, a parent run per multirun, finished-job lookup.

Layout (the team contract): experiment ``<study>-<dataset>``, or MLflow's ``Default`` outside a study; tags
``dataset model sampler imbalance seed h study sweep`` (+ ``skipped``, ``error``), plus
``config_hash`` (the job's identity), ``run_kind`` (job | parent | link), ``already_done``
(link runs: the FINISHED run they stand for) and ``job_host job_pid job_boot_id`` (the process that
owns a job run, so a later start of the same job can close a run whose process is gone); params =
the flattened resolved job config; metrics = the JobResult summary; artifacts = config.yaml,
scores.csv, space.json, training_set.csv, rebalanced.csv, smote_gp_proposals.csv, predictors/<name>/
(mlflow.sklearn, skops only: see safe_load.py), report.html and reliability/ (map, profile; single
jobs), traceback.txt on failure.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, OmegaConf

from .base import Job, JobInfo, Tracker, error_text, experiment_name, job_tags
from .params import DEFAULT_IDENTITY_IGNORE, MAX_TAG_VALUE, config_identity, job_params, safe_key, truncate
from .result import CONFIG_YAML, PREDICTORS_DIR, JobResult, artifact_dir
from .store import artifact_base, default_artifact_location, get_or_create_experiment, open_client, resolve_uri
from .sweep import FAILED as STATUS_FAILED, INTERRUPTED, RUNNING, SweepState, SweepSummary

log = logging.getLogger(__name__)

RUN_KIND_JOB, RUN_KIND_PARENT, RUN_KIND_LINK = "job", "parent", "link"
_BATCH = 100  # MLflow's params/tags per log_batch


def _now_ms() -> int:
    return int(time.time() * 1000)


@functools.lru_cache(maxsize=4)
def _git_commit(root: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _boot_id() -> str:
    """This boot of this host (Linux); '' elsewhere. A process of another boot is certainly gone."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def owner_tags(owner: str = "job") -> dict[str, str]:
    """The process that owns a run: host, pid and boot, as ``<owner>_host`` etc. ("job" or "sweep")."""
    from ..locks import HOSTNAME

    return {f"{owner}_host": HOSTNAME, f"{owner}_pid": str(os.getpid()), f"{owner}_boot_id": _boot_id()}


def owner_gone(tags: dict[str, str], owner: str = "job") -> bool:
    """Is the process that owns a RUNNING run (its ``<owner>_*`` tags) certainly gone?

    Only judged on this host, and only ``True`` when sure: another boot (the machine restarted), or
    the same boot and no such pid. A pid taken by another process after the owner died reads as alive,
    so such a run stays RUNNING rather than a live one being closed; runs without these tags (older
    runs, other hosts) are never judged.
    """
    from ..locks import HOSTNAME, pid_alive

    host, pid = tags.get(f"{owner}_host"), tags.get(f"{owner}_pid", "")
    if host != HOSTNAME or not pid.isdigit():
        return False
    boot, now = tags.get(f"{owner}_boot_id", ""), _boot_id()
    if boot and now and boot != now:
        return True
    return not pid_alive(int(pid))


def close_orphans(client: Any, experiment_id: str, query: str, owner: str, keep: str | None = None) -> None:
    """End, as KILLED, the RUNNING runs matching ``query`` whose owner process (``<owner>_*`` tags) is gone.

    Its owner ends a run, also at exit after Ctrl-C; one killed outright (the machine restarted,
    SIGKILL) ends nothing, and the MLflow UI would show its run running for ever. ``keep``: a run id
    left alone (a requeued job's own run, which it resumes).
    """
    for run in client.search_runs([experiment_id], filter_string=f"{query} and attributes.status = 'RUNNING'",
                                  max_results=100):
        tags = run.data.tags
        if run.info.run_id != keep and owner_gone(tags, owner):
            end_interrupted(client, run.info.run_id, f"its {owner}'s process (pid {tags[f'{owner}_pid']} on "
                                                      f"{tags[f'{owner}_host']}) ended without ending it")
            log.info("closed MLflow run %s as KILLED: its %s's process is gone", run.info.run_id, owner)


def end_interrupted(client: Any, run_id: str, why: str) -> None:
    """End a run as KILLED, saying why in its ``interrupted`` tag."""
    client.set_tag(run_id, "interrupted", why)
    client.set_terminated(run_id, "KILLED")


class MlflowTracker(Tracker):
    """Logs every job to MLflow. Built from ``conf/tracking/mlflow.yaml`` (``_target_`` this class)."""

    enabled = True

    def __init__(self, uri: str | None = None, root: str | None = None, artifact_root: str | None = None,
                 experiment: str | None = None, log_models: bool = True, retry_seconds: float = 60.0,
                 identity_ignore: Iterable[str] = DEFAULT_IDENTITY_IGNORE):
        self.root = root
        self.uri = resolve_uri(uri, root)
        self.artifact_root = artifact_root
        self.fixed_experiment = experiment
        self.log_models = bool(log_models)
        self.retry_seconds = float(retry_seconds)
        self.identity_ignore = tuple(identity_ignore)

    # shared helpers --------------------------------------------------------------------------
    def client(self):
        return open_client(self.uri, self.retry_seconds, artifact_base(self.uri, self.root, self.artifact_root))

    def experiment_id(self, client: Any, name: str) -> str:
        location = default_artifact_location(self.uri, name, self.root, self.artifact_root)
        return get_or_create_experiment(client, name, location)

    def create_parent(self, client: Any, experiment_id: str, cfg: DictConfig, sweep_dir: Path,
                      overrides: list[str]) -> str:
        close_orphans(client, experiment_id, f"tags.run_kind = '{RUN_KIND_PARENT}'", "sweep")
        study = cfg.get("study")
        # Owned by the sweep's main process (which ends it), even when a job creates it.
        tags = {"run_kind": RUN_KIND_PARENT, "sweep": str(sweep_dir), "study": str(study or "none"),
                "sweep_overrides": truncate(" ".join(overrides), MAX_TAG_VALUE), **SweepState(sweep_dir).driver()}
        dataset = OmegaConf.select(cfg, "dataset.name", default=None)
        if dataset:
            tags["dataset"] = str(dataset)
        commit = _git_commit(str(Path(self.root or ".").resolve()))
        if commit:
            tags["mlflow.source.git.commit"] = commit
        run = client.create_run(experiment_id, tags=tags, run_name=f"{study or 'sweep'} {sweep_dir}"[:250])
        log.info("MLflow parent run %s for sweep %s", run.info.run_id, sweep_dir)
        return run.info.run_id

    def run_tags(self, client: Any, cfg: DictConfig, info: JobInfo, identity: str, experiment_id: str,
                 experiment: str) -> dict[str, str]:
        """A job run's tags: the contract's, its identity and overrides, the commit, its sweep's parent run."""
        tags = {**job_tags(cfg, info), "config_hash": identity, "run_kind": RUN_KIND_JOB,
                "overrides": truncate(" ".join(info.overrides), MAX_TAG_VALUE), "mlflow.source.name": "run.py",
                **owner_tags()}
        commit = _git_commit(str(Path(self.root or ".").resolve()))
        if commit:
            tags["mlflow.source.git.commit"] = commit
        if info.multirun and info.sweep_dir is not None:
            tags["mlflow.parentRunId"] = SweepState(info.sweep_dir).parent_for(
                experiment, lambda: self.create_parent(client, experiment_id, cfg, info.sweep_dir, info.overrides))
        return tags

    # Tracker interface ---------------------------------------------------------------------
    def job(self, cfg: DictConfig, info: JobInfo | None = None) -> "MlflowJob":
        return MlflowJob(self, cfg, info)

    def prepare_sweep(self, cfg: DictConfig, sweep_dir: Path) -> None:
        """Create/migrate the store once, and the sweep's parent run when all jobs share one experiment."""
        SweepState(sweep_dir).set_driver(owner_tags("sweep"))  # this process ends the parent runs
        client = self.client()
        if self.fixed_experiment is None and _sweeps_experiment(cfg):
            return  # jobs of different datasets/studies: each experiment's parent is created by its first job
        name = experiment_name(cfg, self.fixed_experiment)
        experiment_id = self.experiment_id(client, name)
        overrides = [str(o) for o in OmegaConf.select(cfg, "hydra.overrides.task", default=[]) or []]
        SweepState(sweep_dir).parent_for(
            name, lambda: self.create_parent(client, experiment_id, cfg, sweep_dir, overrides))

    def finished_jobs(self, jobs):
        from .links import finished_jobs

        return finished_jobs(self, jobs)

    def link_jobs(self, sweep_dir: Path, jobs) -> None:
        from .links import link_jobs

        link_jobs(self, sweep_dir, jobs)

    def finish_sweep(self, cfg: DictConfig, sweep_dir: Path, summary: SweepSummary, aborted: bool = False) -> None:
        state = SweepState(sweep_dir)
        parents = state.parents()
        if not parents:
            return
        client = self.client()
        jobs = state.jobs()
        for job in jobs:  # a job whose process died (OOM killer, segfault, the sweep killed) left its run RUNNING
            if job.get("status") == RUNNING and job.get("run_id"):
                if client.get_run(job["run_id"]).info.status == "RUNNING":
                    end_interrupted(client, job["run_id"], "the job's process ended without a result")
        for name, run_id in parents.items():
            part = SweepSummary.from_jobs([j for j in jobs if j.get("experiment") == name])
            metrics = {"n_finished": part.finished, "n_failed": part.n_failed, "n_skipped": part.skipped,
                       "n_already_done": part.already_done}
            _log_batch(client, run_id, metrics=metrics)
            multirun_yaml = Path(sweep_dir) / "multirun.yaml"
            if multirun_yaml.is_file():
                client.log_artifact(run_id, str(multirun_yaml))
            if client.get_run(run_id).info.status != "RUNNING":
                continue
            client.set_terminated(run_id, "KILLED" if aborted else "FAILED" if part.n_failed else "FINISHED")


def _os_error(err: BaseException | None) -> OSError | None:
    """``err`` or the OSError it was raised from (MLflow and skops wrap them)."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, OSError):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def _sweeps_experiment(cfg: DictConfig) -> bool:
    """Does the multirun sweep ``dataset`` or ``study`` (so its jobs span several experiments)?"""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    lines = [str(o) for o in OmegaConf.select(cfg, "hydra.overrides.task", default=[]) or []]
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None) or {}
    lines += [f"{k}={v}" for k, v in params.items()]
    for grid in OmegaConf.select(cfg, "hydra.sweeper.grids", default=None) or []:
        lines += [f"{k}={v}" for k, v in grid.items()]
    try:
        overrides = OverridesParser.create().parse_overrides(lines)
    except Exception:  # unparsable here: be safe, create parents lazily
        return True
    return any(o.is_sweep_override() and o.key_or_group.split("@")[0] in ("dataset", "study",
                                                                            "experiment", "+study", "+experiment")
               for o in overrides)


def _log_batch(client: Any, run_id: str, metrics: dict[str, float] | None = None,
               params: dict[str, str] | None = None, tags: dict[str, str] | None = None) -> None:
    from mlflow.entities import Metric, Param, RunTag

    ts = _now_ms()
    metric_list = [Metric(safe_key(k), float(v), ts, 0) for k, v in (metrics or {}).items() if v is not None]
    param_list = [Param(k, v) for k, v in (params or {}).items()]
    tag_list = [RunTag(safe_key(k), truncate(str(v), MAX_TAG_VALUE)) for k, v in (tags or {}).items()]
    for i in range(0, len(metric_list), 1000):
        client.log_batch(run_id, metrics=metric_list[i:i + 1000])
    for i in range(0, len(param_list), _BATCH):
        client.log_batch(run_id, params=param_list[i:i + _BATCH])
    for i in range(0, len(tag_list), _BATCH):
        client.log_batch(run_id, tags=tag_list[i:i + _BATCH])


class MlflowJob(Job):
    tracker: MlflowTracker

    def _start(self) -> None:
        tracker, cfg, info = self.tracker, self.cfg, self.info
        self.client = client = tracker.client()
        self.experiment = experiment_name(cfg, tracker.fixed_experiment)
        self.experiment_id = tracker.experiment_id(client, self.experiment)
        self.identity = config_identity(cfg, tracker.identity_ignore)
        tags = tracker.run_tags(client, cfg, info, self.identity, self.experiment_id, self.experiment)
        # earlier runs of this job left RUNNING by a process that is gone (a requeued job resumes its own)
        close_orphans(client, self.experiment_id, f"tags.config_hash = '{self.identity}' and "
                      f"tags.run_kind = '{RUN_KIND_JOB}'", "job", keep=(self.previous or {}).get("run_id"))
        if not bool(cfg.get("rerun", False)):
            self.already_done = self._find_finished()
        params = job_params(cfg)
        if self.already_done:
            from .links import write_link

            done = client.get_run(self.already_done)
            self.linked_metrics = dict(done.data.metrics)
            self.run_id = write_link(client, self.experiment_id, tags, params, done, info.run_name())
            return
        resumed = self._resumable_run()
        if resumed is not None:
            self.run_id, attempt = resumed
            client.update_run(self.run_id, status="RUNNING")
            client.set_tag(self.run_id, "attempt", str(attempt))
            _log_batch(client, self.run_id, tags=owner_tags())  # this process owns it now
            log.info("resuming MLflow run %s (attempt %d)", self.run_id, attempt)
            return
        run = client.create_run(self.experiment_id, tags=tags, run_name=info.run_name())
        self.run_id = run.info.run_id
        self._write_status(RUNNING)
        _log_batch(client, self.run_id, params=params)
        client.log_artifact(self.run_id, str(info.output_dir / CONFIG_YAML))

    def _find_finished(self) -> str | None:
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.config_hash = '{self.identity}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"], max_results=20)
        for run in runs:
            if run.data.tags.get("run_kind", RUN_KIND_JOB) == RUN_KIND_JOB:
                return run.info.run_id
        return None

    def _resumable_run(self) -> tuple[str, int] | None:
        """The run of an earlier attempt of this very job (SLURM requeue), when it did not end."""
        record = self.previous or {}
        run_id = record.get("run_id")
        if not run_id or record.get("config_hash") != self.identity:
            return None
        try:
            run = self.client.get_run(run_id)
        except Exception:
            return None
        if run.info.status not in ("RUNNING", "KILLED"):
            return None
        return run_id, int(run.data.tags.get("attempt", "1")) + 1

    def _status_extra(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "experiment": getattr(self, "experiment", None),
                "experiment_id": getattr(self, "experiment_id", None), "config_hash": getattr(self, "identity", None)}

    def _log_result(self, result: JobResult, files: list[Path]) -> None:
        # the pipeline's resolved names (e.g. model=lenet5 for model=auto); study and sweep are the tracker's
        tags = {**result.string_summary(),
                **{k: str(v) for k, v in result.tags.items() if k not in ("study", "sweep") and v is not None}}
        if result.skipped:
            tags["skipped"] = result.skipped
        metrics = result.metrics()
        _log_batch(self.client, self.run_id, metrics=metrics, tags=tags)
        for path in files:  # a file in a subfolder of the job's (reliability/...) keeps that folder
            self.client.log_artifact(self.run_id, str(path), artifact_dir(path, self.info.output_dir))
        if self.tracker.log_models and result.fitted:
            self._log_models(result.fitted)

    def _log_models(self, fitted: dict[str, Any]) -> None:
        from ..artifacts import describe_os_error
        from ..errors import CacheDirError
        from .safe_load import UnsafeArtifactError, save_predictor  # imports torch: only when there are models

        with tempfile.TemporaryDirectory(prefix="dr-models-") as tmp:
            for name, estimator in fitted.items():
                target = Path(tmp) / safe_key(name).replace("/", "_")
                try:
                    save_predictor(estimator, target)  # skops only: predict never loads a pickle
                    self.client.log_artifacts(self.run_id, str(target), f"{PREDICTORS_DIR}/{target.name}")
                except UnsafeArtifactError as err:
                    log.warning("predictor %s not logged as an MLflow model: %s", name, err)
                    self.client.set_tag(self.run_id, f"model_not_logged.{safe_key(name)}", truncate(str(err), 500))
                except Exception as err:  # noqa: BLE001 - a full disk (MLflow wraps the OSError): one error line
                    cause = _os_error(err)      # like every other write; the metrics are logged already
                    if cause is None:
                        raise
                    raise CacheDirError(target, describe_os_error(cause), what="predictor file",
                                        errno=cause.errno) from None

    def _end(self, exc: BaseException | None, tb: Any) -> None:
        if self.run_id is None:
            return
        client = self.client
        if self.status == STATUS_FAILED:
            client.set_tag(self.run_id, "error", truncate(error_text(exc), 5000))
            trace = self.info.output_dir / "traceback.txt"
            if trace.is_file():
                client.log_artifact(self.run_id, str(trace))
            _log_batch(client, self.run_id, metrics={"wall_seconds": self.wall_seconds})
            client.set_terminated(self.run_id, "FAILED")
            return
        if self.status == INTERRUPTED:
            end_interrupted(client, self.run_id, error_text(exc))
            return
        if self.already_done:
            _log_batch(client, self.run_id, metrics={"oracle_images_evaluated": 0, "wall_seconds": self.wall_seconds})
        elif self.result is None or "wall_seconds" not in self.result.summary:
            _log_batch(client, self.run_id, metrics={"wall_seconds": self.wall_seconds})
        client.set_terminated(self.run_id, "FINISHED")

    def describe(self) -> list[str]:
        if self.run_id is None:
            return []
        lines = [f"mlflow run: {self.run_id} (experiment {self.experiment}, {self.tracker.uri})"]
        if self.already_done:
            lines.insert(0, f"already done: {self.already_done}")
        lines.append("look: make ui" if self.tracker.uri.startswith("sqlite:") else f"look: {self.tracker.uri}")
        return lines
