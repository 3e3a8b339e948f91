"""Per-dataset tables of the write-up, each run counted once: Tables 3-4, R's positive share, the setting.

Every table is computed from the deduplicated runs (``stats.dedupe``), shows the finished-seeds
mean beside the all-seeds mean with skipped jobs scored 0, and each sampler's positive share in R
beside the paper's (Figure 6 gives a count for CIFAR-10 only: 27 and 130 of 600).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..reporting.runs import TABLE3_METHODS, TABLE4_METHODS
from ..reporting.tables import paper_tables, paper_value
from .stats import F1, METHOD, TRAINING_SET, dedupe, prepare, summarize, with_skipped_as_zero

#: The studies whose runs are the paper's Tables 3-4 and Figure 6 (ablations are read on their own).
PAPER_STUDIES = ("table3", "table4", "sampling", "ours")
#: The paper's positives among I = 600 sampled levels (Figure 6; its text gives CIFAR-10's only).
PAPER_POSITIVES = {"cifar10": {"random": 27, "gp": 130}}
PAPER_BUDGET = 600
TABLE_METHODS = {"table3": TABLE3_METHODS, "table4": TABLE4_METHODS}
#: The paper's verification set size (Table 2) where ours was smaller.
PAPER_N = {"mnist": 6000, "fashion_mnist": 6000, "cifar10": 5000}
SAMPLER_LABELS = {"random": "Random", "gp": "GP-based"}


#: A results folder: ``<dataset>``, optionally at another h (``_h0.73``) and/or verification size (``_n5000``).
_FOLDER = re.compile(r"^(?P<dataset>.+?)(?:_h(?P<h>\d+(?:\.\d+)?))?(?:_n(?P<n>\d+))?$")


def folder_setting(folder: str) -> tuple[str, float | None, int | None]:
    """``cifar10_h0.73`` -> ``("cifar10", 0.73, None)``; ``cifar10_n5000`` -> ``("cifar10", None, 5000)``."""
    match = _FOLDER.match(folder)
    h, n = match["h"], match["n"]
    return match["dataset"], (float(h) if h else None), (int(n) if n else None)


def _paper_positives(paper: dict[str, int], sampler: str) -> str:
    """The paper's count beside a sampler's; gp_matched is set to hit the paper's GP count, so it sits beside that."""
    if sampler in paper:
        return f"{paper[sampler]} of {PAPER_BUDGET} ({100 * paper[sampler] / PAPER_BUDGET:.1f} %)"
    if sampler == "gp_matched":
        gp = PAPER_POSITIVES["cifar10"]["gp"]
        where = "its GP sampler's here" if "gp" in paper else "CIFAR-10's GP sampler's, the only count its text gives"
        return f"the target: {gp} of {PAPER_BUDGET} ({100 * gp / PAPER_BUDGET:.1f} %), {where}"
    return "not given (its text counts CIFAR-10 only)"


def dataset_name(folder: str) -> str:
    """``cifar10_h0.73`` -> ``cifar10``: a folder holds one dataset, perhaps at another h or N."""
    return folder_setting(folder)[0]


def load_study(folder: Path, study: str) -> pd.DataFrame | None:
    path = folder / f"{study}_runs.csv"
    if not path.is_file():
        return None
    runs = prepare(pd.read_csv(path))
    runs["study"] = study
    return runs


def paper_runs(folder: Path, studies=PAPER_STUDIES) -> pd.DataFrame:
    """The runs of ``studies``, one row per distinct computation (training set, method, seed)."""
    frames = [r for s in studies if (r := load_study(folder, s)) is not None]
    if not frames:
        return pd.DataFrame()
    return dedupe(pd.concat(frames, ignore_index=True))


