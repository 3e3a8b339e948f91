"""Per-sweep bookkeeping in ``<sweep dir>/.tracking/``: parent run ids and one status file per job.

Jobs of a multirun may run in other processes (joblib), in submitit subprocesses or on other SLURM
nodes; what they share is the sweep folder. There:

- ``parents.json``: experiment name -> parent run id (created once, under ``parents.lock``);
- ``driver.json``: host, pid and boot of the sweep's main process, which owns the parent runs;
- ``jobs/<job num>.json``: ``{"num", "overrides", "status", "run_id", "experiment_id", "error", ...}``,
  status one of running | finished | skipped | already_done | failed | interrupted.

The sweep callback reads the job files at the end to print ``N finished, M failed, K skipped``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

STATE_DIR = ".tracking"
FINISHED, SKIPPED, ALREADY_DONE, FAILED, RUNNING, INTERRUPTED = (
    "finished", "skipped", "already_done", "failed", "running", "interrupted")


def _atomic_write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2, default=str)
    os.replace(tmp, path)


class SweepState:
    def __init__(self, sweep_dir: str | Path):
        self.sweep_dir = Path(sweep_dir)
        self.dir = self.sweep_dir / STATE_DIR

    # parent runs ---------------------------------------------------------------------------
    @property
    def parents_file(self) -> Path:
        return self.dir / "parents.json"

    def parents(self) -> dict[str, str]:
        try:
            return json.loads(self.parents_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def parent_for(self, experiment: str, create: Callable[[], str]) -> str:
        """The parent run id of ``experiment`` in this sweep; ``create()`` makes it once (file lock)."""
        known = self.parents().get(experiment)
        if known:
            return known
        from filelock import FileLock

        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.dir / "parents.lock"), timeout=600):
            parents = self.parents()
            if experiment not in parents:
                parents[experiment] = create()
                _atomic_write_json(self.parents_file, parents)
            return parents[experiment]

    def set_driver(self, tags: dict[str, str]) -> None:
        """Record the sweep's main process (host, pid, boot): it owns the parent runs, whoever creates them."""
        _atomic_write_json(self.dir / "driver.json", tags)

    def driver(self) -> dict[str, str]:
        try:
            return dict(json.loads((self.dir / "driver.json").read_text()))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    # job status ----------------------------------------------------------------------------
    def job_file(self, num: int | str) -> Path:
        return self.dir / "jobs" / f"{num}.json"

    def read_job(self, num: int | str) -> dict[str, Any] | None:
        try:
            return json.loads(self.job_file(num).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def write_job(self, num: int | str, **data: Any) -> None:
        record = self.read_job(num) or {}
        record.update(data, num=num)
        _atomic_write_json(self.job_file(num), record)

    def jobs(self) -> list[dict[str, Any]]:
        folder = self.dir / "jobs"
        records = []
        for path in folder.glob("*.json") if folder.is_dir() else []:
            try:
                records.append(json.loads(path.read_text()))
            except json.JSONDecodeError:
                continue
        return sorted(records, key=lambda r: int(r["num"]) if str(r.get("num", "")).isdigit() else 0)


@dataclass
class SweepSummary:
    finished: int = 0      # includes already_done
    already_done: int = 0
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)   # failed, interrupted or never finished

    @classmethod
    def from_jobs(cls, jobs: list[dict[str, Any]]) -> "SweepSummary":
        out = cls()
        for job in jobs:
            status = job.get("status")
            if status in (FINISHED, ALREADY_DONE):
                out.finished += 1
                out.already_done += status == ALREADY_DONE
            elif status == SKIPPED:
                out.skipped += 1
            else:
                out.failed.append(job)
        return out

    @property
    def n_failed(self) -> int:
        return len(self.failed)

    def lines(self) -> list[str]:
        head = f"{self.finished} finished, {self.n_failed} failed, {self.skipped} skipped"
        if self.already_done:
            head += f" ({self.already_done} of the finished already done before)"
        lines = [f"sweep: {head}"]
        for job in self.failed:
            overrides = " ".join(job.get("overrides") or [])
            reason = job.get("error") or job.get("status") or "no status"
            if job.get("status") == RUNNING:
                reason = "never finished (killed?)"
            lines.append(f"  failed #{job.get('num')}: {overrides}: {reason}")
        return lines
