"""Tables 3-4 (and any study's cell table) from a runs table: mean F1 ± std over seeds, the paper beside ours.

A cell is one combination of the study's factors (Table 3: sampler × imbalance method); its value is
the mean over seeds of the per-run F1 averaged over the five distortion-classifiers (the paper's
number), its spread the sample standard deviation over seeds (ddof=1; blank with one seed). A cell
with fewer seeds than expected is still shown, with ``n seeds`` saying so, and is listed as
incomplete; a cell without runs is listed as missing with the overrides that produce it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .cells import CellRuns, Sweep, expected_cells, group_cells, overrides
from .runs import PAPER_PREDICTORS, metric, paper_f1, predictors_in

DATASET_LABELS = {"mnist": "MNIST", "fashion_mnist": "Fashion", "cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
                  "tiny_imagenet": "Tiny-ImageNet", "imagenette": "ImageNette", "digits": "digits"}
PREDICTOR_LABELS = {"dt": "DT", "rf": "RF", "lr": "LR", "svm": "SVM", "nn": "NN", "gp_classifier": "GP-clf"}
SAMPLER_LABELS = {"random": "Random", "gp": "GP-based"}
TABLE_TITLES = {"table3": "Table 3", "table4": "Table 4"}


def paper_tables() -> pd.DataFrame:
    """The paper's Tables 3 and 4 (``paper_tables.csv`` in this package, cited in its header)."""
    with resources.files(__package__).joinpath("paper_tables.csv").open("r") as fh:
        return pd.read_csv(fh, comment="#")


def paper_value(paper: pd.DataFrame, table: str, sampling: str, method: str, dataset: str) -> float:
    if dataset not in paper.columns:
        return float("nan")
    rows = paper[(paper["table"] == table) & (paper["sampling"] == sampling) & (paper["method"] == method)]
    return float(rows[dataset].iloc[0]) if len(rows) else float("nan")


def method_group(paper: pd.DataFrame, table: str, sampling: str, method: str) -> str:
    rows = paper[(paper["table"] == table) & (paper["method"] == method)]
    exact = rows[rows["sampling"] == sampling]
    if len(exact):
        return str(exact["group"].iloc[0])
    if _is_ours(sampling, method):
        return "Ours"
    return str(rows["group"].iloc[0]) if len(rows) else ""


@functools.lru_cache(maxsize=None)
def _is_ours(sampling: str, method: str) -> bool:
    """The paper's method, asked of the built objects: SMOTE-GP, or SMOTE on a GP-sampled training set.

    Options not in ``conf/`` (a run of a user's own config) are not the paper's method.
    """
    from imblearn.over_sampling import SMOTE

    from ..build import build
    from ..config import compose_config, conf_dir
    from ..imbalance import SMOTEGP
    from ..sampling import GPSampler

    if not all((conf_dir() / group / f"{option}.yaml").is_file()
               for group, option in (("sampler", sampling), ("imbalance", method))):
        return False
    cfg = compose_config([f"sampler={sampling}", f"imbalance={method}", "progress=false"])
    resampler = getattr(build("imbalance", cfg.imbalance), "sampler", None)
    gp_sampled = isinstance(build("sampler", cfg.sampler), GPSampler)
    return isinstance(resampler, SMOTEGP) or (gp_sampled and type(resampler) is SMOTE)


@dataclass
class CellTable:
    """A built table: one row per cell (``frame``), the per-predictor breakdown, and what is missing."""

    name: str
    factors: list[str]
    frame: pd.DataFrame
    predictors: pd.DataFrame
    missing: pd.DataFrame
    dataset: str
    has_paper: bool
    study: str = ""
    setting: str = ""   # "fashion_mnist, small_cnn, h = 0.54, N = 500" (figures.setting_label), when known

    @property
    def title(self) -> str:
        return TABLE_TITLES.get(self.name, self.name)

    @property
    def subject(self) -> str:
        """The dataset's label and the setting: two h of one dataset never read alike."""
        label = DATASET_LABELS.get(self.dataset, self.dataset)
        return label + (f" ({self.setting})" if self.setting else "")


def _stats(values: pd.Series) -> tuple[float, float, int]:
    v = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), int(v.size)


def missing_rows(cells: Sequence[CellRuns], factors: Sequence[str], dataset: str, study: str | None) -> pd.DataFrame:
    rows = []
    for c in cells:
        for s in c.missing_seeds:
            status = "skipped: " + c.skipped[s] if s in c.skipped else ("failed" if s in c.failed else "no run")
            rows.append({**dict(zip(factors, c.cell)), "seed": s, "status": status,
                         "overrides": overrides(factors, c.cell, dataset, s, study)})
    return pd.DataFrame(rows, columns=[*factors, "seed", "status", "overrides"])


