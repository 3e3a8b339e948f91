"""Every imbalance method by config name: shapes, classes, seeds, degenerate sets, the shim."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from omegaconf import OmegaConf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from distortion_reliability.errors import CannotRebalanceError, ConfigError, UnknownNameError
from distortion_reliability.imbalance import METHOD_NAMES, make_method
from distortion_reliability.imbalance._compat import (
    _if_delegate_has_method,
    import_self_paced_ensemble,
    patch_sklearn_for_imbalanced_ensemble,
)
from distortion_reliability.predictors import GPThresholdClassifier, make_predictors

torch.set_num_threads(1)

CONF = Path(__file__).resolve().parents[1] / "conf" / "imbalance"
# Settings that keep the slow methods to about a second here; the YAML values are the real ones.
FAST = {
    "spe": {"n_estimators": 4},
    "mesa": {"n_estimators": 3, "meta_episodes": 2, "meta_random_episodes": 1},
    "gan": {"epochs": 10},
    "vae": {"epochs": 10},
    "ctgan": {"epochs": 3},
    "tvae": {"epochs": 3},
    "smote_wb": {"n_iters": 10},
}
LAZY_MODULE = {"mesa": "mesa", "gan": "generative", "vae": "generative", "ctgan": "generative", "tvae": "generative"}
RESAMPLERS = [n for n in METHOD_NAMES if n not in ("none", "reweight", "spe", "mesa")]


def _config(name: str) -> dict:
    cfg = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"), resolve=True)
    assert cfg.pop("name") == name
    return {**cfg, **FAST.get(name, {})}


def _method(name: str):
    module = LAZY_MODULE.get(name)
    if module and importlib.util.find_spec(f"distortion_reliability.imbalance.{module}") is None:
        # TODO(lead): remove once imbalance/{mesa,generative}.py are committed (they are, at writing).
        pytest.skip(f"distortion_reliability.imbalance.{module} does not exist yet")
    return make_method(name, **_config(name))


def _small_set(seed: int = 0, n: int = 120):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    f = 1.0 - ((X - 0.3) ** 2).sum(axis=1)
    return X, (f >= 0.9).astype(int), f


def _cheap_predictors() -> dict:
    return {"dt": DecisionTreeClassifier(random_state=0), "lr": LogisticRegression()}


def test_every_method_has_a_config_and_vice_versa():
    assert {p.stem for p in CONF.glob("*.yaml")} == set(METHOD_NAMES)
    assert len(set(METHOD_NAMES) - {"none", "sv", "smote_gp"}) == 17


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_method_fits_every_predictor(name):
    X, y, f = _small_set()
    assert 5 <= y.sum() <= 20
    method = _method(name)
    fitted = method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    assert list(fitted) == ["dt", "lr"]
    for model in fitted.values():
        pred = model.predict(X)
        assert pred.shape == (len(y),) and set(np.unique(pred)) <= {0, 1}
    if method.kind == "ensemble":
        assert isinstance(fitted["lr"], method.ensemble_class())
        assert isinstance(fitted["lr"].estimator, LogisticRegression)


@pytest.mark.parametrize("name", RESAMPLERS)
def test_resampler_output_and_seeds(name):
    X, y, f = _small_set()
    method = _method(name)
    X1, y1 = method.resample(X, y, f, seed=3)
    X2, y2 = method.resample(X, y, f, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (len(y1), X.shape[1]) and set(np.unique(y1)) == {0, 1}
    n_neg, n_pos = np.bincount(y1)
    if name == "random_under" or name == "nearmiss":
        assert n_neg == n_pos == y.sum()
    elif name in ("random_over", "smote", "smote_borderline", "smote_svm", "gan", "vae", "ctgan", "tvae"):
        assert n_neg == (y == 0).sum() and n_pos == n_neg
        np.testing.assert_array_equal(X1[: len(y)], X)  # oversamplers keep R and append
    elif name == "smote_gp":
        assert n_neg == (y == 0).sum() and y.sum() <= n_pos <= n_neg
    elif name != "none":
        assert n_pos > y.sum()  # adasyn / cleaning / smote-variants: some positives added


@pytest.mark.parametrize("name", ["spe", "mesa"])
def test_ensemble_seeds_reproduce(name):
    X, y, f = _small_set()
    method = _method(name)
    a = method.fit_predictors(X, y, f, _cheap_predictors(), seed=5)
    b = method.fit_predictors(X, y, f, _cheap_predictors(), seed=5)
    grid = np.random.default_rng(9).random((300, 3))
    for key in a:
        np.testing.assert_array_equal(a[key].predict_proba(grid), b[key].predict_proba(grid))


def _degenerate_sets():
    X, y, f = _small_set()
    pos = np.flatnonzero(y == 1)
    cases = {}
    for k in (0, 1, 2, 4):  # 4 <= k_neighbors = 5
        yk = y.copy()
        yk[pos[k:]] = 0
        cases[f"{k}_positives"] = (X, yk, f)
    cases["all_positive"] = (X, np.ones_like(y), f)
    dup = np.r_[pos, pos, pos]
    cases["duplicate_levels"] = (np.vstack([X, X[dup]]), np.r_[y, y[dup]], np.r_[f, f[dup]])
    return cases


DEGENERATE = _degenerate_sets()


@pytest.mark.parametrize("case", list(DEGENERATE))
@pytest.mark.parametrize("name", METHOD_NAMES)
def test_degenerate_sets_work_or_raise_cannot_rebalance(name, case):
    X, y, f = DEGENERATE[case]
    method = _method(name)
    try:
        fitted = method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    except CannotRebalanceError as error:
        assert error.method == method.name and error.reason
        if case in ("0_positives", "all_positive"):
            assert "no positives" in error.reason or "no negatives" in error.reason
        return
    assert case not in ("0_positives", "all_positive")  # one class cannot train a classifier
    for model in fitted.values():
        assert model.predict(X).shape == (len(y),)


def test_k_neighbors_shrink_instead_of_failing():
    X, y, f = DEGENERATE["2_positives"]
    X_res, y_res = make_method("smote", k_neighbors=5).resample(X, y, seed=0)
    assert np.bincount(y_res)[1] == (y == 0).sum()
    # the synthetic points lie on the segment between the two positives
    a, b = X[y == 1]
    t = (X_res[len(y) :] - a) @ (b - a) / ((b - a) @ (b - a))
    np.testing.assert_allclose(a + t[:, None] * (b - a), X_res[len(y) :], atol=1e-12)


class _Recorder(ClassifierMixin, BaseEstimator):
    """Takes neither class_weight nor sample_weight; records what it was fitted on."""

    def fit(self, X, y):
        self.seen_y_ = np.asarray(y).copy()
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.zeros(len(X), dtype=int)


class _WeightRecorder(_Recorder):
    def fit(self, X, y, sample_weight=None):
        self.seen_weight_ = sample_weight
        return super().fit(X, y)


def test_reweight_uses_class_weight_sample_weight_or_replication():
    X, y, f = _small_set()
    n_neg, n_pos = np.bincount(y)
    predictors = {"lr": LogisticRegression(), "svm": SVC(), "rec": _Recorder(), "wrec": _WeightRecorder()}
    fitted = make_method("reweight").fit_predictors(X, y, f, predictors, seed=0)
    assert fitted["lr"].class_weight == "balanced" and fitted["svm"].class_weight == "balanced"
    assert predictors["lr"].class_weight is None  # templates are cloned, not changed
    factor = round(n_neg / n_pos)
    np.testing.assert_array_equal(np.bincount(fitted["rec"].seen_y_), [n_neg, factor * n_pos])
    weights = fitted["wrec"].seen_weight_
    np.testing.assert_allclose(weights[y == 1].sum(), weights[y == 0].sum())
    # and the real MLP fits through the replication route
    mlp = make_method("reweight").fit_predictors(X, y, f, {"nn": MLPClassifier(max_iter=50, random_state=0)})
    assert mlp["nn"].predict(X).shape == (len(y),)


def test_ensembles_wrap_each_predictor_and_give_svc_probabilities():
    X, y, f = _small_set()
    fitted = make_method("spe", n_estimators=3).fit_predictors(X, y, f, {"svm": SVC(), "dt": DecisionTreeClassifier()})
    assert fitted["svm"].estimator.probability is True
    assert isinstance(fitted["dt"].estimator, DecisionTreeClassifier)
    assert len(fitted["svm"].estimators_) == 3


def test_f_consuming_predictor_is_fitted_on_the_real_set():
    X, y, f = _small_set()
    predictors = {"gp_classifier": GPThresholdClassifier(h=0.9, random_state=0), "dt": DecisionTreeClassifier()}
    fitted = make_method("random_over").fit_predictors(X, y, f, predictors, seed=0)
    assert fitted["gp_classifier"].gp_.X_train_.shape[0] == len(y)
    assert fitted["gp_classifier"].threshold_ == 0.9


def test_make_method_errors_and_sv_names():
    with pytest.raises(UnknownNameError, match="smote_gp"):
        make_method("smote_xyz")
    with pytest.raises(ConfigError, match="imbalance.smote"):
        make_method("smote", k_neighbours=3)
    with pytest.raises(ConfigError, match="imbalance.smote_gp"):
        make_method("smote_gp", v=-1)
    with pytest.raises(ConfigError, match="takes no parameters"):
        make_method("none", k=1)
    with pytest.raises(UnknownNameError, match="smote-variants oversampler"):
        make_method("sv", oversampler="NOT_A_SAMPLER")
    with pytest.raises(ConfigError, match="resample"):
        make_method("spe").resample(*_small_set()[:2])
    X, y, f = _small_set()
    direct = make_method("SMOTE_IPF", proportion=1.0)
    via_sv = make_method("sv", oversampler="SMOTE_IPF", params={"proportion": 1.0})
    for a, b in zip(direct.resample(X, y, seed=1), via_sv.resample(X, y, seed=1)):
        np.testing.assert_array_equal(a, b)


def test_bad_training_set_is_a_config_error():
    X, y, f = _small_set()
    with pytest.raises(ConfigError, match="y"):
        make_method("smote").fit_predictors(X, y * 2, f, _cheap_predictors())
    with pytest.raises(ConfigError, match="f"):
        make_method("smote_gp").fit_predictors(X, y, f[:-1], _cheap_predictors())
    with pytest.raises(ConfigError, match="predictors"):
        make_method("smote").fit_predictors(X, y, f, {})


def test_sklearn_shim_is_idempotent_and_spe_imports():
    import sklearn.utils
    import sklearn.utils.metaestimators as metaestimators

    patch_sklearn_for_imbalanced_ensemble()
    first = (sklearn.utils._print_elapsed_time, metaestimators.if_delegate_has_method)
    patch_sklearn_for_imbalanced_ensemble()
    assert (sklearn.utils._print_elapsed_time, metaestimators.if_delegate_has_method) == first
    spe = import_self_paced_ensemble()(random_state=0).fit(*_small_set()[:2])
    assert spe.predict(_small_set()[0]).shape == (120,)


def test_if_delegate_has_method_follows_the_delegate():
    class Wrapper:
        def __init__(self, inner):
            self.inner = inner

        @_if_delegate_has_method("inner")
        def predict_proba(self, X):
            return self.inner.predict_proba(X)

    assert hasattr(Wrapper(LogisticRegression()), "predict_proba")
    assert not hasattr(Wrapper(SVC()), "predict_proba")


def test_paper_predictors_run_under_smote_gp():
    X, y, f = _small_set()
    predictors = make_predictors(yaml.safe_load((CONF.parent / "predictors" / "paper.yaml").read_text()), seed=0)
    fitted = make_method("smote_gp", v=0.05).fit_predictors(X, y, f, predictors, seed=0)
    assert list(fitted) == ["dt", "rf", "lr", "svm", "nn"]
