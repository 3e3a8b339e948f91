"""The comparison's figures: both runs' P(reliable) profiles, and the 2-D slices where they disagree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .slice_figures import draw_categories
from .style import axis_label, save, style

COLORS = {"a": "#ff7f0e", "b": "#1f77b4"}


def draw_profiles(spec, profiles: pd.DataFrame, label_a: str, label_b: str, path: Path) -> Path:
    """P(reliable) along each distortion (others at identity) for A and B; 0.5 dashed."""
    d = spec.d
    ncol = min(3, d)
    nrow = int(np.ceil(d / ncol))
    with style() as plt:
        fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False)
        for i, name in enumerate(spec.names):
            ax = axes[i // ncol][i % ncol]
            part = profiles[profiles["distortion"] == name]
            ax.plot(part["level"], part["p_reliable_a"], color=COLORS["a"], lw=1.5, label=f"A: {label_a}")
            ax.plot(part["level"], part["p_reliable_b"], color=COLORS["b"], lw=1.5, ls="--", label=f"B: {label_b}")
            ax.axhline(0.5, color="grey", lw=0.8, ls=":")
            ax.axvline(spec.identity[i], color="grey", lw=0.6, ls=":")
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlim(spec.lower[i], spec.upper[i])
            ax.set_xlabel(axis_label(name))
            if i % ncol == 0:
                ax.set_ylabel("P(reliable)")
        for k in range(d, nrow * ncol):
            axes[k // ncol][k % ncol].axis("off")
        axes[0][0].legend(loc="lower left")
        fig.suptitle("P(f ≥ h) from each run's GP classifier, each distortion alone (others at identity)")
        fig.tight_layout()
        return save(fig, path)


def draw_disagreement(spec, slices: dict, label_a: str, label_b: str, path: Path) -> Path:
    """Each slice coloured: neither, only A, only B, both reliable (P ≥ 0.5); the disagreeing share per panel."""
    from .compare import DISAGREE

    names = {1: f"only A ({label_a}) reliable", 2: f"only B ({label_b}) reliable"}
    palette = [(v, names.get(v, lab), c) for v, lab, c in DISAGREE]
    return draw_categories(spec, slices, palette, lambda cat: f"{100 * float(np.isin(cat, (1, 2)).mean()):.0f}% differ",
                           path, f"Where A ({label_a}) and B ({label_b}) disagree: GP classifiers' P(reliable) ≥ 0.5 "
                                 "on 2-D slices, others at identity")
