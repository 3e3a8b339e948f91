"""The distortion-classifiers S (section 4.1): dt, rf, lr, svm, nn, and an optional GP reference.

All work on levels scaled to the unit cube [0, 1]^d and are seeded. They are built from
``conf/predictors/<name>.yaml``: every entry except ``name`` is a ``_target_`` node that
``build("predictors", node)`` (:mod:`distortion_reliability.build`) turns into an unfitted estimator, so any
scikit-learn style classifier is one YAML entry away (``+predictors.knn={_target_:
sklearn.neighbors.KNeighborsClassifier}``). ``paper.yaml`` holds the paper's five; the paper does
not state their parameters, so scikit-learn's defaults are used except where a default would not
converge (``lr.max_iter``, ``nn.max_iter``).

``gp_classifier`` (beyond the paper; in the default ``predictors=with_gp``, left out by
``predictors=paper``) predicts P(f(c) >= h) = Phi((mu(c) - h) / sigma(c)) from a GP regression
fitted on the training set's f values. It is the *answering* predictor (:data:`ANSWERING`): the most
accurate one on every setting measured, so ``predict``, the profile and the calibration metrics
answer with it, while the paper's five stay scored for the tables (``f1_mean`` averages those five
only). A predictor whose ``fit`` takes ``f`` (:func:`distortion_reliability.imbalance.needs_f`) is
fitted by every imbalance method on the *real* training set R with its f (synthetic levels have no
f), so it is a method-independent reference.
"""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .errors import ConfigError
from .scoring import score_predictors
from .box import check_threshold

__all__ = ["ANSWERING", "GPThresholdClassifier", "score_predictors"]

#: The predictor whose P(reliable) answers the quality-control question when a run has it.
ANSWERING = "gp_classifier"


class GPThresholdClassifier(ClassifierMixin, BaseEstimator):
    """Classify a level as reliable with P(f(c) >= h) = Phi((mu(c) - h) / sigma(c)) from a GP on f.

    Parameters
    ----------
    h : float
        Reliability threshold in [0, 1].
    kernel : {"matern52", "rbf"}, default="matern52"
        GP covariance (fitted amplitude times ARD kernel on the unit cube), the one GP of
        :mod:`distortion_reliability.gp` (length scales by MAP within [0.025, 10]).
    noise : float, default=1e-4
        Observation noise variance on standardised f (f is an accuracy measured on a finite set).
    random_state : int or None, default=None
        Kept for the predictors' common interface; the GP fit is deterministic.

    Notes
    -----
    ``fit(X, y, f=None)``: with ``f`` the GP regresses f and thresholds at ``h``; without it the GP
    regresses the 0/1 labels and thresholds at 0.5 (so it still works as a plain classifier).
    """

    _parameter_constraints: dict = {
        "h": [Interval(Real, 0, 1, closed="both")],
        "kernel": [StrOptions({"matern52", "rbf"})],
        "noise": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, h: float = 0.5, kernel: str = "matern52", noise: float = 1e-4, random_state: int | None = None):
        self.h = h
        self.kernel = kernel
        self.noise = noise
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None = None) -> "GPThresholdClassifier":
        from .gp import FitOptions, fit_gp  # the one GP helper (samplers, SMOTE-GP, this)

        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.classes_ = np.array([0, 1])
        if f is None:
            targets, self.threshold_ = y.astype(float), 0.5
        else:
            targets, self.threshold_ = np.asarray(f, dtype=float).reshape(-1), check_threshold(self.h)
        if targets.shape[0] != X.shape[0]:
            raise ConfigError("f", targets.shape, f"must have one value per level ({X.shape[0]})")
        options = FitOptions(lengthscale_bounds=(0.025, 10.0), noise=float(self.noise), outputscale_bounds=(1e-2, 1e2))
        self.gp_ = fit_gp(X, targets, self.kernel, options=options)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "gp_")
        mu, var = self.gp_.predict(np.asarray(X, dtype=float))  # in the units of f
        p = norm.cdf((mu - self.threshold_) / np.sqrt(np.maximum(var, 1e-24)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def predict_f(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The GP's estimate of f at X: posterior mean and standard deviation (of the 0/1 label when fitted without f)."""
        check_is_fitted(self, "gp_")
        mu, var = self.gp_.predict(np.asarray(X, dtype=float))
        return np.asarray(mu, dtype=float), np.sqrt(np.maximum(np.asarray(var, dtype=float), 0.0))