def build_cell_table(df: pd.DataFrame, sweep: Sweep, dataset: str, table: str | None = None,
                     extra_factors: Sequence[str] = ()) -> CellTable:
    """One row per expected cell of ``sweep``; ``table`` ('table3'/'table4') adds the paper's value."""
    factors, cells_keys = expected_cells(df, sweep, extra_factors)
    cells = group_cells(df, factors, cells_keys, sweep.seeds)
    paper = paper_tables() if table else None
    preds = predictors_in(df)
    rows, prow = [], []
    for c in cells:
        key = dict(zip(factors, c.cell))
        mean, std, n = _stats(paper_f1(c.runs))
        row = {**key, "f1_mean": mean, "f1_std": std, "n_seeds": n, "seeds": " ".join(c.seeds),
               "missing_seeds": " ".join(c.missing_seeds)}
        for m in ("precision", "recall", "balanced_accuracy"):
            row[f"{m}_mean"] = _stats(_paper_mean(c.runs, m))[0]
        for p in preds:
            row[f"f1_{p}"] = _stats(metric(c.runs, f"f1_{p}"))[0]
            for m in ("f1", "precision", "recall", "balanced_accuracy"):
                mm, ss, nn = _stats(metric(c.runs, f"{m}_{p}"))
                prow.append({**key, "predictor": p, "metric": m, "mean": mm, "std": ss, "n_seeds": nn})
        if paper is not None:
            sampling, method = key.get("sampler", ""), key.get("imbalance", "")
            row["group"] = method_group(paper, table, sampling, method)
            row["paper_f1"] = paper_value(paper, table, sampling, method, dataset)
            row["diff_vs_paper"] = row["f1_mean"] - row["paper_f1"]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if paper is not None and len(frame):
        frame = frame[["group", *[c for c in frame.columns if c != "group"]]]
    if len(frame):
        frame["best"] = _best_mask(frame["f1_mean"])
        if "paper_f1" in frame:
            frame["paper_best"] = _best_mask(frame["paper_f1"])
    return CellTable(name=table or sweep.study, factors=list(factors), frame=frame, predictors=pd.DataFrame(prow),
                     missing=missing_rows(cells, factors, dataset, sweep.study), dataset=dataset,
                     has_paper=paper is not None and dataset in (paper.columns if paper is not None else []),
                     study=sweep.study)


def _paper_mean(runs: pd.DataFrame, m: str) -> pd.Series:
    cols = [f"metrics.{m}_{p}" for p in PAPER_PREDICTORS]
    if all(c in runs for c in cols):
        return runs[cols].apply(pd.to_numeric, errors="coerce").mean(axis=1, skipna=False).fillna(metric(runs, f"{m}_mean"))
    return metric(runs, f"{m}_mean")


def _best_mask(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce")
    if v.notna().sum() == 0:
        return pd.Series(False, index=values.index)
    return (v == v.max()) & v.notna()


# --------------------------------------------------------------------------- writers
def _fmt(v: float, digits: int = 4) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


FACTOR_HEADERS = {"sampler": "Sampling", "imbalance": "Imbalance", "model": "Model", "v": "v", "budget": "Budget I",
                  "h": "h"}


def _label(factor: str, value: str) -> str:
    if factor == "sampler":
        return SAMPLER_LABELS.get(value, value)
    return value if value != "" else "—"


def _display_rows(t: CellTable, bold: tuple[str, str]) -> tuple[list[str], list[list[str]]]:
    b0, b1 = bold
    f = t.frame
    header = (["Group"] if "group" in f else []) + [FACTOR_HEADERS.get(x, x) for x in t.factors]
    header += ["F1 (ours, mean ± std)", "n seeds"]
    if "paper_f1" in f:
        header.append(f"F1 paper ({DATASET_LABELS.get(t.dataset, t.dataset)})")
    rows = []
    for _, r in f.iterrows():
        cells = ([str(r["group"])] if "group" in f else []) + [_label(x, r[x]) for x in t.factors]
        ours = _fmt(r["f1_mean"])
        if np.isfinite(r["f1_std"]):
            ours += f" ± {_fmt(r['f1_std'])}"
        if r.get("best", False):
            ours = f"{b0}{ours}{b1}"
        cells += [ours, f"{int(r['n_seeds'])}" + ("" if not r["missing_seeds"] else f" (missing {r['missing_seeds']})")]
        if "paper_f1" in f:
            p = _fmt(r["paper_f1"])
            cells.append(f"{b0}{p}{b1}" if r.get("paper_best", False) else p)
        rows.append(cells)
    return header, rows


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _tex_escape(s: str) -> str:
    return (s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")
            .replace("#", r"\#").replace("±", r"$\pm$").replace("—", "--"))


def tex_table(header: list[str], rows: list[list[str]], caption: str, label: str, numeric: int = 2) -> str:
    """A booktabs table; the last ``numeric`` columns right-aligned; ``<<B>>x<<B>>`` cells in bold."""
    spec = "l" * (len(header) - numeric) + "r" * numeric
    lines = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_tex_escape(caption)}}}",
             rf"\label{{{label}}}", r"\begin{tabular}{" + spec + "}", r"\toprule",
             " & ".join(_tex_escape(h) for h in header) + r" \\", r"\midrule"]
    for r in rows:
        cells = []
        for c in r:
            if c.startswith("<<B>>"):
                cells.append(r"\textbf{" + _tex_escape(c[5:-5]) + "}")
            else:
                cells.append(_tex_escape(c))
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def caption(t: CellTable) -> str:
    ds = DATASET_LABELS.get(t.dataset, t.dataset)
    text = (f"{t.title}: F1 on the grid test set R' ({ds}), mean over the five distortion-classifiers "
            f"(DT, RF, LR, SVM, NN), mean ± std over seeds; best cell of each column in bold.")
    if "paper_f1" in t.frame:
        text += " Paper: the published value for the same row" + ("" if t.has_paper else
                                                                    f" (the paper has no {ds} column)") + "."
    return text


