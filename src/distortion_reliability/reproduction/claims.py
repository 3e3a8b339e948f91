"""The paper's three claims and our additions, judged from runs counted once.

(a) GP sampling finds several (>= 2x) times more positives than random at I = 600;
(b) SMOTE-GP beats SMOTE, with random and with GP sampling;
(c) GP sampling + SMOTE-GP is the best row of Tables 3-4.

Comparisons on the same training set (same sampler and seed) are paired; rows built on different
training sets (another sampler) are compared unpaired, with Welch's interval. A verdict says
**confirmed** only where the interval excludes 0 in the paper's direction, **contradicted** where it
excludes 0 the other way, and **not shown** otherwise. A "best row" is always chosen after seeing the
results and is marked post hoc.
"""

from __future__ import annotations

import pandas as pd

from .stats import F1, Difference, paired, summarize, unpaired
from .tables import cell_values, training_sets

PAPER_SAMPLERS = ("random", "gp")


def seeds(runs: pd.DataFrame, sampler: str, method: str, column: str = F1) -> pd.Series:
    """``column`` per seed for one (sampler, method): one value per training set after dedupe."""
    sub = cell_values(runs, sampler, method)
    sub = sub[~sub["skipped"]] if column == F1 else sub
    values = pd.to_numeric(sub.set_index("tags.seed")[column], errors="coerce").dropna()
    if values.index.has_duplicates:  # two computations share a seed: a setting differs that the key lacks
        raise ValueError(f"{sampler} + {method}: several distinct runs per seed {sorted(values.index)}; "
                         "split them by the setting that differs before comparing")
    return values


def judge(diff: Difference) -> str:
    word = diff.word
    return {"better": "**confirmed**", "worse": "**contradicted**"}.get(word, "**not shown**")


def claim_a(runs: pd.DataFrame) -> tuple[str, list[str]]:
    sets = training_sets(runs)
    pos = {s: sets[sets["tags.sampler"] == s].set_index("tags.seed")["metrics.n_positive_sampled"]
           for s in PAPER_SAMPLERS}
    if pos["random"].empty or pos["gp"].empty:
        return "not run", []
    both = pd.concat(pos, axis=1).dropna()
    ratio = both["gp"].mean() / max(both["random"].mean(), 1e-9)
    diff = paired(both["gp"], both["random"])
    several = ratio >= 2 and diff.word == "better"
    verdict = "**confirmed**" if several else ("**not shown**" if diff.word != "worse" else "**contradicted**")
    return verdict, [f"positives at I = 600 per training set: GP {summarize(both['gp'])}, random "
                     f"{summarize(both['random'])}; ratio of means {ratio:.1f}x; GP - random {diff} "
                     f"(paper, CIFAR-10: 130 vs 27, 4.8x)"]


def claim_b(runs: pd.DataFrame) -> tuple[str, list[str]]:
    lines, words = [], []
    for sampler in PAPER_SAMPLERS:
        ours, base = seeds(runs, sampler, "smote_gp"), seeds(runs, sampler, "smote")
        diff = paired(ours, base)
        if diff.n == 0:
            lines.append(f"{sampler} sampling: not judged, no seed has a finished run of both (their training sets "
                         "hold too few positives to rebalance; see the table's skipped jobs)")
            continue
        words.append(diff.word)
        lines.append(f"{sampler} sampling: SMOTE-GP {summarize(ours)} vs SMOTE {summarize(base)}; SMOTE-GP - SMOTE "
                     f"on the same training sets {diff}: **{diff.word}**")
    if not words:
        return "not run", []
    if all(w == "better" for w in words):
        verdict = "**confirmed**"
    elif "worse" in words:
        verdict = "**contradicted**" if "better" not in words else "**mixed**"
    else:
        verdict = "**not shown**" if "better" not in words else "**partly confirmed**"
    if len(words) < 2:
        verdict += " (judged on one sampler only)"
    return verdict, lines


def compare_rows(runs: pd.DataFrame, a: tuple[str, str], b: tuple[str, str]) -> Difference:
    """Row ``a`` minus row ``b``: paired when both share their training sets, Welch otherwise."""
    left, right = seeds(runs, *a), seeds(runs, *b)
    return paired(left, right) if a[0] == b[0] else unpaired(left, right)


def paper_rows(runs: pd.DataFrame) -> pd.Series:
    """Mean F1 (finished seeds) of every (sampler, method) row of Tables 3-4, best first."""
    rows = runs[runs["tags.sampler"].isin(PAPER_SAMPLERS) & ~runs["skipped"]]
    return rows.groupby(["tags.sampler", "tags.imbalance"])[F1].mean().dropna().sort_values(ascending=False)


