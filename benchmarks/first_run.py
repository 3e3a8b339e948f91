"""The first run a new user makes: a cold default ``python run.py``, timed. Not a test: it prints figures.

Runs ``run.py`` with no overrides in a subprocess, in a temporary folder (empty cache, its own MLflow
store ``mlflow.db`` and output folder), so it trains the small CNN, labels the grid, samples, fits,
logs to MLflow and draws the reliability map and profile exactly as a fresh clone would. Then it
reads, from that run's oracle cache, how many images the grid and the map evaluated (each level's
cached count is the number of images of D read for it; the grid's 4^6 levels and the map's slice and
profile levels do not overlap). Figures, printed last:

  cold_run_s             wall time of the cold ``python run.py`` (target <= 180 on a 2-core CPU)
  grid_images            images of D the grid's labelling read (early stopping)
  map_images             images the reliability map and profile read
  map_over_grid_images   map_images / grid_images (target <= 0.3)

    python benchmarks/first_run.py [--keep DIR] [override ...]      # overrides go to run.py too

Name the CPU and the load with every figure: both are printed first.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def cold_run(work: Path, overrides: list[str]) -> float:
    """Time ``python run.py`` from ``work`` (MLflow store and outputs there) with an empty cache."""
    cmd = [sys.executable, str(REPO / "run.py"), f"cache_dir={work / 'cache'}", f"hydra.run.dir={work / 'out'}",
           "progress=false", *overrides]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]))
    env.pop("DR_CACHE_DIR", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    with open(work / "run.out", "w") as log:
        proc = subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (work / "run.out").read_text()[-3000:]
        raise SystemExit(f"error: the cold run failed (exit {proc.returncode}):\n{tail}")
    return seconds


def images_read(work: Path, overrides: list[str]) -> tuple[int, int]:
    """Images of D the grid and the map read, from the run's oracle cache (no evaluation here)."""
    import numpy as np

    from distortion_reliability.config import compose_config
    from distortion_reliability.reporting.maps import SpaceSpec, report_levels
    from distortion_reliability.stages import GridStage, Job, OracleStage

    cfg = compose_config([f"cache_dir={work / 'cache'}", "progress=false", *overrides])
    job = Job.from_config(cfg)
    oracle = OracleStage(job).load().oracle  # T from the run's cache: nothing is trained or evaluated here

    def read(levels) -> int:
        unique = {oracle.cache.level_key(lv): lv for lv in np.asarray(levels, float)}
        counts = [oracle.cache.get(lv, oracle.n, key) for key, lv in unique.items()]
        return sum(c.n_evaluated for c in counts if c is not None)

    grid = read(GridStage(job).levels)
    blocks, _ = report_levels(SpaceSpec.from_any(job.space))
    return grid, read(np.vstack(blocks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides for run.py (default: none)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="dr-first-run-"))
    work.mkdir(parents=True, exist_ok=True)
    isa = {k: os.environ[k] for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY") if k in os.environ}
    print(f"cpu: {cpu_model()}, {os.cpu_count()} cores{', ' + str(isa) if isa else ''}; load before: {load()}")
    try:
        seconds = cold_run(work, args.overrides)
        print(f"load after: {load()}" + (f"; the run's output: {work / 'run.out'}" if args.keep else ""))
        grid, map_images = images_read(work, args.overrides)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"cpu_model={cpu_model().replace(' ', '_')}")
    print(f"grid_images={grid}")
    print(f"map_images={map_images}")
    print(f"map_over_grid_images={map_images / grid:.3f}" if grid else "map_over_grid_images=nan")
    print(f"cold_run_s={seconds:.1f}")


if __name__ == "__main__":
    main()
