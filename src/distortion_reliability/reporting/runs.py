"""A study's MLflow runs as one table: fetched from the store, exported to CSV, read back.

Every report is built from this table (``<study>_runs.csv``), never from the store directly, so
``report ... from=<csv>`` rebuilds the same tables and figures without MLflow. Columns follow
``mlflow.search_runs``: ``run_id``, ``status``, ``start_time``, ``artifact_uri``, ``parent_run_id``,
``tags.<k>``, ``params.<k>``, ``metrics.<k>``.

The run layout (tags, params, metrics, artifacts) is the one the tracking module writes; see the
team contract: tags ``dataset model sampler imbalance seed h study sweep`` (+ ``skipped``),
params the flattened job config (``sampler.budget``, ``imbalance.v``, ...), metrics ``f1_<pred>``.
Which cells a study should have (its sweep, read from ``conf/study/``) is ``cells.py``.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PAPER_PREDICTORS = ("dt", "rf", "lr", "svm", "nn")
EXTRA_PREDICTORS = ("gp_classifier",)
FINISHED = "FINISHED"

#: Where each sweep factor lives in a run (first column found wins).
FACTOR_COLUMNS: dict[str, tuple[str, ...]] = {
    "sampler": ("tags.sampler", "params.sampler.name"),
    "imbalance": ("tags.imbalance", "params.imbalance.name"),
    "model": ("tags.model", "params.model.name"),
    "dataset": ("tags.dataset", "params.dataset.name"),
    "seed": ("tags.seed", "params.seed"),
    "h": ("tags.h", "params.h", "params.dataset.h"),
    "budget": ("params.sampler.budget",),
    "v": ("params.imbalance.v",),
}
#: Hydra override key of each factor (to print a missing cell's overrides).
FACTOR_OVERRIDES = {"budget": "sampler.budget", "v": "imbalance.v"}
class ReportError(Exception):
    """Bad input to a report (no store, no experiment, unreadable CSV): printed as one ``error:`` line."""


# --------------------------------------------------------------------------- store
def default_tracking_uri() -> str:
    """The tracking module's store: ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI") or None
    try:  # the tracking module owns this rule
        from ..tracking.store import resolve_uri

        return str(resolve_uri(env))
    except ImportError:
        pass
    return env or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def check_store(uri: str) -> str:
    """Refuse a SQLite store that does not exist (MLflow would silently create an empty one)."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        if not path.is_file():
            raise ReportError(f"no MLflow store at {path} (run a study first, or set MLFLOW_TRACKING_URI / uri=)")
    return uri


def client_for(uri: str | None = None):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=check_store(uri or default_tracking_uri()))


def _row(run) -> dict[str, Any]:
    info, data = run.info, run.data
    row: dict[str, Any] = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "parent_run_id": data.tags.get("mlflow.parentRunId", ""),
    }
    row.update({f"tags.{k}": v for k, v in data.tags.items() if not k.startswith("mlflow.")})
    row.update({f"params.{k}": v for k, v in data.params.items()})
    row.update({f"metrics.{k}": v for k, v in data.metrics.items()})
    return row


def fetch_runs(study: str, dataset: str, uri: str | None = None) -> pd.DataFrame:
    """Every job run of experiment ``<study>-<dataset>`` (parent sweep runs left out), all statuses.

    Reports use only the FINISHED ones; the others stay in the export so a failed cell can be named.
    """
    client = client_for(uri)
    name = f"{study}-{dataset}"
    exp = client.get_experiment_by_name(name)
    if exp is None:
        raise ReportError(f"no MLflow experiment {name!r} in {uri or default_tracking_uri()} "
                          f"(run: python run.py -m study={study} dataset={dataset})")
    runs, token = [], None
    while True:
        page = client.search_runs([exp.experiment_id], max_results=1000, page_token=token,
                                  order_by=["attributes.start_time ASC"])
        runs.extend(page)
        token = page.token
        if not token:
            break
    rows = [_row(r) for r in runs]
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    parents = set(df["parent_run_id"].dropna()) - {""}
    # A sweep's parent run holds no job: it has children, or no sampler/imbalance tag at all.
    is_job = ~df["run_id"].isin(parents)
    for col in ("tags.sampler", "tags.imbalance"):
        if col not in df:
            df[col] = np.nan
    is_job &= df["tags.sampler"].notna() | df["tags.imbalance"].notna()
    if "tags.run_kind" in df:
        is_job &= df["tags.run_kind"].astype(str) != "parent"
    df = df[is_job].reset_index(drop=True)
    df.insert(1, "experiment", name)
    return df


def export_runs(df: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [c for c in df.columns if not c.startswith(("tags.", "params.", "metrics."))]
    cols += sorted(c for c in df.columns if c.startswith("tags."))
    cols += sorted(c for c in df.columns if c.startswith("params."))
    cols += sorted(c for c in df.columns if c.startswith("metrics."))
    df[cols].to_csv(path, index=False)
    return path


def read_runs(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise ReportError(f"runs CSV {path} does not exist")
    try:
        df = pd.read_csv(path, dtype={"run_id": str, "parent_run_id": str})
    except Exception as err:  # noqa: BLE001 - any parse problem is one clear line
        raise ReportError(f"cannot read runs CSV {path}: {err}") from None
    if "run_id" not in df or "status" not in df:
        raise ReportError(f"{path} is not a runs export (needs run_id and status columns)")
    return df


# --------------------------------------------------------------------------- values
def norm_value(value: Any) -> str:
    """One spelling per value: '0.005' and 0.005 and '5e-3' agree, 600.0 -> '600', None/NaN -> ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isnan(number):
        return ""
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return format(number, ".6g")