def claim_c(runs: pd.DataFrame) -> tuple[str, list[str]]:
    cells = paper_rows(runs)
    ours = ("gp", "smote_gp")
    if ours not in cells.index:
        return "not run", []
    rank = list(cells.index).index(ours) + 1
    lines = [f"GP + SMOTE-GP: {summarize(seeds(runs, *ours))}, rank {rank} of {len(cells)} rows "
             f"(random and GP sampling x every method of Tables 3-4, finished seeds)"]
    rival = cells.index[1] if rank == 1 else cells.index[0]
    diff = compare_rows(runs, ours, rival)
    role = "runner-up" if rank == 1 else "best row (chosen post hoc, after seeing the results)"
    lines.append(f"{role}: {rival[0]} + {rival[1]}, {summarize(seeds(runs, *rival))}; GP + SMOTE-GP minus it "
                 f"{diff}: **{diff.word}**")
    if rank == 1:
        verdict = "**confirmed**" if diff.word == "better" else "**not shown** (rank 1, no difference shown "\
                  "against the runner-up)"
    else:
        verdict = "**contradicted** (worse than the post-hoc best row)" if diff.word == "worse" else \
            f"**not shown** (rank {rank}; no difference shown against the post-hoc best row)"
    return verdict, lines


def ours_section(runs: pd.DataFrame) -> list[str]:
    """Samplers beyond the paper with SMOTE and SMOTE-GP, each against GP + SMOTE-GP and the best row."""
    extra = runs[~runs["tags.sampler"].isin(PAPER_SAMPLERS) & runs["tags.imbalance"].isin(["smote", "smote_gp"])]
    lines: list[str] = []
    best = paper_rows(runs)
    if not extra.empty and len(best):
        top = best.index[0]
        lines += [f"Each row minus GP + SMOTE-GP, and minus the best row of Tables 3-4 here ({top[0]} + {top[1]}, "
                  f"chosen post hoc). Rows on other training sets than the reference are compared unpaired "
                  f"(Welch); SMOTE vs SMOTE-GP of one sampler are paired on its training sets.", "",
                  "| sampler | imbalance | F1, finished seeds | minus GP + SMOTE-GP | minus the post-hoc best row |",
                  "|---|---|---|---|---|"]
        for sampler in sorted(extra["tags.sampler"].unique()):
            for method in ("smote_gp", "smote"):
                row = (sampler, method)
                if cell_values(runs, *row).empty:
                    continue
                d1, d2 = compare_rows(runs, row, ("gp", "smote_gp")), compare_rows(runs, row, top)
                lines.append(f"| {sampler} | {method} | {summarize(seeds(runs, *row))} | {d1}: {d1.word} | "
                             f"{d2}: {d2.word} |")
            own = paired(seeds(runs, sampler, "smote_gp"), seeds(runs, sampler, "smote"))
            if own.n:
                lines.append(f"| {sampler} | SMOTE-GP - SMOTE (paired) | {own} | {own.word} | |")
        lines.append("")
    lines += gp_classifier_lines(runs, best)
    return lines or ["Not run for this dataset."]


def gp_classifier_lines(runs: pd.DataFrame, best: pd.Series) -> list[str]:
    """The GP classifier depends on the training set only: one value per set, paired with the methods on it."""
    if "metrics.f1_gp_classifier" not in runs:
        return []
    sets = training_sets(runs.dropna(subset=["metrics.f1_gp_classifier"]))
    if sets.empty:
        return []
    out = ["The GP classifier (beyond the paper: P(f >= h) from a GP regression on R's f values, no rebalancing; "
           "`predictors=with_gp`), one value per training set (its F1 does not depend on the rebalancing "
           "method, so its SMOTE and SMOTE-GP runs count once):", ""]
    for sampler in sorted(sets["tags.sampler"].unique()):
        gpc = pd.to_numeric(sets[sets["tags.sampler"] == sampler].set_index("tags.seed")["metrics.f1_gp_classifier"])
        line = f"- {sampler} sampling: GP classifier {summarize(gpc)}"
        for method in ("smote_gp", "smote"):
            diff = paired(gpc, seeds(runs, sampler, method))
            if diff.n:
                line += f"; minus the five predictors with {method} on the same sets {diff}: {diff.word}"
        out.append(line)
    if len(best):
        top = best.index[0]
        gp_sets = sets[sets["tags.sampler"] == "gp"]["metrics.f1_gp_classifier"]
        if len(gp_sets):
            diff = unpaired(gp_sets, seeds(runs, *top)) if top[0] != "gp" else \
                paired(pd.to_numeric(sets[sets["tags.sampler"] == "gp"].set_index("tags.seed")
                                     ["metrics.f1_gp_classifier"]), seeds(runs, *top))
            out.append(f"- GP classifier (GP sampling) minus the post-hoc best row of Tables 3-4 ({top[0]} + {top[1]}): "
                       f"{diff}: {diff.word}")
    return out + [""]


def matched_section(runs: pd.DataFrame, dataset: str) -> list[str]:
    """Claim (b) where R has the paper's imbalance (study ``matched``, sampler ``gp_matched``)."""
    if runs.empty:
        return []
    from .tables import positive_share_rows  # the share table of the matched training sets

    out = positive_share_rows(runs, dataset) + [""]
    for sampler in sorted(runs["tags.sampler"].unique()):
        ours, base = seeds(runs, sampler, "smote_gp"), seeds(runs, sampler, "smote")
        diff = paired(ours, base)
        out.append(f"- {sampler}: SMOTE-GP {summarize(ours)} vs SMOTE {summarize(base)}; SMOTE-GP - SMOTE on the same "
                   f"training sets {diff}: **{diff.word}**")
    return out
