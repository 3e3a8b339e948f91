"""Distortion-classifiers: construction from config, seeding, the GP reference, and scoring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import balanced_accuracy_score, f1_score, precision_score, recall_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from distortion_reliability.build import build
from distortion_reliability.config import compose_config
from distortion_reliability.errors import ConfigError
from distortion_reliability.predictors import GPThresholdClassifier
from distortion_reliability.scoring import MEAN_ROW, METRICS, flat_metrics, score_predictors

OPTIONS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "conf" / "predictors").glob("*.yaml"))


def _predictors(*overrides: str) -> dict:
    return build("predictors", compose_config(list(overrides)).predictors)


class _Fixed(ClassifierMixin, BaseEstimator):
    """Returns preset labels: lets the scoring be checked against hand-computed numbers."""

    def __init__(self, labels=None):
        self.labels = labels

    def predict(self, X):
        return np.asarray(self.labels)


@pytest.mark.parametrize("option", OPTIONS)
def test_every_predictors_config_composes_and_instantiates(option):
    cfg = compose_config([f"predictors={option}", "h=0.8", "seed=4"])
    assert cfg.predictors.name == option
    predictors = build("predictors", cfg.predictors)
    assert list(predictors)[:5] == ["dt", "rf", "lr", "svm", "nn"]
    assert all(p.get_params()["random_state"] == 4 for p in predictors.values())
    if option == "with_gp":
        assert isinstance(predictors["gp_classifier"], GPThresholdClassifier) and predictors["gp_classifier"].h == 0.8


def test_default_config_adds_the_answering_gp_classifier_to_the_five():
    assert list(_predictors("seed=7")) == ["dt", "rf", "lr", "svm", "nn", "gp_classifier"]


def test_paper_config_gives_the_five_seeded_predictors():
    predictors = _predictors("predictors=paper", "seed=7")
    assert list(predictors) == ["dt", "rf", "lr", "svm", "nn"]
    assert all(p.get_params()["random_state"] == 7 for p in predictors.values())
    assert isinstance(predictors["rf"], RandomForestClassifier) and isinstance(predictors["svm"], SVC)
    assert isinstance(predictors["nn"], MLPClassifier) and list(predictors["nn"].hidden_layer_sizes) == [100]
    assert type(predictors["nn"].hidden_layer_sizes) is list  # plain Python, not an OmegaConf ListConfig
    assert predictors["lr"].max_iter == 1000 and predictors["rf"].n_estimators == 100


def test_gp_classifier_by_override_and_a_users_own_predictor():
    gp = _predictors("h=0.7", "+predictors.gp_classifier={_target_:distortion_reliability.predictors.GPThresholdClassifier,h:${h}}")
    assert gp["gp_classifier"].h == 0.7
    knn = _predictors("+predictors.knn={_target_:sklearn.neighbors.KNeighborsClassifier,n_neighbors:3}")
    assert isinstance(knn["knn"], KNeighborsClassifier) and knn["knn"].n_neighbors == 3
    # a plain mapping works too (name dropped)
    plain = build("predictors", {"name": "mine", "dt": {"_target_": "sklearn.tree.DecisionTreeClassifier", "max_depth": 2}})
    assert list(plain) == ["dt"] and plain["dt"].max_depth == 2


def test_same_seed_same_predictions():
    rng = np.random.default_rng(0)
    X = rng.random((80, 3))
    y = (X.sum(1) > 1.8).astype(int)
    a = _predictors("seed=1")
    b = _predictors("seed=1")
    for key in ("rf", "nn"):
        np.testing.assert_array_equal(a[key].fit(X, y).predict_proba(X), b[key].fit(X, y).predict_proba(X))


@pytest.mark.parametrize(
    "overrides, field",
    [
        (["+predictors.rf.n_trees=3"], "predictors.rf"),
        (["predictors.rf.n_estimators=-3"], "predictors.rf.n_estimators"),
        (["+predictors.dt.max_depth=-3"], "predictors.dt.max_depth"),
        (["predictors=with_gp", "h=1.5"], "predictors.gp_classifier.h"),
        (["+predictors.knn={n_neighbors:3}"], "predictors.knn"),
        (["+predictors.knn={_target_:sklearn.neighbors.NoSuchClassifier}"], "predictors.knn"),
        (["+predictors.scaler={_target_:sklearn.preprocessing.StandardScaler}"], "predictors.scaler._target_"),
    ],
)
def test_bad_predictor_settings_are_one_config_error_naming_the_field(overrides, field):
    with pytest.raises(ConfigError) as info:
        _predictors(*overrides)
    assert info.value.field == field


def test_empty_predictors_config_is_an_error():
    with pytest.raises(ConfigError, match="at least one"):
        build("predictors", {"name": "empty"})


def test_scores_match_hand_computation_and_sklearn():
    y_true = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    a = np.array([1, 0, 0, 1, 1, 0, 0, 0])  # tp 2, fp 1, fn 1
    b = np.array([1, 1, 1, 1, 1, 1, 1, 1])  # tp 3, fp 5
    X = np.zeros((8, 2))
    table = score_predictors({"a": _Fixed(a), "b": _Fixed(b)}, X, y_true)
    assert list(table.columns) == ["predictor", *METRICS]
    assert list(table.predictor) == ["a", "b", "mean"]
    assert METRICS == ("f1", "precision", "recall", "balanced_accuracy")  # the scores.csv columns
    row_a = table.iloc[0]
    assert row_a.precision == pytest.approx(2 / 3) and row_a.recall == pytest.approx(2 / 3)
    assert row_a.f1 == pytest.approx(2 / 3)
    assert table.iloc[1].f1 == pytest.approx(2 * 3 / (2 * 3 + 5))
    for row, pred in zip(table.itertuples(), (a, b)):
        assert row.f1 == pytest.approx(f1_score(y_true, pred))
        assert row.precision == pytest.approx(precision_score(y_true, pred))
        assert row.recall == pytest.approx(recall_score(y_true, pred))
        assert row.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_true, pred))
    for metric in METRICS:
        assert table.iloc[2][metric] == pytest.approx(table.iloc[:2][metric].mean())
    flat = flat_metrics(table)
    assert len(flat) == 3 * len(METRICS)
    assert flat["f1_a"] == pytest.approx(2 / 3) and flat["recall_b"] == 1.0
    assert flat[f"f1_{MEAN_ROW}"] == pytest.approx((2 / 3 + 6 / 11) / 2)


def test_mean_row_is_the_paper_five_when_the_gp_classifier_is_scored_beside_them():
    y_true = np.array([1, 1, 0, 0, 1, 0, 0, 0])
    a = np.array([1, 0, 0, 1, 1, 0, 0, 0])  # F1 2/3
    fitted = {name: _Fixed(a) for name in ("dt", "rf", "lr", "svm", "nn")}
    fitted["gp_classifier"] = _Fixed(y_true)  # perfect: F1 1, but not part of the paper's number
    table = score_predictors(fitted, np.zeros((8, 2)), y_true).set_index("predictor")
    assert table.loc["gp_classifier", "f1"] == 1.0
    assert table.loc[MEAN_ROW, "f1"] == pytest.approx(2 / 3)


def test_no_predicted_positive_scores_zero_not_nan():
    table = score_predictors({"z": _Fixed(np.zeros(4, int))}, np.zeros((4, 1)), np.array([0, 1, 0, 1]))
    assert table.iloc[0].f1 == 0.0 and table.iloc[0].precision == 0.0


def test_score_input_errors():
    with pytest.raises(ConfigError, match="y_grid"):
        score_predictors({"a": _Fixed([0, 1])}, np.zeros((2, 1)), np.array([0, 2]))
    with pytest.raises(ConfigError, match="X_grid_unit"):
        score_predictors({"a": _Fixed([0, 1])}, np.zeros((3, 1)), np.array([0, 1]))


def test_gp_classifier_thresholds_the_f_surface():
    rng = np.random.default_rng(0)
    X = rng.random((60, 2))

    def f_of(Z):
        return 1.0 - ((Z - 0.3) ** 2).sum(1)

    clf = GPThresholdClassifier(h=0.9, random_state=0).fit(X, (f_of(X) >= 0.9).astype(int), f=f_of(X))
    test = rng.random((400, 2))
    truth = (f_of(test) >= 0.9).astype(int)
    margin = np.abs(f_of(test) - 0.9) > 0.03  # away from the boundary the GP must be right
    np.testing.assert_array_equal(clf.predict(test)[margin], truth[margin])
    proba = clf.predict_proba(test)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    # P(reliable) falls as levels move away from the optimum along a ray
    ray = 0.3 + np.linspace(0, 0.5, 20)[:, None] * np.ones((1, 2))
    assert np.all(np.diff(clf.predict_proba(ray)[:, 1]) <= 1e-9)
    # without f it regresses the labels and thresholds at 0.5
    label_clf = GPThresholdClassifier(h=0.9, random_state=0).fit(X, (f_of(X) >= 0.9).astype(int))
    assert label_clf.threshold_ == 0.5
    assert np.mean(label_clf.predict(test)[margin] == truth[margin]) > 0.9
