"""MESA (Liu et al., NeurIPS 2020): meta-sampling, soft actor-critic and the sklearn classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, f1_score
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from distortion_reliability.errors import CannotRebalanceError, ConfigError, UnknownNameError
from distortion_reliability.imbalance.mesa import MESAClassifier, gaussian_hardness_weights, meta_sample, meta_state
from distortion_reliability.imbalance.mesa.env import _EnsembleEnv
from distortion_reliability.imbalance.mesa.sac import _ReplayBuffer, _SACAgent

torch.set_num_threads(1)

# Small meta-training budget for tests that check plumbing rather than quality.
CHEAP = dict(n_estimators=4, meta_episodes=3, meta_random_episodes=1, sac_batch_size=8)


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    # Multi-threaded BLAS on tiny problems thrashes on a shared 2-core machine (lbfgs, SVC).
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def separable():
    """6-D, ~5 % positive, one well-separated cluster per class: 600 to train, 2,000 held out."""
    X, y = make_classification(
        n_samples=2600, n_features=6, n_informative=4, n_redundant=0, n_clusters_per_class=1,
        weights=[0.95], class_sep=2.0, flip_y=0.0, random_state=3,
    )
    return X[:600], y[:600], X[600:], y[600:]


@pytest.fixture(scope="module")
def fitted(separable):
    """MESA with its default budget (decision trees), as the pipeline runs it."""
    X, y, _, _ = separable
    return MESAClassifier(random_state=0).fit(X, y)


# ----------------------------------------------------------------------------- building blocks


def test_meta_sample_mu_chooses_easy_or_hard_samples():
    hardness = np.linspace(0.0, 1.0, 200)
    easy = meta_sample(hardness, 40, mu=0.0, sigma=0.2, rng=np.random.default_rng(0))
    hard = meta_sample(hardness, 40, mu=1.0, sigma=0.2, rng=np.random.default_rng(0))
    assert len(np.unique(easy)) == 40 and len(np.unique(hard)) == 40  # without replacement
    assert hardness[easy].mean() < 0.3 < 0.7 < hardness[hard].mean()
    assert len(np.intersect1d(easy, hard)) < 5


def test_gaussian_weights_peak_at_mu_and_never_vanish():
    w = gaussian_hardness_weights(np.array([0.0, 0.5, 1.0]), mu=0.5, sigma=0.01)
    assert w[1] == pytest.approx(1.0) and np.all(w > 0) and w[0] < 1e-6
    # Even when every error is far from mu a full-size subset can still be drawn.
    chosen = meta_sample(np.zeros(10), 10, mu=1.0, sigma=0.01, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(chosen, np.arange(10))


def test_meta_sample_rejects_a_subset_larger_than_the_pool():
    with pytest.raises(ConfigError, match="n_samples"):
        meta_sample(np.zeros(3), 4, mu=0.5, sigma=0.2, rng=np.random.default_rng(0))


def test_meta_state_is_two_scaled_histograms():
    state = meta_state(np.array([0.05, 0.05, 0.95, 0.5]), np.array([0.99, 0.99]), k_bins=5)
    np.testing.assert_allclose(state[:5], [2.5, 0, 1.25, 0, 1.25])
    np.testing.assert_allclose(state[5:], [0, 0, 0, 0, 5])


def test_environment_action_changes_the_subset(separable):
    """Same ensemble state, two actions: the new member's majority rows differ, as mu asks."""
    X, y, _, _ = separable
    subsets = {}
    for mu in (0.0, 1.0):
        env = _EnsembleEnv(DecisionTreeClassifier(random_state=0), X[:400], y[:400], X[400:], y[400:],
                           n_estimators=3, k_bins=5, sigma=0.2, metric="aucprc", rng=np.random.default_rng(7))
        env.reset()
        hardness = env.p_train.copy()
        env.step(mu)
        majority_rows = np.setdiff1d(env.subsets[-1], env.minority_train)
        subsets[mu] = (majority_rows, hardness[majority_rows].mean())
    assert not np.array_equal(subsets[0.0][0], subsets[1.0][0])
    assert subsets[0.0][1] < subsets[1.0][1]


def test_soft_actor_critic_learns_a_state_dependent_best_action():
    """Two one-step bandits: reward mu in state A, 1 - mu in state B. The mean action must go to
    the top of [0, 1] in A and to the bottom in B, so actor, critics and state input are wired."""
    rng = np.random.default_rng(0)
    agent = _SACAgent(state_dim=2, hidden=50, lr=1e-3, gamma=0.99, tau=0.01, alpha=0.1,
                      device=torch.device("cpu"), seed=0)
    buffer = _ReplayBuffer(capacity=500, state_dim=2)
    states = np.eye(2, dtype=np.float32)
    before = [agent.act(s, explore=False) for s in states]
    for step in range(150):
        which = step % 2
        action = rng.uniform() if step < 40 else agent.act(states[which], explore=True)
        buffer.push(states[which], action, action if which == 0 else 1 - action, states[which], True)
        if buffer.size >= 32:
            agent.update(buffer.sample(32, rng))
    after = [agent.act(s, explore=False) for s in states]
    assert all(0.25 < a < 0.75 for a in before)
    assert after[0] > 0.75 and after[1] < 0.25, after


# ----------------------------------------------------------------------------- the classifier


