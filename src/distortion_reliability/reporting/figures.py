"""Figures 6-10 of the paper from a runs table (and, for Figure 10, a few runs' CSV artifacts).

Each figure function returns the written path, or ``None`` with a logged reason when the runs do
not hold what it needs (e.g. Figure 7 needs runs at two or more values of v). Every figure also
writes the numbers it draws as a CSV beside the PNG.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from .runs import TABLE4_METHODS, factor_series, norm_value, paper_f1, usable
from .style import POINT_COLORS, axis_label, line_colors, save, style

log = logging.getLogger(__name__)
POSITIVES_RE = re.compile(r"^metrics\.n_positive_at_(\d+)$")

ABLATIONS = {  # figure number, factor, x label, log x
    7: ("v", "uncertainty threshold v (SMOTE-GP)", True),
    8: ("budget", "sampling budget I (levels)", False),
    9: ("h", "reliability threshold h", False),
}


def setting_label(df: pd.DataFrame, dataset: str = "") -> str:
    """``digits, small_cnn, h = 0.5, N = 899``: what a figure's title needs to tell two settings apart."""
    parts = [dataset] if dataset else []

    def values(col: str) -> list:
        return sorted({norm_value(v) for v in df[col].dropna()} - {""}) if col in df else []

    models = values("tags.model")
    if models:
        parts.append("/".join(models))
    hs = sorted(values("tags.h"), key=float)
    if hs:
        parts.append(f"h = {hs[0]}" if len(hs) == 1 else f"h = {hs[0]}-{hs[-1]}")
    n = values("metrics.n_verification") or values("params.dataset.verification_size")
    if n:
        parts.append(f"N = {'/'.join(n)}")
    return ", ".join(parts)