def training_sets(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per training set (sampler, seed, ...): what depends on R alone (positives, GP classifier)."""
    return dedupe(runs, TRAINING_SET)


def cell_values(runs: pd.DataFrame, sampler: str, method: str) -> pd.DataFrame:
    return runs[(runs["tags.sampler"] == sampler) & (runs["tags.imbalance"] == method)]


def positive_share_rows(runs: pd.DataFrame, dataset: str, samplers=None) -> list[str]:
    """Each sampler's positives in R (mean over training sets, with the range) beside the paper's."""
    sets = training_sets(runs)
    if sets.empty or "metrics.n_positive_sampled" not in sets:
        return []
    paper = PAPER_POSITIVES.get(dataset, {})
    rows = ["| sampler | positives in R (mean, range over seeds) | share of R | paper (Figure 6) | training sets |",
            "|---|---|---|---|---|"]
    for sampler in samplers or sorted(sets["tags.sampler"].unique(), key=_sampler_order):
        sub = sets[sets["tags.sampler"] == sampler]
        pos = pd.to_numeric(sub["metrics.n_positive_sampled"], errors="coerce").dropna()
        total = pd.to_numeric(sub.get("metrics.n_sampled", pd.Series(PAPER_BUDGET, index=sub.index)),
                              errors="coerce").fillna(PAPER_BUDGET)
        if pos.empty:
            continue
        share = (pos / total.loc[pos.index]).mean()
        theirs = _paper_positives(paper, sampler)
        rows.append(f"| {sampler} | {pos.mean():.0f} ({pos.min():.0f}-{pos.max():.0f}) | {100 * share:.1f} % | "
                    f"{theirs} | {len(pos)} |")
    return rows


def _sampler_order(name: str) -> tuple[int, str]:
    order = ("random", "gp", "gp_matched", "gp_sqrt", "gp_batch", "straddle")
    return (order.index(name) if name in order else len(order), name)


def _cell(sub: pd.DataFrame) -> tuple[str, str]:
    finished = summarize(sub.loc[~sub["skipped"], F1])
    scored = summarize(with_skipped_as_zero(sub))
    return str(finished), (str(scored) if finished.n != scored.n else "same")


def paper_table(runs: pd.DataFrame, table: str, dataset: str) -> list[str]:
    """Table 3 or 4 from the deduplicated runs: finished seeds, skipped scored 0, the paper."""
    paper = paper_tables()
    methods = TABLE_METHODS[table]
    present = runs[runs["tags.imbalance"].isin(methods) & runs["tags.sampler"].isin(SAMPLER_LABELS)]
    if present.empty:
        return []
    rows = [f"| Sampling | Imbalance | F1, finished seeds (mean ± std, n) | F1, every seed (skipped = 0) | "
            f"paper ({dataset}) |", "|---|---|---|---|---|"]
    for sampler, label in SAMPLER_LABELS.items():
        for method in methods:
            sub = cell_values(runs, sampler, method)
            if sub.empty:
                continue
            finished, scored = _cell(sub)
            theirs = paper_value(paper, table, sampler, method, dataset)
            rows.append(f"| {label} | {method} | {finished} | {scored} | "
                        f"{'—' if not np.isfinite(theirs) else f'{theirs:.4f}'} |")
    skipped = present[present["skipped"]]
    note = ("No job was skipped." if skipped.empty else
            f"{len(skipped)} job(s) skipped (no F1): " + "; ".join(
                f"{r['tags.sampler']} + {r['tags.imbalance']} seed {r['tags.seed']}: {str(r.get('tags.skipped', ''))[:90]}"
                for _, r in skipped.head(4).iterrows()) + ("; …" if len(skipped) > 4 else ""))
    return [*rows, "", note]


def oracle_precision(runs: pd.DataFrame) -> str:
    """The precision the oracle ran in: the effective one (tag) where recorded, else the configured one.

    Stage times are only comparable at one precision: `auto` may choose bf16 on one verification set
    and an exact backend on another (its probe counts flipped predictions on D itself).
    """
    for col in ("tags.oracle_precision", "params.oracle.precision"):
        values = runs[col].dropna().astype(str).unique() if col in runs else []
        values = [v for v in values if v and v != "auto"]
        if len(values):
            return " / ".join(sorted(values))
    return "not recorded"


def pinned(runs: pd.DataFrame) -> str:
    """How to rerun in the engine these runs' oracle ran in, on a machine where ``auto`` picks another."""
    from ..precision import PRECISIONS

    engine = oracle_precision(runs)
    return f" (pin it: `oracle.precision={engine}`)" if engine in PRECISIONS else ""


def setting_lines(runs: pd.DataFrame) -> list[str]:
    """Model, h, N, T's clean accuracy, the grid's positive share and the stage times of this folder."""
    first = runs.iloc[0]
    grid_pos, grid_neg = int(first["metrics.grid_positive"]), int(first["metrics.grid_negative"])
    n = first.get("metrics.n_verification", float("nan"))
    n = int(n) if np.isfinite(n) else "the whole held-out split"
    lines = [f"- model `{first['tags.model']}`, h = {first['tags.h']}, verification set N = {n}, "
             f"T's clean accuracy on D = {first['metrics.clean_accuracy']:.4f}, oracle precision "
             f"{oracle_precision(runs)}{pinned(runs)}",
             f"- grid (Appendix A style): {grid_pos} positive / {grid_neg} negative of {grid_pos + grid_neg} "
             f"({100 * grid_pos / (grid_pos + grid_neg):.1f} % reliable)"]
    secs = {}
    # the seconds stored with the grid artifact: less than a cold labelling when the oracle's
    # per-level counts were already cached (e.g. digits, whose grid a default run had labelled)
    grid_label = "labelling the grid (as recorded when its artifact was written)"
    for col, label in (("metrics.seconds_grid_labelling", grid_label),
                       ("metrics.seconds_sampling", "one sampler run of 600 levels (max over runs)"),
                       ("metrics.seconds_gp_overhead", "of which GP overhead (max)"),
                       ("metrics.seconds_rebalancing", "rebalancing (median per job)"),
                       ("metrics.seconds_predictors", "fitting the five predictors (median per job)")):
        if col in runs:
            values = pd.to_numeric(runs[col], errors="coerce").dropna()
            if len(values):
                secs[label] = values.median() if "median" in label else values.max()
    lines.append("- wall time per stage on this machine: " + "; ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    return lines


def cost_at_paper_n(runs: pd.DataFrame, dataset: str) -> list[str]:
    """The measured stage times scaled to the paper's N, where our N was smaller (an estimate).

    Oracle time is taken as proportional to N (every level reads up to N images; early stopping
    reads a share of them that does not depend on N to first order); GP overhead and per-job
    rebalancing and fitting do not depend on N.
    """
    target = PAPER_N.get(dataset)
    n = pd.to_numeric(runs.get("metrics.n_verification", pd.Series(dtype=float)), errors="coerce").dropna()
    if target is None or n.empty or n.iloc[0] >= target:
        return []
    ratio = target / float(n.iloc[0])
    sets = training_sets(runs)
    sampling = pd.to_numeric(sets["metrics.seconds_sampling"], errors="coerce").fillna(0)
    overhead = pd.to_numeric(sets["metrics.seconds_gp_overhead"], errors="coerce").fillna(0)
    grid = float(pd.to_numeric(runs["metrics.seconds_grid_labelling"], errors="coerce").max())
    per_job = float(pd.to_numeric(runs["metrics.seconds_rebalancing"], errors="coerce").fillna(0).median()
                    + pd.to_numeric(runs["metrics.seconds_predictors"], errors="coerce").fillna(0).median())
    now = grid + float(sampling.sum()) + per_job * len(runs)
    then = grid * ratio + float(((sampling - overhead).clip(lower=0) * ratio + overhead).sum()) + per_job * len(runs)
    return [f"- at the paper's N = {target:,} (ours {int(n.iloc[0]):,}), estimated from the stage times above, oracle time "
            f"x {ratio:.1f} (proportional to N), GP overhead and per-job fitting unchanged: the grid "
            f"{grid * ratio / 60:.0f} min, the {len(sets)} training sets {float(((sampling - overhead).clip(lower=0) * ratio + overhead).sum()) / 60:.0f} min, "
            f"{len(runs)} jobs' rebalancing and fitting {per_job * len(runs) / 60:.0f} min: {then / 3600:.1f} h for these "
            f"studies on this machine (measured at N = {int(n.iloc[0]):,}: {now / 3600:.1f} h), if the oracle runs in "
            f"the same precision ({oracle_precision(runs)}); `precision=auto` may choose another on a larger D"]


__all__ = ["METHOD", "cost_at_paper_n", "dataset_name", "folder_setting", "oracle_precision", "PAPER_STUDIES",
           "load_study", "paper_runs", "paper_table", "positive_share_rows", "setting_lines", "training_sets"]
