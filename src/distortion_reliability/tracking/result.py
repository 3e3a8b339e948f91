"""What one job hands to the tracker: :class:`JobResult`, and how it is written to files.

``pipeline.run(cfg, output_dir)`` returns a :class:`JobResult`; the tracker logs it (MLflow) or only
writes its files into the job's output folder (``tracking=none``). The file names and columns are the
run layout every reader relies on (reports, predict):

- ``scores.csv``: predictor, f1, precision, recall, balanced_accuracy
- ``space.json``: {"names": [...], "lower": [...], "upper": [...], "identity": [...]}
- ``training_set.csv``: one column per distortion (natural units), then ``f``, ``label``
- ``rebalanced.csv``: distortions (natural units), ``label``, ``origin`` (real | synthetic)
- ``smote_gp_proposals.csv`` (smote_gp only): distortions (natural units), ``kept`` (0/1), ``variance``
- ``report.html`` (reporting.html): the job's self-contained report; ``reliability/``: the map and
  profile (PNG, CSV, Markdown) of a single job (sweeps skip them)
- ``predictors/<name>/``: one ``mlflow.sklearn`` model per fitted predictor (MLflow tracking only),
  fitted on levels scaled to the unit cube [0, 1]^d by ``space.json``'s lower/upper.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is only needed when a result carries tables
    import pandas as pd

#: The metrics of the machine-readable last line of every job, in this order.
SUMMARY_LINE_KEYS = ("f1_mean", "grid_positive", "n_positive_sampled", "oracle_images_evaluated", "wall_seconds")

#: Artifact file names (the run layout).
SCORES_CSV = "scores.csv"
SPACE_JSON = "space.json"
TRAINING_CSV = "training_set.csv"
REBALANCED_CSV = "rebalanced.csv"
PROPOSALS_CSV = "smote_gp_proposals.csv"
CONFIG_YAML = "config.yaml"
PREDICTORS_DIR = "predictors"


@dataclass
class JobResult:
    """Everything one job produced; ``pipeline.run`` fills it, the tracker logs it.

    summary:    metric name -> number (f1_<pred>, f1_mean, grid_positive, n_positive_at_<B>, seconds_*, ...);
                strings (e.g. device) are logged as tags.
    scores:     one row per predictor: predictor, f1, precision, recall, balanced_accuracy (None when skipped).
    space:      {"names", "lower", "upper", "identity"} of the distortion space.
    training:   the training set R: distortion columns (natural units), ``f``, ``label``.
    rebalanced: R*: distortion columns, ``label``, ``origin`` (None for ensembles / none / reweight).
    proposals:  smote_gp only: distortion columns, ``kept``, ``variance``.
    fitted:     predictor name -> fitted estimator (fitted on unit-cube levels).
    skipped:    the reason when the cell could not be computed (e.g. no positives to rebalance).
    tags:       dataset model sampler imbalance seed h (resolved names, e.g. model=lenet5 for model=auto).
    """

    summary: dict[str, Any] = field(default_factory=dict)
    scores: "pd.DataFrame | None" = None
    space: dict | None = None
    training: "pd.DataFrame | None" = None
    rebalanced: "pd.DataFrame | None" = None
    proposals: "pd.DataFrame | None" = None
    fitted: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def coerce(cls, value: Any) -> "JobResult":
        """A JobResult from what a pipeline returned: a JobResult, or a plain summary dict."""
        if isinstance(value, JobResult):
            return value
        if isinstance(value, dict):
            summary = dict(value)
            skipped = summary.pop("skipped", None)
            return cls(summary=summary, skipped=None if skipped is None else str(skipped))
        if value is None:
            return cls()
        raise TypeError(f"the pipeline returned {type(value).__name__}; expected a JobResult or a dict")

    def metrics(self) -> dict[str, float]:
        """The numeric entries of ``summary`` (finite or not), as floats."""
        out: dict[str, float] = {}
        for key, value in self.summary.items():
            if isinstance(value, bool):
                out[key] = float(value)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[key] = float(value)
            else:
                try:  # numpy scalars
                    import numpy as np

                    if isinstance(value, np.generic) and np.issubdtype(type(value), np.number):
                        out[key] = float(value)
                except ImportError:  # pragma: no cover
                    pass
        return out

    def string_summary(self) -> dict[str, str]:
        """The non-numeric entries of ``summary`` (logged as tags)."""
        numeric = self.metrics()
        return {k: str(v) for k, v in self.summary.items() if k not in numeric and v is not None}


def format_value(value: Any) -> str:
    """Counts as integers, other numbers with 4 significant digits."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        value = float(value)
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    return str(value)


def summary_line(metrics: dict[str, Any]) -> str:
    """``summary: f1_mean=… grid_positive=… n_positive_sampled=… oracle_images_evaluated=… wall_seconds=…``"""
    parts = [f"{key}={format_value(metrics[key]) if metrics.get(key) is not None else 'nan'}"
             for key in SUMMARY_LINE_KEYS]
    return "summary: " + " ".join(parts)


def write_result_files(result: JobResult, directory: str | Path) -> list[Path]:
    """Write the result's tables and space into ``directory`` (created); returns the files written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    tables = ((SCORES_CSV, result.scores), (TRAINING_CSV, result.training),
              (REBALANCED_CSV, result.rebalanced), (PROPOSALS_CSV, result.proposals))
    for name, table in tables:
        if table is not None:
            path = directory / name
            table.to_csv(path, index=False)
            written.append(path)
    if result.space is not None:
        path = directory / SPACE_JSON
        path.write_text(json.dumps(_jsonable(result.space), indent=2) + "\n")
        written.append(path)
    return written


def artifact_dir(path: str | Path, root: str | Path) -> str | None:
    """The artifact folder of ``path``: its folder relative to the job's ``root`` (None: the top)."""
    try:
        parent = Path(path).resolve().parent.relative_to(Path(root).resolve())
    except ValueError:  # outside the job's folder
        return None
    return None if parent == Path(".") else parent.as_posix()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return value
