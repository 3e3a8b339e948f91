"""The distortion-classifiers S (section 4.1): dt, rf, lr, svm, nn, and an optional GP reference.

All work on levels scaled to the unit cube [0, 1]^d and are seeded. Their parameters come from
``conf/predictors/paper.yaml``; the paper does not state them, so scikit-learn's defaults are used
except where a default would not converge (``lr.max_iter``, ``nn.max_iter``).

``gp_classifier`` (beyond the paper) predicts P(f(c) >= h) = Phi((mu(c) - h) / sigma(c)) from a GP
regression fitted on the training set's f values; it needs ``h`` and is fitted by every imbalance
method on the *real* training set R with its f (synthetic levels have no f), so it is a
method-independent reference.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Mapping

import numpy as np
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .errors import ConfigError, UnknownNameError
from .scoring import score_predictors
from .space import check_threshold

__all__ = ["PREDICTORS", "PAPER_PREDICTORS", "GPThresholdClassifier", "make_predictors", "score_predictors", "needs_f"]


class GPThresholdClassifier(ClassifierMixin, BaseEstimator):
    """Classify a level as reliable with P(f(c) >= h) = Phi((mu(c) - h) / sigma(c)) from a GP on f.

    Parameters
    ----------
    h : float
        Reliability threshold in [0, 1].
    kernel : {"matern52", "matern32", "rbf"}, default="matern52"
        GP covariance (fitted amplitude times ARD kernel on the unit cube).
    noise : float, default=1e-4
        Observation noise variance on standardised f (f is an accuracy measured on a finite set).
    random_state : int or None, default=None
        Seeds the GP optimiser's restarts.

    Notes
    -----
    ``fit(X, y, f=None)``: with ``f`` the GP regresses f and thresholds at ``h``; without it the GP
    regresses the 0/1 labels and thresholds at 0.5 (so it still works as a plain classifier).
    """

    _parameter_constraints: dict = {
        "h": [Interval(Real, 0, 1, closed="both")],
        "kernel": [StrOptions({"matern52", "matern32", "rbf"})],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, h: float = 0.5, kernel: str = "matern52", noise: float = 1e-4, random_state: int | None = None):
        self.h = h
        self.kernel = kernel
        self.noise = noise
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None = None) -> "GPThresholdClassifier":
        from .imbalance.smote_gp import fit_gp  # the same GP (and scaling convention) as SMOTE-GP

        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.classes_ = np.array([0, 1])
        if f is None:
            targets, self.threshold_ = y.astype(float), 0.5
        else:
            targets, self.threshold_ = np.asarray(f, dtype=float).reshape(-1), check_threshold(self.h)
        if targets.shape[0] != X.shape[0]:
            raise ConfigError("f", targets.shape, f"must have one value per level ({X.shape[0]})")
        self.gp_ = fit_gp(X, targets, self.kernel, self.noise, random_state=self.random_state)
        # fit_gp standardises the targets; keep the scale to map predictions back.
        self.target_mean_, self.target_std_ = targets.mean(), targets.std() or 1.0
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "gp_")
        mu, sd = self.gp_.predict(np.asarray(X, dtype=float), return_std=True)
        mu = self.target_mean_ + self.target_std_ * mu
        sd = np.maximum(self.target_std_ * sd, 1e-12)
        p = norm.cdf((mu - self.threshold_) / sd)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _mlp(**params: Any) -> MLPClassifier:
    if "hidden_layer_sizes" in params:  # YAML gives a list, sklearn wants a tuple
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    return MLPClassifier(**params)


PREDICTORS: dict[str, Any] = {
    "dt": DecisionTreeClassifier,
    "rf": RandomForestClassifier,
    "lr": LogisticRegression,
    "svm": SVC,
    "nn": _mlp,
    "gp_classifier": GPThresholdClassifier,
}
PAPER_PREDICTORS = ("dt", "rf", "lr", "svm", "nn")


def needs_f(estimator: Any) -> bool:
    """Whether a predictor consumes f values (it is then fitted on the real training set)."""
    return isinstance(estimator, GPThresholdClassifier)


def make_predictors(cfg: Mapping[str, Any] | None, seed: int, h: float | None = None) -> dict[str, Any]:
    """Unfitted, seeded predictors from a ``conf/predictors`` config.

    Parameters
    ----------
    cfg : mapping or None
        ``{predictor_name: {param: value}, ...}``; a ``name`` key (the config's registry name) is
        ignored. ``None`` gives the paper's five with default parameters. A DictConfig works too.
    seed : int
        ``random_state`` of every predictor.
    h : float or None
        Reliability threshold, needed only by ``gp_classifier``.

    Returns
    -------
    dict
        ``{name: estimator}`` in config order.
    """
    if cfg is None:
        cfg = {name: {} for name in PAPER_PREDICTORS}
    if hasattr(cfg, "_content"):  # an OmegaConf DictConfig
        from omegaconf import OmegaConf

        cfg = OmegaConf.to_container(cfg, resolve=True)
    predictors: dict[str, Any] = {}
    for name, params in cfg.items():
        if name == "name":
            continue
        if name not in PREDICTORS:
            raise UnknownNameError("predictor", name, list(PREDICTORS))
        params = dict(params or {})
        if name == "gp_classifier":
            if h is None:
                raise ConfigError("h", h, "is needed by gp_classifier (pass make_predictors(..., h=...))")
            params["h"] = check_threshold(h)
        try:
            predictors[name] = PREDICTORS[name](**params, random_state=seed)
        except TypeError as error:
            raise ConfigError(f"predictors.{name}", params, f"must be parameters of {name} ({error})") from None
        if hasattr(predictors[name], "_validate_params"):
            try:
                predictors[name]._validate_params()
            except ValueError as error:
                raise ConfigError(f"predictors.{name}", params, f"must be valid ({error})") from None
    return predictors