def factor_series(df: pd.DataFrame, factor: str) -> pd.Series:
    """The normalised value of ``factor`` for every run ('' where the run lacks it)."""
    for col in FACTOR_COLUMNS.get(factor, (f"tags.{factor}", f"params.{factor}")):
        if col in df:
            return df[col].map(norm_value)
    return pd.Series([""] * len(df), index=df.index, dtype=object)


def metric(df: pd.DataFrame, name: str) -> pd.Series:
    col = f"metrics.{name}"
    return pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(np.nan, index=df.index)


def predictors_in(df: pd.DataFrame) -> list[str]:
    """Predictors with an ``f1_<pred>`` metric, the paper's five first."""
    found = {c[len("metrics.f1_"):] for c in df.columns if c.startswith("metrics.f1_")} - {"mean"}
    return [p for p in PAPER_PREDICTORS if p in found] + sorted(found - set(PAPER_PREDICTORS))


def paper_f1(df: pd.DataFrame) -> pd.Series:
    """The paper's number per run: mean F1 of dt, rf, lr, svm, nn (``f1_mean`` when they are not all logged)."""
    cols = [f"metrics.f1_{p}" for p in PAPER_PREDICTORS]
    if all(c in df for c in cols):
        five = df[cols].apply(pd.to_numeric, errors="coerce")
        mean5 = five.mean(axis=1, skipna=False)
        return mean5.fillna(metric(df, "f1_mean"))
    return metric(df, "f1_mean")


def is_skipped(df: pd.DataFrame) -> pd.Series:
    if "tags.skipped" not in df:
        return pd.Series(False, index=df.index)
    return df["tags.skipped"].notna() & (df["tags.skipped"].astype(str).str.strip() != "")


def usable(df: pd.DataFrame, keep_skipped: bool = False) -> pd.DataFrame:
    """FINISHED, not skipped, the latest run per identical job (a rerun replaces its predecessor).

    ``keep_skipped`` keeps jobs skipped at rebalancing: their training set was sampled and counted
    (a random R with no positives is a point of Figure 6 at 0, not a missing seed).
    """
    ok = df[(df["status"] == FINISHED) & (keep_skipped | ~is_skipped(df))].copy()
    if ok.empty:
        return ok
    key_factors = [f for f in FACTOR_COLUMNS if factor_series(ok, f).ne("").any()]
    keys = pd.DataFrame({f: factor_series(ok, f) for f in key_factors}, index=ok.index)
    if "start_time" in ok:
        order = pd.to_numeric(ok["start_time"], errors="coerce").fillna(0).argsort(kind="stable").to_numpy()
        ok, keys = ok.iloc[order], keys.iloc[order]
    latest = ~keys.duplicated(keep="last")
    return ok[latest.to_numpy()]


def artifact_path(row: Mapping[str, Any], relative: str, uri: str | None = None, cache: Path | None = None) -> Path | None:
    """A run artifact as a local file: from a local ``artifact_uri`` directly, else downloaded, else None."""
    from urllib.parse import urlparse

    base = str(row.get("artifact_uri") or "")
    if base:
        parsed = urlparse(base)
        if parsed.scheme in ("", "file"):  # a local artifact store: the file is there or nowhere
            local = Path(parsed.path if parsed.scheme else base) / relative
            return local if local.exists() else None
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        import mlflow.artifacts

        dest = cache or Path.cwd()
        got = mlflow.artifacts.download_artifacts(run_id=str(row["run_id"]), artifact_path=relative,
                                                  dst_path=str(dest), tracking_uri=uri or default_tracking_uri())
        return Path(got)
    except Exception as err:  # noqa: BLE001 - an absent artifact is reported by the caller
        log.debug("artifact %s of run %s unavailable: %s", relative, row.get("run_id"), err)
        return None


def __getattr__(name: str) -> Any:
    """``TABLE3_METHODS``, ``TABLE4_METHODS``: the methods conf/study/table3.yaml, table4.yaml sweep (read, not copied)."""
    if name in ("TABLE3_METHODS", "TABLE4_METHODS"):
        from .cells import study_sweep

        return tuple(study_sweep(name[:6].lower()).factors["imbalance"] or ())
    raise AttributeError(name)
