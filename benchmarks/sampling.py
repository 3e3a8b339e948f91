"""Sampling efficiency: positives found by random, gp, gp_batch and straddle (paper section 4.2, Figure 6).

Usage::

    python benchmarks/sampling.py            # budget I = 600, 3 seeds, synthetic + digits
    python benchmarks/sampling.py --quick    # budget 200 (plus one 600-level gp run for its timing)

Synthetic objective (6-D, the paper's Table-1 box, natural units c, unit-cube coordinates u):

    f(c) = 0.1 + 0.9 * exp(-r^2 / 2),   r^2 = sum_i ((u_i - u0_i) / s_i)^2
    u0 = the undistorted level (scale 1, rotation 0, shifts 0, darkness 1, rain 0) = (.5, 0, .5, .5, .5, 0)
    s  = (0.40, 0.80, 0.36, 0.36, 0.46, 0.90),   h = 0.6

so f decays from 1 at the undistorted level to chance (0.1) far from it, and f >= h exactly on the
ellipsoid r <= rho, rho^2 = 2 ln(0.9 / 0.5), halved twice by the faces rotation = 0 and rain = 0
(it fits inside the box otherwise). Its share of C is

    fraction = (pi^3 / 6) * rho^6 * prod(s) / 4  = 3.60 %,

which the script checks by Monte Carlo before sampling.

Digits: the real oracle (small CNN on sklearn's 8x8 digits, h from conf/dataset/digits.yaml) via
``pipeline.build_oracle``, on CPU with one thread, its evaluation cache disabled so every call costs
what a fresh level costs.

Every sampler runs with its shipped config (conf/sampler/), plus ``gp_sqrt``: the gp sampler with
``beta_form: sqrt`` (GP-UCB's sqrt(beta) weight on sigma instead of the paper's beta; beyond the paper).

Printed last, one per line: positives_<sampler>= (synthetic, mean over seeds; also positives_gp_sqrt=),
gp_positive_ratio_vs_random=, digits_positives_<sampler>=, digits_gp_positive_ratio_vs_random=,
gp_overhead_fraction= (digits: gp sampler time excluding the oracle / oracle time),
gp_seconds_per_iteration_at_600= (synthetic gp run of budget 600: mean overhead of its last 50 steps).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # runnable without an install, like the other benchmarks

from distortion_reliability.reports.sampling_figure import plot_positives_vs_budget, write_positives_csv  # noqa: E402
from distortion_reliability.sampling import SAMPLERS, SampleResult, make_sampler  # noqa: E402
from distortion_reliability.space import Box  # noqa: E402

SAMPLER_NAMES = ("random", "gp", "gp_batch", "straddle")
# Benchmark entries: label -> (sampler config, overrides). gp_sqrt is the gp sampler with GP-UCB's
# sqrt(beta) weight instead of the paper's beta (beyond the paper), to show what exploration costs.
VARIANTS = {name: (name, {}) for name in SAMPLER_NAMES} | {"gp_sqrt": ("gp", {"beta_form": "sqrt"})}
FIGURES = REPO / "results" / "figures"

PAPER_BOX = Box(
    ["scale", "rotation", "translation_x", "translation_y", "darkness", "rain"],
    [0.7, 0.0, -0.2, -0.2, 0.7, 0.0],
    [1.3, 90.0, 0.2, 0.2, 1.3, 1.0],
)
U0 = np.array([0.5, 0.0, 0.5, 0.5, 0.5, 0.0])
SPREADS = np.array([0.40, 0.80, 0.36, 0.36, 0.46, 0.90])
SYNTHETIC_H = 0.6


def synthetic_accuracy(levels: np.ndarray) -> np.ndarray:
    """The synthetic f of the module docstring, for levels in natural units."""
    u = PAPER_BOX.to_unit(levels)
    r2 = np.sum(((u - U0) / SPREADS) ** 2, axis=1)
    return 0.1 + 0.9 * np.exp(-0.5 * r2)


def synthetic_fraction() -> float:
    """Exact share of C where the synthetic f >= h (quarter of a 6-D ellipsoid)."""
    rho2 = 2.0 * math.log(0.9 / (SYNTHETIC_H - 0.1))
    assert np.all(np.sqrt(rho2) * SPREADS[[0, 2, 3, 4]] <= 0.5) and np.all(np.sqrt(rho2) * SPREADS[[1, 5]] <= 1)
    return math.pi**3 / 6.0 * rho2**3 * float(np.prod(SPREADS)) / 4.0


def make_variant(label: str, budget: int):
    """The sampler of a benchmark entry: its shipped config (conf/sampler/) with the benchmark's budget."""
    config_name, overrides = VARIANTS[label]
    cfg = yaml.safe_load((REPO / "conf" / "sampler" / f"{config_name}.yaml").read_text())
    cfg.update(overrides, budget=budget, progress=False)
    return make_sampler(cfg.pop("name"), **cfg)


def run_samplers(objective, box: Box, h: float, budget: int, seeds: list[int], label: str, names) -> dict:
    results: dict[str, list[SampleResult]] = {name: [] for name in names}
    for name in names:
        for seed in seeds:
            result = make_variant(name, budget).sample(objective, box, h, seed)
            results[name].append(result)
            print(
                f"[{label}] {name:9s} seed={seed} positives={result.n_positive:4d} "
                f"oracle_s={result.oracle_seconds:7.1f} sampler_s={result.sampler_seconds:7.1f}",
                file=sys.stderr,
                flush=True,
            )
    return results