def predictor_markdown(t: CellTable) -> str:
    """Per-predictor F1 (mean over seeds) with mean precision/recall; best per column in bold."""
    if t.predictors.empty:
        return "_no finished runs_\n"
    preds = list(dict.fromkeys(t.predictors["predictor"]))
    header = [FACTOR_HEADERS.get(x, x) for x in t.factors]
    header += [f"F1 {PREDICTOR_LABELS.get(p, p)}" for p in preds] + ["F1 mean (5)", "precision", "recall"]
    cols = [f"f1_{p}" for p in preds] + ["f1_mean", "precision_mean", "recall_mean"]
    best = {c: _best_mask(t.frame[c]) for c in cols if c in t.frame}
    rows = []
    for i, r in t.frame.iterrows():
        cells = [_label(x, r[x]) for x in t.factors]
        for c in cols:
            v = _fmt(r.get(c, float("nan")))
            cells.append(f"**{v}**" if c in best and best[c].loc[i] else v)
        rows.append(cells)
    return markdown_table(header, rows)


def missing_markdown(t: CellTable) -> str:
    if t.missing.empty:
        return "All expected cells have every expected seed.\n"
    header = [FACTOR_HEADERS.get(x, x) for x in t.factors] + ["seed", "status", "overrides"]
    rows = [[_label(x, r[x]) for x in t.factors] + [str(r["seed"]), str(r["status"]), f"`{r['overrides']}`"]
            for _, r in t.missing.iterrows()]
    return (f"{len(t.missing)} expected job(s) have no usable run; their cells average the seeds that exist "
            f"(see `n seeds`) or are blank. Rerunning the study (`python run.py -m study={t.study} "
            f"dataset={t.dataset}`) reuses every finished job and runs only these:\n\n" + markdown_table(header, rows))


def write_table(t: CellTable, out_dir: str | Path, stem: str | None = None) -> dict[str, Path]:
    """``<stem>.md``, ``.csv``, ``.tex``, ``<stem>_predictors.{md,csv}`` and ``<stem>_missing.csv``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or t.name
    paths = {}
    t.frame.to_csv(out / f"{stem}.csv", index=False)
    paths["csv"] = out / f"{stem}.csv"
    header, rows = _display_rows(t, ("**", "**"))
    md = f"# {t.title} — {t.subject}\n\n{caption(t)}\n\n" + markdown_table(header, rows)
    md += "\n## Missing or incomplete cells\n\n" + missing_markdown(t)
    (out / f"{stem}.md").write_text(md)
    paths["md"] = out / f"{stem}.md"
    header, rows = _display_rows(t, ("<<B>>", "<<B>>"))
    (out / f"{stem}.tex").write_text(tex_table(header, rows, caption(t), f"tab:{stem}-{t.dataset}",
                                                   numeric=3 if "paper_f1" in t.frame else 2))
    paths["tex"] = out / f"{stem}.tex"
    t.predictors.to_csv(out / f"{stem}_predictors.csv", index=False)
    (out / f"{stem}_predictors.md").write_text(
        f"# {t.title} per distortion-classifier — {t.subject}\n\n"
        "F1 of each distortion-classifier (mean over seeds), and precision / recall averaged over the five; "
        "best of each column in bold. Standard deviations and balanced accuracy per predictor: "
        f"`{stem}_predictors.csv`.\n\n" + predictor_markdown(t))
    paths["predictors_md"] = out / f"{stem}_predictors.md"
    paths["predictors_csv"] = out / f"{stem}_predictors.csv"
    t.missing.to_csv(out / f"{stem}_missing.csv", index=False)
    paths["missing_csv"] = out / f"{stem}_missing.csv"
    return paths
