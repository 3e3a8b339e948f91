"""Every imbalance method built from its config: composition, fitting, stats_, seeds, degenerate sets, errors."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hydra.utils import instantiate
from imblearn.over_sampling import ADASYN, SMOTE
from omegaconf import OmegaConf
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from distortion_reliability.build import build
from distortion_reliability.config import compose_config
from distortion_reliability.errors import CannotRebalanceError, ConfigError, UnknownNameError
from distortion_reliability.imbalance import (
    STATS_KEYS,
    Ensemble,
    ImbalanceMethod,
    NoRebalancing,
    Resampling,
    Reweighting,
    needs_f,
)
from distortion_reliability.imbalance._compat import (
    _if_delegate_has_method,
    import_self_paced_ensemble,
    patch_sklearn_for_imbalanced_ensemble,
)
from distortion_reliability.predictors import GPThresholdClassifier

CONF = Path(__file__).resolve().parents[1] / "conf" / "imbalance"
METHODS = sorted(p.stem for p in CONF.glob("*.yaml"))
# Overrides that keep the slow methods to about a second here; the YAML values are the real ones.
FAST = {
    "spe": ["imbalance.ensemble.n_estimators=4"],
    "mesa": ["imbalance.ensemble.n_estimators=3", "imbalance.ensemble.meta_episodes=2",
             "+imbalance.ensemble.meta_random_episodes=1"],
    "gan": ["imbalance.sampler.epochs=10"],
    "vae": ["imbalance.sampler.epochs=10"],
    "ctgan": ["imbalance.sampler.epochs=3"],
    "tvae": ["imbalance.sampler.epochs=3"],
    "smote_wb": ["imbalance.sampler.params.n_iters=10"],
}
KIND = {"none": NoRebalancing, "reweight": Reweighting, "spe": Ensemble, "mesa": Ensemble}
RESAMPLERS = [n for n in METHODS if KIND.get(n, Resampling) is Resampling]


@functools.lru_cache(maxsize=None)
def _config(name: str, *extra: str):
    return compose_config([f"imbalance={name}", *FAST.get(name, []), *extra])


def _method(name: str, *extra: str) -> ImbalanceMethod:
    return build("imbalance", _config(name, *extra).imbalance)


@functools.lru_cache(maxsize=None)
def _five_predictors_config():
    # The paper's five, lighter (fewer trees, fewer MLP iterations) so 20 methods fit them quickly.
    return compose_config(["predictors=paper", "predictors.rf.n_estimators=5", "predictors.nn.max_iter=30"]).predictors


def _small_set(seed: int = 0, n: int = 120):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    f = 1.0 - ((X - 0.3) ** 2).sum(axis=1)
    return X, (f >= 0.9).astype(int), f


def _ten_of_hundred():
    """10 positives, 90 negatives."""
    rng = np.random.default_rng(4)
    X = rng.random((100, 3))
    y = np.r_[np.ones(10, dtype=int), np.zeros(90, dtype=int)]
    return X, y, 1.0 - 0.1 * X.sum(axis=1)


def _cheap_predictors() -> dict:
    return {"dt": DecisionTreeClassifier(random_state=0), "lr": LogisticRegression()}


# ----------------------------------------------------------------------------- configs


def test_the_paper_methods_and_the_adapter_are_configured():
    baselines = {"reweight", "random_under", "nearmiss", "random_over", "smote", "adasyn", "smote_borderline",
                 "smote_svm", "smote_enn", "smote_tomek", "smote_wb", "spe", "mesa", "gan", "vae", "ctgan", "tvae"}
    assert set(METHODS) == baselines | {"none", "smote_gp", "sv"}


@pytest.mark.parametrize("name", METHODS)
def test_every_config_composes_and_instantiates(name):
    cfg = compose_config([f"imbalance={name}"])
    assert cfg.imbalance.name == name and "_target_" in cfg.imbalance
    method = build("imbalance", cfg.imbalance)
    assert isinstance(method, KIND.get(name, Resampling)) and method.name == name
    # The contract's plain route (resolve, drop name, instantiate) builds the same thing.
    node = OmegaConf.to_container(cfg.imbalance, resolve=True)
    node.pop("name")
    plain = instantiate(node)
    assert type(plain) is type(method)
    if isinstance(method, Resampling):
        assert type(plain.sampler) is type(method.sampler)
        assert repr(plain.sampler.get_params()) == repr(method.sampler.get_params())


def test_smote_gp_v_follows_the_dataset_and_the_override():
    assert _method("smote_gp").sampler.v == 0.005
    assert build("imbalance", compose_config(["imbalance=smote_gp", "dataset=cifar10"]).imbalance).sampler.v == 0.05
    assert build("imbalance", compose_config(["imbalance=smote_gp", "imbalance.v=0.2"]).imbalance).sampler.v == 0.2
    # a dataset that sets smote_gp_v to null keeps SMOTE-GP's own default
    assert build("imbalance", compose_config(["imbalance=smote_gp", "+dataset.smote_gp_v=null"]).imbalance).sampler.v == 0.005


def test_yaml_lists_and_dicts_reach_the_sampler_as_plain_python():
    node = OmegaConf.to_container(compose_config(["imbalance=sv"]).imbalance, resolve=True)
    node.pop("name")
    method = instantiate(node)  # hydra passes nested dicts as DictConfig by default
    assert type(method.sampler.params) is dict and method.sampler.params == {"proportion": 1.0}


# ----------------------------------------------------------------------------- fitting


@pytest.mark.parametrize("name", METHODS)
def test_method_fits_the_five_predictors(name):
    X, y, f = _small_set()
    assert 5 <= y.sum() <= 20
    method = _method(name)
    predictors = build("predictors", _five_predictors_config())
    fitted = method.fit_predictors(X, y, f, predictors, seed=0)
    assert list(fitted) == ["dt", "rf", "lr", "svm", "nn"]
    for key, model in fitted.items():
        assert model is not predictors[key]  # templates are cloned, never fitted
        pred = model.predict(X)
        assert pred.shape == (len(y),) and set(np.unique(pred)) <= {0, 1}
    if method.kind == "ensemble":
        assert isinstance(fitted["lr"], method.ensemble_class())
        assert isinstance(fitted["lr"].estimator, LogisticRegression)
    assert set(method.stats_) == set(STATS_KEYS)
    assert method.stats_["predictors_seconds"] > 0 and method.stats_["rebalance_seconds"] >= 0


@pytest.mark.parametrize("name", RESAMPLERS)
def test_resampler_output_stats_and_seeds(name):
    X, y, f = _small_set()
    method = _method(name)
    X1, y1 = method.resample(X, y, f, seed=3)
    X2, y2 = method.resample(X, y, f, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (len(y1), X.shape[1]) and set(np.unique(y1)) == {0, 1}
    n_neg, n_pos = np.bincount(y1)
    if name in ("random_under", "nearmiss"):
        assert n_neg == n_pos == y.sum()
    elif name in ("random_over", "smote", "smote_borderline", "smote_svm", "gan", "vae", "ctgan", "tvae"):
        assert n_neg == (y == 0).sum() and n_pos == n_neg
        np.testing.assert_array_equal(X1[: len(y)], X)  # oversamplers keep R and append
    elif name == "smote_gp":
        assert n_neg == (y == 0).sum() and y.sum() <= n_pos <= n_neg
    else:
        assert n_pos > y.sum()  # adasyn / cleaning / smote-variants: some positives added
    stats = method.stats_
    np.testing.assert_array_equal(stats["rebalanced_X_unit"], X1)
    np.testing.assert_array_equal(stats["rebalanced_y"], y1)
    mask = stats["synthetic_mask"]
    assert mask.shape == y1.shape and stats["n_synthetic_kept"] == mask.sum()
    assert stats["n_synthetic_proposed"] >= stats["n_synthetic_kept"]
    real = {tuple(row) for row in X}
    assert all(tuple(row) in real for row in X1[~mask])  # every "real" row is a level of R
    assert not any(tuple(row) in real for row in X1[mask])
    if name in ("random_under", "nearmiss", "random_over"):
        assert stats["n_synthetic_kept"] == 0  # subsets and copies of R add no new level
    elif name in ("smote", "gan", "vae", "ctgan", "tvae"):
        assert stats["n_synthetic_kept"] == (y == 0).sum() - y.sum()


def test_smote_stats_on_ten_positives_and_ninety_negatives():
    X, y, f = _ten_of_hundred()
    method = _method("smote")
    fitted = method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    stats = method.stats_
    assert stats["n_synthetic_kept"] == stats["n_synthetic_proposed"] == 80
    assert stats["rebalanced_X_unit"].shape == (180, 3) and np.bincount(stats["rebalanced_y"]).tolist() == [90, 90]
    np.testing.assert_array_equal(stats["synthetic_mask"], np.r_[np.zeros(100, bool), np.ones(80, bool)])
    assert stats["proposals_X_unit"] is None and stats["proposals_kept"] is None
    # the predictors were fitted on exactly R*
    assert fitted["dt"].tree_.n_node_samples[0] == 180


def test_smote_gp_stats_report_its_proposals_and_filter():
    X, y, f = _ten_of_hundred()
    f = np.where(y == 1, 0.95 + 0.04 * np.sin(9 * X[:, 0]), 0.5)
    method = _method("smote_gp", "imbalance.v=0.02")
    method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    stats = method.stats_
    kept, variance = stats["proposals_kept"], stats["proposals_variance"]
    assert stats["n_synthetic_proposed"] == 80 == len(kept) == len(variance)
    assert stats["n_synthetic_kept"] == kept.sum() == stats["synthetic_mask"].sum()
    assert 0 < kept.sum() < 80  # the filter keeps some, not all, at this v
    assert np.all(variance[kept] <= 0.02) and np.all(variance[~kept] > 0.02)
    assert stats["proposals_X_unit"].shape == (80, 3)
    np.testing.assert_allclose(stats["proposals_X_unit"][kept], stats["rebalanced_X_unit"][stats["synthetic_mask"]])
    assert np.all((variance >= 0) & (variance <= 1))  # u is the posterior over the prior variance


def test_smote_enn_proposes_more_than_it_keeps():
    X, y, f = _small_set()
    method = _method("smote_enn")
    method.resample(X, y, f, seed=0)
    assert method.stats_["n_synthetic_proposed"] == (y == 0).sum() - y.sum()
    assert method.stats_["n_synthetic_kept"] <= method.stats_["n_synthetic_proposed"]


@pytest.mark.parametrize("name", ["none", "reweight", "spe"])
def test_methods_without_a_rebalanced_set_leave_its_stats_empty(name):
    X, y, f = _small_set()
    method = _method(name)
    method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    for key in STATS_KEYS:
        if key.endswith("_seconds"):
            assert method.stats_[key] >= 0
        else:
            assert method.stats_[key] is None, key


def test_the_sampler_is_seeded_per_run_and_never_fitted_itself():
    X, y, f = _small_set()
    method = _method("smote_enn")
    a = method.resample(X, y, f, seed=1)[0]
    b = method.resample(X, y, f, seed=2)[0]
    assert a.shape != b.shape or not np.array_equal(a, b)
    assert method.sampler.random_state is None and method.sampler.smote.random_state is None
    assert not hasattr(method.sampler, "sampling_strategy_")
    # nested samplers get the seed too: the same as seeding both by hand
    by_hand = method.make_sampler(1)
    assert by_hand.random_state == by_hand.smote.random_state == 1


@pytest.mark.parametrize("name", ["spe", "mesa"])
def test_ensemble_seeds_reproduce(name):
    X, y, f = _small_set()
    method = _method(name)
    a = method.fit_predictors(X, y, f, _cheap_predictors(), seed=5)
    b = method.fit_predictors(X, y, f, _cheap_predictors(), seed=5)
    grid = np.random.default_rng(9).random((300, 3))
    for key in a:
        np.testing.assert_array_equal(a[key].predict_proba(grid), b[key].predict_proba(grid))


# ----------------------------------------------------------------------------- users' own samplers


class CopyPositivesTwice:
    """A user's own sampler, a plain class (no scikit-learn base, no get_params): appends every
    positive twice, shifted, plus jitter drawn from ``random_state``."""

    def __init__(self, shift: float = 0.0, random_state=None):
        self.shift = shift
        self.random_state = random_state

    def fit_resample(self, X, y):
        pos = X[y == 1] + self.shift
        jitter = 1e-3 * np.random.default_rng(self.random_state).random((2 * len(pos), X.shape[1]))
        return np.vstack([X, np.vstack([pos, pos]) + jitter]), np.r_[y, np.ones(2 * len(pos), dtype=int)]


def test_a_user_target_sampler_works_without_any_registry():
    X, y, f = _small_set()
    cfg = {"name": "my_adasyn", "_target_": "distortion_reliability.imbalance.Resampling",
           "sampler": {"_target_": "imblearn.over_sampling.ADASYN", "n_neighbors": 4}}
    method = build("imbalance", cfg)
    assert isinstance(method.sampler, ADASYN) and method.name == "my_adasyn"
    fitted = method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    assert set(fitted) == {"dt", "lr"} and method.stats_["n_synthetic_kept"] > 0
    # the same through Hydra overrides on a shipped config
    swapped = _method("smote", "imbalance.sampler._target_=imblearn.over_sampling.ADASYN",
                      "~imbalance.sampler.k_neighbors", "+imbalance.sampler.n_neighbors=4")
    np.testing.assert_array_equal(swapped.resample(X, y, seed=0)[0], method.resample(X, y, seed=0)[0])
    # and a class the user wrote, by its import path
    mine = build("imbalance", {"_target_": "distortion_reliability.imbalance.Resampling",
                         "sampler": {"_target_": f"{__name__}.CopyPositivesTwice", "shift": 0.01}})
    mine.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    assert mine.stats_["n_synthetic_kept"] == 2 * y.sum() and mine.name == "CopyPositivesTwice"
    np.testing.assert_array_equal(mine.resample(X, y, seed=1)[0], mine.resample(X, y, seed=1)[0])
    assert not np.array_equal(mine.resample(X, y, seed=1)[0], mine.resample(X, y, seed=2)[0])  # seeded per run
    assert mine.sampler.random_state is None


# ----------------------------------------------------------------------------- degenerate sets


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
@pytest.mark.parametrize("name", METHODS)
def test_degenerate_sets_work_or_raise_cannot_rebalance(name, case):
    X, y, f = DEGENERATE[case]
    method = _method(name)
    try:
        fitted = method.fit_predictors(X, y, f, _cheap_predictors(), seed=0)
    except CannotRebalanceError as error:
        assert error.reason and method.stats_ is None
        if case in ("0_positives", "all_positive"):
            assert error.method == name
            assert "no positives" in error.reason or "no negatives" in error.reason
        return
    assert case not in ("0_positives", "all_positive")  # one class cannot train a classifier
    for model in fitted.values():
        assert model.predict(X).shape == (len(y),)


def test_k_neighbors_shrink_instead_of_failing():
    X, y, f = DEGENERATE["2_positives"]
    X_res, y_res = _method("smote").resample(X, y, seed=0)
    assert np.bincount(y_res)[1] == (y == 0).sum()
    # the synthetic points lie on the segment between the two positives
    a, b = X[y == 1]
    t = (X_res[len(y) :] - a) @ (b - a) / ((b - a) @ (b - a))
    np.testing.assert_allclose(a + t[:, None] * (b - a), X_res[len(y) :], atol=1e-12)


def test_neighbour_counts_fit_the_class_sizes_nested_ones_too():
    enn = _method("smote_enn").make_sampler(0, n_minority=3, n_samples=50)
    assert enn.smote.k_neighbors == 2 and enn.enn.n_neighbors == 3  # ENN's count is not a minority one
    near = _method("nearmiss").make_sampler(0, n_minority=2, n_samples=50)
    assert near.n_neighbors == 2 and near.n_neighbors_ver3 == 2
    ada = _method("adasyn").make_sampler(0, n_minority=3, n_samples=50)
    assert ada.n_neighbors == 2
    border = _method("smote_borderline").make_sampler(0, n_minority=4, n_samples=8)
    assert (border.k_neighbors, border.m_neighbors) == (3, 7)
    with pytest.raises(CannotRebalanceError, match="k_neighbors"):
        _method("smote").make_sampler(0, n_minority=1, n_samples=50)


# ----------------------------------------------------------------------------- reweighting and ensembles


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
    fitted = _method("reweight").fit_predictors(X, y, f, predictors, seed=0)
    assert fitted["lr"].class_weight == "balanced" and fitted["svm"].class_weight == "balanced"
    assert predictors["lr"].class_weight is None  # templates are cloned, not changed
    factor = round(n_neg / n_pos)
    np.testing.assert_array_equal(np.bincount(fitted["rec"].seen_y_), [n_neg, factor * n_pos])
    weights = fitted["wrec"].seen_weight_
    np.testing.assert_allclose(weights[y == 1].sum(), weights[y == 0].sum())
    # and the real MLP fits through the replication route
    mlp = _method("reweight").fit_predictors(X, y, f, {"nn": MLPClassifier(max_iter=50, random_state=0)})
    assert mlp["nn"].predict(X).shape == (len(y),)


def test_ensembles_wrap_each_predictor_and_give_svc_probabilities():
    X, y, f = _small_set()
    method = _method("spe", "imbalance.ensemble.n_estimators=3")
    fitted = method.fit_predictors(X, y, f, {"svm": SVC(), "dt": DecisionTreeClassifier()})
    assert fitted["svm"].estimator.probability is True
    assert isinstance(fitted["dt"].estimator, DecisionTreeClassifier)
    assert len(fitted["svm"].estimators_) == 3
    assert method.ensemble.estimator is None  # the configured ensemble itself is never changed


def test_f_consuming_predictor_is_fitted_on_the_real_set():
    X, y, f = _small_set()
    predictors = {"gp_classifier": GPThresholdClassifier(h=0.9, random_state=0), "dt": DecisionTreeClassifier()}
    assert needs_f(predictors["gp_classifier"]) and not needs_f(predictors["dt"])
    fitted = _method("random_over").fit_predictors(X, y, f, predictors, seed=0)
    assert fitted["gp_classifier"].gp_.n == len(y)  # the real R, not R*
    assert fitted["gp_classifier"].threshold_ == 0.9


def test_paper_predictors_with_the_gp_run_under_smote_gp():
    X, y, f = _small_set()
    predictors = build("predictors", compose_config(["predictors=with_gp", "h=0.9"]).predictors)
    method = _method("smote_gp", "imbalance.v=0.05")
    fitted = method.fit_predictors(X, y, f, predictors, seed=0)
    assert list(fitted) == ["dt", "rf", "lr", "svm", "nn", "gp_classifier"]
    assert fitted["gp_classifier"].threshold_ == 0.9


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "overrides, field",
    [
        (["imbalance=smote", "+imbalance.sampler.k_neighbours=3"], "imbalance.sampler"),
        (["imbalance=smote", "imbalance.sampler.k_neighbors=0"], "imbalance.sampler.k_neighbors"),
        (["imbalance=smote_enn", "imbalance.sampler.smote.k_neighbors=0"], "imbalance.sampler.smote.k_neighbors"),
        (["imbalance=smote_gp", "imbalance.v=-1"], "imbalance.sampler.v"),
        (["imbalance=smote_gp", "+imbalance.vv=1"], "imbalance.vv"),
        (["imbalance=gan", "imbalance.sampler.epochs=0"], "imbalance.sampler.epochs"),
        (["imbalance=mesa", "imbalance.ensemble.n_estimators=0"], "imbalance.ensemble.n_estimators"),
        (["imbalance=smote", "imbalance.sampler._target_=imblearn.over_sampling.NoSuchSampler"], "imbalance.sampler"),
        (["imbalance=smote", "imbalance._target_=sklearn.svm.SVC", "~imbalance.sampler"], "imbalance.smote._target_"),
    ],
)
def test_bad_settings_are_one_config_error_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as info:
        build("imbalance", compose_config(overrides).imbalance)
    assert info.value.field == field


def test_other_construction_errors():
    with pytest.raises(UnknownNameError, match="smote-variants oversampler"):
        _method("sv", "imbalance.sampler.oversampler=NOT_A_SAMPLER")
    with pytest.raises(ConfigError, match="fit_resample"):
        Resampling(DecisionTreeClassifier())
    with pytest.raises(ConfigError, match="estimator_param"):
        Ensemble(DecisionTreeClassifier())
    with pytest.raises(ConfigError, match="_target_"):
        build("imbalance", {"name": "x", "sampler": {}})
    with pytest.raises(ConfigError, match="resample"):
        _method("spe").resample(*_small_set()[:2])


def test_bad_training_set_is_a_config_error():
    X, y, f = _small_set()
    with pytest.raises(ConfigError, match="y"):
        _method("smote").fit_predictors(X, y * 2, f, _cheap_predictors())
    with pytest.raises(ConfigError, match="f"):
        _method("smote_gp").fit_predictors(X, y, f[:-1], _cheap_predictors())
    with pytest.raises(ConfigError, match="predictors"):
        _method("smote").fit_predictors(X, y, f, {})


def test_method_built_by_hand_equals_the_config_one():
    X, y, f = _small_set()
    by_hand = Resampling(SMOTE(k_neighbors=5))
    np.testing.assert_array_equal(by_hand.resample(X, y, seed=4)[0], _method("smote").resample(X, y, seed=4)[0])


# ----------------------------------------------------------------------------- imbalanced-ensemble shim


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
