"""One matplotlib style for every report figure: sizes, fonts, fixed colours per sampler and method."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Sequence

#: The samplers' colours of ``sampling_figure.SAMPLER_COLORS`` (copied: importing that module loads the
#: samplers, torch and BoTorch, seconds a report does not need).
SAMPLER_COLORS = {"random": "C0", "gp": "C1", "gp_batch": "C2", "straddle": "C3", "gp_sqrt": "C4"}

#: A method keeps its colour in every figure (SMOTE blue, SMOTE-GP red as in most of the paper's plots).
METHOD_COLORS = {
    "smote": "#1f77b4", "smote_gp": "#d62728", "random_over": "#2ca02c", "adasyn": "#9467bd",
    "smote_borderline": "#8c564b", "smote_svm": "#e377c2", "smote_enn": "#7f7f7f", "smote_tomek": "#bcbd22",
    "smote_wb": "#17becf", "none": "#000000", "reweight": "#ff7f0e",
}
#: Figure 10's (and the maps') point colours, the paper's: real negatives blue, real positives orange,
#: synthetic positives green.
POINT_COLORS = {"negative": "#1f77b4", "positive": "#ff7f0e", "synthetic": "#2ca02c", "rejected": "#d62728"}
#: Units shown after a distortion's value (the paper's Table 1).
UNITS = {"rotation": "°"}
AXIS_LABELS = {
    "scale": "scale factor", "rotation": "rotation (degrees)", "translation_x": "translation x (fraction of width)",
    "translation_y": "translation y (fraction of height)", "darkness": "darkness (intensity factor)",
    "rain": "rain intensity (0-1)", "contrast": "contrast factor",
}

RC = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.bbox": "tight",
}


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (servers, CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextlib.contextmanager
def style() -> Iterator:
    plt = pyplot()
    with plt.rc_context(RC):
        yield plt


def colors_for(names: Sequence[str], fixed: dict[str, str]) -> dict[str, str]:
    """The fixed colour of a known name, the next unused tab10 colour otherwise."""
    used = set(fixed.values())
    free = iter([c for c in (f"C{i}" for i in range(10)) if c not in used] + [f"C{i}" for i in range(10)] * 10)
    return {n: fixed.get(n) or next(free) for n in names}


def line_colors(labels: Sequence[str]) -> dict[str, str]:
    """Colour per curve label ``sampler`` / ``method`` / ``sampler / method`` (last part decides)."""
    out, keys = {}, []
    for label in labels:
        last = label.split(" / ")[-1]
        keys.append(last)
    fixed = {**SAMPLER_COLORS, **METHOD_COLORS}
    distinct = list(dict.fromkeys(keys))
    by_key = colors_for(distinct, fixed)
    if len(set(by_key[k] for k in keys)) < len(set(labels)):  # two curves share a method: cycle instead
        return {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for label, key in zip(labels, keys):
        out[label] = by_key[key]
    return out


def axis_label(name: str) -> str:
    return AXIS_LABELS.get(name, name)


def save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    pyplot().close(fig)
    return path
