"""Link runs: a job whose exact config already has a FINISHED run is recorded, not recomputed.

A link run (tag ``run_kind=link``, ``already_done=<run id>``) carries the job's tags and params and
the finished run's metrics (``oracle_images_evaluated`` 0), nested in the new sweep's parent run.
Two ways in: a job process finds its own finished run (``MlflowJob``: single runs, and a job that
another sweep finished after this one started), or the sweeper links every finished job of a sweep
before launching anything (``finished_jobs``, ``link_jobs``): one store query per experiment, no job process.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Hashable, Sequence

from omegaconf import DictConfig, OmegaConf

from .base import JobInfo, experiment_name
from .params import config_identity, job_params
from .result import summary_line
from .sweep import ALREADY_DONE, SweepState

log = logging.getLogger(__name__)

#: Metrics of the finished run a link does not repeat: it evaluated nothing, and took its own time.
OWN_METRICS = ("oracle_images_evaluated", "wall_seconds")


def write_link(client: Any, experiment_id: str, tags: dict[str, str], params: dict[str, str], done: Any,
               run_name: str) -> str:
    """Create the link run standing for the FINISHED run ``done`` (left RUNNING: the caller ends it)."""
    from .mlflow_tracker import RUN_KIND_LINK, _log_batch

    tags = {**tags, "run_kind": RUN_KIND_LINK, "already_done": done.info.run_id}
    if "skipped" in done.data.tags:
        tags["skipped"] = done.data.tags["skipped"]
    run_id = client.create_run(experiment_id, tags=tags, run_name=run_name).info.run_id
    _log_batch(client, run_id, params=params,
               metrics={k: v for k, v in done.data.metrics.items() if k not in OWN_METRICS})
    return run_id


def finished_job_runs(client: Any, experiment_id: str) -> dict[str, Any]:
    """config_hash -> the latest FINISHED job run of the experiment (one paged search)."""
    from .mlflow_tracker import RUN_KIND_JOB

    found: dict[str, Any] = {}
    token = None
    while True:
        query = f"attributes.status = 'FINISHED' and tags.run_kind = '{RUN_KIND_JOB}'"
        page = client.search_runs([experiment_id], query,
                                  order_by=["attributes.start_time DESC"], max_results=1000, page_token=token)
        for run in page:
            found.setdefault(run.data.tags.get("config_hash"), run)
        token = page.token
        if not token:
            return found


@dataclass(frozen=True)
class Finished:
    """A job's FINISHED run, found before the job is launched."""

    run: Any
    identity: str
    experiment: str
    experiment_id: str


def finished_jobs(tracker: Any, jobs: Sequence[tuple[Hashable, DictConfig]]) -> dict[Hashable, Finished]:
    """For each (key, job config) whose exact config has a FINISHED job run: key -> that run.

    One store query per experiment; jobs with ``rerun`` (recompute) or ``dry_run`` (nothing recorded)
    are never found.
    """
    client = tracker.client()
    by_experiment: dict[str, list[tuple[Hashable, DictConfig]]] = {}
    for key, cfg in jobs:
        if not (cfg.get("rerun") or cfg.get("dry_run")):
            by_experiment.setdefault(experiment_name(cfg, tracker.fixed_experiment), []).append((key, cfg))
    found: dict[Hashable, Finished] = {}
    for name, group in by_experiment.items():
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            continue  # nothing of this experiment was ever run in this store
        runs = finished_job_runs(client, experiment.experiment_id)
        for key, cfg in group:
            identity = config_identity(cfg, tracker.identity_ignore)
            if identity in runs:
                found[key] = Finished(runs[identity], identity, name, experiment.experiment_id)
    return found


def link_jobs(tracker: Any, sweep_dir: Path, jobs: Sequence[tuple[int, DictConfig, JobInfo, Finished]]) -> None:
    """A link run and an ``already_done`` status file for each (num, job config, info, its finished run).

    Prints ``already done: <run id>`` and the summary line, as the job itself would have.
    """
    from .mlflow_tracker import _log_batch

    client = tracker.client()
    state = SweepState(sweep_dir)
    for num, cfg, info, done in jobs:
        started = time.perf_counter()
        tags = tracker.run_tags(client, cfg, info, done.identity, done.experiment_id, done.experiment)
        run_id = write_link(client, done.experiment_id, tags, job_params(cfg), done.run, info.run_name())
        wall = time.perf_counter() - started
        _log_batch(client, run_id, metrics={"oracle_images_evaluated": 0, "wall_seconds": wall})
        client.set_terminated(run_id, "FINISHED")
        state.write_job(num, status=ALREADY_DONE, overrides=info.overrides, error=None, output_dir=None,
                        already_done=done.run.info.run_id, run_id=run_id, experiment=done.experiment,
                        experiment_id=done.experiment_id, config_hash=done.identity)
        metrics = {k: v for k, v in done.run.data.metrics.items() if k not in OWN_METRICS}
        print(f"already done: {done.run.info.run_id} (#{num} {' '.join(info.overrides)})")
        print(summary_line({**metrics, "oracle_images_evaluated": 0, "wall_seconds": wall}), flush=True)


def job_config(sweep_config: DictConfig) -> DictConfig:
    """The config a job's task function receives: the composed sweep config without Hydra's node."""
    cfg = OmegaConf.masked_copy(sweep_config, [k for k in sweep_config.keys() if k != "hydra"])
    OmegaConf.set_struct(cfg, False)
    return cfg
