"""Scoring of fitted distortion-classifiers on the grid R' (section 4.1, "Evaluation metric").

The paper's number is the F1-score of each of the five distortion-classifiers on the grid,
averaged over them (the ``mean`` row, ``f1_mean``: over the paper's five even when the answering
GP classifier or a user's predictor is scored beside them, so Tables 3-4 keep their meaning);
precision, recall and balanced accuracy are reported alongside.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_score, recall_score

from .errors import ConfigError

__all__ = ["METRICS", "MEAN_ROW", "PAPER_PREDICTORS", "score_predictors", "score_labels", "flat_metrics",
           "mean_over"]

#: Columns of the score table after ``predictor`` (also the ``scores.csv`` artifact).
METRICS = ("f1", "precision", "recall", "balanced_accuracy")
MEAN_ROW = "mean"
#: The paper's five distortion-classifiers: the ``mean`` row averages these (all predictors when none is scored).
PAPER_PREDICTORS = ("dt", "rf", "lr", "svm", "nn")


def mean_over(names) -> list[str]:
    """The predictors the ``mean`` row averages: the paper's five among ``names``, else all of them."""
    paper = [n for n in names if n in PAPER_PREDICTORS]
    return paper or list(names)


def score_labels(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The metrics of one prediction of the grid labels (positive class 1; 0/0 counts as 0)."""
    y_true = np.asarray(y_true).astype(int).reshape(-1)
    y_pred = np.asarray(y_pred).astype(int).reshape(-1)
    return {
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred, zero_division=0)),
        # With one class in y_true sklearn warns and averages over that class only; keep its value.
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
    }


def score_predictors(fitted: Mapping[str, Any], X_grid_unit: np.ndarray, y_grid: np.ndarray) -> pd.DataFrame:
    """Score every fitted predictor on the grid; one row per predictor plus a ``mean`` row.

    Parameters
    ----------
    fitted : mapping of str to fitted classifier
        ``{predictor name: estimator with predict}``, e.g. from ``method.fit_predictors``.
    X_grid_unit : ndarray of shape (n_grid, d)
        Grid levels scaled to the unit cube.
    y_grid : ndarray of shape (n_grid,)
        Grid labels I[f >= h] (0/1).

    Returns
    -------
    pandas.DataFrame
        Columns ``predictor`` and :data:`METRICS`; the last row, ``predictor == "mean"``, is the
        column-wise mean over the paper's predictors (:func:`mean_over`; its ``f1`` is the paper's number).
    """
    X_grid_unit = np.asarray(X_grid_unit, dtype=float)
    y_grid = np.asarray(y_grid).reshape(-1)
    if X_grid_unit.ndim != 2 or X_grid_unit.shape[0] != y_grid.shape[0]:
        raise ConfigError("X_grid_unit", X_grid_unit.shape, f"must be 2-D with one row per label ({y_grid.shape[0]})")
    if not np.isin(y_grid, (0, 1)).all():
        raise ConfigError("y_grid", np.unique(y_grid).tolist(), "must hold 0/1 labels only")
    if not fitted:
        raise ConfigError("fitted", dict(fitted), "must hold at least one fitted predictor")
    rows = [{"predictor": name, **score_labels(y_grid, model.predict(X_grid_unit))} for name, model in fitted.items()]
    table = pd.DataFrame(rows, columns=["predictor", *METRICS])
    mean = table.loc[table.predictor.isin(mean_over(fitted)), list(METRICS)].mean().to_dict()
    return pd.concat([table, pd.DataFrame([{"predictor": MEAN_ROW, **mean}])], ignore_index=True)


def flat_metrics(table: pd.DataFrame) -> dict[str, float]:
    """A score table as flat metrics: ``{"<metric>_<predictor>": value}``, the mean row as ``_mean``.

    E.g. ``f1_dt``, ``recall_svm``, ``f1_mean`` (the paper's number), ``balanced_accuracy_mean``.
    """
    return {
        f"{metric}_{row['predictor']}": float(row[metric]) for row in table.to_dict("records") for metric in METRICS
    }
