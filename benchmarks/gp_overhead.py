"""GP sampler overhead per iteration at I = 600 in 6-D (and 10-D), against a cheap synthetic f (issue 11).

Usage::

    python benchmarks/gp_overhead.py              # every GP sampler + the old schedule, budget 600
    python benchmarks/gp_overhead.py --levers     # also: each speed lever added one at a time
    python benchmarks/gp_overhead.py --budget 100 # a smoke run
    python benchmarks/gp_overhead.py --dims 6 10 --samplers gp   # also in 10-D (e.g. distortion=common)
    python benchmarks/gp_overhead.py --samplers gp --blas-threads 1 2   # the caller's BLAS pool at 1, then 2

In ``d > 6`` dimensions the synthetic f gets ``d - 6`` more unit-box dimensions, each a gaussian
factor about 0 with spread 0.9 (like rain), so the reliable region stays a corner ellipsoid;
beta_t of the GP samplers uses the real d. The baseline and levers run in 6-D only.

Each GP sampler config (conf/sampler/, composed with Hydra and built by ``instantiate``, as the
pipeline builds it; GP on the CPU, one torch thread) samples ``synthetic_accuracy`` (cheap: the
whole cost is the sampler's own). Overhead per iteration = the sampler's time outside the
objective divided by the levels it chose (budget - t0), measured two ways:

* CPU seconds of this thread (``time.thread_time``): what one unloaded CPU thread pays. This is
  the headline figure, since the machine may be shared;
* wall seconds (mean of ``SampleResult.step_seconds``), printed alongside.

The baseline is the old schedule, same code: hyperparameters refitted every 5 levels (warm start
only), a new Cholesky factorisation every step (no rank-one update), 256 raw samples, no warm start
of the acquisition optimiser, scipy's default ftol.

``--blas-threads 1 2`` runs only the samplers named, with the caller's BLAS pools (numpy's, scipy's
OpenBLAS) at each count in turn, as a plain ``python run.py`` on a 2-core machine leaves them at 2.
The GP holds them to one thread itself (``threads.single_threaded``), so the wall times should not
differ; the difference shows on a busy machine (run it beside a study), where idle OpenBLAS threads
compete with the GP's. Printed last: ``<sampler>_wall_ratio_blas<k>_vs_blas<first>=`` per count.

Printed last otherwise: gp_seconds_per_iteration_at_600=, <sampler>_seconds_per_iteration_at_600= per GP
sampler, baseline_seconds_per_iteration_at_600=, speedup_vs_baseline= (all CPU seconds); for each
other d in ``--dims``, <sampler>_seconds_per_iteration_at_600_d<d>=.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # runnable without an install, like the other benchmarks

from distortion_reliability.build import build as build_object  # noqa: E402
from distortion_reliability.config import compose_config  # noqa: E402
from distortion_reliability.sampling.synthetic import PAPER_BOX, SYNTHETIC_H, synthetic_accuracy  # noqa: E402
from distortion_reliability.box import Box  # noqa: E402

SAMPLERS = ("gp", "gp_sqrt", "gp_batch", "straddle")
OLD_REFITS = ["sampler.refit_every=5", "sampler.fit_from_prior=false"]
OLD_CHOLESKY = ["sampler.rank_one=false"]
OLD_OPTIMISER = ["sampler.raw_samples=256", "sampler.warm_start=false"]
OLD_FTOL = ["sampler.optimizer_ftol=2.220446049250313e-09"]
OLD = OLD_REFITS + OLD_CHOLESKY + OLD_OPTIMISER + OLD_FTOL
# Each speed lever added to the old schedule in turn (--levers); the gp row adds the last change,
# refits that also start from the priors' modes (a quality lever: it costs a second fit per refit).
LEVERS = {
    "+geometric_refits": ["sampler.refit_every=null", "sampler.fit_from_prior=false", *OLD_CHOLESKY, *OLD_OPTIMISER,
                          *OLD_FTOL],
    "+rank_one": ["sampler.fit_from_prior=false", *OLD_OPTIMISER, *OLD_FTOL],
    "+warm_start_64_raw": ["sampler.fit_from_prior=false", *OLD_FTOL],
    "+ftol_1e-6": ["sampler.fit_from_prior=false"],
}


def build(name: str, budget: int, overrides=()):
    cfg = compose_config([f"sampler={name}", f"sampler.budget={budget}", "progress=false", "device=cpu", *overrides])
    return build_object("sampler", cfg.sampler)


EXTRA_SPREAD = 0.9  # spread of each dimension beyond the paper's six (as rain's)


def problem(d: int):
    """(box, f) in ``d >= 6`` dimensions: the paper's box and synthetic f, times a factor per extra dimension."""
    if d == PAPER_BOX.d:
        return PAPER_BOX, synthetic_accuracy
    extra = [f"extra_{i}" for i in range(d - PAPER_BOX.d)]
    box = Box([*PAPER_BOX.names, *extra], [*PAPER_BOX.lower, *[0.0] * len(extra)],
              [*PAPER_BOX.upper, *[1.0] * len(extra)])

    def f(levels: np.ndarray) -> np.ndarray:
        levels = box.validate(levels)
        base = synthetic_accuracy(levels[:, : PAPER_BOX.d])
        return 0.1 + (base - 0.1) * np.exp(-0.5 * np.sum((levels[:, PAPER_BOX.d:] / EXTRA_SPREAD) ** 2, axis=1))

    return box, f


