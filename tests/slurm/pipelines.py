"""Pipelines for the SLURM tests (DR_PIPELINE=tests/slurm/pipelines.py:<name>), run inside the jobs.

- ``counted``: the real ``pipeline.run``; every (level, image range) the oracle evaluates is appended
  to ``$DR_TEST_WORK_LOG`` with the attempt (SLURM_RESTART_COUNT), flushed per batch, so a job killed
  by ``scontrol requeue`` leaves a record of what it had done.
- ``slow_first``: on the first attempt sleeps (past a time limit, or until scancel) when the job's
  seed is ``$DR_TEST_SLOW_SEED``; otherwise the real pipeline.
"""

from __future__ import annotations

import os
import time
from typing import Any


def _attempt() -> int:
    return int(os.environ.get("SLURM_RESTART_COUNT") or 0)


def counted(cfg: Any, output_dir: str) -> Any:
    import hashlib

    from distortion_reliability import pipeline
    from distortion_reliability.oracle import Oracle

    log = open(os.environ["DR_TEST_WORK_LOG"], "a", buffering=1)
    real = Oracle._correct_counts
    attempt = _attempt()

    def logged(self, levels, start, stop):
        out = real(self, levels, start, stop)
        lines = "".join(f"{attempt} {hashlib.sha1(row.tobytes()).hexdigest()[:16]} {start} {stop}\n" for row in levels)
        log.write(lines)
        log.flush()
        return out

    Oracle._correct_counts = logged
    return pipeline.run(cfg, output_dir=output_dir)


def slow_first(cfg: Any, output_dir: str) -> Any:
    from distortion_reliability import pipeline

    if _attempt() == 0 and str(cfg.seed) == os.environ.get("DR_TEST_SLOW_SEED"):
        time.sleep(900)  # ended by SLURM: the time limit's USR2 (submitit requeues) or scancel
    return pipeline.run(cfg, output_dir=output_dir)
