"""MESA's ensemble training environment: meta-sampling by Gaussian hardness weights, the meta-state, and
the environment a meta-training episode runs in (one episode builds one ensemble)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import clone
from sklearn.metrics import average_precision_score, f1_score, matthews_corrcoef

from ...errors import ConfigError

__all__ = ["METRICS", "gaussian_hardness_weights", "meta_sample", "meta_state"]

# Validation metrics the reward can be built on; each takes (y_true, p_minority).
METRICS = {
    "aucprc": lambda y, p: float(average_precision_score(y, p)),
    "f1": lambda y, p: float(f1_score(y, p > 0.5, zero_division=0.0)),
    "mcc": lambda y, p: float(matthews_corrcoef(y, p > 0.5)),
}


# ----------------------------------------------------------------------------- meta-sampling


def gaussian_hardness_weights(hardness: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Sampling weights ``exp(-(e - mu)^2 / (2 sigma^2))``, rescaled so the largest is 1.

    Parameters
    ----------
    hardness : ndarray of shape (n,)
        Per-sample error ``e`` of the current ensemble, in ``[0, 1]``.
    mu : float
        Centre of the Gaussian: the hardness the meta-sampler wants to see most.
    sigma : float
        Width of the Gaussian (> 0).

    Returns
    -------
    ndarray of shape (n,)
        Strictly positive weights (a 1e-12 floor keeps every sample drawable, so that a subset
        of any size up to ``n`` exists even when all errors lie far from ``mu``).
    """
    # Work with log-weights shifted by their max: for small sigma the raw Gaussian underflows to 0.
    log_w = -0.5 * ((np.asarray(hardness, dtype=float) - mu) / sigma) ** 2
    return np.exp(log_w - log_w.max()) + 1e-12


def meta_sample(
    hardness: np.ndarray,
    n_samples: int,
    mu: float,
    sigma: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw ``n_samples`` distinct positions with Gaussian hardness weights (MESA's meta-sampling).

    Parameters
    ----------
    hardness : ndarray of shape (n,)
        Error of the current ensemble on each majority sample.
    n_samples : int
        Subset size, at most ``n``.
    mu, sigma : float
        Parameters of :func:`gaussian_hardness_weights`; ``mu`` is the meta-sampler's action.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of shape (n_samples,)
        Sorted positions into ``hardness``.
    """
    hardness = np.asarray(hardness, dtype=float)
    if not 0 <= n_samples <= hardness.size:
        raise ConfigError("n_samples", n_samples, f"must lie in [0, {hardness.size}]")
    weights = gaussian_hardness_weights(hardness, mu, sigma)
    chosen = rng.choice(hardness.size, size=n_samples, replace=False, p=weights / weights.sum())
    return np.sort(chosen)


def meta_state(error_train: np.ndarray, error_valid: np.ndarray, k_bins: int) -> np.ndarray:
    """MESA's meta-state: error histograms on the training and validation majority samples.

    Parameters
    ----------
    error_train, error_valid : ndarray
        Ensemble errors in ``[0, 1]`` on the majority samples of each split.
    k_bins : int
        Number of equal-width bins over ``[0, 1]``.

    Returns
    -------
    ndarray of shape (2 * k_bins,)
        Both histograms, each scaled to sum to ``k_bins`` (so a uniform histogram is all ones and
        the scale does not depend on the split sizes).
    """
    parts = []
    for errors in (error_train, error_valid):
        counts, _ = np.histogram(np.clip(errors, 0.0, 1.0), bins=k_bins, range=(0.0, 1.0))
        total = counts.sum()
        parts.append(counts / total * k_bins if total > 0 else np.zeros(k_bins))
    return np.concatenate(parts).astype(np.float32)


def _minority_probability(model: Any, X: np.ndarray) -> np.ndarray:
    """P(minority) from a base learner fitted on labels {0 = majority, 1 = minority}."""
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        return proba[:, list(model.classes_).index(1)]
    if hasattr(model, "decision_function"):
        # Positive decision values mean classes_[1] == 1 (the minority) in sklearn's convention.
        return expit(model.decision_function(X))
    return (np.asarray(model.predict(X)) == 1).astype(float)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _reseed(estimator: Any, rng: np.random.Generator) -> Any:
    """Give every ``random_state`` parameter of an estimator (nested ones too) a seed from ``rng``.

    Without this a base learner with ``random_state=None`` would make the ensemble irreproducible.
    """
    keys = [k for k in estimator.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
    if keys:
        estimator.set_params(**{k: int(rng.integers(2**31 - 1)) for k in sorted(keys)})
    return estimator


# ----------------------------------------------------------------------------- environment


@dataclass
class _EnsembleEnv:
    """The ensemble training environment: one episode builds one ensemble of ``n_estimators``."""

    estimator: Any
    X_train: np.ndarray
    y_train: np.ndarray  # 0 = majority, 1 = minority
    X_valid: np.ndarray
    y_valid: np.ndarray
    n_estimators: int
    k_bins: int
    sigma: float
    metric: str
    rng: np.random.Generator
    estimators: list = field(default_factory=list)
    subsets: list = field(default_factory=list)
    actions: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.majority_train = np.flatnonzero(self.y_train == 0)
        self.minority_train = np.flatnonzero(self.y_train == 1)
        self.majority_valid = self.y_valid == 0
        self.score_fn = METRICS[self.metric]

    def reset(self) -> np.ndarray:
        """Start a new ensemble with one learner on a random under-sample; return the state."""
        self.estimators, self.subsets, self.actions = [], [], []
        self.p_train = np.zeros(len(self.y_train))
        self.p_valid = np.zeros(len(self.y_valid))
        chosen = np.sort(self.rng.choice(self.majority_train, size=len(self.minority_train), replace=False))
        self._add_learner(chosen, action=float("nan"))
        return self.state()

    def state(self) -> np.ndarray:
        # The majority's label is 0, so its error |y - p| is simply p.
        return meta_state(self.p_train[self.majority_train], self.p_valid[self.majority_valid], self.k_bins)

    def valid_score(self) -> float:
        return self.score_fn(self.y_valid, self.p_valid)

    @property
    def done(self) -> bool:
        return len(self.estimators) >= self.n_estimators

    def step(self, mu: float) -> tuple[np.ndarray, float, bool]:
        """Add one learner trained on a subset meta-sampled with ``mu``; return (state, reward, done)."""
        before = self.valid_score()
        positions = meta_sample(
            self.p_train[self.majority_train], len(self.minority_train), mu, self.sigma, self.rng
        )
        self._add_learner(self.majority_train[positions], action=mu)
        return self.state(), self.valid_score() - before, self.done

    def _add_learner(self, majority_rows: np.ndarray, action: float) -> None:
        rows = np.concatenate([majority_rows, self.minority_train])
        model = _reseed(clone(self.estimator), self.rng).fit(self.X_train[rows], self.y_train[rows])
        self.estimators.append(model)
        self.subsets.append(rows)
        self.actions.append(action)
        # Running mean of member probabilities: O(1) learners evaluated per step.
        n = len(self.estimators)
        self.p_train += (_minority_probability(model, self.X_train) - self.p_train) / n
        self.p_valid += (_minority_probability(model, self.X_valid) - self.p_valid) / n
