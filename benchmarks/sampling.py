"""Samplers judged by what they buy (paper section 4.2, Figure 6; issue 11).

Usage::

    python benchmarks/sampling.py                   # budget I = 600, 3 seeds: synthetic + digits
    python benchmarks/sampling.py --quick           # budget 200
    python benchmarks/sampling.py --mnist           # also MNIST + LeNet-5 (N = 2,000) when the data are there
    python benchmarks/sampling.py --refresh-results # write the figures/CSVs into results/figures (else a scratch folder)

Every sampler config in ``conf/sampler/`` (discovered, not listed here) is composed with Hydra
(``pipeline.compose_config``) and built by ``instantiate``, exactly as a run builds it, with the
benchmark's budget; the GP runs on the CPU. Per sampler and dataset, mean over seeds:

* ``positives`` -- reliable levels among the I sampled (Figure 6);
* ``coverage`` -- share of the grid's reliable levels within one grid step (Euclidean, unit cube)
  of a sampled positive (:func:`distortion_reliability.sampling.metrics.coverage`);
* ``spread`` -- median nearest-neighbour distance of the sampled positives in the unit cube
  (small = one spot resampled; mean over the seeds with >= 2 positives);
* ``f1_smote_gp`` -- mean F1 of the five predictors (conf/predictors/paper.yaml) trained on the
  sampler's R rebalanced by SMOTE-GP (conf/imbalance/smote_gp.yaml), scored on the grid (R', 4^6
  levels); a seed whose R has fewer than 2 positives scores 0 (SMOTE-GP cannot run, and the
  predictors have no reliable level to learn).

Datasets: ``synthetic`` (distortion_reliability.sampling.synthetic: a 6-D f with a known reliable
region, exact grid labels); ``digits`` (the small CNN on sklearn's digits, the pipeline's oracle and
grid, h from conf/dataset/digits.yaml); ``mnist`` (LeNet-5, N = 2,000, when ``--mnist`` and
``--data-dir`` holds the data). The oracle's evaluation cache is off while sampling, so oracle
seconds are real.

Printed last, one per line: for each dataset prefix (``synthetic_``, ``digits_``, ``mnist_``) and
sampler, ``<prefix>positives_<s>=``, ``<prefix>coverage_<s>=``, ``<prefix>spread_<s>=``,
``<prefix>f1_smote_gp_<s>=``; the digits values again without prefix (``coverage_<s>=`` ...: the
issue's names); ``positives_<s>=`` is the synthetic count (as before); ``gp_positive_ratio_vs_random=``,
``gp_overhead_fraction=`` (digits: gp overhead / oracle time), and ``best_f1_sampler=`` with
``ours_beats_gp_on_f1=`` (whether a sampler beyond the paper beats gp on F1 on every dataset run).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))  # runnable without an install, like the other benchmarks

from distortion_reliability.errors import CannotRebalanceError  # noqa: E402
from distortion_reliability.build import build  # noqa: E402
from distortion_reliability.config import compose_config, conf_dir  # noqa: E402
from distortion_reliability.sampling.metrics import coverage, spread  # noqa: E402
from distortion_reliability.sampling.synthetic import (  # noqa: E402
    PAPER_BOX,
    SYNTHETIC_H,
    synthetic_accuracy,
    synthetic_fraction,
)

RESULTS = REPO / "results" / "figures"
PAPER_SAMPLERS = ("random", "gp")  # what the paper compares; the others are ours


def sampler_names() -> list[str]:
    """Every sampler config shipped in conf/sampler/ (random and gp first)."""
    stems = sorted(p.stem for p in (conf_dir() / "sampler").glob("*.yaml"))
    return [s for s in PAPER_SAMPLERS if s in stems] + [s for s in stems if s not in PAPER_SAMPLERS]


def build_sampler(name: str, budget: int, overrides=()):
    cfg = compose_config([f"sampler={name}", f"sampler.budget={budget}", "progress=false", "device=cpu", *overrides])
    return build("sampler", cfg.sampler)


def build_method_and_predictors(overrides=()):
    """SMOTE-GP and the paper's five predictors, from their configs (a dataset's smote_gp_v applies)."""
    cfg = compose_config(["imbalance=smote_gp", "predictors=paper", "progress=false", *overrides])
    return (lambda: build("imbalance", cfg.imbalance)), (lambda: build("predictors", cfg.predictors))


def f1_smote_gp(result, box, grid_levels, grid_labels, seed: int, dataset_overrides=()) -> float:
    """Mean F1 over the five predictors trained on R + SMOTE-GP, scored on the grid."""
    from distortion_reliability.scoring import score_predictors

    if result.n_positive < 2:
        return 0.0
    make_method, make_predictors = build_method_and_predictors(dataset_overrides)
    method = make_method()
    try:
        fitted = method.fit_predictors(box.to_unit(result.levels), result.labels.astype(int), result.values,
                                       make_predictors(), seed)
    except CannotRebalanceError:
        return 0.0
    table = score_predictors(fitted, box.to_unit(grid_levels), np.asarray(grid_labels, dtype=int))
    return float(table.loc[table["predictor"] == "mean", "f1"].iloc[0])


def run_dataset(label: str, objective, box, h: float, grid_levels, grid_labels, points_per_dim: int, names,
                budget: int, seeds, dataset_overrides=()) -> dict:
    """Every sampler on one dataset: per-seed results and the four numbers."""
    rows: dict[str, dict] = {}
    for name in names:
        runs, metrics = [], {"positives": [], "coverage": [], "spread": [], "f1": []}
        for seed in seeds:
            result = build_sampler(name, budget).sample(objective, box, h, seed)
            runs.append(result)
            metrics["positives"].append(result.n_positive)
            metrics["coverage"].append(coverage(box, result.levels, result.labels, grid_levels, grid_labels,
                                                points_per_dim))
            metrics["spread"].append(spread(box, result.levels, result.labels))
            metrics["f1"].append(f1_smote_gp(result, box, grid_levels, grid_labels, seed, dataset_overrides))
            print(f"[{label}] {name:9s} seed={seed} positives={result.n_positive:4d} "
                  f"coverage={metrics['coverage'][-1]:.3f} spread={metrics['spread'][-1]:.4f} "
                  f"f1_smote_gp={metrics['f1'][-1]:.3f} oracle_s={result.oracle_seconds:7.1f} "
                  f"sampler_s={result.sampler_seconds:7.1f}", file=sys.stderr, flush=True)
        rows[name] = {"runs": runs, **{k: np.asarray(v, dtype=float) for k, v in metrics.items()}}
    return rows


def summarize(rows: dict, label: str) -> None:
    print(f"\n{label}: sampler    positives      coverage       spread          f1_smote_gp    overhead/oracle")
    for name, row in rows.items():
        oracle = np.mean([r.oracle_seconds for r in row["runs"]])
        overhead = np.mean([r.sampler_seconds for r in row["runs"]])
        cells = [f"{np.nanmean(row[k]):7.3f} +- {np.nanstd(row[k]):5.3f}" if np.isfinite(row[k]).any() else "    nan        "
                 for k in ("positives", "coverage", "spread", "f1")]
        ratio = overhead / oracle if oracle > 0 else float("nan")
        print(f"{label}: {name:9s}  " + "  ".join(cells) + f"   {ratio:8.3f}")


def budgets_for(budget: int) -> list[int]:
    step = 100 if budget >= 400 else max(budget // 4, 1)  # at least four points on the curve
    return list(range(step, budget + 1, step))


def figures(rows: dict, label: str, budget: int, out: Path, title: str) -> None:
    from distortion_reliability.reporting.sampling_figure import plot_positives_vs_budget, write_positives_csv

    results = {name: row["runs"] for name, row in rows.items()}
    write_positives_csv(results, budgets_for(budget), out / f"sampling_positives_{label}_I{budget}.csv")
    plot_positives_vs_budget(results, budgets_for(budget), out / f"sampling_positives_{label}_I{budget}.png",
                             title=title)


def real_dataset(overrides: list[str]):
    """The pipeline's oracle and 4^6 grid for a dataset config (cached grid, fresh oracle calls while sampling)."""
    from distortion_reliability.stages import GridStage, Job, OracleStage

    cfg = compose_config([*overrides, "device=cpu", "threads=1", "progress=false"])
    job = Job.from_config(cfg)
    OracleStage(job).run()
    GridStage(job).run()
    bundle, grid = job.bundle, job.grid
    bundle.oracle.cache = None  # fresh evaluations only while sampling, so oracle time is real
    return bundle, grid, int(cfg.grid.points_per_dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="budget 200 instead of 600")
    parser.add_argument("--budget", type=int, default=None, help="smoke runs: this budget")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samplers", nargs="+", default=None, help="a subset of conf/sampler/ (gp is always run)")
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "digits"], choices=["synthetic", "digits", "mnist"])
    parser.add_argument("--mnist", action="store_true", help="add MNIST + LeNet-5 (N = 2,000) when the data are there")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--refresh-results", action="store_true", help="write figures/CSVs into results/figures")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    available = sampler_names()
    names = [n for n in available if args.samplers is None or n in set(args.samplers) | {"gp", "random"}]
    budget = args.budget or (200 if args.quick else 600)
    seeds = list(range(args.seeds))
    out = RESULTS if args.refresh_results else Path(tempfile.mkdtemp(prefix="dr-sampling-bench-"))
    datasets = list(dict.fromkeys(args.datasets + (["mnist"] if args.mnist else [])))
    started = time.perf_counter()
    tables: dict[str, dict] = {}

    if "synthetic" in datasets:
        exact = synthetic_fraction()
        mc = float(np.mean(synthetic_accuracy(PAPER_BOX.sample_uniform(1_000_000, 12345)) >= SYNTHETIC_H))
        print(f"synthetic: reliable fraction exact={exact:.4f} monte_carlo(1e6)={mc:.4f}")
        assert abs(mc - exact) < 5 * math.sqrt(exact * (1 - exact) / 1e6), (mc, exact)
        grid = PAPER_BOX.grid(4)
        tables["synthetic"] = run_dataset("synthetic", synthetic_accuracy, PAPER_BOX, SYNTHETIC_H, grid,
                                          synthetic_accuracy(grid) >= SYNTHETIC_H, 4, names, budget, seeds)
        summarize(tables["synthetic"], "synthetic")
        print(f"synthetic: expected positives of uniform sampling = {exact * budget:.1f}")
        figures(tables["synthetic"], "synthetic", budget, out, f"Synthetic 6-D f, reliable share {exact:.1%}, "
                f"{len(seeds)} seeds")

    real = {"digits": ["dataset=digits"],
            "mnist": ["dataset=mnist", "model=lenet5", "dataset.verification_size=2000", f"data_dir={args.data_dir}"]}
    for label in ("digits", "mnist"):
        if label not in datasets:
            continue
        try:
            bundle, grid, ppd = real_dataset(real[label])
        except Exception as err:  # noqa: BLE001 - a missing model or data must not hide the other numbers
            print(f"{label}: skipped: {type(err).__name__}: {err}")
            continue
        print(f"{label}: h={bundle.h} clean accuracy={bundle.clean_accuracy:.3f} grid positives="
              f"{int(grid.labels.sum())}/{len(grid.labels)} (grid {grid.seconds:.0f} s)", file=sys.stderr, flush=True)
        tables[label] = run_dataset(label, bundle.oracle, bundle.box, bundle.h, grid.levels, grid.labels, ppd, names,
                                    budget, seeds, real[label][:1])
        summarize(tables[label], label)
        figures(tables[label], label, budget, out, f"{label}, {len(seeds)} seeds")
    print(f"total wall seconds: {time.perf_counter() - started:.0f}; figures and CSVs in {out}")

    def mean(label, name, key):
        row = tables.get(label, {}).get(name)
        return float(np.nanmean(row[key])) if row is not None and np.isfinite(row[key]).any() else float("nan")

    for label in tables:
        for name in names:
            for key, fmt in (("positives", ".1f"), ("coverage", ".3f"), ("spread", ".4f"), ("f1", ".3f")):
                key_name = "f1_smote_gp" if key == "f1" else key
                print(f"{label}_{key_name}_{name}={mean(label, name, key):{fmt}}")
    for name in names:  # the names: digits values
        print(f"coverage_{name}={mean('digits', name, 'coverage'):.3f}")
        print(f"spread_{name}={mean('digits', name, 'spread'):.4f}")
        print(f"f1_smote_gp_{name}={mean('digits', name, 'f1'):.3f}")
    for name in names:
        print(f"positives_{name}={mean('synthetic', name, 'positives'):.1f}")
    print(f"gp_positive_ratio_vs_random={mean('synthetic', 'gp', 'positives') / max(mean('synthetic', 'random', 'positives'), 1e-9):.2f}")
    if "digits" in tables:
        gp_runs = tables["digits"]["gp"]["runs"]
        fraction = sum(r.sampler_seconds for r in gp_runs) / sum(r.oracle_seconds for r in gp_runs)
    else:
        fraction = float("nan")
    print(f"gp_overhead_fraction={fraction:.3f}")
    real_sets = [label for label in tables if label != "synthetic"] or list(tables)
    if not real_sets:
        return
    ours = [n for n in names if n not in PAPER_SAMPLERS]
    beats = {n: all(mean(label, n, "f1") > mean(label, "gp", "f1") for label in real_sets) for n in ours}
    best = max(names, key=lambda n: np.nanmean([mean(label, n, "f1") for label in real_sets]))
    print(f"best_f1_sampler={best}")
    print(f"ours_beats_gp_on_f1={','.join(n for n, b in beats.items() if b) or 'none'} (on {'+'.join(real_sets)})")


if __name__ == "__main__":
    main()
