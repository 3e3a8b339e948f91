"""The corner plots of 2-D slices of C: the reliability map, the classifier-vs-oracle map and their helpers.

A slice is ``(xs, ys, f, pv)``: its axes, f on the ``len(ys) × len(xs)`` grid (indexed [y, x]) and the
predicted labels (or None). Panels sit in the lower triangle of a (d-1) × (d-1) grid: distortion i on
x, j on y, panel ``axes[j - 1][i]``.
"""

from __future__ import annotations

import numpy as np

from .style import POINT_COLORS, axis_label, save, style

AGREEMENT = (  # value, label, colour
    (0, "both not reliable", "#eeeeee"),
    (1, "missed (oracle reliable, classifier not)", "#ff7f0e"),
    (2, "false alarm (classifier reliable, oracle not)", "#d62728"),
    (3, "both reliable", "#2ca02c"),
)


def corner(plt, d: int, cell: float = 2.3):
    fig, axes = plt.subplots(d - 1, d - 1, figsize=(cell * (d - 1) + 1.2, cell * (d - 1)), squeeze=False)
    return fig, axes


def ticks(ax, nbins: int = 4) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins, prune="upper"))  # no clash with the next panel's first label
    ax.yaxis.set_major_locator(MaxNLocator(nbins))


def edges(v: np.ndarray) -> np.ndarray:
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[:-1] + v[1:]) / 2
    return np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]


def draw_map(spec, h, slices, train, props, has_fit, path, title):
    d = spec.d
    with style() as plt:
        from matplotlib.lines import Line2D

        fig, axes = corner(plt, d)
        mesh = None
        for (i, j), (xs, ys, f, pv) in slices.items():
            ax = axes[j - 1][i]
            ax.grid(False)
            # Gouraud: colour interpolated between the slice's levels, as the contour is (a coarse slice
            # reads as a smooth field, not as blocks that suggest f is constant inside them).
            mesh = ax.pcolormesh(xs, ys, f, cmap="viridis", vmin=0, vmax=1, shading="gouraud")
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
            finish_panel(ax, spec, i, j)
        hide_upper_triangle(axes, d)
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


def draw_agreement(spec, h, slices, path, names, title):
    """The classifiers' vote against the oracle on each slice: both not, missed, false alarm, both."""
    cats = {key: (xs, ys, pv * 2 + (f >= h).astype(int)) for key, (xs, ys, f, pv) in slices.items()}
    return draw_categories(spec, cats, AGREEMENT, lambda cat: f"{100 * float(np.isin(cat, (0, 3)).mean()):.0f}% agree",
                           path, f"Distortion-classifiers' vote ({', '.join(names)}) vs the oracle"
                                 f"{(' — ' + title) if title else ''}: where the prediction errs", star=False)


def draw_categories(spec, slices, palette, note, path, suptitle, star: bool = True):
    """Slices of categories 0-3 (``(xs, ys, cat)``) coloured by ``palette`` ((value, label, colour), ...),
    each panel annotated with ``note(cat)``."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    d = spec.d
    cmap = ListedColormap([c for _, _, c in palette])
    with style() as plt:
        fig, axes = corner(plt, d)
        for (i, j), (xs, ys, cat) in slices.items():
            ax = axes[j - 1][i]
            ax.grid(False)
            ax.pcolormesh(edges(xs), edges(ys), cat, cmap=cmap, vmin=-0.5, vmax=len(palette) - 0.5, shading="flat")
            ax.text(0.03, 0.95, note(cat), transform=ax.transAxes, va="top", fontsize=7,
                    bbox={"fc": "white", "alpha": 0.7, "lw": 0})
            finish_panel(ax, spec, i, j, star)
        hide_upper_triangle(axes, d)
        handles = [Patch(facecolor=c, edgecolor="k", lw=0.3, label=lab) for _, lab, c in palette]
        legend_ax = axes[0][d - 2] if d > 2 else axes[0][0]
        legend_ax.legend(handles=handles, loc="upper right")
        fig.suptitle(suptitle)
        fig.subplots_adjust(left=0.07, right=0.97, bottom=0.07, top=0.94, wspace=0.08, hspace=0.08)
        return save(fig, path)


def finish_panel(ax, spec, i: int, j: int, star: bool = True) -> None:
    """Limits to C, the identity level as a star, ticks, and labels on the outer panels only."""
    ax.set_xlim(spec.lower[i], spec.upper[i])
    ax.set_ylim(spec.lower[j], spec.upper[j])
    if star:
        ax.plot(spec.base[i], spec.base[j], marker="*", c="w", ms=7, mec="k", mew=0.5)
    ticks(ax)
    label_slice_axes(ax, spec, i, j, spec.d)


def label_slice_axes(ax, spec, i: int, j: int, d: int) -> None:
    """Axis labels on the outer panels of the lower-triangle grid of 2-D slices only."""
    if j == d - 1:
        ax.set_xlabel(axis_label(spec.names[i]))
    else:
        ax.set_xticklabels([])
    if i == 0:
        ax.set_ylabel(axis_label(spec.names[j]))
    else:
        ax.set_yticklabels([])


def hide_upper_triangle(axes, d: int) -> None:
    for r in range(d - 1):
        for c in range(r + 1, d - 1):
            axes[r][c].axis("off")
