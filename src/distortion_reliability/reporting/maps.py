"""Where is the model reliable? Maps of f on 2-D slices of C and a profile per distortion.

* **Reliability map** — for every pair of distortions, the others at their identity level (scale 1,
  rotation 0, shifts 0, darkness 1, rain 0), a heat map of f(c) on a ``resolution × resolution``
  slice grid with the contour f = h; the sampled training levels (positive / negative) and SMOTE-GP's
  synthetic levels (kept / rejected) are drawn projected onto each pair (6-D points almost never lie
  on a slice), and the distortion-classifiers' predicted reliable region (majority vote) is drawn
  over the oracle's true one.
* **Classifier vs oracle** — the same slices coloured by agreement (both reliable, missed, false
  alarm, both not), so a user sees where the classifier errs.
* **Reliability profile** (:mod:`.profile`) — f along each distortion's whole domain, the others at
  identity, and the interval(s) where f ≥ h in natural units, e.g. "rotation ≤ 23°, scale 0.84–1.21";
  plus the share of the grid test set R' (the whole box C) that is reliable, when the grid is given.

Cost (the map must stay a small fraction of the grid's): the profile is evaluated exactly
(``profile_points · d`` levels, 366 for the paper's six distortions), then the slices
(``resolution² · d(d-1)/2`` levels, 735 at the default resolution 7) are *labelled* with the oracle's
early stopping, and coloured by f estimated from the images each label read (:func:`contour_f`: the
estimate is on the same side of h as the exact f, so the drawn f = h contour separates exactly the
levels the oracle labels reliable). The resolution is odd and its 6 steps divide the profile's 60, so
every slice's identity row and column are profile levels, read from the oracle's cache (195 of the
735). On the embedded default this is about a quarter of the grid's images (``benchmarks/first_run.py``
prints ``map_over_grid_images``); ``resolution=15`` in ``report map`` draws a finer map at ~4× the cost.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..predictors import ANSWERING
from .profile import describe_intervals, reliable_intervals  # noqa: F401 - moved to profile.py, still importable here
from .profile import draw_profile, profile_levels, profile_markdown, profile_table
from .slice_figures import draw_agreement, draw_map

log = logging.getLogger(__name__)

#: Points per axis of a slice. Odd: every slice passes through the identity level; 6 steps divide the
#: profile's 60, so the identity row and column of a slice are profile levels (evaluated once).
DEFAULT_RESOLUTION = 7
DEFAULT_PROFILE_POINTS = 61


@dataclass(frozen=True)
class SpaceSpec:
    """Names, bounds and identity levels of C in natural units (what the maps need of a space)."""

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    identity: np.ndarray

    @classmethod
    def from_any(cls, space: Any) -> "SpaceSpec":
        """A DistortionSpace (``.box`` + ``.identity``), an object or mapping with names/lower/upper/identity
        (``space.json``), or a path to ``space.json``. A missing identity is the lower bound."""
        if isinstance(space, SpaceSpec):
            return space
        if isinstance(space, (str, Path)):
            space = json.loads(Path(space).read_text())
        get = (lambda k: space.get(k)) if isinstance(space, Mapping) else (lambda k: getattr(space, k, None))
        box = get("box")
        src = box if box is not None else space
        sget = (lambda k: src.get(k)) if isinstance(src, Mapping) else (lambda k: getattr(src, k, None))
        names = tuple(str(n) for n in (sget("names") or get("names")))
        lower = np.asarray(sget("lower"), float)
        upper = np.asarray(sget("upper"), float)
        identity = get("identity")
        if callable(identity):
            identity = identity()
        identity = lower.copy() if identity is None else np.asarray(identity, float)
        if not (len(names) == lower.size == upper.size == identity.size):
            raise ValueError(f"space needs one lower, upper and identity per name, got {names}, {lower}, {upper}, "
                             f"{identity}")
        return cls(names, lower, upper, identity)

    @property
    def d(self) -> int:
        return len(self.names)

    @property
    def base(self) -> np.ndarray:
        """The identity level, clipped into C (a slice must lie in the box)."""
        return np.clip(self.identity, self.lower, self.upper)

    def to_unit(self, levels: np.ndarray) -> np.ndarray:
        w = np.where(self.upper > self.lower, self.upper - self.lower, 1.0)
        return (np.asarray(levels, float) - self.lower) / w

    def from_unit(self, unit: np.ndarray) -> np.ndarray:
        w = np.where(self.upper > self.lower, self.upper - self.lower, 1.0)
        return self.lower + np.asarray(unit, float) * w

    def to_json(self) -> dict:
        return {"names": list(self.names), "lower": self.lower.tolist(), "upper": self.upper.tolist(),
                "identity": self.identity.tolist()}


# --------------------------------------------------------------------------- levels
def slice_levels(spec: SpaceSpec, i: int, j: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n × n`` slice over distortions i (x) and j (y), others at identity: axes and levels (n*n, d),
    row-major with y varying slowest (so ``f.reshape(n, n)`` is indexed [y, x])."""
    xs = np.linspace(spec.lower[i], spec.upper[i], n)
    ys = np.linspace(spec.lower[j], spec.upper[j], n)
    levels = np.tile(spec.base, (n * n, 1))
    gy, gx = np.meshgrid(ys, xs, indexing="ij")
    levels[:, i] = gx.reshape(-1)
    levels[:, j] = gy.reshape(-1)
    return xs, ys, levels


