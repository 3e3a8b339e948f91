"""The paper's Section 4.4 (Figures 7-9) from the ablation studies' runs, each run counted once.

Per factor value, SMOTE-GP minus SMOTE is paired on the same training sets (same seed at that
value) with its 95 % t-interval. The claims about how F1 moves with I or h are judged by
``stats.trend`` over every run: "falling" / "rising" only for monotone means with a slope whose
interval excludes 0; the paper's "F1 falls as h grows" is not confirmed by end points alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..reporting.figures import f1_vs_table
from .stats import Difference, paired, summarize, trend

SYMBOL = {"v": "v", "budget": "I", "h": "h"}
#: (study, factor, the paper's figure number, the figure file the report command draws)
ABLATIONS = (("ablation_v", "v", 7, "ablation_v_fig7_f1_vs_v.png"),
             ("ablation_budget", "budget", 8, "ablation_budget_fig8_f1_vs_budget.png"),
             ("ablation_h", "h", 9, "ablation_h_fig9_f1_vs_h.png"))
#: The direction the paper claims for each curve, and the trend word that confirms it.
CLAIMED = {"budget": ("both improve as I grows", "rising"), "h": ("both fall as h grows", "falling")}


def ablation_frame(folder: Path, study: str, factor: str) -> pd.DataFrame:
    """One row per run (curve, x, seed, f1): ``f1_vs_table`` keeps the latest run of each identical job."""
    path = folder / f"{study}_runs.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = f1_vs_table(pd.read_csv(path), factor)
    table["seed"] = table["seed"].astype(str)
    return table.drop_duplicates(["curve", "x", "seed"], keep="last")


def per_value(table: pd.DataFrame) -> list[tuple[float, pd.Series, pd.Series, Difference]]:
    """Per factor value: SMOTE-GP and SMOTE per seed and their paired difference."""
    gp, sm = table[table["curve"] == "smote_gp"], table[table["curve"] == "smote"]
    smote_has_x = sm["x"].notna().any()
    out = []
    for x in sorted(gp["x"].dropna().unique()):
        a = gp[gp["x"] == x].set_index("seed")["f1"]
        b = (sm[sm["x"] == x] if smote_has_x else sm).set_index("seed")["f1"]  # SMOTE has no v: same runs
        out.append((x, a, b, paired(a, b)))
    return out


def ablation_claims(factor: str, table: pd.DataFrame, values) -> list[str]:
    if not values:
        return []
    name = SYMBOL[factor]
    words = [d.word for *_, d in values]
    counts = ", ".join(f"{w} at {words.count(w)}" for w in ("better", "no difference shown", "worse") if w in words)
    verdict = "**confirmed**" if all(w == "better" for w in words) else \
        ("**contradicted**" if all(w == "worse" for w in words) else "**not shown**")
    lines = [f"SMOTE-GP beats SMOTE at every {name} (paired 95 % interval above 0): {verdict} — of "
             f"{len(values)} values: {counts}"]
    if factor == "v":
        x, a, _, _ = max(values, key=lambda v: v[1].mean())
        lines.append(f"SMOTE-GP's F1 is highest at v = {x:g} ({summarize(a)}; the peak is chosen post hoc); paper: "
                     f"best near 0.01-0.05, lower below 0.01 and above 0.05")
        return lines
    claim, word = CLAIMED[factor]
    found = {c: trend(table[table["curve"] == c]["x"], table[table["curve"] == c]["f1"]) for c in ("smote_gp", "smote")}
    verdict = "**confirmed**" if all(t.word == word for t in found.values()) else "**not confirmed**"
    lines.append(f"{claim} ({word}: monotone means and a slope whose 95 % interval excludes 0): {verdict}")
    lines += [f"  - {'SMOTE-GP' if c == 'smote_gp' else 'SMOTE'}: {t}" for c, t in found.items()]
    return lines


def ablation_section(folder: Path, dataset: str) -> list[str]:
    out = []
    for study, factor, number, figure in ABLATIONS:
        table = ablation_frame(folder, study, factor)
        if table.empty:
            continue
        values = per_value(table)
        name = SYMBOL[factor]
        out += [f"#### Figure {number} — F1 vs {name} (`{study}`, GP sampling)", "",
                f"| {name} | SMOTE-GP | SMOTE | SMOTE-GP - SMOTE, paired over seeds (95 % t-interval) |",
                "|---|---|---|---|"]
        out += [f"| {x:g} | {summarize(a)} | {summarize(b)} | {d}: {d.word} |" for x, a, b, d in values]
        out.append("")
        out += [f"- {line}" if not line.startswith("  ") else line for line in ablation_claims(factor, table, values)]
        if (folder / figure).is_file():
            out += ["", f"![Figure {number}]({folder.name}/{figure})"]
        out.append("")
    return out or ["Not run for this dataset.", ""]
