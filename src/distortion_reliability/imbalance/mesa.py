"""MESA: an ensemble whose training subsets are chosen by a meta-sampler trained with soft actor-critic.

Implemented from the paper, not from a library:

    Z. Liu, P. Wei, J. Jiang, W. Cao, J. Bian, Y. Chang, "MESA: Boost Ensemble Imbalanced
    Learning with MEta-SAmpler", NeurIPS 33 (2020), pp. 14463-14474.

The method, in the paper's terms:

* **Ensemble training environment.** Base classifiers are trained one after another. The first
  sees a random under-sample of the majority class; every later one sees all minority samples
  plus as many majority samples, drawn by the meta-sampler. The ensemble predicts the mean of
  its members' minority-class probabilities.
* **Meta-state.** The distribution of the current ensemble's error ``|y - p|`` on the majority
  samples, as a ``k_bins`` histogram over ``[0, 1]``, once on the training split and once on the
  validation split (state size ``2 * k_bins``). It describes how well the ensemble fits
  without depending on the features, so the meta-sampler is task-agnostic.
* **Meta-sampling.** The action ``mu`` in ``[0, 1]`` weights each majority sample by a Gaussian
  ``exp(-(e - mu)^2 / (2 sigma^2))`` of its error ``e`` ("hardness"); the subset is drawn without
  replacement with those weights. Small ``mu`` favours easy samples, large ``mu`` hard ones.
* **Meta-training.** The meta-sampler is a Gaussian policy trained with soft actor-critic (SAC:
  twin Q critics with target copies, entropy-regularised actor, replay buffer) over episodes;
  each episode builds a whole ensemble and the reward of a step is the gain of the ensemble's
  validation score (AUCPRC by default).

Where this implementation simplifies the paper (each to keep one ``fit`` cheap and seeded):

* The meta-sampler is meta-trained inside every ``fit``, on a stratified train/validation split
  of the data given to ``fit``, for a small budget (``meta_episodes``, ``sac_updates_per_step``)
  instead of the paper's ~1,000 updates; it is not saved or transferred between tasks.
* Meta-training uses a decision tree as base learner by default (``meta_estimator``), whatever the
  final ensemble's learner; the paper argues the meta-state is model-agnostic and shows the
  meta-sampler transfers across tasks, which is what makes this substitution sound.
* The entropy temperature ``alpha`` is fixed (the authors' default setting); no learning-rate decay
  and no hand-made prior transitions in the replay buffer.
* Histograms use the fixed range ``[0, 1]`` so that states of different ensembles are comparable.
* The final ensemble applies the policy's mean action (deterministic), and is trained on the
  training split only; the validation split only feeds its meta-state, as in the paper.
* Base learners without ``predict_proba`` (e.g. ``SVC(probability=False)``) contribute
  ``sigmoid(decision_function)``, an uncalibrated score with the same 0.5 decision boundary; those
  with neither contribute their hard 0/1 predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier
from sklearn.metrics import average_precision_score, f1_score, matthews_corrcoef
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from ..errors import CannotRebalanceError, ConfigError, UnknownNameError

__all__ = ["MESAClassifier", "meta_sample", "meta_state", "gaussian_hardness_weights", "METRICS"]

# Validation metrics the reward can be built on; each takes (y_true, p_minority).
METRICS = {
    "aucprc": lambda y, p: float(average_precision_score(y, p)),
    "f1": lambda y, p: float(f1_score(y, p > 0.5, zero_division=0.0)),
    "mcc": lambda y, p: float(matthews_corrcoef(y, p > 0.5)),
}

# log_std bounds of the policy: wide enough to explore [0, 1], narrow enough to stay finite.
_LOG_STD_MIN, _LOG_STD_MAX = -20.0, 2.0


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


# ----------------------------------------------------------------------------- soft actor-critic


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


class _GaussianPolicy(nn.Module):
    """Actor: a tanh-squashed Gaussian over ``mu``, rescaled from ``(-1, 1)`` to ``(0, 1)``."""

    def __init__(self, state_dim: int, hidden: int):
        super().__init__()
        self.body = _mlp(state_dim, hidden, 2)

    def forward(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.body(state).chunk(2, dim=-1)
        return mean, log_std.clamp(_LOG_STD_MIN, _LOG_STD_MAX)

    def sample(self, state: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reparameterised action in (0, 1) and its log-density (change of variables included)."""
        mean, log_std = self(state)
        std = log_std.exp()
        pre_tanh = mean + std * noise
        squashed = torch.tanh(pre_tanh)
        log_prob = torch.distributions.Normal(mean, std).log_prob(pre_tanh)
        # d action / d pre_tanh = 0.5 * (1 - tanh^2); 1e-6 keeps the log finite at saturation.
        log_prob = log_prob - torch.log(0.5 * (1 - squashed.pow(2)) + 1e-6)
        return (squashed + 1) / 2, log_prob.sum(dim=-1, keepdim=True)

    def mean_action(self, state: torch.Tensor) -> torch.Tensor:
        return (torch.tanh(self(state)[0]) + 1) / 2


