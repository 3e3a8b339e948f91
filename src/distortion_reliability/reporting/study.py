"""A study's whole report: runs CSV first, then tables, figures and an index, all from that CSV.

``report_study(study, dataset, out_dir)`` reads the MLflow store; ``report_study(..., from_csv=path)``
rebuilds the same files from an earlier export without the store (Figure 10's CSV artifacts are
copied next to the export, under ``<study>_artifacts/<run id>/``, when the report first reads them).
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import pandas as pd

from . import figures, tables
from .cells import study_sweep
from .runs import (
    FINISHED,
    ReportError,
    artifact_path,
    default_tracking_uri,
    export_runs,
    fetch_runs,
    is_skipped,
    read_runs,
)

log = logging.getLogger(__name__)
PAPER_TABLES = ("table3", "table4")


@dataclass
class StudyReport:
    out_dir: Path
    runs_csv: Path
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    table: tables.CellTable | None = None


def make_fetch(out_dir: Path, study: str, uri: str | None, use_store: bool):
    """``fetch(run_row, name)``: a local copy under ``<out>/<study>_artifacts/<run>/``, else the run's
    local artifact folder, else a download from the store (each copied into the local folder)."""
    root = out_dir / f"{study}_artifacts"

    def fetch(row: Mapping, name: str) -> Path | None:
        local = root / str(row["run_id"]) / name
        if local.is_file():
            return local
        found = artifact_path(row, name, uri if use_store else None, cache=root / ".download") if (
            use_store or str(row.get("artifact_uri", "")).startswith(("file:", "/"))) else None
        if found is None or not Path(found).is_file():
            return None
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, local)
        return local

    return fetch


def report_study(study: str, dataset: str, out_dir: str | Path | None = None, from_csv: str | Path | None = None,
                 uri: str | None = None, conf_dir: str | Path | None = None, tsne: bool = True,
                 tsne_iter: int = 1000) -> StudyReport:
    """Export the runs (unless ``from_csv``), then write every table and figure the runs support."""
    out = Path(out_dir or Path("results") / dataset)
    out.mkdir(parents=True, exist_ok=True)
    runs_csv = out / f"{study}_runs.csv"
    if from_csv is None:
        uri = uri or default_tracking_uri()
        df = fetch_runs(study, dataset, uri)
        if df.empty:
            raise ReportError(f"experiment {study}-{dataset} has no job runs")
        export_runs(df, runs_csv)
        source = f"MLflow store {uri}, experiment {study}-{dataset}"
    else:
        from_csv = Path(from_csv)
        if from_csv.resolve() != runs_csv.resolve():
            read_runs(from_csv)  # a clear error for a file that is not a runs export
            shutil.copyfile(from_csv, runs_csv)
            src_art = from_csv.parent / f"{study}_artifacts"
            if src_art.is_dir() and src_art.resolve() != (out / f"{study}_artifacts").resolve():
                shutil.copytree(src_art, out / f"{study}_artifacts", dirs_exist_ok=True)
        source = f"runs export {from_csv}"
    df = read_runs(runs_csv)  # everything below comes from the CSV, whichever way it was made
    rep = StudyReport(out_dir=out, runs_csv=runs_csv, files=[runs_csv])
    sweep = study_sweep(study, conf_dir, dataset)

    table_name = study if study in PAPER_TABLES else None
    t = tables.build_cell_table(df, sweep, dataset, table=table_name)
    t.setting = figures.setting_label(df, dataset)  # the table's title tells settings apart too
    rep.table = t
    paths = tables.write_table(t, out, stem=table_name or f"{study}_table")
    rep.files += list(paths.values())

    fetch = make_fetch(out, study, uri, use_store=from_csv is None)
    # Studies share results/<dataset>/: each figure carries its study's name, so one study's report
    # never overwrites another's Figure 6 or 10.
    label = figures.setting_label(df, dataset)  # titles tell settings apart: dataset, model, h, N
    drawn = {
        6: figures.figure6(df, out / f"{study}_fig6_positives.png", label),
        7: figures.figure_f1_vs(df, 7, out / f"{study}_fig7_f1_vs_v.png", label),
        8: figures.figure_f1_vs(df, 8, out / f"{study}_fig8_f1_vs_budget.png", label),
        9: figures.figure_f1_vs(df, 9, out / f"{study}_fig9_f1_vs_h.png", label),
    }
    reasons = {6: "no run logs n_positive_at_<B>", 7: "fewer than two values of v", 8: "fewer than two budgets",
               9: "fewer than two values of h", 10: "no SMOTE-family run with a rebalanced.csv artifact"}
    fig10 = figures.figure10(df, fetch, out, label, tsne_iter=tsne_iter, prefix=f"{study}_") if tsne else []
    figs = {k: v for k, v in drawn.items() if v is not None}
    if fig10:
        figs[10] = fig10
    for k in (6, 7, 8, 9, 10):
        if k not in figs:
            rep.notes.append(f"Figure {k} not drawn for this study: {reasons[k] if tsne or k != 10 else 'disabled'}.")
    for v in figs.values():
        rep.files += v if isinstance(v, list) else [v]
    index = out / f"{study}_report.md"
    index.write_text(_index(study, dataset, source, df, t, figs, rep.notes, paths))
    rep.files.append(index)
    return rep


def _counts(df: pd.DataFrame) -> str:
    finished = (df["status"] == FINISHED)
    skipped = finished & is_skipped(df)
    other = df.loc[~finished, "status"].value_counts().to_dict()
    parts = [f"{int(finished.sum() - skipped.sum())} finished", f"{int(skipped.sum())} skipped"]
    parts += [f"{n} {s.lower()}" for s, n in other.items()]
    return ", ".join(parts)


def _index(study: str, dataset: str, source: str, df: pd.DataFrame, t: tables.CellTable, figs: dict,
           notes: list[str], paths: dict) -> str:
    lines = [f"# Study `{study}` on `{dataset}`", "",
             f"Built from {source}: {len(df)} job runs ({_counts(df)}). Only FINISHED, non-skipped runs count; "
             f"a rerun of the same job replaces the earlier one. Rebuild without the store: "
             f"`python -m distortion_reliability.report study={study} dataset={dataset} from={study}_runs.csv`.",
             "", f"## {t.title}", "", tables.caption(t), ""]
    header, rows = tables._display_rows(t, ("**", "**"))
    lines += [tables.markdown_table(header, rows), f"Files: `{paths['md'].name}`, `{paths['csv'].name}`, "
              f"`{paths['tex'].name}`; per distortion-classifier: `{paths['predictors_md'].name}`.", "",
              "## Missing or incomplete cells", "", tables.missing_markdown(t)]
    if figs:
        lines += ["## Figures", ""]
        for k, v in sorted(figs.items()):
            for p in (v if isinstance(v, list) else [v]):
                lines += [f"![Figure {k}]({Path(p).name})", ""]
    if notes:
        lines += ["## Not drawn", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)