def measure(sampler, seed: int, d: int = 6) -> dict:
    box, f = problem(d)
    cpu = time.thread_time()
    wall = time.perf_counter()
    result = sampler.sample(f, box, SYNTHETIC_H, seed)
    cpu = time.thread_time() - cpu
    wall = time.perf_counter() - wall
    steps = len(result.values) - sampler.t0
    return {
        "cpu_per_iteration": (cpu - result.oracle_seconds) / steps,
        "wall_per_iteration": result.sampler_seconds / steps,
        "wall_last50": float(np.mean(result.step_seconds[-50:])) / max(1, getattr(sampler, "q", 1)),
        "positives": result.n_positive,
        "wall": wall,
    }


def compare_blas_threads(samplers: list[str], counts: list[int], budget: int, seed: int) -> None:
    from threadpoolctl import threadpool_limits

    for name in samplers:
        walls = {}
        for k in counts:
            with threadpool_limits(k, user_api="blas"):
                row = measure(build(name, budget), seed, PAPER_BOX.d)
            walls[k] = row["wall_per_iteration"]
            print(f"{name:10s} caller BLAS threads={k}  wall/it={row['wall_per_iteration']:.4f} s  "
                  f"cpu/it={row['cpu_per_iteration']:.4f} s  positives={row['positives']}", flush=True)
        for k in counts[1:]:
            print(f"{name}_wall_ratio_blas{k}_vs_blas{counts[0]}={walls[k] / walls[counts[0]]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--levers", action="store_true", help="also add each speed lever to the old schedule in turn")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS))
    parser.add_argument("--dims", nargs="+", type=int, default=[6], help="dimensions d >= 6 (baseline: 6 only)")
    parser.add_argument("--blas-threads", nargs="+", type=int, help="the caller's BLAS threads, one run per count")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the GP runs single-threaded anyway; this keeps numpy/torch glue alike
    if args.blas_threads:
        return compare_blas_threads(args.samplers, args.blas_threads, args.budget, args.seed)
    b = args.budget
    rows: dict[str, dict] = {}
    if any(d < PAPER_BOX.d for d in args.dims):
        parser.error(f"--dims: each d must be >= {PAPER_BOX.d}")
    runs = []
    if PAPER_BOX.d in args.dims:
        runs += [(name, name, (), PAPER_BOX.d) for name in args.samplers]
        runs.append(("baseline", "gp", OLD, PAPER_BOX.d))
        if args.levers:
            runs += [(label, "gp", overrides, PAPER_BOX.d) for label, overrides in LEVERS.items()]
    runs += [(f"{name}_d{d}", name, (), d) for d in args.dims if d != PAPER_BOX.d for name in args.samplers]
    for label, config, overrides, d in runs:
        rows[label] = measure(build(config, b, overrides), args.seed, d)
        row = rows[label]
        print(f"{label:20s} cpu/it={row['cpu_per_iteration']:.4f} s  wall/it={row['wall_per_iteration']:.4f} s  "
              f"wall last 50={row['wall_last50']:.4f} s  positives={row['positives']}  run={row['wall']:.0f} s",
              flush=True)
    print("(CPU seconds of one thread; wall seconds depend on how busy the shared machine was)")
    for d in args.dims:
        if d != PAPER_BOX.d:
            for name in args.samplers:
                print(f"{name}_seconds_per_iteration_at_{b}_d{d}={rows[f'{name}_d{d}']['cpu_per_iteration']:.4f}")
    if PAPER_BOX.d not in args.dims:
        return
    for name in args.samplers:
        print(f"{name}_seconds_per_iteration_at_{b}={rows[name]['cpu_per_iteration']:.4f}")
        print(f"{name}_wall_seconds_per_iteration_at_{b}={rows[name]['wall_per_iteration']:.4f}")
    if "gp" in rows:
        print(f"gp_seconds_per_iteration_at_{b}={rows['gp']['cpu_per_iteration']:.4f}")
    print(f"baseline_seconds_per_iteration_at_{b}={rows['baseline']['cpu_per_iteration']:.4f}")
    if "gp" in rows:
        print(f"speedup_vs_baseline={rows['baseline']['cpu_per_iteration'] / rows['gp']['cpu_per_iteration']:.2f}")


if __name__ == "__main__":
    main()
