"""The MESA estimator: splits the data, meta-trains the SAC meta-sampler, builds the final ensemble."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, is_classifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ...errors import CannotRebalanceError, ConfigError, UnknownNameError
from .env import METRICS, _EnsembleEnv, _is_real, _minority_probability
from .sac import _ReplayBuffer, _SACAgent

__all__ = ["MESAClassifier"]


class MESAClassifier(ClassifierMixin, BaseEstimator):
    """MESA ensemble for binary imbalanced classification (Liu et al., NeurIPS 2020).

    ``fit`` splits the data into training and validation parts, meta-trains a SAC meta-sampler
    for ``meta_episodes`` episodes, then builds the final ensemble with the learned policy.

    Parameters
    ----------
    estimator : sklearn classifier, default=None
        Base learner of the final ensemble; ``None`` means ``DecisionTreeClassifier()``. Any
        classifier works; see the module docstring for those without ``predict_proba``.
    n_estimators : int, default=10
        Number of base learners (also the length of a meta-training episode).
    k_bins : int, default=5
        Bins of each error histogram in the meta-state (state size ``2 * k_bins``).
    meta_episodes : int, default=30
        Meta-training episodes (each builds one ensemble); ``0`` skips meta-training and leaves
        the policy at its random initialisation.
    meta_random_episodes : int, default=8
        Leading episodes that take uniform random actions to fill the replay buffer.
    meta_estimator : sklearn classifier or "estimator", default=None
        Base learner used during meta-training. ``None`` means ``DecisionTreeClassifier()``: cheap,
        and the meta-state does not depend on the learner (see the module docstring), so slow
        estimators (forests, MLPs) do not multiply the meta-training cost. ``"estimator"`` uses
        ``estimator`` itself, as the paper does.
    sigma : float, default=0.2
        Width of the Gaussian hardness weighting.
    metric : {"aucprc", "f1", "mcc"}, default="aucprc"
        Validation score whose gain is the reward.
    reward_scale : float, default=100.0
        Multiplier of the reward (score gains are ~0.01; this brings them near 1 for the critics).
    sac_hidden_size : int, default=50
        Width of the two hidden layers of the actor and of each critic.
    sac_lr : float, default=1e-3
        Adam learning rate of actor and critics.
    sac_gamma : float, default=0.99
        Discount factor.
    sac_tau : float, default=0.01
        Soft update rate of the target critics.
    sac_alpha : float, default=0.1
        Entropy temperature (fixed).
    sac_batch_size : int, default=64
        Replay mini-batch size; updates start once the buffer holds this many transitions.
    sac_updates_per_step : int, default=1
        Gradient updates per environment step.
    sac_replay_size : int, default=1000
        Capacity of the replay buffer.
    validation_fraction : float, default=0.2
        Stratified fraction of each class held out for the meta-state and the reward (at least
        one sample of each class on each side).
    random_state : int, RandomState or None, default=None
        Seeds the split, the sampling, the base learners and the SAC networks.
    device : str, default="cpu"
        Torch device of the SAC networks.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        Class labels, sorted.
    minority_class_ : object
        The less frequent label (the positive class of the metrics).
    estimators_ : list of fitted classifiers
        Members of the final ensemble, trained on labels ``{0: majority, 1: minority}``.
    subsets_ : list of ndarray
        For each member, the row indices into ``X`` (as passed to ``fit``) of its training set.
    actions_ : ndarray of shape (n_estimators,)
        ``mu`` used for each member's subset (``nan`` for the first, randomly under-sampled one).
    train_indices_, valid_indices_ : ndarray
        Rows of ``X`` in the training and validation splits.
    meta_scores_ : list of float
        Validation score of the final ensemble of each meta-training episode.
    meta_sampler_ : torch.nn.Module
        The trained policy network.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        estimator: Any = None,
        n_estimators: int = 10,
        k_bins: int = 5,
        meta_episodes: int = 30,
        meta_random_episodes: int = 8,
        meta_estimator: Any = None,
        sigma: float = 0.2,
        metric: str = "aucprc",
        reward_scale: float = 100.0,
        sac_hidden_size: int = 50,
        sac_lr: float = 1e-3,
        sac_gamma: float = 0.99,
        sac_tau: float = 0.01,
        sac_alpha: float = 0.1,
        sac_batch_size: int = 64,
        sac_updates_per_step: int = 1,
        sac_replay_size: int = 1000,
        validation_fraction: float = 0.2,
        random_state: Any = None,
        device: str = "cpu",
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.k_bins = k_bins
        self.meta_episodes = meta_episodes
        self.meta_random_episodes = meta_random_episodes
        self.meta_estimator = meta_estimator
        self.sigma = sigma
        self.metric = metric
        self.reward_scale = reward_scale
        self.sac_hidden_size = sac_hidden_size
        self.sac_lr = sac_lr
        self.sac_gamma = sac_gamma
        self.sac_tau = sac_tau
        self.sac_alpha = sac_alpha
        self.sac_batch_size = sac_batch_size
        self.sac_updates_per_step = sac_updates_per_step
        self.sac_replay_size = sac_replay_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device

    # -- validation -------------------------------------------------------------------------

    def _check_params(self) -> torch.device:
        positive_ints = ("n_estimators", "k_bins", "sac_hidden_size", "sac_batch_size", "sac_replay_size")
        non_negative_ints = ("meta_episodes", "meta_random_episodes", "sac_updates_per_step")
        for name in positive_ints + non_negative_ints:
            value = getattr(self, name)
            low = 1 if name in positive_ints else 0
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(name, value, f"must be an integer >= {low}")
        if self.sac_replay_size < self.sac_batch_size:
            raise ConfigError("sac_replay_size", self.sac_replay_size, f"must be >= sac_batch_size ({self.sac_batch_size})")
        for name in ("sigma", "sac_lr", "reward_scale"):
            value = getattr(self, name)
            if not (_is_real(value) and np.isfinite(value) and value > 0):
                raise ConfigError(name, value, "must be a finite number > 0")
        for name in ("sac_gamma", "sac_tau", "sac_alpha"):
            value = getattr(self, name)
            if not (_is_real(value) and 0 <= value <= 1):
                raise ConfigError(name, value, "must lie in [0, 1]")
        if not (_is_real(self.validation_fraction) and 0 < self.validation_fraction < 1):
            raise ConfigError("validation_fraction", self.validation_fraction, "must lie in (0, 1)")
        if self.metric not in METRICS:
            raise UnknownNameError("mesa metric", self.metric, list(METRICS))
        if self.estimator is not None and not is_classifier(self.estimator):
            raise ConfigError("estimator", self.estimator, "must be a scikit-learn classifier or None")
        meta = self.meta_estimator
        if not (meta is None or (isinstance(meta, str) and meta == "estimator") or is_classifier(meta)):
            raise ConfigError("meta_estimator", meta, "must be a scikit-learn classifier, 'estimator' or None")
        try:
            return torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ConfigError("device", self.device, "must be a torch device name such as 'cpu'") from exc

    def _split(self, y01: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Stratified split keeping >= 1 sample of each class on both sides."""
        train, valid = [], []
        for label in (0, 1):
            rows = rng.permutation(np.flatnonzero(y01 == label))
            n_valid = int(np.clip(round(self.validation_fraction * len(rows)), 1, len(rows) - 1))
            valid.append(rows[:n_valid])
            train.append(rows[n_valid:])
        return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> "MESAClassifier":
        """Meta-train the meta-sampler on ``(X, y)`` and build the MESA ensemble.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Binary labels.

        Returns
        -------
        self : MESAClassifier

        Raises
        ------
        CannotRebalanceError
            If ``y`` does not hold exactly two classes or the minority has fewer than 2 samples.
        ConfigError, UnknownNameError
            If a parameter is invalid.
        """
        device = self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) != 2:
            raise CannotRebalanceError("mesa", f"needs exactly 2 classes, got {len(self.classes_)} ({type_of_target(y)})")
        # On a tie the larger label counts as minority, so {0, 1} with equal counts keeps 1 positive.
        minority_pos = int(np.argmin(counts[::-1]) == 0)
        self.minority_class_ = self.classes_[minority_pos]
        if counts[minority_pos] < 2:
            raise CannotRebalanceError(
                "mesa", f"needs >= 2 minority samples (one to train, one to validate), got {counts[minority_pos]}"
            )
        y01 = (y == self.minority_class_).astype(int)

        rng = np.random.default_rng(check_random_state(self.random_state).randint(2**31 - 1))
        self.train_indices_, self.valid_indices_ = self._split(y01, rng)
        X_tr, y_tr = X[self.train_indices_], y01[self.train_indices_]
        X_va, y_va = X[self.valid_indices_], y01[self.valid_indices_]

        final_estimator = DecisionTreeClassifier() if self.estimator is None else self.estimator
        if self.meta_estimator is None:
            meta_estimator = DecisionTreeClassifier()
        elif isinstance(self.meta_estimator, str):  # "estimator", checked above
            meta_estimator = final_estimator
        else:
            meta_estimator = self.meta_estimator

        def make_env(base: Any) -> _EnsembleEnv:
            return _EnsembleEnv(base, X_tr, y_tr, X_va, y_va, self.n_estimators, self.k_bins, self.sigma, self.metric, rng)

        agent = _SACAgent(2 * self.k_bins, self.sac_hidden_size, self.sac_lr, self.sac_gamma, self.sac_tau,
                          self.sac_alpha, device, seed=int(rng.integers(2**31 - 1)))
        self.meta_scores_ = self._meta_train(agent, make_env(meta_estimator), rng)

        # Final ensemble: the learned policy's mean action at every step.
        env = make_env(final_estimator)
        state = env.reset()
        while not env.done:
            state, _, _ = env.step(agent.act(state, explore=False))
        self.estimators_ = env.estimators
        self.subsets_ = [self.train_indices_[rows] for rows in env.subsets]
        self.actions_ = np.asarray(env.actions, dtype=float)
        self.meta_sampler_ = agent.actor
        return self

    def _meta_train(self, agent: _SACAgent, env: _EnsembleEnv, rng: np.random.Generator) -> list[float]:
        """Run SAC over ``meta_episodes`` episodes of ensemble building; return each episode's score."""
        buffer = _ReplayBuffer(self.sac_replay_size, 2 * self.k_bins)
        scores = []
        for episode in range(self.meta_episodes):
            state, done = env.reset(), env.done
            while not done:
                explore_randomly = episode < self.meta_random_episodes
                action = float(rng.uniform()) if explore_randomly else agent.act(state, explore=True)
                next_state, reward, done = env.step(action)
                buffer.push(state, action, reward * self.reward_scale, next_state, done)
                state = next_state
                if buffer.size >= self.sac_batch_size:
                    for _ in range(self.sac_updates_per_step):
                        agent.update(buffer.sample(self.sac_batch_size, rng))
            scores.append(env.valid_score())
        return scores

    # -- prediction -------------------------------------------------------------------------

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities: the mean of the members' minority probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns ordered as ``classes_``; rows sum to 1.
        """
        check_is_fitted(self, "estimators_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        p_minority = np.mean([_minority_probability(m, X) for m in self.estimators_], axis=0)
        proba = np.empty((X.shape[0], 2))
        minority_pos = int(self.classes_[1] == self.minority_class_)
        proba[:, minority_pos] = p_minority
        proba[:, 1 - minority_pos] = 1.0 - p_minority
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Predicted labels: the minority class where its mean probability exceeds 0.5.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        minority_pos = int(self.classes_[1] == self.minority_class_)
        # Ties at exactly 0.5 (frequent with an even number of hard-voting trees) go to the majority.
        return np.where(proba[:, minority_pos] > 0.5, self.minority_class_, self.classes_[1 - minority_pos])
