"""results/REPRODUCTION.md, assembled from the committed runs CSVs (results/<folder>/<study>_runs.csv).

No number is typed by hand: each comes from the runs the report command exported from MLflow,
deduplicated (``stats.dedupe``) and judged with intervals (``claims``, ``ablations``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pandas as pd

from .ablations import ablation_section
from .claims import claim_a, claim_b, claim_c, matched_section, ours_section
from .scope import SCOPE_NOTES
from .tables import (PAPER_N, cost_at_paper_n, dataset_name, folder_setting, load_study, oracle_precision, paper_runs,
                     paper_table, positive_share_rows, setting_lines)

#: Datasets in the paper's order; a folder like ``mnist_h0.74`` (the same studies at another h, its
#: own MLflow store) follows its dataset.
DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
#: Overrides every job of a study carries that are not what the study itself sets.
_STUDY_KEYS = {"study", "dataset", "data_dir", "progress", "sampler", "imbalance", "seed", "sampler.budget", "h",
               "+study/v_arm", "threads"}


def result_folders(results: Path) -> list[str]:
    found = sorted({p.parent.name for p in results.glob("*/*_runs.csv")})
    order = {name: i for i, name in enumerate(DATASETS)}

    def key(name: str) -> tuple:  # by dataset, then our N before the paper's, then the paper's h first
        _, h, n = folder_setting(name)
        return order.get(dataset_name(name), 99), n or 0, h is not None, name

    return sorted(set(found) | set(DATASETS), key=key)


def _relative_sqlite(uri: str) -> str:
    """A SQLite store by its file name, run from the repository: no machine's absolute folder in the commands."""
    return f"sqlite:///{Path(uri[len('sqlite:///'):]).name}" if uri.startswith("sqlite:///") else uri


