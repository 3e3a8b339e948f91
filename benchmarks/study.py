"""Study benchmark: a whole paper study cold, warm, and its rebalancing jobs serial vs parallel (not a test).

    .venv/bin/python benchmarks/study.py --dataset digits [--study table3] [--out /tmp/dr-study-bench]

Runs ``python run.py -m study=<study> dataset=<dataset> threads=1 hydra/launcher=joblib`` with 2
workers, in a scratch folder (its own cache_dir and MLflow SQLite store, emptied first):

1. cold: empty cache and store -> every grid, training set, rebalancing and predictor is computed;
2. warm: the same command again -> the sweeper finds every job's FINISHED run before launching and
   links it ("already done"): no job process starts (``warm_launched=`` counts the jobs that did);
3. the rebalancing + predictor part of the cold study, serial vs parallel: the study again with
   ``rerun=true`` (grid and training sets come from the cache, each job rebalances, fits, scores and
   logs) with 1 joblib worker, then with 2. ``parallel_speedup`` = serial / parallel wall time.

Prints, last: ``study_jobs=``, ``study_cold_s=``, ``study_warm_s=``, ``warm_over_cold=`` (target
<= 0.05), ``parallel_speedup=`` (target >= 1.7 on 2 cores), plus ``warm_already_done=``,
``warm_launched=``, the failed-job counts, the CPU and ``loadavg_<phase>=`` (the 1-minute load
average at the start and end of each phase: a figure taken with the cores busy is not a quiet
measurement). ``--methods`` narrows the study (e.g. a quick check: ``--methods smote,smote_gp``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


LOAD: dict[str, str] = {}


def loadavg() -> str:
    """The 1-minute load average (``/proc/loadavg``), or ``unknown`` off Linux."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def launched(sweep_dir: Path) -> int:
    """Jobs Hydra launched in a sweep: each writes ``<sweep dir>/<num>/.hydra/``."""
    return len(list(sweep_dir.glob("*/.hydra")))


def run_study(args, scratch: Path, name: str, n_jobs: int, extra: list[str]) -> tuple[float, str, int]:
    cmd = [sys.executable, str(REPO / "run.py")]
    if args.config_path:
        cmd += ["--config-path", str(Path(args.config_path).resolve())]
    cmd += ["-m", f"study={args.study}", f"dataset={args.dataset}", "threads=1",
           "progress=false", "report=false", f"cache_dir={scratch / 'cache'}", "hydra/launcher=joblib",
           f"hydra.launcher.n_jobs={n_jobs}", f"hydra.sweep.dir={scratch / 'multirun' / name}", *extra]
    if args.methods:
        cmd.append(f"imbalance={args.methods}")
    if args.data_dir:
        cmd.append(f"data_dir={args.data_dir}")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{scratch / 'mlflow.db'}", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    print(f"[{name}] {' '.join(cmd[cmd.index('-m') + 1:])}", file=sys.stderr, flush=True)
    LOAD[f"{name}_start"] = loadavg()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    LOAD[f"{name}_end"] = loadavg()
    (scratch / f"{name}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    sweep = [line for line in proc.stdout.splitlines() if line.startswith("sweep:")]
    print(f"[{name}] {seconds:.1f} s; {sweep[-1] if sweep else 'no sweep summary (see ' + name + '.log)'}",
          file=sys.stderr, flush=True)
    if not sweep:
        raise SystemExit(f"{name} run did not finish: see {scratch / (name + '.log')}")
    failed = int(re.search(r"(\d+) failed", sweep[-1]).group(1))
    return seconds, proc.stdout, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--study", default="table3")
    parser.add_argument("--methods", default=None, help="comma-separated imbalance methods (default: the study's)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="scratch folder (default: a new temp folder)")
    parser.add_argument("--config-path", default=None, help="another conf/ folder (default: the repo's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-speedup", action="store_true", help="cold and warm only")
    args = parser.parse_args()

    import tempfile

    scratch = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="dr-study-bench-"))
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    print(f"scratch folder: {scratch}", file=sys.stderr)

    from distortion_reliability.tracking.studies import sweep_jobs

    overrides = [f"study={args.study}", f"dataset={args.dataset}"] + ([f"imbalance={args.methods}"] if args.methods else [])
    n_jobs = len(sweep_jobs(overrides, args.config_path))

    cold, _, cold_failed = run_study(args, scratch, "cold", args.workers, [])
    warm, warm_out, warm_failed = run_study(args, scratch, "warm", args.workers, [])
    already = warm_out.count("already done: ")
    lines = {"study_jobs": n_jobs, "study_cold_s": f"{cold:.1f}", "study_warm_s": f"{warm:.1f}",
             "warm_over_cold": f"{warm / cold:.3f}", "warm_already_done": f"{already}/{n_jobs}",
             "warm_launched": launched(scratch / "multirun" / "warm"), "cold_failed": cold_failed,
             "warm_failed": warm_failed}
    if not args.skip_speedup:
        serial, _, _ = run_study(args, scratch, "rerun_serial", 1, ["rerun=true"])
        parallel, _, _ = run_study(args, scratch, "rerun_parallel", args.workers, ["rerun=true"])
        lines.update(rebalance_serial_s=f"{serial:.1f}", rebalance_parallel_s=f"{parallel:.1f}",
                     parallel_speedup=f"{serial / parallel:.2f}")
    lines.update({f"loadavg_{phase}": value for phase, value in LOAD.items()}, cpus=os.cpu_count(), cpu=cpu_name())
    for key, value in lines.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
