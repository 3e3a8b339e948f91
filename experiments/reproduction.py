"""Write results/REPRODUCTION.md from the studies' exported runs (results/<dataset>/<study>_runs.csv).

No number in the write-up is typed by hand: every one is computed here from the runs that the report
command exported from MLflow (``python -m distortion_reliability.report study=<s> dataset=<d>``).

    .venv/bin/python experiments/reproduction.py [--results results]

The paper's three claims are judged per dataset with paired comparisons over seeds (same sampler and
seed, hence the same training set R, for both methods):

(a) GP sampling finds several (>= 2x) times more positives than random at I = 600;
(b) SMOTE-GP beats SMOTE (mean paired F1 difference > 0 with random and with GP sampling);
(c) GP sampling + SMOTE-GP is the best row of Tables 3-4.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from distortion_reliability.reports.figures import f1_vs_table
from distortion_reliability.reports.runs import paper_f1

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "src" / "distortion_reliability" / "reports" / "paper_tables.csv"
#: Datasets in the paper's order; a folder like ``mnist_h0.74`` (the same study at another h, its own
#: MLflow store) follows its dataset.
DATASETS = ("digits", "mnist", "cifar10")


def result_folders(results: Path) -> list[str]:
    found = sorted(p.parent.name for p in results.glob("*/*_runs.csv"))
    names = list(dict.fromkeys(found))
    order = {name: i for i, name in enumerate(DATASETS)}
    return sorted(set(names) | set(DATASETS), key=lambda n: (order.get(n.split("_h")[0], 99), n))


SCOPE_NOTES = """How each setting was chosen, and why our numbers differ from the paper's, as far as we can tell:

