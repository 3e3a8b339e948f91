"""Resilience on digits: work lost to SIGKILL, work shared by simultaneous jobs. Not a test: it prints figures.

Each job is ``tests/test_resilience_harness.py`` (a separate process): the oracle labelling the 4^6
grid of a six-op digits space with a tiny CNN (all 898 test digits, h = 0.5, bf16 by default and the
oracle's default flush interval), as the grid stage of a run does. Figures, printed last:

  redone_fraction_after_sigkill  a job SIGKILLed at a uniformly random moment of its labelling
                                 (10-90 %), then rerun on the same cache: (images evaluated by the
                                 killed job + by the rerun - by an uninterrupted job) / uninterrupted;
                                 the median over ``--kills`` kills (target <= 0.1)
  concurrent_work_ratio          images evaluated by two identical jobs started together on one
                                 empty cache / by one job alone (target <= 1.1)
  resumed_scores_identical       1 when every rerun and both simultaneous jobs return the
                                 uninterrupted job's labels exactly

With ``--jobs pipeline`` each job is instead a whole run (``pipeline.run``, as ``run.py`` calls it:
small CNN trained on the fly, grid, GP sampler, SMOTE-GP, five predictors; ``tracking=none
report=false sampler.budget=100`` plus any ``--override``), killed at a random moment of its whole
wall time, and ``resumed_scores_identical`` compares the rerun's scores table (F1, precision, recall,
balanced accuracy of every predictor) with the uninterrupted job's.

    python benchmarks/resilience.py [--kills 5] [--points 4] [--precision bf16] [--workdir DIR]
    python benchmarks/resilience.py --jobs pipeline [--override sampler.budget=200 ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "test_resilience_harness.py"


def env() -> dict:
    out = dict(os.environ, OMP_NUM_THREADS="1")
    out["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests"), out.get("PYTHONPATH", "")])
    return out


PIPELINE_OVERRIDES = ["tracking=none", "report=false", "progress=false", "threads=1", "sampler.budget=100"]


def job(cache: Path, args, *extra: str) -> subprocess.Popen:
    if args.jobs == "pipeline":
        # --ready/--counter/... of the oracle harness mean the same to the pipeline worker
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--cache", str(cache),
               "--precision", args.precision, *extra, "--", *PIPELINE_OVERRIDES, *args.override]
    else:
        cmd = [sys.executable, str(HARNESS), "--cache", str(cache), "--model", str(args.model),
               "--points", str(args.points), "--h", str(args.h), "--precision", args.precision, *extra]
    return subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pipeline_worker(argv: list[str]) -> int:
    """One whole job through ``pipeline.run``; the oracle's images go to a SIGKILL-proof counter."""
    import mmap

    p = argparse.ArgumentParser()
    p.add_argument("--worker", action="store_true")
    p.add_argument("--cache", required=True)
    p.add_argument("--precision", default="bf16")
    p.add_argument("--ready", default=None)
    p.add_argument("--counter", default=None)
    p.add_argument("overrides", nargs="*")
    args = p.parse_args(argv)
    from distortion_reliability import locks, pipeline
    from distortion_reliability.config import compose_config
    from distortion_reliability.oracle import Oracle

    if args.counter:
        Path(args.counter).write_bytes(bytes(8))
        fh = open(args.counter, "r+b")
        mem = mmap.mmap(fh.fileno(), 8)
        total = [0]
        real = Oracle._correct_counts

        def counted(self, levels, start, stop):
            out = real(self, levels, start, stop)
            total[0] += len(levels) * (stop - start)
            mem[:8] = total[0].to_bytes(8, "little")
            return out

        Oracle._correct_counts = counted
    cfg = compose_config([f"cache_dir={args.cache}", f"oracle.precision={args.precision}", *args.overrides])
    if args.ready:
        Path(args.ready).touch()
    with locks.interrupt_guard():
        start = time.perf_counter()
        res = pipeline.run(cfg, output_dir=Path(args.cache).parent / (Path(args.cache).name + "-out"))
        scores = res.scores.round(12).to_dict(orient="list") if res.scores is not None else None
        print(json.dumps({"images_evaluated": int(res.summary["oracle_images_evaluated"]),
                          "seconds": time.perf_counter() - start, "n_levels": int(res.summary["grid_positive"]
                                                                                  + res.summary["grid_negative"]),
                          "n_positive": int(res.summary["grid_positive"]),
                          "labels": json.dumps(scores, sort_keys=True)}))
    return 0


def result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"job failed ({proc.returncode}): {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=5)
    p.add_argument("--points", type=int, default=4)
    p.add_argument("--h", type=float, default=0.5)
    p.add_argument("--precision", default="bf16")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    p.add_argument("--jobs", choices=["oracle", "pipeline"], default="oracle",
                   help="oracle: grid labelling by the harness; pipeline: whole runs (pipeline.run)")
    p.add_argument("--override", action="append", default=[], help="extra config override for --jobs pipeline")
    args = p.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        args.model = work / "model.pt"
        if args.jobs == "oracle":
            sys.path.insert(0, str(REPO / "tests"))
            from test_resilience_harness import trained_model

            trained_model(args.model)

        ref = result(job(work / "ref", args))
        full, seconds = ref["images_evaluated"], ref["seconds"]
        print(f"uninterrupted: {full:,} images, {seconds:.1f} s, {ref['n_positive']} of "
              f"{ref['n_levels']:,} levels positive", flush=True)
        identical = True

        redone = []
        for k in range(args.kills):
            cache, ready, counter = work / f"kill{k}", work / f"ready{k}", work / f"counter{k}"
            proc = job(cache, args, "--ready", str(ready), "--counter", str(counter))
            while not ready.exists():
                if proc.poll() is not None:
                    raise SystemExit(f"job failed: {proc.communicate()[1][-2000:]}")
                time.sleep(0.01)
            at = rng.uniform(0.1, 0.9)
            time.sleep(at * seconds)  # of the labelling (oracle jobs) or of the whole run (pipeline jobs)
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            killed = int.from_bytes(counter.read_bytes()[:8], "little")
            rerun = result(job(cache, args))
            fraction = (killed + rerun["images_evaluated"] - full) / full
            identical &= rerun["labels"] == ref["labels"]
            redone.append(fraction)
            print(f"kill {k + 1} at {at:.0%}: killed job {killed:,} images, rerun {rerun['images_evaluated']:,}, "
                  f"redone {fraction:.3f}, labels {'identical' if rerun['labels'] == ref['labels'] else 'DIFFER'}",
                  flush=True)

        start = time.perf_counter()
        pair = [job(work / "shared", args) for _ in range(2)]
        both = [result(proc) for proc in pair]
        wall = time.perf_counter() - start
        identical &= all(r["labels"] == ref["labels"] for r in both)
        ratio = sum(r["images_evaluated"] for r in both) / full
        print(f"two simultaneous jobs: {both[0]['images_evaluated']:,} + {both[1]['images_evaluated']:,} images, "
              f"{wall:.1f} s wall for both", flush=True)

    print(f"redone_fraction_after_sigkill={statistics.median(redone):.3f}")
    print(f"concurrent_work_ratio={ratio:.3f}")
    print(f"resumed_scores_identical={int(identical)}")


if __name__ == "__main__":
    if "--worker" in sys.argv[1:]:
        sys.exit(pipeline_worker(sys.argv[1:]))
    main()