def _mean_std(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = np.nanmean(values, axis=0)
    std = np.nanstd(values, axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    return mean, np.nan_to_num(std)


# --------------------------------------------------------------------------- Figure 6
def positives_table(df: pd.DataFrame) -> pd.DataFrame:
    """Positives among the first B sampled levels, one row per (sampler, seed, budget), from ``n_positive_at_<B>``.

    A training set R is shared by every method of a (sampler, seed, budget); one run of each is enough.
    """
    ok = usable(df, keep_skipped=True) if len(df) else df
    cols = {int(m.group(1)): c for c in ok.columns if (m := POSITIVES_RE.match(c))}
    if cols and not ok.empty:  # a job skipped before sampling logged no counts: not a point at 0
        ok = ok[ok[list(cols.values())].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)]
    if not cols or ok.empty:
        return pd.DataFrame(columns=["sampler", "seed", "budget", "positives"])
    keys = pd.DataFrame({"sampler": factor_series(ok, "sampler"), "seed": factor_series(ok, "seed"),
                         "run_budget": factor_series(ok, "budget")}, index=ok.index)
    # the longest run of a (sampler, seed) holds every shorter budget's prefix
    order = pd.to_numeric(keys["run_budget"], errors="coerce").fillna(0).argsort(kind="stable").to_numpy()
    ok, keys = ok.iloc[order], keys.iloc[order]
    first = ~keys[["sampler", "seed"]].duplicated(keep="last")
    rows = []
    for (i, r), k in zip(ok[first.to_numpy()].iterrows(), keys[first.to_numpy()].itertuples()):
        for b, c in sorted(cols.items()):
            v = pd.to_numeric(r.get(c), errors="coerce")
            if pd.notna(v):
                rows.append({"sampler": k.sampler, "seed": k.seed, "budget": b, "positives": float(v)})
    return pd.DataFrame(rows)


def figure6(df: pd.DataFrame, path: str | Path, dataset: str = "") -> Path | None:
    table = positives_table(df)
    if table.empty:
        log.debug("Figure 6 skipped: no run logs n_positive_at_<B>")
        return None
    path = Path(path)
    table.to_csv(path.with_suffix(".csv"), index=False)
    samplers = list(dict.fromkeys(table["sampler"]))
    colors = line_colors(samplers)
    with style() as plt:
        fig, ax = plt.subplots(figsize=(5.5, 4.0))
        for s in samplers:
            sub = table[table["sampler"] == s].pivot_table(index="seed", columns="budget", values="positives")
            budgets = sub.columns.to_numpy()
            mean, std = _mean_std(sub.to_numpy(dtype=float))
            ax.plot(budgets, mean, marker="o", color=colors[s], label=f"{s} (n={len(sub)} seeds)")
            ax.fill_between(budgets, mean - std, mean + std, color=colors[s], alpha=0.2)
        ax.set_xticks(sorted(table["budget"].unique()))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("sampling budget I (levels sampled)")
        ax.set_ylabel("real positives found (f ≥ h)")
        ax.set_title(f"Figure 6 — positives vs budget{' (' + dataset + ')' if dataset else ''}, mean ± std")
        ax.legend()
        return save(fig, path)


# --------------------------------------------------------------------------- Figures 7-9
def f1_vs_table(df: pd.DataFrame, factor: str) -> pd.DataFrame:
    """Per-run paper F1 with the curve (sampler / method) and the x value ``factor``."""
    ok = usable(df) if len(df) else df
    if ok.empty:
        return pd.DataFrame(columns=["curve", "x", "seed", "f1"])
    samplers = factor_series(ok, "sampler")
    methods = factor_series(ok, "imbalance")
    curve = methods if samplers.nunique() <= 1 else samplers + " / " + methods
    raw = factor_series(ok, factor)
    x = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    return pd.DataFrame({"curve": curve, "x": x, "seed": factor_series(ok, "seed"), "f1": paper_f1(ok)}).dropna(
        subset=["f1"])


def figure_f1_vs(df: pd.DataFrame, number: int, path: str | Path, dataset: str = "") -> Path | None:
    """Figure 7 (v), 8 (budget) or 9 (h): F1 mean ± std over seeds, one curve per method.

    A method without the parameter (SMOTE has no v) is drawn as a flat band at its mean over all runs.
    """
    factor, xlabel, logx = ABLATIONS[number]
    table = f1_vs_table(df, factor)
    if table["x"].nunique() < 2:
        log.debug("Figure %d skipped: runs hold fewer than two values of %s", number, factor)
        return None
    path = Path(path)
    summary = (table.groupby(["curve", "x"], dropna=False)["f1"]
               .agg(mean="mean", std=lambda s: s.std(ddof=1) if len(s) > 1 else 0.0, n="count").reset_index())
    summary.to_csv(path.with_suffix(".csv"), index=False)
    curves = list(dict.fromkeys(table["curve"]))
    colors = line_colors(curves)
    xs_all = np.sort(table["x"].dropna().unique())
    with style() as plt:
        fig, ax = plt.subplots(figsize=(5.5, 4.0))
        for c in curves:
            sub = summary[summary["curve"] == c]
            if sub["x"].isna().all():
                vals = table[table["curve"] == c]["f1"]
                m, s = float(vals.mean()), float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
                ax.plot(xs_all, np.full(len(xs_all), m), ls="--", color=colors[c],
                        label=f"{c} (no {factor}; n={len(vals)})")
                ax.fill_between(xs_all, m - s, m + s, color=colors[c], alpha=0.15)
                continue
            sub = sub.dropna(subset=["x"]).sort_values("x")
            ax.plot(sub["x"], sub["mean"], marker="o", color=colors[c],
                    label=f"{c} (n={_span(sub['n'])} seeds)")
            ax.fill_between(sub["x"], sub["mean"] - sub["std"], sub["mean"] + sub["std"], color=colors[c], alpha=0.2)
        if logx:
            ax.set_xscale("log")
        else:
            ax.set_xticks(xs_all)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("F1 on R' (mean of 5 distortion-classifiers)")
        ax.set_title(f"Figure {number} — F1 vs {factor}{' (' + dataset + ')' if dataset else ''}, mean ± std")
        ax.legend()
        return save(fig, path)


def _span(n: pd.Series) -> str:
    lo, hi = int(n.min()), int(n.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


# --------------------------------------------------------------------------- Figure 10
Fetch = Callable[[Mapping, str], "Path | None"]


def figure10_candidates(df: pd.DataFrame, methods: Sequence[str] = TABLE4_METHODS) -> list[pd.DataFrame]:
    """Runs Figure 10 could draw, one frame per (sampler, seed) in order of preference: most SMOTE-family
    methods, then most real positives in R, then the lowest seed. Each frame holds one run per method."""
    ok = usable(df) if len(df) else df
    if ok.empty:
        return []
    m = factor_series(ok, "imbalance")
    ok = ok[m.isin(methods).to_numpy()]
    if ok.empty:
        return []
    keys = pd.DataFrame({"sampler": factor_series(ok, "sampler"), "seed": factor_series(ok, "seed"),
                         "method": factor_series(ok, "imbalance")}, index=ok.index)
    keys["positives"] = (pd.to_numeric(ok["metrics.n_positive_sampled"], errors="coerce")
                         if "metrics.n_positive_sampled" in ok else 0.0)
    count = keys.groupby(["sampler", "seed"]).agg(method=("method", "nunique"), positives=("positives", "max"))
    count = count.reset_index()
    count["seed_num"] = pd.to_numeric(count["seed"], errors="coerce").fillna(1e9)
    count["positives"] = count["positives"].fillna(0)
    count = count.sort_values(["method", "positives", "seed_num"], ascending=[False, False, True])
    order = {mm: i for i, mm in enumerate(methods)}
    out = []
    for _, best in count.iterrows():
        sel = (keys["sampler"] == best["sampler"]) & (keys["seed"] == best["seed"])
        chosen = ok[sel.to_numpy()].copy()
        chosen["_method"] = keys.loc[sel, "method"].to_numpy()
        chosen = chosen.drop_duplicates("_method", keep="last").sort_values("_method", key=lambda s: s.map(order))
        out.append(chosen)
    return out


def _read(fetch: Fetch, row: Mapping, name: str) -> pd.DataFrame | None:
    p = fetch(row, name)
    if p is None or not Path(p).is_file():
        return None
    return pd.read_csv(p)


def figure10(df: pd.DataFrame, fetch: Fetch, out_dir: str | Path, dataset: str = "",
             max_synthetic: int = 400, seed: int = 0, tsne_iter: int = 1000, prefix: str = "") -> list[Path]:
    """Original and synthetic positives per SMOTE-family method: a t-SNE panel grid (the paper's view) and
    the same points projected on pairs of distortions in natural units.

    ``fetch(run_row, artifact_name) -> local path or None`` supplies ``training_set.csv``,
    ``rebalanced.csv``, ``smote_gp_proposals.csv`` and ``space.json``.
    """
    panels: list[tuple[str, pd.DataFrame, pd.DataFrame | None]] = []
    for runs in figure10_candidates(df):  # the preferred (sampler, seed) whose runs kept their artifacts
        for _, r in runs.iterrows():
            reb = _read(fetch, r, "rebalanced.csv")
            if reb is None:
                continue
            props = _read(fetch, r, "smote_gp_proposals.csv") if r["_method"] == "smote_gp" else None
            panels.append((str(r["_method"]), reb, props))
        if panels:
            break
    if not panels:
        log.debug("Figure 10 skipped: no finished SMOTE-family run with a rebalanced.csv artifact")
        return []
    first = runs.iloc[0]
    training = _read(fetch, first, "training_set.csv")
    space = None
    sp = fetch(first, "space.json")
    if sp is not None and Path(sp).is_file():
        space = json.loads(Path(sp).read_text())
    names = list(space["names"]) if space else [c for c in panels[0][1].columns if c not in ("label", "origin")]
    if training is None:  # the real points of any rebalanced set without cleaning (first panel)
        reb = panels[0][1]
        training = reb[reb["origin"] == "real"]
    real = training[names].to_numpy(float)
    real_y = training["label"].to_numpy().astype(int)
    lower = np.asarray(space["lower"], float) if space else np.nanmin(real, axis=0)
    upper = np.asarray(space["upper"], float) if space else np.nanmax(real, axis=0)
    width = np.where(upper > lower, upper - lower, 1.0)
    rng = np.random.default_rng(seed)
    # Oversamplers make the minority class: positives in the paper's regime, negatives when a GP
    # sampler's R is mostly reliable. Show whichever it is, named as such.
    minority = 1 if 2 * int(real_y.sum()) <= len(real_y) else 0
    kind = "positive" if minority == 1 else "negative"
    synth = {}
    for method, reb, _ in panels:
        s = reb[(reb["origin"] == "synthetic") & (reb["label"] == minority)][names].to_numpy(float)
        if len(s) > max_synthetic:
            s = s[rng.choice(len(s), max_synthetic, replace=False)]
        synth[method] = s
    allpts = np.vstack([real] + [s for s in synth.values() if len(s)])
    unit = (allpts - lower) / width
    from sklearn.manifold import TSNE

    perplexity = float(min(30, max(5, (len(unit) - 1) // 3)))
    emb = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
               max_iter=max(250, int(tsne_iter))).fit_transform(unit)
    real_e = emb[: len(real)]
    offs, synth_e = len(real), {}
    for m, s in synth.items():
        synth_e[m] = emb[offs: offs + len(s)]
        offs += len(s)
    out = Path(out_dir)
    sampler, seedv = norm_value(factor_series(runs, "sampler").iloc[0]), norm_value(factor_series(runs, "seed").iloc[0])
    pd.DataFrame(np.column_stack([emb, np.r_[np.where(real_y == 1, 1, 0), np.full(len(emb) - len(real), 2)]]),
                 columns=["tsne_1", "tsne_2", "kind"]).to_csv(out / f"{prefix}fig10_tsne.csv", index=False)
    titles = ["original R"] + [m for m, _, _ in panels]
    n = len(titles)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    paths = []
    with style() as plt:
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.1 * ncol, 3.0 * nrow), squeeze=False)
        for k, title in enumerate(titles):
            ax = axes[k // ncol][k % ncol]
            ax.scatter(*real_e[real_y == 0].T, s=5, c=POINT_COLORS["negative"], label="real negative", alpha=0.6)
            ax.scatter(*real_e[real_y == 1].T, s=7, c=POINT_COLORS["positive"], label="real positive")
            if k > 0 and len(synth_e[title]):
                ax.scatter(*synth_e[title].T, s=5, c=POINT_COLORS["synthetic"], label=f"synthetic {kind}", alpha=0.7)
            nsyn = 0 if k == 0 else len(synth[title])
            ax.set_title(title + (f" ({nsyn} synthetic)" if k else  # the class: in the legend and suptitle
                                  f" ({int(real_y.sum())} pos / {len(real_y)})"))
            ax.set_xticks([]), ax.set_yticks([])
            ax.grid(False)
        for k in range(n, nrow * ncol):
            axes[k // ncol][k % ncol].axis("off")
        handles, labels = axes[0][min(1, n - 1) % ncol].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.02))
        fig.suptitle(f"Figure 10 — t-SNE of real and synthetic {kind} levels (the minority class; {dataset}, "
                     f"sampler={sampler} seed={seedv})")
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        paths.append(save(fig, out / f"{prefix}fig10_tsne.png"))
        # the same points on pairs of distortions, natural units
        d = len(names)
        pairs = [(i, i + 1) for i in range(0, d - 1, 2)] or [(0, 0)]
        fig, axes = plt.subplots(n, len(pairs), figsize=(3.0 * len(pairs), 2.6 * n), squeeze=False)
        for k, title in enumerate(titles):
            for j, (a, b) in enumerate(pairs):
                ax = axes[k][j]
                ax.scatter(real[real_y == 0, a], real[real_y == 0, b], s=4, c=POINT_COLORS["negative"], alpha=0.5,
                           label="real negative")
                ax.scatter(real[real_y == 1, a], real[real_y == 1, b], s=6, c=POINT_COLORS["positive"],
                           label="real positive")
                if k > 0:
                    s = synth[title]
                    ax.scatter(s[:, a], s[:, b], s=4, c=POINT_COLORS["synthetic"], alpha=0.6, label=f"synthetic {kind}")
                    props = panels[k - 1][2]
                    if props is not None and "kept" in props:
                        rej = props[props["kept"].astype(int) == 0][names].to_numpy(float)
                        ax.scatter(rej[:, a], rej[:, b], s=6, marker="x", c=POINT_COLORS["rejected"], alpha=0.5,
                                   linewidths=0.6, label="SMOTE-GP rejected")
                ax.set_xlim(lower[a], upper[a]), ax.set_ylim(lower[b], upper[b])
                if k == n - 1:
                    ax.set_xlabel(axis_label(names[a]))
                if j == 0:
                    ax.set_ylabel(f"{title}\n{axis_label(names[b])}")
                else:
                    ax.set_ylabel(axis_label(names[b]))
        handles, labels = [], []
        for row in axes:
            for ax in row:
                for h_, l_ in zip(*ax.get_legend_handles_labels()):
                    if l_ not in labels:
                        handles.append(h_), labels.append(l_)
        fig.legend(handles, labels, loc="lower center", ncol=4, bbox_to_anchor=(0.5, -0.01))
        fig.suptitle(f"Figure 10 (natural units) — the same levels projected on pairs of distortions "
                     f"({dataset}, sampler={sampler} seed={seedv}; synthetic {kind}s: the minority class)")
        fig.tight_layout(rect=(0, 0.03, 1, 0.98))
        paths.append(save(fig, out / f"{prefix}fig10_projections.png"))
    return paths
