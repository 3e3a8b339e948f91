"""Statistics that count each run once, for the reproduction write-up (results/REPRODUCTION.md).

Three rules, each a function here:

* **One run per computation.** Two exported runs that share the training set (dataset, model, N, h,
  sampler settings, budget, seed) and the rebalancing method (its settings) computed the same paper
  F1, whatever study they were filed under (``table3`` and ``ours`` both hold GP + SMOTE-GP):
  :func:`dedupe` keeps one. What a quantity depends on sets its key: the GP classifier and the
  positives sampled depend on the training set only (``TRAINING_SET``), the paper F1 also on the
  method (``TRAINING_SET + METHOD``).
* **Differences are judged by their interval.** :func:`paired` pairs two methods on the same
  training sets (same sampler and seed) and gives the mean difference with its 95 % Student-t
  interval; :func:`unpaired` (Welch's t-interval) when no common training set exists. "better" or
  "worse" only when the interval excludes 0, otherwise "no difference shown" (:func:`verdict`).
* **Trends use every point.** :func:`trend` fits an ordinary least-squares slope over all
  (x, value) points with its 95 % t-interval and Spearman's rank correlation, and says "falling"
  or "rising" only when the means are monotone and the slope's interval excludes 0.

A skipped job (a training set the method cannot rebalance, e.g. no positives) has no F1: the
finished-seeds mean leaves it out, :func:`with_skipped_as_zero` scores it 0 (a distortion-classifier
that never says "reliable" has F1 = 0), and tables show both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..reporting.runs import paper_f1

#: Columns that fix the training set R: same values, same levels and labels.
TRAINING_SET = ("tags.dataset", "tags.model", "tags.h", "params.dataset.verification_size", "params.sampler.*",
                "tags.seed")
#: Columns that fix the rebalancing method (its settings, e.g. SMOTE-GP's v).
METHOD = ("tags.imbalance", "params.imbalance.*")
#: Sampler keys that do not change the levels (display and progress switches, the device).
_NOT_IDENTITY = ("params.sampler.progress", "params.sampler.label", "params.sampler.device")
CONFIDENCE = 0.95
F1 = "f1"  # the paper's number per run (mean F1 of its five predictors); NaN for a skipped job


def key_columns(runs: pd.DataFrame, by: tuple[str, ...]) -> list[str]:
    """The columns of ``runs`` named by ``by`` (``prefix.*`` expands to every such column)."""
    cols = []
    for name in by:
        if name.endswith(".*"):
            cols += sorted(c for c in runs if c.startswith(name[:-1]) and c not in _NOT_IDENTITY)
        elif name in runs:
            cols.append(name)
    return cols


def prepare(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished job runs with the paper F1 in column ``f1`` and a ``skipped`` flag."""
    runs = runs.copy()
    if "status" in runs:
        runs = runs[runs["status"] == "FINISHED"]
    if "tags.run_kind" in runs:
        runs = runs[runs["tags.run_kind"].fillna("job") == "job"]
    runs = runs.copy()
    runs[F1] = paper_f1(runs) if len(runs) else pd.Series(dtype=float)
    skipped = runs["tags.skipped"].fillna("").astype(str).str.strip() != "" if "tags.skipped" in runs else False
    runs["skipped"] = skipped | runs[F1].isna()
    return runs


def dedupe(runs: pd.DataFrame, by: tuple[str, ...] = TRAINING_SET + METHOD) -> pd.DataFrame:
    """One row per distinct computation named by ``by``; for each column its first non-null value.

    Rows are ordered by start time first, so the earliest run's values win where two disagree
    (they should not: the same computation on the same cache gives the same numbers), and a column
    only one copy has (the ``ours`` copy's GP-classifier F1) survives.
    """
    if runs.empty:
        return runs
    cols = key_columns(runs, by)
    if "start_time" in runs:
        runs = runs.sort_values("start_time", kind="stable")
    key = runs[cols].astype(str).agg("|".join, axis=1)
    merged = runs.groupby(key.to_numpy(), sort=False).first()
    return merged.reset_index(drop=True)


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and count of one cell's values (one per deduplicated run)."""

    mean: float
    std: float
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "—"
        if self.n == 1:
            return f"{self.mean:.4f} (n = 1)"
        return f"{self.mean:.4f} ± {self.std:.4f} (n = {self.n})"


def summarize(values) -> Summary:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Summary(float("nan"), float("nan"), 0)
    std = float(values.std(ddof=1)) if values.size > 1 else float("nan")
    return Summary(float(values.mean()), std, int(values.size))


