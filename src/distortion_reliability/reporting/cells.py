"""The cells a study should have: its sweep, read from ``conf/study/<study>.yaml``, and its runs grouped by cell.

A cell is one combination of the swept factors, seed excluded (e.g. sampler=gp, imbalance=smote);
a study's table has one row per cell, the mean over its seeds. The sweep is the study config's
``hydra.sweeper.params`` (the one place it is written): from the given ``conf/`` folder, else the
project's own; a study with no config at all takes the cells its runs carry.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .runs import FACTOR_COLUMNS, FACTOR_OVERRIDES, FINISHED, factor_series, is_skipped, norm_value, usable

log = logging.getLogger(__name__)

EXPECTED_SEEDS = (0, 1, 2)
#: Sweep keys (as written in a study's ``hydra.sweeper.params``) -> factor name.
SWEEP_KEY_FACTORS = {"sampler.budget": "budget", "imbalance.v": "v", "dataset.h": "h"}


@dataclass
class Sweep:
    """The factors a study sweeps and their declared values (``None``: take the values the runs carry)."""

    study: str
    factors: dict[str, list[str] | None]
    seeds: list[str] = field(default_factory=lambda: [str(s) for s in EXPECTED_SEEDS])
    source: str = "runs"
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
    """Read ``conf/study/<study>.yaml``'s ``hydra.sweeper.params`` from ``conf_dir``, else from the project's
    ``conf/``; a study configured nowhere (or unreadable) takes the cells its runs carry.

    An interpolated value (ablation_h's ``${study_sweep.h.${dataset.name}}``) is resolved for ``dataset``;
    a swept config group (``+study/v_arm: smote,smote_gp_v0.001``) becomes arms read from its configs.
    """
    from ..config import conf_dir as project_conf

    for folder in dict.fromkeys([Path(conf_dir or project_conf()), project_conf()]):
        path = folder / "study" / f"{study}.yaml"
        if path.is_file():
            try:
                return _read_sweep(study, path, folder, dataset)
            except Exception as err:  # noqa: BLE001 - a config we cannot read: the runs say what was swept
                log.warning("cannot read the sweep of %s (%s); using the values the runs carry", path, err)
                break
    return Sweep(study, {}, source="runs")


def _read_sweep(study: str, path: Path, conf_dir: Path, dataset: str | None) -> Sweep:
    from omegaconf import OmegaConf

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
