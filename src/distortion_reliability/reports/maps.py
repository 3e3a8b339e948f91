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

Everything is evaluated in one oracle call (``resolution² · d(d-1)/2 + profile_points · d`` levels,
3,375 + 246 for the paper's six distortions at the defaults), so the oracle batches and caches it.
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
from .style import POINT_COLORS, axis_label, save, style

log = logging.getLogger(__name__)

AGREEMENT = (  # value, label, colour
    (0, "both not reliable", "#eeeeee"),
    (1, "missed (oracle reliable, classifier not)", "#ff7f0e"),
    (2, "false alarm (classifier reliable, oracle not)", "#d62728"),
    (3, "both reliable", "#2ca02c"),
)


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


def write_reliability_report(oracle_like: Any, space: Any, h: float, out_dir: str | Path, training: Any = None,
                             proposals: Any = None, fitted: Mapping[str, Any] | None = None, grid: Any = None,
                             resolution: int = 15, profile_points: int = 61, title: str = "") -> ReliabilityReport:
    """Evaluate f on every pairwise slice and along every distortion, and write the map, profile and tables.

    Parameters
    ----------
    oracle_like : object with ``.accuracy(levels) -> ndarray`` (or a callable)
        f(c) for levels in natural units, shape (n, d) -> (n,).
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
    resolution : int, default 15
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
    pairs = list(combinations(range(spec.d), 2))
    blocks, meta = [], []
    for i, j in pairs:
        xs, ys, lv = slice_levels(spec, i, j, resolution)
        blocks.append(lv)
        meta.append(("slice", (i, j), xs, ys))
    for i in range(spec.d):
        xs, lv = profile_levels(spec, i, profile_points)
        blocks.append(lv)
        meta.append(("profile", i, xs, None))
    levels = np.vstack(blocks)
    f_all = np.asarray(f_of(levels), float).reshape(-1)
    if f_all.shape[0] != levels.shape[0]:
        raise ValueError(f"oracle returned {f_all.shape[0]} values for {levels.shape[0]} levels")
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
    files["map_png"] = _draw_map(spec, h, slices, train, props, fitted is not None, out / "reliability_map.png", title)
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
        files["classifier_png"] = _draw_agreement(spec, h, slices, out / "reliability_classifier.png", list(fitted),
                                                 title)
    return ReliabilityReport(profile=profile, slices=slices_df, files=files, summary=summary)


def _agreement(name: str, truth: np.ndarray, pred: np.ndarray) -> dict:
    tp = int(((truth == 1) & (pred == 1)).sum())
    fp = int(((truth == 0) & (pred == 1)).sum())
    fn = int(((truth == 1) & (pred == 0)).sum())
    tn = int(((truth == 0) & (pred == 0)).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"predictor": name, "agreement": (tp + tn) / max(1, len(truth)), "f1": f1, "both_reliable": tp,
            "false_alarm": fp, "missed": fn, "both_not": tn}


def _corner(plt, d: int, cell: float = 2.3):
    fig, axes = plt.subplots(d - 1, d - 1, figsize=(cell * (d - 1) + 1.2, cell * (d - 1)), squeeze=False)
    return fig, axes


def _ticks(ax, nbins: int = 4) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins, prune="upper"))  # no clash with the next panel's first label
    ax.yaxis.set_major_locator(MaxNLocator(nbins))


def _edges(v: np.ndarray) -> np.ndarray:
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[:-1] + v[1:]) / 2
    return np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]


def _draw_map(spec, h, slices, train, props, has_fit, path, title):
    d = spec.d
    with style() as plt:
        from matplotlib.lines import Line2D

        fig, axes = _corner(plt, d)
        mesh = None
        for (i, j), (xs, ys, f, pv) in slices.items():
            ax = axes[j - 1][i]
            ax.grid(False)
            mesh = ax.pcolormesh(_edges(xs), _edges(ys), f, cmap="viridis", vmin=0, vmax=1, shading="flat")
            if f.min() < h <= f.max():
                ax.contour(xs, ys, f, levels=[h], colors="white", linewidths=1.4)
            if pv is not None and 0 < pv.sum() < pv.size:
                ax.contour(xs, ys, pv.astype(float), levels=[0.5], colors="magenta", linewidths=1.2, linestyles="--")
            if train is not None:
                lv, lab = train
                ax.scatter(lv[lab == 0, i], lv[lab == 0, j], s=6, c=POINT_COLORS["negative"], alpha=0.7,
                           edgecolors="white", linewidths=0.25)
                ax.scatter(lv[lab == 1, i], lv[lab == 1, j], s=9, c=POINT_COLORS["positive"], edgecolors="k",
                           linewidths=0.3)
            if props is not None:
                lv, kept = props
                ax.scatter(lv[kept == 1, i], lv[kept == 1, j], s=9, marker="+", c=POINT_COLORS["synthetic"], lw=0.7)
                ax.scatter(lv[kept == 0, i], lv[kept == 0, j], s=7, marker="x", c=POINT_COLORS["rejected"], lw=0.6)
            ax.set_xlim(spec.lower[i], spec.upper[i])
            ax.set_ylim(spec.lower[j], spec.upper[j])
            ax.plot(spec.base[i], spec.base[j], marker="*", c="w", ms=7, mec="k", mew=0.5)
            _ticks(ax)
            _label_slice_axes(ax, spec, i, j, d)
        _hide_upper_triangle(axes, d)
        handles = [Line2D([], [], color="white", lw=1.4, label=f"f = h = {h:g} (oracle)"),
                   Line2D([], [], marker="*", ls="", c="w", mec="k", label="identity (no distortion)")]
        if has_fit:
            handles.append(Line2D([], [], color="magenta", ls="--", label="classifiers' vote: reliable boundary"))
        if train is not None:
            handles += [Line2D([], [], marker="o", ls="", c=POINT_COLORS["positive"], mec="k", mew=0.3, ms=4,
                               label="sampled positive (projected)"),
                        Line2D([], [], marker="o", ls="", c=POINT_COLORS["negative"], ms=3,
                               label="sampled negative (projected)")]
        if props is not None:
            handles += [Line2D([], [], marker="+", ls="", c=POINT_COLORS["synthetic"], label="SMOTE-GP kept"),
                        Line2D([], [], marker="x", ls="", c=POINT_COLORS["rejected"], label="SMOTE-GP rejected")]
        legend_ax = axes[0][d - 2] if d > 2 else axes[0][0]
        legend_ax.legend(handles=handles, loc="upper right", frameon=True, facecolor="#dddddd")
        if mesh is not None:
            cax = fig.add_axes((0.92, 0.3, 0.015, 0.4))
            fig.colorbar(mesh, cax=cax, label="f(c): accuracy under distortion")
        fig.suptitle(f"Reliability map{(' — ' + title) if title else ''}: f on 2-D slices of C, others at identity")
        fig.subplots_adjust(left=0.07, right=0.9, bottom=0.07, top=0.94, wspace=0.08, hspace=0.08)
        return save(fig, path)


def _draw_agreement(spec, h, slices, path, names, title):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    d = spec.d
    cmap = ListedColormap([c for _, _, c in AGREEMENT])
    with style() as plt:
        fig, axes = _corner(plt, d)
        for (i, j), (xs, ys, f, pv) in slices.items():
            ax = axes[j - 1][i]
            ax.grid(False)
            truth = (f >= h).astype(int)
            # 0 both not, 1 missed, 2 false alarm, 3 both reliable
            ax.pcolormesh(_edges(xs), _edges(ys), pv * 2 + truth, cmap=cmap, vmin=-0.5, vmax=3.5, shading="flat")
            agree = float((truth == pv).mean())
            ax.text(0.03, 0.95, f"{100 * agree:.0f}% agree", transform=ax.transAxes, va="top", fontsize=7,
                    bbox={"fc": "white", "alpha": 0.7, "lw": 0})
            _ticks(ax)
            ax.set_xlim(spec.lower[i], spec.upper[i])
            ax.set_ylim(spec.lower[j], spec.upper[j])
            _label_slice_axes(ax, spec, i, j, d)
        _hide_upper_triangle(axes, d)
        handles = [Patch(facecolor=c, edgecolor="k", lw=0.3, label=lab) for _, lab, c in AGREEMENT]
        legend_ax = axes[0][d - 2] if d > 2 else axes[0][0]
        legend_ax.legend(handles=handles, loc="upper right")
        fig.suptitle(f"Distortion-classifiers' vote ({', '.join(names)}) vs the oracle"
                     f"{(' — ' + title) if title else ''}: where the prediction errs")
        fig.subplots_adjust(left=0.07, right=0.97, bottom=0.07, top=0.94, wspace=0.08, hspace=0.08)
        return save(fig, path)


def _label_slice_axes(ax, spec, i: int, j: int, d: int) -> None:
    """Axis labels on the outer panels of the lower-triangle grid of 2-D slices only."""
    if j == d - 1:
        ax.set_xlabel(axis_label(spec.names[i]))
    else:
        ax.set_xticklabels([])
    if i == 0:
        ax.set_ylabel(axis_label(spec.names[j]))
    else:
        ax.set_yticklabels([])


def _hide_upper_triangle(axes, d: int) -> None:
    for r in range(d - 1):
        for c in range(r + 1, d - 1):
            axes[r][c].axis("off")