def test_beats_trivial_predictors_on_a_separable_imbalanced_set(separable, fitted):
    _, _, X_test, y_test = separable
    predicted = fitted.predict(X_test)
    trivial_f1 = max(f1_score(y_test, np.ones_like(y_test)), f1_score(y_test, np.zeros_like(y_test)))
    f1 = f1_score(y_test, predicted)
    assert f1 > trivial_f1 + 0.3, (f1, trivial_f1)
    assert balanced_accuracy_score(y_test, predicted) > 0.75
    assert len(fitted.meta_scores_) == 30


def test_predict_proba_is_a_distribution_consistent_with_predict(separable, fitted):
    _, _, X_test, _ = separable
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.min() >= 0 and proba.max() <= 1
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    np.testing.assert_array_equal(fitted.predict(X_test), (proba[:, 1] > 0.5).astype(int))


def test_every_member_is_trained_on_a_balanced_subset_of_the_training_split(separable, fitted):
    X, y, _, _ = separable
    train_minority = fitted.train_indices_[y[fitted.train_indices_] == 1]
    assert len(fitted.estimators_) == len(fitted.subsets_) == fitted.n_estimators
    for rows in fitted.subsets_:
        assert len(np.unique(rows)) == len(rows)
        assert np.isin(rows, fitted.train_indices_).all()  # the validation split stays unseen
        assert (y[rows] == 0).sum() == (y[rows] == 1).sum()
        np.testing.assert_array_equal(np.sort(rows[y[rows] == 1]), train_minority)
    assert np.isnan(fitted.actions_[0]) and np.all((fitted.actions_[1:] >= 0) & (fitted.actions_[1:] <= 1))
    # Different members saw different majority samples (the sampler is not stuck on one subset).
    assert len({tuple(np.sort(r)) for r in fitted.subsets_}) == fitted.n_estimators


def test_same_seed_reproduces_and_leaves_global_torch_state_alone(separable):
    X, y, X_test, _ = separable
    torch_rng, threads = torch.get_rng_state(), torch.get_num_threads()
    a = MESAClassifier(random_state=11, **CHEAP).fit(X, y)
    b = MESAClassifier(random_state=11, **CHEAP).fit(X, y)
    c = MESAClassifier(random_state=12, **CHEAP).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    np.testing.assert_array_equal(a.actions_, b.actions_)
    assert any(not np.array_equal(r, s) for r, s in zip(a.subsets_, c.subsets_))
    assert torch.equal(torch.get_rng_state(), torch_rng) and torch.get_num_threads() == threads


def test_clone_keeps_parameters_and_refits_identically(separable):
    X, y, X_test, _ = separable
    original = MESAClassifier(random_state=5, sigma=0.3, **CHEAP)
    copy = clone(original)
    assert copy.get_params() == original.get_params() and not hasattr(copy, "estimators_")
    np.testing.assert_array_equal(original.fit(X, y).predict(X_test), copy.fit(X, y).predict(X_test))


def test_svc_without_predict_proba_uses_its_decision_function(separable):
    X, y, X_test, y_test = separable
    model = MESAClassifier(estimator=SVC(), random_state=0, **CHEAP).fit(X, y)
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert 0 < proba.min() and proba.max() < 1  # sigmoid scores, not hard votes
    assert balanced_accuracy_score(y_test, model.predict(X_test)) > 0.75


def test_string_labels_and_minority_as_first_class(separable):
    X, y, X_test, y_test = separable
    labels = np.where(y == 1, "a_rare", "b_common")  # the minority sorts first
    model = MESAClassifier(random_state=0, **CHEAP).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ["a_rare", "b_common"])
    assert model.minority_class_ == "a_rare"
    proba = model.predict_proba(X_test)
    predicted = model.predict(X_test)
    np.testing.assert_array_equal(predicted == "a_rare", proba[:, 0] > 0.5)
    assert balanced_accuracy_score(y_test == 1, predicted == "a_rare") > 0.75


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "labels, reason",
    [
        (np.r_[np.zeros(20), np.ones(5), np.full(5, 2)], "exactly 2 classes"),
        (np.zeros(30), "exactly 2 classes"),
        (np.r_[np.zeros(29), np.ones(1)], "2 minority samples"),
    ],
)
def test_degenerate_labels_cannot_be_rebalanced(labels, reason):
    X = np.random.default_rng(0).normal(size=(len(labels), 3))
    with pytest.raises(CannotRebalanceError, match=reason) as info:
        MESAClassifier(random_state=0, **CHEAP).fit(X, labels)
    assert info.value.method == "mesa"


def test_two_minority_samples_are_enough():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.r_[np.zeros(28), np.ones(2)]
    model = MESAClassifier(random_state=0, **CHEAP).fit(X, y)
    assert len(model.valid_indices_) >= 2 and all(len(rows) == 2 for rows in model.subsets_)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"n_estimators": 0}, "n_estimators"),
        ({"k_bins": 2.5}, "k_bins"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"sigma": -0.1}, "sigma"),
        ({"sigma": "wide"}, "sigma"),
        ({"sac_tau": 2.0}, "sac_tau"),
        ({"sac_batch_size": 64, "sac_replay_size": 10}, "sac_replay_size"),
        ({"estimator": "tree"}, "estimator"),
        ({"device": "no-such-device"}, "device"),
    ],
)
def test_bad_parameters_raise_config_error_naming_the_field(separable, params, field):
    X, y, _, _ = separable
    with pytest.raises(ConfigError, match=field) as info:
        MESAClassifier(**params).fit(X, y)
    assert info.value.field == field


def test_unknown_metric_lists_the_valid_ones(separable):
    X, y, _, _ = separable
    with pytest.raises(UnknownNameError, match="aucprc"):
        MESAClassifier(metric="accuracy").fit(X, y)
