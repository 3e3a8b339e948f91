"""Rebalancing benchmark: every imbalance method x the paper's 5 predictors x 3 seeds (not a test).

Data, fixed and shaped like the paper's (section 4.1): 600 levels drawn uniformly (seed 0) in
[0, 1]^6, labelled by a synthetic "accuracy"

    f(c) = 1 - 0.25 * sum_j W_j^2 (c_j - m_j(c))^2,
    W = (0.6, 1.8, 0.9, 0.9, 1.2, 1.5),
    m(c) = (0.5, 0, 0.5, 0.5, 0.5, 0.5 + 0.5 sin(2 pi c_0)),

with h = 0.9: the reliable region {f >= h} is a curved (banana-shaped, non-convex) tube whose
6th coordinate bends with the 1st; 37 of the 600 levels (6.2 %) are positive. The test set is the
4^6 = 4,096-level grid ``Box.grid(4)`` (96 positives, 2.3 %).

Every method is built the way the runner builds it: ``compose_config(["imbalance=<name>", ...])`` then
``build("imbalance", ...)`` (the gateway, from the YAML's ``_target_``), the predictors from
``conf/predictors/paper.yaml`` with ``seed=<seed>``. The methods are every ``conf/imbalance/*.yaml``
but ``sv`` (the generic smote-variants adapter), plus two extra rows, ``smote_gp_v0.05`` and
``smote_gp_fill``: SMOTE-GP at CIFAR-10's threshold and in fill mode (plain Hydra overrides).
Prints a table (mean F1 over the 5 predictors, averaged over seeds, with its spread over seeds, and
the synthetic levels kept), SMOTE-vs-SMOTE-GP diagnostics, then, last, ``f1_mean_<method>=`` and
``wall_s_<method>=`` lines.
Run: ``.venv/bin/python benchmarks/rebalancing.py [--seeds 0 1 2] [--methods smote smote_gp]``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch

from distortion_reliability.build import build as build_object
from distortion_reliability.config import compose_config, conf_dir
from distortion_reliability.errors import CannotRebalanceError
from distortion_reliability.scoring import score_predictors
from distortion_reliability.box import Box

torch.set_num_threads(1)
W = np.array([0.6, 1.8, 0.9, 0.9, 1.2, 1.5])
H = 0.9


def accuracy_surface(levels: np.ndarray) -> np.ndarray:
    """The synthetic f of the module docstring (levels in the unit cube)."""
    centre = np.tile([0.5, 0.0, 0.5, 0.5, 0.5, 0.5], (len(levels), 1))
    centre[:, 5] = 0.5 + 0.5 * np.sin(2 * np.pi * levels[:, 0])
    return 1.0 - 0.25 * (((levels - centre) * W) ** 2).sum(axis=1)


def make_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    box = Box([f"c{i}" for i in range(6)], [0.0] * 6, [1.0] * 6)
    X = box.sample_uniform(600, np.random.default_rng(0))
    f = accuracy_surface(X)
    grid = box.grid(4)
    return X, (f >= H).astype(int), f, grid, (accuracy_surface(grid) >= H).astype(int)


# Extra rows beyond the paper's methods: SMOTE-GP at CIFAR-10's v and in fill mode, as Hydra overrides.
VARIANTS = {
    "smote_gp_v0.05": ["imbalance=smote_gp", "imbalance.v=0.05"],
    "smote_gp_fill": ["imbalance=smote_gp", "imbalance.sampler.fill=true", "imbalance.sampler.max_tries=10"],
}


def method_names() -> list[str]:
    """Every shipped imbalance config but the generic adapter, then the variants."""
    return sorted(p.stem for p in (conf_dir() / "imbalance").glob("*.yaml") if p.stem != "sv") + list(VARIANTS)


def build(label: str, *extra: str):
    """The method behind a table row, built from the composed config like the runner does."""
    return build_object("imbalance", compose_config(VARIANTS.get(label, [f"imbalance={label}"]) + list(extra)).imbalance)


def synthetic_precision(X: np.ndarray, y: np.ndarray, f: np.ndarray, label: str, *extra: str) -> tuple[int, float]:
    """How many synthetic positives a resampler adds, and the fraction truly reliable."""
    method = build(label, *extra)
    method.resample(X, y, f, seed=0)
    stats = method.stats_
    added = stats["rebalanced_X_unit"][stats["synthetic_mask"] & (stats["rebalanced_y"] == 1)]
    return len(added), float(np.mean(accuracy_surface(added) >= H)) if len(added) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=method_names())
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    X, y, f, grid, y_grid = make_data()
    print(f"training set: {len(y)} levels, {y.sum()} positive ({y.mean():.1%}); grid: {len(y_grid)} levels, "
          f"{y_grid.sum()} positive ({y_grid.mean():.1%})")

    rows, wall, kept = [], {}, {}
    for name in args.methods:
        start = time.perf_counter()
        try:
            method = build(name)
            for seed in args.seeds:
                predictors = build_object("predictors", compose_config([f"seed={seed}"]).predictors)
                fitted = method.fit_predictors(X, y, f, predictors, seed=seed)
                kept.setdefault(name, []).append(method.stats_["n_synthetic_kept"])
                table = score_predictors(fitted, grid, y_grid)
                rows += [{"method": name, "seed": seed, **r} for r in table.to_dict("records")]
        except (CannotRebalanceError, ImportError) as error:
            print(f"{name}: skipped ({error})")
        wall[name] = time.perf_counter() - start
        done = [r for r in rows if r["method"] == name and r["predictor"] == "mean"]
        if done:
            print(f"  {name:17s} f1_mean={np.mean([r['f1'] for r in done]):.4f}  ({wall[name]:.1f} s)", flush=True)

    results = pd.DataFrame(rows)
    per_pred = results.pivot_table(index="method", columns="predictor", values="f1", aggfunc="mean")
    spread = results[results.predictor == "mean"].groupby("method").f1.std()
    per_pred["sd_over_seeds"] = spread
    means = results[results.predictor == "mean"].groupby("method")[["precision", "recall"]].mean()
    per_pred["precision"], per_pred["recall"] = means.precision, means.recall
    per_pred["synthetic_kept"] = pd.Series(
        {m: np.mean(v) if all(k is not None for k in v) else np.nan for m, v in kept.items()})
    per_pred = per_pred.reindex([m for m in args.methods if m in per_pred.index])
    columns = [c for c in ["dt", "rf", "lr", "svm", "nn", "mean", "sd_over_seeds", "precision", "recall", "synthetic_kept"]
               if c in per_pred.columns]
    print("\nF1 on the grid (mean over seeds; precision and recall averaged over the 5 predictors; synthetic levels "
          "kept in R*, mean over seeds, blank where the method builds no R*):")
    print(per_pred[columns].round(4).to_string())

    if {"smote", "smote_gp"} <= set(args.methods):
        print("\nsynthetic positives (seed 0): count, fraction truly reliable")
        for label, extra in [("smote", []), ("smote_gp", []), ("smote_gp", ["imbalance.v=0.05"])]:
            n, precision = synthetic_precision(X, y, f, label, *extra)
            shown = f"{label} v={build(label, *extra).sampler.v}" if label == "smote_gp" else label
            print(f"  {shown:17s} added={n:4d} truly_reliable={precision:.3f}")

    for name in per_pred.index:
        print(f"f1_mean_{name}={per_pred.loc[name, 'mean']:.4f}")
    for name in args.methods:
        print(f"wall_s_{name}={wall[name]:.1f}")


if __name__ == "__main__":
    main()