def report_levels(spec: SpaceSpec, resolution: int = DEFAULT_RESOLUTION,
                  profile_points: int = DEFAULT_PROFILE_POINTS) -> tuple[list[np.ndarray], list[tuple]]:
    """The levels a report evaluates: one block per pair of distortions (``("slice", (i, j), xs, ys)``),
    then one per distortion (``("profile", i, xs, None)``); blocks and their descriptions."""
    blocks, meta = [], []
    for i, j in combinations(range(spec.d), 2):
        xs, ys, lv = slice_levels(spec, i, j, resolution)
        blocks.append(lv)
        meta.append(("slice", (i, j), xs, ys))
    for i in range(spec.d):
        xs, lv = profile_levels(spec, i, profile_points)
        blocks.append(lv)
        meta.append(("profile", i, xs, None))
    return blocks, meta


def contour_f(oracle_like: Any, levels: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray | None]:
    """f at ``levels``, exact where it decides the f = h contour, estimated from fewer images elsewhere,
    and the number of images each value rests on (None when unknown).

    ``oracle.label`` reads D, in its fixed seeded order, only until I[f ≥ h] is certain and caches the
    count it stopped at: n_c correct of the first n of N images. The estimate n_c / n lies on the same
    side of h as the exact f: the label stops as reliable once n_c / N ≥ h, and then n_c / n ≥ n_c / N ≥ h;
    as not reliable once n_c + (N − n) < h·N, and then n_c < n − (1 − h)·N ≤ h·n. Levels near h are read in
    full (exact f); the others from at least one chunk of D (N/8 images by default). An oracle without
    ``label`` and an evaluation cache (a plain function, a test double) gives exact f.
    """
    cache = getattr(oracle_like, "cache", None)
    if not hasattr(oracle_like, "label") or cache is None:
        return np.asarray(_as_function(oracle_like)(levels), float).reshape(-1), None
    oracle_like.label(levels, h)
    n_total = int(oracle_like.n)
    counts = [cache.get(level, n_total) for level in levels]
    n_read = np.array([c.n_evaluated if c is not None else 0 for c in counts])
    f = np.array([c.n_correct / c.n_evaluated if c is not None and c.n_evaluated else np.nan for c in counts])
    missing = np.isnan(f)
    if missing.any():  # not in the cache (it could not be written): read those exactly
        f[missing] = oracle_like.accuracy(levels[missing])
        n_read[missing] = n_total
    return f, n_read