class _TwinQ(nn.Module):
    """Two independent Q(state, action) critics; their minimum curbs value over-estimation."""

    def __init__(self, state_dim: int, hidden: int):
        super().__init__()
        self.q1 = _mlp(state_dim + 1, hidden, 1)
        self.q2 = _mlp(state_dim + 1, hidden, 1)

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sa = torch.cat([state, action], dim=-1)
        return self.q1(sa), self.q2(sa)


class _ReplayBuffer:
    """Fixed-capacity ring buffer of (state, action, reward, next_state, done) transitions."""

    def __init__(self, capacity: int, state_dim: int):
        self.states = np.zeros((capacity, state_dim), np.float32)
        self.actions = np.zeros((capacity, 1), np.float32)
        self.rewards = np.zeros((capacity, 1), np.float32)
        self.next_states = np.zeros((capacity, state_dim), np.float32)
        self.dones = np.zeros((capacity, 1), np.float32)
        self.capacity, self.size, self.cursor = capacity, 0, 0

    def push(self, state, action, reward, next_state, done) -> None:
        i = self.cursor
        self.states[i], self.actions[i], self.rewards[i] = state, action, reward
        self.next_states[i], self.dones[i] = next_state, float(done)
        self.cursor = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        rows = rng.choice(self.size, size=batch_size, replace=False)
        return self.states[rows], self.actions[rows], self.rewards[rows], self.next_states[rows], self.dones[rows]


class _SACAgent:
    """Soft actor-critic (Haarnoja et al., 2018) with a fixed entropy temperature."""

    def __init__(self, state_dim: int, hidden: int, lr: float, gamma: float, tau: float, alpha: float,
                 device: torch.device, seed: int):
        # Initialise the networks from our own seed without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.actor = _GaussianPolicy(state_dim, hidden).to(device)
            self.critic = _TwinQ(state_dim, hidden).to(device)
            self.critic_target = _TwinQ(state_dim, hidden).to(device)
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.critic_target.requires_grad_(False)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)
        self.gamma, self.tau, self.alpha, self.device = gamma, tau, alpha, device
        self.noise = torch.Generator().manual_seed(seed + 1)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, dtype=torch.float32, device=self.device)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, 1), generator=self.noise).to(self.device)

    def act(self, state: np.ndarray, explore: bool) -> float:
        """Action for one state: a policy sample while exploring, the mean action otherwise."""
        with torch.no_grad():
            s = self._tensor(state)[None]
            action = self.actor.sample(s, self._noise(1))[0] if explore else self.actor.mean_action(s)
        return float(action.item())

    def update(self, batch: tuple[np.ndarray, ...]) -> None:
        """One gradient step on both critics and the actor, then a soft target update."""
        s, a, r, s2, d = (self._tensor(x) for x in batch)
        with torch.no_grad():
            a2, logp2 = self.actor.sample(s2, self._noise(len(s2)))
            q_next = torch.min(*self.critic_target(s2, a2)) - self.alpha * logp2
            target = r + self.gamma * (1 - d) * q_next
        q1, q2 = self.critic(s, a)
        critic_loss = nn.functional.mse_loss(q1, target) + nn.functional.mse_loss(q2, target)
        self.critic_opt.zero_grad()
        critic_loss.backward()
        self.critic_opt.step()

        new_a, logp = self.actor.sample(s, self._noise(len(s)))
        actor_loss = (self.alpha * logp - torch.min(*self.critic(s, new_a))).mean()
        self.actor_opt.zero_grad()
        actor_loss.backward()
        self.actor_opt.step()

        with torch.no_grad():
            for target_p, p in zip(self.critic_target.parameters(), self.critic.parameters()):
                target_p.lerp_(p, self.tau)


# ----------------------------------------------------------------------------- estimator


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