- **Two h per dataset.** Each dataset runs at the paper's h and at an "Appendix-A h" whose grid positive share
  is near the paper's Appendix A (MNIST 139/4,096 = 3.4 %, CIFAR-10 212/4,096 = 5.2 %); those results live in
  `results/<dataset>_h<h>/` with their own MLflow store. CIFAR-10's h = 0.73 was chosen with
  `experiments/grid_share.py --share 0.052`, which reads the early-stopped counts the oracle cached while
  labelling the grid at h = 0.85 (estimated share 5.18 %; no new oracle work). MNIST's h = 0.74 was chosen
  earlier, as the 96.6 % quantile of f over the random sampler's uniformly drawn levels; on the grid it gives
  2.6 % (inside Appendix A's 2-6 %), and `grid_share.py` would now pick 0.69-0.70. Uniform levels are a poor
  guide on CIFAR-10: at h = 0.85 only 0.13 % of them are reliable against 1.5 % of the grid, whose 4 points per
  axis include the domain ends (no rain, no rotation), where f is highest.
- **CIFAR-10 at N = 2,000**, not the paper's 5,000: on this 2-core CPU one GP sampler run of 600 levels took
  ~14 min and the grid ~14 min at N = 2,000; at N = 5,000 each study would take ~2.5x longer than the stretch
  of work allowed. D is a seeded 2,000-image subset of the CIFAR-10 test split.
- **Other models and verification sets.** The public LeNet-5 and ResNet-20 checkpoints are not the paper's
  models, and D is a seeded subset of each test split. At the paper's h both are reliable on far fewer grid
  levels than the paper's Appendix A reports (see the grid line of each dataset), which leaves the grid test
  set with few positives (MNIST: 7): F1 on it is then small and noisy for every method.
- **The distortions.** Our rain (seeded streaks on a per-image field) and darkness are our implementation of
  Table 1's descriptions; the paper's code is not public, so the same level may be harsher or milder.
- **The GP.** Our GP uses BoTorch's priors with MAP refits on a geometric schedule; the paper does not give its
  kernel hyperparameters. SMOTE-GP's u is the posterior variance relative to the prior variance, so v keeps the
  same meaning on every dataset (the paper does not say how its u is scaled).
- **digits** is not in the paper; it is this project's embedded dataset (h = 0.5 puts 3.0 % of its grid in the
  reliable class, inside Appendix A's 2-6 %: measured on the grid at h = 0.4-0.8, see conf/dataset/digits.yaml).
- **Ablations** (the paper's Figures 7-9, run there on CIFAR-10): v and I on digits, on MNIST at h = 0.74 and on
  CIFAR-10 at h = 0.73 (v also at 0.85); h (Figure 9) on digits and on CIFAR-10 narrowed to h = 0.73, 0.80,
  0.85 (in `results/cifar10/`); not on MNIST, where it needs four more N = 6,000 grids and twelve GP runs.
- **Our additions.** `ours` ran in full (gp, gp_sqrt, straddle, gp_batch) on digits; on MNIST and CIFAR-10 only
  with the paper's GP sampler (`sampler=gp`: each other sampler costs three ~10-15 min runs per setting), which
  still compares the GP classifier with the five predictors on the same training sets."""


def load_runs(folder: Path, study: str) -> pd.DataFrame | None:
    path = folder / f"{study}_runs.csv"
    if not path.is_file():
        return None
    runs = pd.read_csv(path)
    if "status" in runs:
        runs = runs[runs["status"] == "FINISHED"]
    if "tags.run_kind" in runs:
        runs = runs[runs["tags.run_kind"].fillna("job") == "job"]
    runs = runs.copy()
    # The paper's number: the mean F1 of its five predictors (the `ours` study adds a sixth to f1_mean).
    runs["metrics.f1_mean"] = paper_f1(runs)
    return runs


def all_runs(folder: Path) -> pd.DataFrame:
    frames = [r for s in ("table3", "table4", "sampling", "ours") if (r := load_runs(folder, s)) is not None]
    if not frames:
        return pd.DataFrame()
    runs = pd.concat(frames, ignore_index=True)
    if "tags.config_hash" in runs:  # a job linked into two studies is one run
        runs = runs.drop_duplicates("tags.config_hash", keep="last")
    return runs


def fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return "—"
    if values.size == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std(ddof=1):.4f}"


def paired(runs: pd.DataFrame, sampler: str, a: str, b: str, metric: str = "metrics.f1_mean") -> pd.DataFrame:
    """Per seed: the metric of method ``a`` and ``b`` on the same (sampler, seed) training set."""
    sub = runs[runs["tags.sampler"] == sampler]
    left = sub[sub["tags.imbalance"] == a].groupby("tags.seed")[metric].mean()
    right = sub[sub["tags.imbalance"] == b].groupby("tags.seed")[metric].mean()
    both = pd.concat({a: left, b: right}, axis=1).dropna()
    both["diff"] = both[a] - both[b]
    return both


def t_stat(diff: np.ndarray) -> str:
    diff = np.asarray(diff, dtype=float)
    if diff.size < 2 or diff.std(ddof=1) == 0:
        return "n/a"
    return f"{diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size)):.2f}"


def claim_a(runs: pd.DataFrame) -> tuple[str, list[str]]:
    first = runs.drop_duplicates(["tags.sampler", "tags.seed"])
    pos = {s: first[first["tags.sampler"] == s].set_index("tags.seed")["metrics.n_positive_sampled"]
           for s in ("random", "gp")}
    if pos["random"].empty or pos["gp"].empty:
        return "not run", []
    both = pd.concat(pos, axis=1).dropna()
    ratio = both["gp"].mean() / max(both["random"].mean(), 1e-9)
    verdict = "**confirmed**" if ratio >= 2 and (both["gp"] > both["random"]).all() else "**not confirmed**"
    lines = [f"positives at I = 600: GP {fmt(both['gp'])}, random {fmt(both['random'])} (seeds "
             f"{', '.join(str(int(s)) for s in both.index)}); ratio {ratio:.1f}x; GP found more on "
             f"{int((both['gp'] > both['random']).sum())} of {len(both)} seeds (paper, CIFAR-10: 130 vs 27, 4.8x)"]
    return verdict, lines


def claim_b(runs: pd.DataFrame) -> tuple[str, list[str]]:
    lines, diffs = [], []
    for sampler in ("random", "gp"):
        both = paired(runs, sampler, "smote_gp", "smote")
        if both.empty:
            lines.append(f"{sampler} sampling: not judged, no seed has a finished run of both (their training sets "
                         "hold too few positives to rebalance; see the table's missing cells)")
            continue
        diffs.append(both["diff"].mean())
        lines.append(f"{sampler} sampling: SMOTE-GP {fmt(both['smote_gp'])} vs SMOTE {fmt(both['smote'])}; paired "
                     f"difference {fmt(both['diff'])} (t = {t_stat(both['diff'])}, SMOTE-GP better on "
                     f"{int((both['diff'] > 0).sum())} of {len(both)} seeds)")
    if not diffs:
        return "not run", []
    verdict = "**confirmed**" if all(d > 0 for d in diffs) else "**not confirmed**"
    if len(diffs) < 2:
        verdict += " (judged on one sampler only)"
    return verdict, lines


def claim_c(runs: pd.DataFrame) -> tuple[str, list[str]]:
    cells = runs.groupby(["tags.sampler", "tags.imbalance"])["metrics.f1_mean"].agg(["mean", "std", "count"])
    cells = cells[cells.index.get_level_values(0).isin(["random", "gp"])].dropna(subset=["mean"])
    cells = cells.sort_values("mean", ascending=False)  # rows whose every job was skipped have no rank
    if ("gp", "smote_gp") not in cells.index:
        return "not run", []
    rank = list(cells.index).index(("gp", "smote_gp")) + 1
    best = cells.index[0]
    ours = cells.loc[("gp", "smote_gp")]
    lines = [f"GP + SMOTE-GP: {ours['mean']:.4f} ± {ours['std']:.4f}, rank {rank} of {len(cells)} rows "
             f"(random and GP sampling x every method of Tables 3-4)"]
    if best != ("gp", "smote_gp"):
        both = paired(runs, best[0], best[1], "smote_gp") if best[0] == "gp" else pd.DataFrame()
        extra = (f"; paired vs GP + SMOTE-GP: {fmt(both['diff'])} (t = {t_stat(both['diff'])})"
                 if not both.empty else "")
        lines.append(f"best row: {best[0]} + {best[1]}, {cells.iloc[0]['mean']:.4f} ± {cells.iloc[0]['std']:.4f}{extra}")
    verdict = "**confirmed**" if rank == 1 else "**not confirmed**"
    return verdict, lines


def ours_section(runs: pd.DataFrame, folder: Path) -> list[str]:
    extra = load_runs(folder, "ours")
    sampling = load_runs(folder, "sampling")
    frames = [f for f in (extra, sampling) if f is not None]
    if not frames:
        return ["Not run for this dataset."]
    sub = pd.concat(frames + [runs], ignore_index=True)
    if "tags.config_hash" in sub:
        sub = sub.drop_duplicates("tags.config_hash", keep="last")
    # One value per seed: a (sampler, method, seed) can be in two studies with different predictor sets.
    per_seed = sub.groupby(["tags.sampler", "tags.imbalance", "tags.seed"])[
        ["metrics.f1_mean", "metrics.n_positive_sampled"]].mean().reset_index()
    cells = per_seed.groupby(["tags.sampler", "tags.imbalance"]).agg(
        f1=("metrics.f1_mean", lambda s: fmt(s)), positives=("metrics.n_positive_sampled", lambda s: fmt(s)),
        seeds=("tags.seed", "nunique"))
    rows = ["| sampler | imbalance | F1 (mean ± std) | positives sampled | seeds | paired vs GP + SMOTE-GP |",
            "|---|---|---|---|---|---|"]
    f1 = per_seed.set_index(["tags.sampler", "tags.imbalance", "tags.seed"])["metrics.f1_mean"]
    base = f1.get(("gp", "smote_gp"), pd.Series(dtype=float))
    paper_rows = runs[runs["tags.sampler"].isin(["random", "gp"])]
    best_table_row = paper_rows.groupby(["tags.sampler", "tags.imbalance"])["metrics.f1_mean"].mean().max()
    beats = []
    for (sampler, imbalance), row in cells.iterrows():
        if imbalance not in ("smote", "smote_gp"):
            continue
        mine = f1.loc[(sampler, imbalance)]
        diff = (mine - base).dropna()
        versus = "—" if (sampler, imbalance) == ("gp", "smote_gp") or diff.empty else \
            f"{fmt(diff)} (t = {t_stat(diff)}; better on {int((diff > 0).sum())} of {len(diff)} seeds)"
        rows.append(f"| {sampler} | {imbalance} | {row['f1']} | {row['positives']} | {row['seeds']} | {versus} |")
        if sampler not in ("random", "gp") and mine.mean() > best_table_row:
            beats.append(f"{sampler} + {imbalance} ({mine.mean():.4f})")
    rows.append("")
    rows.append(f"Beyond the paper, better than the best row of Tables 3-4 here ({best_table_row:.4f}): "
                + (", ".join(beats) if beats else "none") + ".")
    if extra is not None and "metrics.f1_gp_classifier" in extra:
        gpc = extra.dropna(subset=["metrics.f1_gp_classifier"])
        if not gpc.empty:
            diff = gpc["metrics.f1_gp_classifier"] - gpc["metrics.f1_mean"]
            rows.append(f"\nThe GP classifier (beyond the paper: P(f >= h) from a GP regression on the real training set's "
                        f"f values, no rebalancing; `predictors=with_gp`): F1 "
                        f"{fmt(gpc['metrics.f1_gp_classifier'])} over {len(gpc)} runs of the `ours` study; minus the "
                        f"five predictors' mean on the same runs: {fmt(diff)} (better on {int((diff > 0).sum())} of "
                        f"{len(diff)} runs); with GP sampling, {fmt(gpc[gpc['tags.sampler'] == 'gp']['metrics.f1_gp_classifier'])}"
                        f" against the best row of Tables 3-4, {best_table_row:.4f}.")
    return rows


#: Overrides every job of a study carries that are not what the study itself sets.
_STUDY_KEYS = {"study", "dataset", "data_dir", "progress", "sampler", "imbalance", "seed", "sampler.budget", "h",
               "+study/v_arm"}


def commands_section(folder: Path, dataset: str) -> list[str]:
    """The exact commands behind this folder's numbers, read from the runs' own overrides."""
    lines, common_extra = [], []
    name = folder.name.split("_h")[0]
    out = f" out=results/{folder.name}" if folder.name != name else ""
    for path in sorted(folder.glob("*_runs.csv")):
        study = path.name[: -len("_runs.csv")]
        runs = load_runs(folder, study)
        if runs is None or runs.empty or "tags.overrides" not in runs:
            continue
        sets = [set(str(o).split()) for o in runs["tags.overrides"].dropna()]
        common = set.intersection(*sets) if sets else set()
        swept_h = runs["tags.h"].nunique() > 1 if "tags.h" in runs else False
        extra = sorted(o for o in common if o.split("=")[0] not in _STUDY_KEYS or (o.startswith("h=") and not swept_h))
        uri = runs["params.tracking.uri"].dropna().unique() if "params.tracking.uri" in runs else []
        env = f"MLFLOW_TRACKING_URI={str(uri[0]).replace(f'sqlite:///{ROOT}/', 'sqlite:///')} " if len(uri) else ""
        if study == "table3":
            common_extra = [o for o in extra if not o.startswith("dataset=")]
        lines += [f"{env}experiments/study.sh {study} {name} {' '.join(extra)}".rstrip(),
                  f"{env}.venv/bin/python -m distortion_reliability.report study={study} dataset={name}{out}"]
    profile = folder / "map" / "reliability_profile.md"
    if profile.is_file():
        text = profile.read_text()
        res = re.search(r"(\d+)×\d+ per pair", text)
        points = re.search(r"(\d+) points per domain", text)
        data_dir = " data_dir=../shared/data" if name != "digits" else ""
        settings = (f" resolution={res.group(1)}" if res else "") + (f" profile_points={points.group(1)}" if points else "")
        lines.append(f".venv/bin/python -m distortion_reliability.report map dataset={name}{data_dir} "
                     f"{' '.join(common_extra)}{settings} out=results/{folder.name}/map".replace("  ", " "))
    return ["```bash", *lines, "```"] if lines else []


#: Ablation studies (the paper's Section 4.4, run there on CIFAR-10 only): factor, figure, the paper's claims.
SYMBOL = {"v": "v", "budget": "I", "h": "h"}
ABLATIONS = (("ablation_v", "v", 7, "ablation_v_fig7_f1_vs_v.png"),
             ("ablation_budget", "budget", 8, "ablation_budget_fig8_f1_vs_budget.png"),
             ("ablation_h", "h", 9, "ablation_h_fig9_f1_vs_h.png"))


def ablation_frame(folder: Path, study: str, factor: str) -> pd.DataFrame:
    path = folder / f"{study}_runs.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = f1_vs_table(pd.read_csv(path), factor)
    table["seed"] = table["seed"].astype(str)
    return table


def ablation_rows(table: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """One row per factor value: SMOTE-GP, SMOTE (mean ± std over seeds) and their paired difference."""
    gp, sm = table[table["curve"] == "smote_gp"], table[table["curve"] == "smote"]
    smote_has_x = sm["x"].notna().any()
    rows, means = [], []
    for x in sorted(gp["x"].dropna().unique()):
        at_x_gp = gp[gp["x"] == x]
        at_x_sm = sm[sm["x"] == x] if smote_has_x else sm  # SMOTE has no v: the same runs at every v
        a, b = at_x_gp.groupby("seed")["f1"].mean(), at_x_sm.groupby("seed")["f1"].mean()
        both = pd.concat({"a": a, "b": b}, axis=1).dropna()
        d = both["a"] - both["b"]
        rows.append(f"| {x:g} | {fmt(a)} | {fmt(b)} | {fmt(d)} (t = {t_stat(d)}; better on {int((d > 0).sum())} "
                    f"of {len(d)} seeds) |")
        means.append({"x": x, "diff": d.mean(), "smote_gp": at_x_gp["f1"].mean(), "smote": at_x_sm["f1"].mean()})
    return rows, pd.DataFrame(means, columns=["x", "diff", "smote_gp", "smote"])


def ablation_claims(factor: str, means: pd.DataFrame) -> list[str]:
    if means.empty:
        return []
    wins = int((means["diff"] > 0).sum())
    verdict = "**confirmed**" if wins == len(means) else "**not confirmed**"
    name = SYMBOL[factor]
    lines = [f"SMOTE-GP beats SMOTE at every {name} (paired mean difference > 0): {verdict} — at {wins} of "
             f"{len(means)} values"]
    lo, hi = means.iloc[0], means.iloc[-1]
    if factor == "v":
        best = means.loc[means["smote_gp"].idxmax()]
        lines.append(f"SMOTE-GP's F1 peaks at v = {best['x']:g} ({best['smote_gp']:.4f}); paper: best near "
                     f"0.01-0.05, lower below 0.01 and above 0.05")
    elif factor == "budget":
        up = all(hi[c] > lo[c] for c in ("smote_gp", "smote"))
        lines.append(f"both improve as I grows (F1 at I = {hi['x']:g} above F1 at I = {lo['x']:g}): "
                     f"{'**confirmed**' if up else '**not confirmed**'} — SMOTE-GP {lo['smote_gp']:.4f} -> "
                     f"{hi['smote_gp']:.4f}, SMOTE {lo['smote']:.4f} -> {hi['smote']:.4f}")
    else:
        down = all(hi[c] < lo[c] for c in ("smote_gp", "smote"))
        lines.append(f"both fall as h grows (F1 at h = {hi['x']:g} below F1 at h = {lo['x']:g}): "
                     f"{'**confirmed**' if down else '**not confirmed**'} — SMOTE-GP {lo['smote_gp']:.4f} -> "
                     f"{hi['smote_gp']:.4f}, SMOTE {lo['smote']:.4f} -> {hi['smote']:.4f}")
    return lines


def ablation_section(folder: Path, dataset: str) -> list[str]:
    out = []
    for study, factor, number, figure in ABLATIONS:
        table = ablation_frame(folder, study, factor)
        if table.empty:
            continue
        rows, means = ablation_rows(table)
        name = SYMBOL[factor]
        out += [f"#### Figure {number} — F1 vs {name} (`{study}`, GP sampling)", "",
                f"| {name} | SMOTE-GP | SMOTE | SMOTE-GP - SMOTE, paired over seeds |", "|---|---|---|---|", *rows, ""]
        out += [f"- {line}" for line in ablation_claims(factor, means)]
        if (folder / figure).is_file():
            out += ["", f"![Figure {number}]({dataset}/{figure})"]
        out.append("")
    return out or ["Not run for this dataset.", ""]


def setting_section(runs: pd.DataFrame) -> list[str]:
    first = runs.iloc[0]
    grid_pos, grid_neg = int(first["metrics.grid_positive"]), int(first["metrics.grid_negative"])
    n = first.get("metrics.n_verification", float("nan"))
    n = int(n) if np.isfinite(n) else "the whole held-out split"
    lines = [f"- model `{first['tags.model']}`, h = {first['tags.h']}, verification set N = {n}, "
             f"T's clean accuracy on D = {first['metrics.clean_accuracy']:.4f}",
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
            values = runs[col].dropna()
            secs[label] = values.median() if "median" in label else values.max()
    lines.append("- wall time per stage on this machine: " + "; ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(Path(__file__).resolve().parents[1] / "results"))
    args = parser.parse_args()
    results = Path(args.results)
    out = ["# Reproduction on real data", "",
           "Generated by `experiments/reproduction.py` from the runs the report command exported from MLflow "
           "(`results/<dataset>/<study>_runs.csv`); no number here is typed by hand. Regenerate any dataset's "
           "numbers with the study, then the report, e.g.", "",
           "```bash", "experiments/study.sh table3 mnist        # python run.py -m study=table3 dataset=mnist hydra/launcher=joblib ...",
           "python -m distortion_reliability.report study=table3 dataset=mnist",
           "python experiments/reproduction.py", "```", ""]
    out += ["## Scope", "", "Studies whose runs are here (the others were not run in this stretch of work):", ""]
    for dataset in result_folders(results):
        studies = sorted(p.name[: -len("_runs.csv")] for p in (results / dataset).glob("*_runs.csv"))
        out.append(f"- {dataset}: {', '.join(studies) if studies else 'none'}")
    out += ["", SCOPE_NOTES, ""]
    for dataset in result_folders(results):
        folder = results / dataset
        runs = all_runs(folder)
        title = dataset if "_h" not in dataset else \
            f"{dataset.split('_h')[0]} at h = {dataset.split('_h')[1]} (the grid's positive share nearer Appendix A's)"
        out += [f"## {title}", ""]
        if runs.empty:
            out += ["No study was run for this dataset in this stretch of work (see the closing note).", ""]
            continue
        out += setting_section(runs) + [""]
        for table in ("table3", "table4"):
            md = folder / f"{table}.md"
            if md.is_file():
                body = md.read_text().split("\n## ")[0]  # the table, not its missing-cells list
                out += [body.replace("# Table", "### Table", 1).strip(), ""]
                missing = folder / f"{table}_missing.csv"
                if missing.is_file() and len(pd.read_csv(missing)):
                    out += [f"Missing or skipped cells: `{missing.relative_to(results.parent)}`.", ""]
        out += ["### The paper's claims", ""]
        for name, judge in (("(a) GP sampling finds several times more positives than random", claim_a),
                            ("(b) SMOTE-GP beats SMOTE", claim_b),
                            ("(c) GP sampling + SMOTE-GP is the best row", claim_c)):
            verdict, lines = judge(runs)
            out.append(f"- {name}: {verdict}")
            out += [f"  - {line}" for line in lines]
        out += ["", "### Our additions (samplers beyond the paper, with SMOTE and SMOTE-GP)", ""]
        out += ours_section(runs, folder) + [""]
        out += ["### Ablations (the paper's Section 4.4, Figures 7-9; the paper ran them on CIFAR-10)", ""]
        out += ablation_section(folder, dataset)
        profile = folder / "map" / "reliability_profile.md"
        if profile.is_file():
            out += ["### Reliability profile of T (each distortion alone)", "",
                    profile.read_text().strip().replace("# Reliability profile", "#### Reliability profile", 1), ""]
            out += [f"![{name}]({dataset}/map/{name}.png)" for name in ("reliability_profile", "reliability_map")
                    if (folder / "map" / f"{name}.png").is_file()] + [""]
        out += ["### Commands that regenerate these numbers", ""] + commands_section(folder, dataset) + [""]
        figs = sorted(p.name for p in folder.glob("*_fig*.png"))  # <study>_fig<N>_...: the paper's figure N
        if figs:
            out += ["Figures (each study's own): " + ", ".join(f"[{f}]({dataset}/{f})" for f in figs), ""]
    (results / "REPRODUCTION.md").write_text("\n".join(out) + "\n")
    print(f"wrote {results / 'REPRODUCTION.md'}")


if __name__ == "__main__":
    main()
