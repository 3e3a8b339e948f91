"""What a job records about confidence on the grid R': label states, confident F1, calibration.

* Every grid level's interval for f from the oracle's counts (:mod:`.confidence`) and its state:
  reliable, unreliable or within noise of h at confidence 1 − δ. ``grid_uncertain`` counts the
  levels within noise.
* F1 as today (``f1_<predictor>``, from :mod:`.scoring`) and on the confidently labelled levels
  only: ``confident_f1_<predictor>`` and ``confident_f1_mean`` (the paper's five, as ``f1_mean``).
  Named ``confident_f1_*``, not ``f1_confident_*``: the study reports read every ``f1_<name>``
  metric as a predictor's.
  A predictor is not blamed there for a level whose label D cannot settle.
* The answering predictor's calibration (:mod:`.calibration`): ``brier_gp_classifier`` and the
  reliability diagram ``calibration/reliability_diagram.png`` in the job's output folder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .calibration import brier_score, draw_reliability_diagram, reliability_curve
from .confidence import DELTA, STATE_NAMES, WITHIN_NOISE, count_intervals, early_stopping_looks, label_states
from .predictors import ANSWERING
from .scoring import score_predictors

log = logging.getLogger(__name__)

__all__ = ["grid_intervals", "confidence_metrics"]


def grid_intervals(oracle: Any, levels: np.ndarray, h: float, delta: float = DELTA) -> pd.DataFrame:
    """Per level: ``n_evaluated n_correct lower upper state`` from the counts the labels were decided from.

    The counts come from the oracle's cache when the grid is labelled (no image is evaluated again).
    """
    n_eval, n_corr = oracle.label_counts(levels, h)
    lower, upper = count_intervals(n_corr, n_eval, oracle.n, early_stopping_looks(oracle.n, oracle.chunk_size),
                                   delta)
    return pd.DataFrame({"n_evaluated": n_eval, "n_correct": n_corr, "lower": lower, "upper": upper,
                         "state": label_states(lower, upper, h)})


def confidence_metrics(oracle: Any, grid: Any, h: float, fitted: Mapping[str, Any] | None, box: Any,
                       out_dir: str | Path | None = None, delta: float = DELTA,
                       title: str = "") -> tuple[dict[str, float], dict[str, Path]]:
    """The job's confidence metrics and, with ``out_dir``, its files (``<out_dir>/calibration/``).

    Returns ``(metrics, files)``: metrics ``grid_uncertain``, ``confident_f1_<predictor>``,
    ``confident_f1_mean``, ``brier_gp_classifier`` (when the run has the GP classifier); files
    ``grid_confidence_csv``, ``reliability_curve_csv`` and ``reliability_diagram_png`` (for logging).
    """
    table = grid_intervals(oracle, grid.levels, h, delta)
    states = table["state"].to_numpy()
    metrics: dict[str, float] = {"grid_uncertain": int((states == WITHIN_NOISE).sum())}
    files: dict[str, Path] = {}
    unit = box.to_unit(grid.levels)
    confident = states != WITHIN_NOISE
    if fitted and confident.any():
        scores = score_predictors(fitted, unit[confident], grid.labels[confident])
        metrics.update({f"confident_f1_{row.predictor}": float(row.f1) for row in scores.itertuples(index=False)})
    answering = (fitted or {}).get(ANSWERING)
    curve = None
    if answering is not None and hasattr(answering, "predict_proba"):
        p = np.asarray(answering.predict_proba(unit))[:, 1]
        metrics[f"brier_{ANSWERING}"] = brier_score(grid.labels, p)
        curve = reliability_curve(grid.labels, p)
        table["p_reliable"] = p
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame = pd.concat([pd.DataFrame(grid.levels, columns=list(box.names)), table], axis=1)
        frame["label"] = np.asarray(grid.labels).astype(int)
        frame["state"] = frame["state"].map(STATE_NAMES)
        files["grid_confidence_csv"] = out / "grid_confidence.csv"
        frame.to_csv(files["grid_confidence_csv"], index=False)
        if curve is not None:
            files["reliability_curve_csv"] = out / "reliability_curve.csv"
            curve.to_csv(files["reliability_curve_csv"], index=False)
            files["reliability_diagram_png"] = draw_reliability_diagram(
                curve, metrics[f"brier_{ANSWERING}"], out / "reliability_diagram.png", title)
    return metrics, files