def summarize(results: dict, label: str) -> dict[str, float]:
    print(f"\n{label}: sampler    positives (mean +- std)   oracle s   overhead s   overhead/oracle")
    means = {}
    for name, runs in results.items():
        pos = np.array([r.n_positive for r in runs], dtype=float)
        oracle = np.mean([r.oracle_seconds for r in runs])
        overhead = np.mean([r.sampler_seconds for r in runs])
        ratio = overhead / oracle if oracle > 0 else float("nan")
        means[name] = float(pos.mean())
        print(f"{label}: {name:9s}  {pos.mean():7.1f} +- {pos.std():5.1f}        {oracle:8.1f}   {overhead:9.1f}   {ratio:10.3f}")
    return means


def budgets_for(budget: int) -> list[int]:
    step = 100 if budget >= 400 else max(budget // 4, 1)  # at least four points on the curve
    return list(range(step, budget + 1, step))


def digits_part(budget: int, seeds: list[int], names):
    """Run every sampler on the real digits oracle; returns (results, reason-if-skipped)."""
    try:
        from distortion_reliability.pipeline import build_oracle, compose_config
    except ImportError as err:
        return None, f"distortion_reliability.pipeline is not available ({err})"
    try:
        cfg = compose_config(["dataset=digits", "device=cpu", "threads=1", "progress=false"])
        bundle = build_oracle(cfg)
    except Exception as err:  # a missing model or data must not hide the synthetic numbers
        return None, f"digits oracle could not be built: {type(err).__name__}: {err}"
    bundle.oracle.cache = None  # fresh evaluations only, so oracle time is real
    print(f"digits: h={bundle.h} clean accuracy={bundle.clean_accuracy:.3f}", file=sys.stderr, flush=True)
    return run_samplers(bundle.oracle, bundle.box, bundle.h, budget, seeds, "digits", names), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="budget 200 instead of 600")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-digits", action="store_true")
    parser.add_argument("--budget", type=int, default=None, help="smoke runs: this budget, no 600-level timing run")
    parser.add_argument("--samplers", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="a subset (gp is always run: the headline ratios need it)")
    args = parser.parse_args()
    names = [n for n in VARIANTS if n in set(args.samplers) | {"gp"}]
    torch.set_num_threads(1)
    budget = args.budget or (200 if args.quick else 600)
    seeds = list(range(args.seeds))
    assert set(SAMPLER_NAMES) == set(SAMPLERS)

    exact = synthetic_fraction()
    mc = float(np.mean(synthetic_accuracy(PAPER_BOX.sample_uniform(1_000_000, 12345)) >= SYNTHETIC_H))
    print(f"synthetic: reliable fraction exact={exact:.4f} monte_carlo(1e6)={mc:.4f}")
    assert abs(mc - exact) < 5 * math.sqrt(exact * (1 - exact) / 1e6), (mc, exact)

    started = time.perf_counter()
    synthetic = run_samplers(synthetic_accuracy, PAPER_BOX, SYNTHETIC_H, budget, seeds, "synthetic", names)
    write_positives_csv(synthetic, budgets_for(budget), FIGURES / f"sampling_positives_synthetic_I{budget}.csv")
    plot_positives_vs_budget(synthetic, budgets_for(budget), FIGURES / f"sampling_positives_synthetic_I{budget}.png",
                             title=f"Synthetic 6-D f, reliable share {exact:.1%}, {len(seeds)} seeds")
    synthetic_means = summarize(synthetic, "synthetic")
    print(f"synthetic: expected positives of uniform sampling = {exact * budget:.1f}")

    if budget == 600:
        timing_runs = synthetic["gp"]
    elif args.budget:
        timing_runs = []
    else:  # one full-budget gp run, for the per-iteration cost at I = 600
        timing_runs = [make_variant("gp", 600).sample(synthetic_accuracy, PAPER_BOX, SYNTHETIC_H, seed=0)]
        print(f"synthetic: gp budget-600 timing run found {timing_runs[0].n_positive} positives", file=sys.stderr)
    seconds_per_iteration_600 = (
        float(np.mean([r.step_seconds[-50:].mean() for r in timing_runs])) if timing_runs else float("nan")
    )

    digits_means: dict[str, float] = {}
    overhead_fraction = float("nan")
    if args.skip_digits:
        print("digits: skipped (--skip-digits)")
    else:
        digits, reason = digits_part(budget, seeds, names)
        if digits is None:
            print(f"digits: skipped: {reason}")
        else:
            write_positives_csv(digits, budgets_for(budget), FIGURES / f"sampling_positives_digits_I{budget}.csv")
            plot_positives_vs_budget(digits, budgets_for(budget), FIGURES / f"sampling_positives_digits_I{budget}.png",
                                     title=f"digits (small CNN), {len(seeds)} seeds")
            digits_means = summarize(digits, "digits")
            gp_runs = digits["gp"]
            overhead_fraction = float(sum(r.sampler_seconds for r in gp_runs) / sum(r.oracle_seconds for r in gp_runs))
    print(f"total wall seconds: {time.perf_counter() - started:.0f}")

    for name in VARIANTS:
        print(f"positives_{name}={synthetic_means.get(name, float('nan')):.1f}")
    random_mean = synthetic_means.get("random", float("nan"))
    print(f"gp_positive_ratio_vs_random={synthetic_means['gp'] / max(random_mean, 1e-9):.2f}")
    for name in VARIANTS:
        print(f"digits_positives_{name}={digits_means.get(name, float('nan')):.1f}")
    if digits_means:
        random_mean = digits_means.get("random", float("nan"))
        print(f"digits_gp_positive_ratio_vs_random={digits_means['gp'] / max(random_mean, 1e-9):.2f}")
    else:
        print("digits_gp_positive_ratio_vs_random=nan")
    print(f"gp_overhead_fraction={overhead_fraction:.3f}")
    print(f"gp_seconds_per_iteration_at_600={seconds_per_iteration_600:.3f}")


if __name__ == "__main__":
    main()
