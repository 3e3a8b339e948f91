"""A study's MLflow runs as one table: fetched from the store, exported to CSV, read back.

Every report is built from this table (``<study>_runs.csv``), never from the store directly, so
``report ... from=<csv>`` rebuilds the same tables and figures without MLflow. Columns follow
``mlflow.search_runs``: ``run_id``, ``status``, ``start_time``, ``artifact_uri``, ``parent_run_id``,
``tags.<k>``, ``params.<k>``, ``metrics.<k>``.

The run layout (tags, params, metrics, artifacts) is the one the tracking module writes; see the
team contract: tags ``dataset model sampler imbalance seed h study sweep`` (+ ``skipped``),
params the flattened job config (``sampler.budget``, ``imbalance.v``, ...), metrics ``f1_<pred>``.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

PAPER_PREDICTORS = ("dt", "rf", "lr", "svm", "nn")
EXTRA_PREDICTORS = ("gp_classifier",)
EXPECTED_SEEDS = (0, 1, 2)
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
#: Sweep keys (as written in a study's ``hydra.sweeper.params``) -> factor name.
SWEEP_KEY_FACTORS = {"sampler.budget": "budget", "imbalance.v": "v", "dataset.h": "h"}

TABLE3_METHODS = ("none", "reweight", "random_under", "nearmiss", "random_over", "smote", "adasyn", "spe", "mesa",
                  "gan", "vae", "ctgan", "tvae", "smote_gp")
TABLE4_METHODS = ("smote", "smote_borderline", "smote_svm", "smote_enn", "smote_tomek", "smote_wb", "smote_gp")
SAMPLERS = ("random", "gp", "gp_sqrt", "gp_batch", "straddle")

#: Each study's sweep as issue 8 documents it, used when ``conf/study/<name>.yaml`` cannot be read.
#: ``None`` values mean "whatever values the runs carry" (e.g. h around the dataset's own).
DEFAULT_STUDIES: dict[str, dict[str, Sequence[Any] | None]] = {
    "table3": {"sampler": ("random", "gp"), "imbalance": TABLE3_METHODS},
    "table4": {"sampler": ("random", "gp"), "imbalance": TABLE4_METHODS},
    "sampling": {"sampler": SAMPLERS},
    "ablation_v": {"imbalance": ("smote", "smote_gp"), "v": (0.001, 0.005, 0.01, 0.05, 0.1, 0.5)},
    "ablation_budget": {"imbalance": ("smote", "smote_gp"), "budget": (200, 400, 600, 800, 1000)},
    "ablation_h": {"imbalance": ("smote", "smote_gp"), "h": None},
    "ours": {"sampler": ("gp_sqrt", "straddle", "gp_batch"), "imbalance": ("smote_gp", "smote")},
}


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


def usable(df: pd.DataFrame) -> pd.DataFrame:
    """FINISHED, not skipped, the latest run per identical job (a rerun replaces its predecessor)."""
    ok = df[(df["status"] == FINISHED) & ~is_skipped(df)].copy()
    if ok.empty:
        return ok
    key_factors = [f for f in FACTOR_COLUMNS if factor_series(ok, f).ne("").any()]
    keys = pd.DataFrame({f: factor_series(ok, f) for f in key_factors}, index=ok.index)
    if "start_time" in ok:
        order = pd.to_numeric(ok["start_time"], errors="coerce").fillna(0).argsort(kind="stable").to_numpy()
        ok, keys = ok.iloc[order], keys.iloc[order]
    latest = ~keys.duplicated(keep="last")
    return ok[latest.to_numpy()]


# --------------------------------------------------------------------------- study sweep
@dataclass
class Sweep:
    """The factors a study sweeps and their declared values (``None``: take the values the runs carry)."""

    study: str
    factors: dict[str, list[str] | None]
    seeds: list[str] = field(default_factory=lambda: [str(s) for s in EXPECTED_SEEDS])
    source: str = "built-in"
    #: Compound choices swept as one key (e.g. ablation_v's ``+study/v_arm``): each arm sets several factors.
    arms: list[dict[str, str]] = field(default_factory=list)


def _parse_sweep_value(value: Any) -> list[str] | None:
    if isinstance(value, (list, tuple)):
        return [norm_value(v) for v in value]
    text = str(value).strip()
    if "${" in text or "(" in text or "[" in text:  # interpolation / range() / glob(): take observed values
        return None
    return [norm_value(v) for v in text.split(",") if v.strip()]


def _arm(path: Path) -> dict[str, str]:
    """The factors one group-choice config sets: ``override /imbalance: smote_gp`` and ``imbalance.v: 0.001``."""
    from omegaconf import OmegaConf

    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=False) or {}
    arm: dict[str, str] = {}
    for item in raw.get("defaults") or []:
        if isinstance(item, dict):
            for key, value in item.items():
                group = str(key).split()[-1].lstrip("/")  # "override /imbalance" -> "imbalance"
                if group in FACTOR_COLUMNS:
                    arm[group] = norm_value(value)
    flat = {"budget": ("sampler", "budget"), "v": ("imbalance", "v"), "h": ("h",)}
    for factor, keys in flat.items():
        node: Any = raw
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        if node is not None and not isinstance(node, dict):
            arm[factor] = norm_value(node)
    return arm


def study_sweep(study: str, conf_dir: str | Path | None = None, dataset: str | None = None) -> Sweep:
    """Read ``conf/study/<study>.yaml``'s ``hydra.sweeper.params``; else the documented sweep; else nothing.

    An interpolated value (ablation_h's ``${study_sweep.h.${dataset.name}}``) is resolved for ``dataset``;
    a swept config group (``+study/v_arm: smote,smote_gp_v0.001``) becomes arms read from its configs.
    """
    from omegaconf import OmegaConf

    conf_dir = Path(conf_dir) if conf_dir else Path(__file__).resolve().parents[3] / "conf"
    path = conf_dir / "study" / f"{study}.yaml"
    if path.is_file():
        try:
            conf = OmegaConf.load(path)
            if dataset:
                OmegaConf.update(conf, "dataset.name", dataset, force_add=True)
            params = OmegaConf.select(conf, "hydra.sweeper.params") or {}
            factors: dict[str, list[str] | None] = {}
            seeds = [str(s) for s in EXPECTED_SEEDS]
            arms: list[dict[str, str]] = []
            for key in params:
                raw_value = OmegaConf.to_container(params, resolve=False)[key]
                try:
                    value = params[key]  # resolves interpolations (for dataset)
                except Exception:  # noqa: BLE001 - unresolvable: take the values the runs carry
                    value = raw_value
                name = str(key).lstrip("+~")
                if name == "dataset":
                    continue
                parsed = _parse_sweep_value(value)
                if name == "seed":
                    seeds = parsed if parsed else seeds
                elif "/" in name:  # a config group: each choice is an arm
                    for choice in parsed or []:
                        arm_path = conf_dir / name / f"{choice}.yaml"
                        arms.append(_arm(arm_path) if arm_path.is_file() else {})
                else:
                    factors[SWEEP_KEY_FACTORS.get(name, name)] = parsed
            arms = [a for a in arms if a]
            for a in arms:
                for f in a:
                    factors.pop(f, None)
            return Sweep(study, factors, seeds, source=str(path), arms=arms)
        except Exception as err:  # noqa: BLE001 - a config we cannot read falls back to the documented sweep
            log.warning("cannot read the sweep of %s (%s); using the documented one", path, err)
    if study in DEFAULT_STUDIES:
        return Sweep(study, {k: (None if v is None else [norm_value(x) for x in v])
                             for k, v in DEFAULT_STUDIES[study].items()})
    return Sweep(study, {}, source="runs")


def expected_cells(df: pd.DataFrame, sweep: Sweep, extra_factors: Iterable[str] = ()) -> tuple[list[str], list[tuple]]:
    """The cells (factor value tuples, seed excluded) the study should have, in sweep order.

    A factor with ``None`` values, or one not declared, takes the values the runs carry. A
    per-method parameter (``v``, ``budget``) is expanded only for methods whose runs carry it (SMOTE
    has no ``v``): a method whose runs all lack it counts as one cell.
    """
    if sweep.arms:
        return _expected_with_arms(df, sweep, extra_factors)
    factors = list(sweep.factors) + [f for f in extra_factors if f not in sweep.factors]
    values: dict[str, list[str]] = {}
    for f in factors:
        declared = sweep.factors.get(f)
        observed = [v for v in pd.unique(factor_series(df, f)) if v != ""] if len(df) else []
        if declared is None:
            values[f] = sorted(observed, key=_sort_key)
        else:
            values[f] = list(declared) + [v for v in observed if v not in declared]
    group = [f for f in factors if f in ("sampler", "imbalance", "model")]
    params = [f for f in factors if f not in group]
    factors = group + params  # table columns: sampler / method first, then their parameters
    for f in params:  # a parameter reads best in increasing order (Figure 8's 1000,800,...,200 sweep)
        values[f] = sorted(values[f], key=_sort_key)
    cells: list[tuple] = []
    group_values = [values[f] for f in group] or [[]]
    for gkey in itertools.product(*group_values) if group else [()]:
        mask = pd.Series(True, index=df.index)
        for f, v in zip(group, gkey):
            mask &= factor_series(df, f) == v
        sub = df[mask]
        pvals = []
        for f in params:
            has = factor_series(sub, f).ne("") if len(sub) else pd.Series(dtype=bool)
            if len(sub) and not has.any():
                pvals.append([""])  # this method does not take the parameter
            else:
                pvals.append(values[f] or [""])
        for pkey in itertools.product(*pvals):
            full = dict(zip(group, gkey)) | dict(zip(params, pkey))
            cells.append(tuple(full[f] for f in factors))
    return factors, cells


def _expected_with_arms(df: pd.DataFrame, sweep: Sweep, extra_factors: Iterable[str]) -> tuple[list[str], list[tuple]]:
    arm_factors = list(dict.fromkeys(f for a in sweep.arms for f in a))
    plain = Sweep(sweep.study, dict(sweep.factors), sweep.seeds, sweep.source)
    base_factors, base_cells = expected_cells(df, plain, [f for f in extra_factors if f not in arm_factors])
    arms = [tuple(a.get(f, "") for f in arm_factors) for a in sweep.arms]
    if len(df):  # runs of a combination no arm declares are shown too
        seen = pd.DataFrame({f: factor_series(df, f) for f in arm_factors}).drop_duplicates()
        arms += [t for t in seen.itertuples(index=False, name=None) if t not in arms and any(t)]
    factors = base_factors + arm_factors
    return factors, [b + a for b in (base_cells or [()]) for a in arms]


def _sort_key(v: str):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def overrides(factors: Sequence[str], cell: Sequence[str], dataset: str, seed: str | None = None,
              study: str | None = None) -> str:
    """The Hydra overrides of one job, e.g. ``study=table3 dataset=mnist sampler=gp imbalance=smote seed=2``."""
    parts = [f"study={study}"] if study else []
    parts.append(f"dataset={dataset}")
    parts += [f"{FACTOR_OVERRIDES.get(f, f)}={v}" for f, v in zip(factors, cell) if v != ""]
    if seed is not None:
        parts.append(f"seed={seed}")
    return " ".join(parts)


@dataclass
class CellRuns:
    """The usable runs of one cell and what is missing from it."""

    cell: tuple
    runs: pd.DataFrame
    seeds: list[str]
    missing_seeds: list[str]
    skipped: dict[str, str]   # seed -> reason
    failed: list[str]         # seeds whose only runs FAILED


def group_cells(df: pd.DataFrame, factors: Sequence[str], cells: Sequence[tuple], seeds: Sequence[str]) -> list[CellRuns]:
    ok = usable(df)
    keys_ok = pd.DataFrame({f: factor_series(ok, f) for f in factors}, index=ok.index) if len(ok) else None
    all_keys = pd.DataFrame({f: factor_series(df, f) for f in factors}, index=df.index) if len(df) else None
    out = []
    for cell in cells:
        if keys_ok is not None:
            mask = np.ones(len(ok), bool)
            for f, v in zip(factors, cell):
                mask &= (keys_ok[f] == v).to_numpy()
            runs = ok[mask]
        else:
            runs = df.iloc[0:0]
        have = sorted(set(factor_series(runs, "seed")), key=_sort_key) if len(runs) else []
        skipped, failed = {}, []
        if all_keys is not None:
            mask = np.ones(len(df), bool)
            for f, v in zip(factors, cell):
                mask &= (all_keys[f] == v).to_numpy()
            everything = df[mask]
            seed_of = factor_series(everything, "seed")
            skip = is_skipped(everything) & (everything["status"] == FINISHED)
            for s in seeds:
                if s in have:
                    continue
                these = everything[seed_of == s]
                if skip[seed_of == s].any():
                    skipped[s] = str(these.loc[skip[seed_of == s], "tags.skipped"].iloc[-1])
                elif len(these) and (these["status"] == "FAILED").any():
                    failed.append(s)
        missing = [s for s in seeds if s not in have]
        out.append(CellRuns(tuple(cell), runs, have, missing, skipped, failed))
    return out


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