def with_skipped_as_zero(runs: pd.DataFrame, column: str = F1) -> pd.Series:
    """``column`` with every skipped job scored 0 (it never predicts the positive class)."""
    return runs[column].where(~runs["skipped"], 0.0)


@dataclass(frozen=True)
class Difference:
    """A mean difference a - b with its 95 % interval; ``test`` names how the interval was made."""

    mean: float
    low: float
    high: float
    n: int
    test: str

    @property
    def word(self) -> str:
        return verdict(self)

    def __str__(self) -> str:
        if self.n == 0:
            return "not comparable (no run of both)"
        if not math.isfinite(self.low):
            return f"{self.mean:+.4f} ({self.test}, n = {self.n}: too few for an interval)"
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}] ({self.test}, n = {self.n})"


def verdict(diff: Difference) -> str:
    """"better" / "worse" when the interval excludes 0, otherwise "no difference shown"."""
    if diff.n == 0:
        return "not compared"
    if math.isfinite(diff.low) and diff.low > 0:
        return "better"
    if math.isfinite(diff.high) and diff.high < 0:
        return "worse"
    return "no difference shown"


def _t_interval(diff: np.ndarray, test: str) -> Difference:
    n = diff.size
    if n == 0:
        return Difference(float("nan"), float("nan"), float("nan"), 0, test)
    mean = float(diff.mean())
    if n < 2:
        return Difference(mean, float("nan"), float("nan"), n, test)
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n))
    return Difference(mean, mean - half, mean + half, n, test)


def paired(a: pd.Series, b: pd.Series) -> Difference:
    """``a - b`` over the index both share (one training set per index value): paired t-interval."""
    both = pd.concat({"a": a, "b": b}, axis=1).dropna()
    return _t_interval((both["a"] - both["b"]).to_numpy(dtype=float), "paired t, 95 %")


def unpaired(a, b) -> Difference:
    """``mean(a) - mean(b)`` for two independent samples: Welch's 95 % t-interval."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    test = "unpaired, Welch t, 95 %"
    n = min(a.size, b.size)
    if n == 0:
        return Difference(float("nan"), float("nan"), float("nan"), 0, test)
    mean = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return Difference(mean, float("nan"), float("nan"), a.size + b.size, test)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(mean, mean, mean, a.size + b.size, test)
    dof = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, dof) * se)
    return Difference(mean, mean - half, mean + half, a.size + b.size, test)


@dataclass(frozen=True)
class Trend:
    """How a value moves with x, from every point: the means' shape, an OLS slope and Spearman's rho."""

    word: str          # "falling" | "rising" | "not monotone" | "no trend shown"
    slope: float
    low: float
    high: float
    rho: float
    p: float
    n: int
    means: tuple[float, ...]

    def __str__(self) -> str:
        path = " → ".join(f"{m:.3f}" for m in self.means)
        if self.n < 3:
            return f"{self.word} (means {path}; {self.n} points, too few for a test)"
        return (f"{self.word} (means {path}; OLS slope over all {self.n} points {self.slope:+.4g} per unit, "
                f"95 % CI [{self.low:+.4g}, {self.high:+.4g}]; Spearman ρ = {self.rho:+.2f}, p = {self.p:.3g})")


def trend(x, y) -> Trend:
    """Trend of ``y`` over ``x`` (one point per run; several runs per x allowed).

    "falling" / "rising": the per-x means move strictly one way *and* the slope's 95 % interval
    excludes 0; "not monotone": the means turn back at least once; otherwise "no trend shown".
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    xs = np.unique(x)
    means = tuple(float(y[x == v].mean()) for v in xs)
    steps = np.diff(means)
    if x.size < 3 or xs.size < 2:
        return Trend("no trend shown", float("nan"), float("nan"), float("nan"), float("nan"), float("nan"),
                     int(x.size), means)
    fit = sps.linregress(x, y)
    half = float(sps.t.ppf(0.5 + CONFIDENCE / 2, x.size - 2) * fit.stderr)
    low, high = fit.slope - half, fit.slope + half
    rho, p = sps.spearmanr(x, y)
    if xs.size >= 3 and not (np.all(steps < 0) or np.all(steps > 0)):
        word = "not monotone"
    elif np.all(steps < 0) and high < 0:
        word = "falling"
    elif np.all(steps > 0) and low > 0:
        word = "rising"
    else:
        word = "no trend shown"
    return Trend(word, float(fit.slope), float(low), float(high), float(rho), float(p), int(x.size), means)