def _as_function(oracle_like: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(oracle_like, "accuracy"):
        return oracle_like.accuracy
    if callable(oracle_like):
        return oracle_like
    raise TypeError("oracle_like must have .accuracy(levels) or be callable")


# --------------------------------------------------------------------------- inputs
def _points(obj: Any, spec: SpaceSpec, flag: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(levels in natural units, 0/1 flags) from a SampleResult-like, a DataFrame/CSV with the distortion
    columns and ``flag``, a (levels, flags) pair, or a mapping with unit-cube proposals (``method.stats_``)."""
    if obj is None:
        return None
    if isinstance(obj, (str, Path)):
        obj = pd.read_csv(obj)
    if isinstance(obj, pd.DataFrame):
        return obj[list(spec.names)].to_numpy(float), obj[flag].to_numpy().astype(int)
    if isinstance(obj, Mapping):
        if obj.get("proposals_X_unit") is not None:
            return spec.from_unit(obj["proposals_X_unit"]), np.asarray(obj["proposals_kept"]).astype(int)
        if obj.get("levels") is None:  # e.g. method.stats_ of a method without SMOTE-GP proposals
            return None
        return np.asarray(obj["levels"], float), np.asarray(obj.get(flag, obj.get("labels"))).astype(int)
    if hasattr(obj, "levels") and hasattr(obj, "labels"):
        return np.asarray(obj.levels, float), np.asarray(obj.labels).astype(int)
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return np.asarray(obj[0], float), np.asarray(obj[1]).astype(int)
    raise TypeError(f"cannot read levels from {type(obj).__name__}")


def _grid_share(grid: Any) -> tuple[int, int] | None:
    if grid is None:
        return None
    labels = getattr(grid, "labels", None)
    if labels is None and isinstance(grid, (tuple, list)) and len(grid) == 2:
        labels = grid[1]
    if labels is None and isinstance(grid, Mapping):
        labels = grid.get("labels")
    if labels is None:
        return None
    labels = np.asarray(labels).astype(bool)
    return int(labels.sum()), int(labels.size)


def vote(fitted: Mapping[str, Any], unit: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Majority vote (share of predictors saying reliable ≥ 0.5, ties reliable only above half) and each label."""
    labels = {name: np.asarray(m.predict(unit)).astype(int).reshape(-1) for name, m in fitted.items()}
    share = np.mean(np.stack(list(labels.values())), axis=0)
    return (share > 0.5).astype(int), labels


# --------------------------------------------------------------------------- the report
@dataclass
class ReliabilityReport:
    profile: pd.DataFrame
    slices: pd.DataFrame
    files: dict[str, Path]
    summary: str
    images_evaluated: int | None = None  # what drawing it cost the oracle (None: not an Oracle)


def write_reliability_report(oracle_like: Any, space: Any, h: float, out_dir: str | Path, training: Any = None,
                             proposals: Any = None, fitted: Mapping[str, Any] | None = None, grid: Any = None,
                             resolution: int = DEFAULT_RESOLUTION, profile_points: int = DEFAULT_PROFILE_POINTS,
                             title: str = "") -> ReliabilityReport:
    """Evaluate f on every pairwise slice and along every distortion, and write the map, profile and tables.

    Parameters
    ----------
    oracle_like : Oracle, object with ``.accuracy(levels) -> ndarray``, or a callable
        f(c) for levels in natural units, shape (n, d) -> (n,). An Oracle labels the slices with early
        stopping (:func:`contour_f`); anything else is asked for exact f in one call.
    space : DistortionSpace, space.json mapping/path, or object with names/lower/upper/identity
    h : float
        Reliability threshold.
    out_dir : path
        Folder for ``reliability_map.png``, ``reliability_profile.{png,md,csv}``, ``reliability_slices.csv``
        and, with ``fitted``, ``reliability_classifier.{png,csv}``.
    training : SampleResult-like / DataFrame with the distortion columns and ``label`` / (levels, labels)
        The sampled training set R, drawn as positive / negative points.
    proposals : DataFrame with the distortion columns and ``kept`` / ``method.stats_`` mapping
        SMOTE-GP's synthetic levels, kept and rejected.
    fitted : mapping name -> fitted predictor on the unit cube
        The distortion-classifiers; their majority vote is drawn over the oracle's region.
    grid : Grid-like with ``labels`` (or (levels, labels))
        The grid test set R'; its share of reliable levels is reported as the share of C.
    resolution : int, default 7
        Points per axis of each slice (the cost is resolution² per pair of distortions).
    profile_points : int, default 61
        Points along each distortion's domain for the profile.
    """
    spec = SpaceSpec.from_any(space)
    if int(resolution) < 2 or int(profile_points) < 2:
        raise ValueError("resolution and profile_points must be >= 2")
    resolution, profile_points = int(resolution), int(profile_points)
    f_of = _as_function(oracle_like)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    blocks, meta = report_levels(spec, resolution, profile_points)
    levels = np.vstack(blocks)
    n_slice = sum(len(b) for b, m in zip(blocks, meta) if m[0] == "slice")
    before = getattr(oracle_like, "images_evaluated", None)
    if hasattr(oracle_like, "label") and getattr(oracle_like, "cache", None) is not None:
        # the profile first: the slices' identity rows and columns are its levels, then read from the cache
        prof = levels[n_slice:]  # the identity level is on every profile: evaluate each level once
        _, first, back = np.unique(np.round(prof, 10), axis=0, return_index=True, return_inverse=True)
        f_prof = np.asarray(oracle_like.accuracy(prof[first]), float)[back.reshape(-1)]
        f_slice, n_read = contour_f(oracle_like, levels[:n_slice], h)
        f_all = np.r_[f_slice, f_prof]
    else:
        f_all, n_read = np.asarray(f_of(levels), float).reshape(-1), None
    if f_all.shape[0] != levels.shape[0]:
        raise ValueError(f"oracle returned {f_all.shape[0]} values for {levels.shape[0]} levels")
    images = None if before is None else int(oracle_like.images_evaluated - before)
    log.info("reliability map: %d slice levels labelled (early stopping), %d profile levels exact%s", n_slice,
             len(levels) - n_slice, "" if images is None else f", {images:,} images evaluated")
    predicted, per_pred = (vote(fitted, spec.to_unit(levels)) if fitted else (None, {}))

    slices, profiles, off = {}, {}, 0
    slice_rows = []
    for (kind, key, xs, ys), lv in zip(meta, blocks):
        f = f_all[off: off + len(lv)]
        pv = predicted[off: off + len(lv)] if predicted is not None else None
        if kind == "slice":
            slices[key] = (xs, ys, f.reshape(resolution, resolution), None if pv is None else pv.reshape(resolution,
                                                                                                           resolution))
            i, j = key
            part = pd.DataFrame(lv, columns=list(spec.names))
            part.insert(0, "slice", f"{spec.names[i]}×{spec.names[j]}")
            part["f"] = f
            if n_read is not None:  # f rests on this many images of D (N: exact; fewer: far from h)
                part["n_images"] = n_read[off: off + len(lv)]
            part["reliable"] = (f >= h).astype(int)
            if pv is not None:
                part["predicted"] = pv
            slice_rows.append(part)
        else:
            profiles[key] = (xs, f)
        off += len(lv)
    slices_df = pd.concat(slice_rows, ignore_index=True) if slice_rows else pd.DataFrame()
    files: dict[str, Path] = {}
    slices_df.to_csv(out / "reliability_slices.csv", index=False)
    files["slices_csv"] = out / "reliability_slices.csv"

    n_images = getattr(oracle_like, "n", None)  # N of D: the profile's 95 % band for f (None: no band)
    answering = (fitted or {}).get(ANSWERING)  # the GP classifier's answer along each distortion
    profile = profile_table(spec, h, profiles, n_images, answering=answering)
    profile.to_csv(out / "reliability_profile.csv", index=False)
    files["profile_csv"] = out / "reliability_profile.csv"
    share_slices = float((slices_df["f"] >= h).mean()) if len(slices_df) else float("nan")
    gs = _grid_share(grid)
    summary = ", ".join(profile["description"])
    md = profile_markdown(spec, h, profile, profile_points, title)
    if gs is not None:
        md.append(f"Share of C reliable (grid test set R'): {gs[0]:,} of {gs[1]:,} levels = {100 * gs[0] / gs[1]:.1f}%.")
    md.append(f"Share of the 2-D slices reliable ({len(slices_df):,} levels, {resolution}×{resolution} per pair): "
              f"{100 * share_slices:.1f}%.")
    if fitted:
        agree = float((slices_df["predicted"] == slices_df["reliable"]).mean())
        md.append(f"Distortion-classifiers' majority vote ({', '.join(fitted)}) agrees with the oracle on "
                  f"{100 * agree:.1f}% of the slice levels (see reliability_classifier.png).")
    md.append("")
    (out / "reliability_profile.md").write_text("\n".join(md))
    files["profile_md"] = out / "reliability_profile.md"

    train = _points(training, spec, "label")
    props = _points(proposals, spec, "kept")
    files["map_png"] = draw_map(spec, h, slices, train, props, fitted is not None, out / "reliability_map.png", title)
    files["profile_png"] = draw_profile(spec, h, profiles, out / "reliability_profile.png", title, n_images,
                                        answering=answering)
    if fitted:
        rows = []
        truth = (f_all[: len(slices_df)] >= h).astype(int)
        for name, lab in per_pred.items():
            lab = lab[: len(slices_df)]
            rows.append(_agreement(name, truth, lab))
        rows.append(_agreement("vote", truth, predicted[: len(slices_df)]))
        pd.DataFrame(rows).to_csv(out / "reliability_classifier.csv", index=False)
        files["classifier_csv"] = out / "reliability_classifier.csv"
        files["classifier_png"] = draw_agreement(spec, h, slices, out / "reliability_classifier.png", list(fitted),
                                                 title)
    return ReliabilityReport(profile=profile, slices=slices_df, files=files, summary=summary, images_evaluated=images)


def _agreement(name: str, truth: np.ndarray, pred: np.ndarray) -> dict:
    tp = int(((truth == 1) & (pred == 1)).sum())
    fp = int(((truth == 0) & (pred == 1)).sum())
    fn = int(((truth == 1) & (pred == 0)).sum())
    tn = int(((truth == 0) & (pred == 0)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"predictor": name, "agreement": (tp + tn) / max(1, len(truth)), "f1": f1, "both_reliable": tp,
            "false_alarm": fp, "missed": fn, "both_not": tn}