def commands_section(folder: Path) -> list[str]:
    """The exact commands behind this folder's numbers, read from the runs' own overrides."""
    lines, common_extra = [], []
    name = dataset_name(folder.name)
    out = f" out=results/{folder.name}" if folder.name != name else ""
    for path in sorted(folder.glob("*_runs.csv")):
        study = path.name[: -len("_runs.csv")]
        runs = load_study(folder, study)
        if runs is None or runs.empty or "tags.overrides" not in runs:
            continue
        sets = [set(str(o).split()) for o in runs["tags.overrides"].dropna()]
        common = set.intersection(*sets) if sets else set()
        swept_h = runs["tags.h"].nunique() > 1 if "tags.h" in runs else False
        extra = sorted(o for o in common if o.split("=")[0] not in _STUDY_KEYS or (o.startswith("h=") and not swept_h))
        uri = runs["params.tracking.uri"].dropna().unique() if "params.tracking.uri" in runs else []
        env = f"MLFLOW_TRACKING_URI={_relative_sqlite(str(uri[0]))} " if len(uri) else ""
        if study == "table3":
            common_extra = [o for o in extra if not o.startswith("dataset=")]
        lines += [f"{env}experiments/study.sh {study} {name} {' '.join(shlex.quote(o) for o in extra)}".rstrip(),
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


def claims_lines(runs: pd.DataFrame) -> list[str]:
    out = ["### The paper's claims", "",
           "Verdicts: **confirmed** where a 95 % interval excludes 0 in the paper's direction, **contradicted** where "
           "it excludes 0 the other way, **not shown** otherwise.", ""]
    for name, judge in (("(a) GP sampling finds several times more positives than random", claim_a),
                        ("(b) SMOTE-GP beats SMOTE", claim_b),
                        ("(c) GP sampling + SMOTE-GP is the best row", claim_c)):
        verdict, lines = judge(runs)
        out.append(f"- {name}: {verdict}")
        out += [f"  - {line}" for line in lines]
    return out + [""]


def folder_title(folder_name: str) -> str:
    """What sets a folder apart from its dataset's paper setting, in words."""
    dataset, h, n = folder_setting(folder_name)
    parts = ([f"h = {h:g} (the grid's positive share nearer Appendix A's)"] if h is not None else []) + \
        ([f"N = {n:,}" + (" (the paper's)" if n == PAPER_N.get(dataset) else "")] if n is not None else [])
    return f"{dataset} at {', '.join(parts)}" if parts else dataset


def precision_differs(study: pd.DataFrame, others: pd.DataFrame) -> list[str]:
    """A line where a study's oracle ran in another precision than the folder's other studies.

    Its own comparisons stay paired (one grid, one oracle), but its grid and clean accuracy may
    differ from the setting line above by a few flipped predictions: say so, with both.
    """
    if others.empty or oracle_precision(study) == oracle_precision(others):
        return []

    def summary(runs: pd.DataFrame) -> str:
        first = runs.iloc[0]
        return (f"{oracle_precision(runs)}: clean accuracy {first['metrics.clean_accuracy']:.4f}, "
                f"{int(first['metrics.grid_positive'])} reliable grid levels")

    return [f"- this study's oracle ran in another precision than the studies above ({summary(study)}; "
            f"above, {summary(others)}); its SMOTE-GP and SMOTE runs share one grid and one oracle.", ""]


def folder_section(results: Path, folder_name: str) -> list[str]:
    folder = results / folder_name
    dataset = dataset_name(folder_name)
    out = [f"## {folder_title(folder_name)}", ""]
    runs = paper_runs(folder)
    matched = paper_runs(folder, ("matched",))
    if runs.empty and matched.empty:
        return out + ["No study was run for this dataset in this stretch of work (see the scope notes).", ""]
    if not runs.empty:
        out += setting_lines(runs) + cost_at_paper_n(runs, dataset) + ["", "Positives in the training set R (I = 600 levels) per sampler, each "
                                      "training set counted once:", ""]
        out += positive_share_rows(runs, dataset) + [""]
        for table in ("table3", "table4"):
            rows = paper_table(runs, table, dataset)
            if rows:
                out += [f"### {table.replace('table', 'Table ')} — {folder_name}, mean F1 of the five "
                        "distortion-classifiers, each run counted once", ""] + rows + [""]
        out += claims_lines(runs)
        out += ["### Our additions (samplers and a predictor beyond the paper)", ""] + ours_section(runs) + [""]
    if not matched.empty:
        out += ["### Claim (b) at the paper's imbalance (`matched`: sampler `gp_matched`)", ""]
        out += precision_differs(matched, runs) + matched_section(matched, dataset) + [""]
    out += ["### Ablations (the paper's Section 4.4, Figures 7-9; the paper ran them on CIFAR-10)", ""]
    out += ablation_section(folder, dataset)
    profile = folder / "map" / "reliability_profile.md"
    if profile.is_file():
        out += ["### Reliability profile of T (each distortion alone)", "",
                profile.read_text().strip().replace("# Reliability profile", "#### Reliability profile", 1), ""]
        out += [f"![{name}]({folder_name}/map/{name}.png)" for name in ("reliability_profile", "reliability_map")
                if (folder / "map" / f"{name}.png").is_file()] + [""]
    out += ["### Commands that regenerate these numbers", ""] + commands_section(folder) + [""]
    figs = sorted(p.name for p in folder.glob("*_fig*.png"))  # <study>_fig<N>_...: the paper's figure N
    if figs:
        out += ["Figures (each study's own): " + ", ".join(f"[{f}]({folder_name}/{f})" for f in figs), ""]
    return out


def write(results: Path) -> Path:
    out = ["# Reproduction on real data", "",
           "Generated by `experiments/reproduction.py` from the runs the report command exported from MLflow "
           "(`results/<dataset>/<study>_runs.csv`); no number here is typed by hand. Each run is counted once: "
           "runs filed under two studies (`table3` and `ours` both hold GP + SMOTE-GP) or equal but for the "
           "method where the quantity does not depend on it (positives sampled, the GP classifier) are one. "
           "Regenerate any dataset's numbers with the study, then the report, e.g.", "",
           "```bash", "experiments/study.sh table3 mnist        # python run.py -m study=table3 dataset=mnist "
           "hydra/launcher=joblib ...", "python -m distortion_reliability.report study=table3 dataset=mnist",
           "python experiments/reproduction.py", "```", "",
           "## Scope", "", "Studies whose runs are here (the others were not run in this stretch of work):", ""]
    for name in result_folders(results):
        studies = sorted(p.name[: -len("_runs.csv")] for p in (results / name).glob("*_runs.csv"))
        out.append(f"- {name}: {', '.join(studies) if studies else 'none'}")
    out += ["", SCOPE_NOTES, ""]
    for name in result_folders(results):
        out += folder_section(results, name)
    path = results / "REPRODUCTION.md"
    path.write_text("\n".join(out) + "\n")
    return path
