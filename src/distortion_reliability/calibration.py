"""Is P(reliable) a probability one can act on? Brier score and reliability diagram on the grid.

The answering predictor (the GP classifier) says P(f(c) ≥ h); on the grid R' every level's true
label is known, so its calibration is measured there for every run:

    Brier = mean over the grid of (P(reliable | c) − I[f(c) ≥ h])²     (0 perfect; 0.25 = always 0.5)

and the reliability diagram bins the grid by predicted P and plots, per bin, the observed share of
reliable levels against the mean prediction (on the diagonal when calibrated).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = ["brier_score", "reliability_curve", "draw_reliability_diagram"]


def _pair(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.asarray(p, dtype=float).reshape(-1)
    if y.shape != p.shape or y.size == 0:
        raise ConfigError("probabilities", p.shape, f"must hold one value per label ({y.shape[0]})")
    if not np.isin(y, (0, 1)).all() or np.any((p < 0) | (p > 1)):
        raise ConfigError("probabilities", "labels", "must be 0/1 labels and probabilities in [0, 1]")
    return y, p


def brier_score(y_true, p_reliable) -> float:
    """Mean squared difference between P(reliable) and the 0/1 label."""
    y, p = _pair(y_true, p_reliable)
    return float(np.mean((p - y) ** 2))


def reliability_curve(y_true, p_reliable, bins: int = 10) -> pd.DataFrame:
    """Per bin of P (``bins`` equal widths on [0, 1]): ``p_low p_high n mean_p observed`` (empty bins dropped)."""
    y, p = _pair(y_true, p_reliable)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    which = np.clip(np.digitize(p, edges[1:-1], right=False), 0, int(bins) - 1)
    rows = [{"p_low": edges[b], "p_high": edges[b + 1], "n": int((which == b).sum()),
             "mean_p": float(p[which == b].mean()), "observed": float(y[which == b].mean())}
            for b in range(int(bins)) if np.any(which == b)]
    return pd.DataFrame(rows, columns=["p_low", "p_high", "n", "mean_p", "observed"])


def draw_reliability_diagram(curve: pd.DataFrame, brier: float, path: str | Path, title: str = "") -> Path:
    """The reliability diagram: observed share of reliable levels vs mean P per bin, bin sizes below."""
    from .reporting.style import save, style

    with style() as plt:
        fig, (ax, counts) = plt.subplots(2, 1, figsize=(4.2, 5.0), sharex=True,
                                         gridspec_kw={"height_ratios": [3, 1]})
        ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="calibrated")
        ax.plot(curve["mean_p"], curve["observed"], marker="o", color="#1f77b4",
                label=f"GP classifier (Brier {brier:.3f})")
        ax.set_ylabel("observed share reliable")
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(loc="upper left")
        counts.bar((curve["p_low"] + curve["p_high"]) / 2, curve["n"], width=curve["p_high"] - curve["p_low"],
                   color="#bbbbbb", edgecolor="k", lw=0.3)
        counts.set_yscale("log")
        counts.set_xlabel("predicted P(reliable)")
        counts.set_ylabel("grid levels")
        fig.suptitle(f"Calibration on the grid{(' — ' + title) if title else ''}", fontsize=9)
        fig.tight_layout()
        return save(fig, Path(path))
