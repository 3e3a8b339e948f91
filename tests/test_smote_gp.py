"""SMOTE-GP (Algorithm 1): SMOTE equivalence at v = inf, nothing at v = 0, the Figure 3 case,
pipeline use, degenerate classes, fill mode, and imbalanced-learn's own estimator checks."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
import torch
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import check_samplers_fit_resample, parametrize_with_checks
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import InvalidParameterError

from distortion_reliability.errors import CannotRebalanceError
from distortion_reliability.imbalance.smote_gp import SMOTEGP

torch.set_num_threads(1)


def _paper_like(seed: int = 0, n: int = 300, d: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels in the unit cube, f an accuracy-like bump, ~10 % positive."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    f = 1.0 - ((X - 0.3) ** 2).sum(axis=1)
    return X, (f >= 0.9).astype(int), f


@pytest.mark.parametrize("with_f", [True, False])
def test_v_inf_reproduces_smote_exactly(with_f):
    X, y, f = _paper_like()
    expected = SMOTE(random_state=7).fit_resample(X, y)
    sampler = SMOTEGP(v=np.inf, random_state=7)
    got = sampler.fit_resample(X, y, f=f) if with_f else sampler.fit_resample(X, y)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert sampler.n_accepted_ == sampler.n_generated_ == len(expected[1]) - len(y)
    assert sampler.used_f_ is with_f


def test_v_inf_reproduces_smote_on_multiclass():
    rng = np.random.default_rng(1)
    X = rng.random((120, 2))
    y = np.repeat([0, 1, 2], [80, 25, 15])
    expected = SMOTE(random_state=3, k_neighbors=4).fit_resample(X, y)
    got = SMOTEGP(v=np.inf, random_state=3, k_neighbors=4).fit_resample(X, y)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


def test_v_zero_adds_nothing():
    X, y, f = _paper_like()
    sampler = SMOTEGP(v=0.0, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y, f=f)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert sampler.n_generated_ > 0 and sampler.n_accepted_ == 0
    assert np.all(sampler.variances_ > 0)


def test_figure3_gap_points_rejected_cluster_points_kept():
    # 1-D: positives in two clusters, negatives in the gap between them (paper Figure 3).
    pos = np.r_[np.linspace(0.08, 0.22, 6), np.linspace(0.78, 0.92, 6)]
    neg = np.linspace(0.0, 1.0, 41)
    neg = neg[(neg < 0.07) | ((neg > 0.25) & (neg < 0.75)) | (neg > 0.95)]
    X = np.r_[pos, neg][:, None]
    f = 0.97 - 3.0 * np.minimum(np.abs(X[:, 0] - 0.15), np.abs(X[:, 0] - 0.85)) ** 2
    y = np.r_[np.ones(len(pos), int), np.zeros(len(neg), int)]
    # k = 8 > 5 same-cluster partners, so SMOTE must interpolate across the gap too.
    proposals = SMOTE(k_neighbors=8, random_state=0).fit_resample(X, y)[0][len(y) :, 0]
    in_gap = (proposals > 0.25) & (proposals < 0.75)
    assert in_gap.any() and (~in_gap).any(), "the case needs both kinds of proposals"

    sampler = SMOTEGP(k_neighbors=8, v=0.005, random_state=0)
    X_res, _ = sampler.fit_resample(X, y, f=f)
    kept = X_res[len(y) :, 0]
    np.testing.assert_array_equal(sampler.accepted_, ~in_gap)
    assert np.all((kept < 0.25) | (kept > 0.75))
    assert len(kept) == (~in_gap).sum()
    assert sampler.variances_[in_gap].min() > 100 * sampler.variances_[~in_gap].max()


def test_pipeline_without_and_with_f():
    X, y, f = _paper_like()
    pipe = Pipeline([("smotegp", SMOTEGP(v=0.05, random_state=0)), ("clf", LogisticRegression())])
    pipe.fit(X, y)
    assert pipe.named_steps["smotegp"].used_f_ is False
    assert set(pipe.predict(X)) <= {0, 1}
    with sklearn.config_context(enable_metadata_routing=True):
        sampler = SMOTEGP(v=0.05, random_state=0).set_fit_resample_request(f=True)
        pipe = Pipeline([("smotegp", sampler), ("clf", LogisticRegression())])
        pipe.fit(X, y, f=f)
    assert pipe.named_steps["smotegp"].used_f_ is True
    assert pipe.named_steps["smotegp"].n_generated_ > 0


def test_filtering_keeps_fewer_but_truer_samples():
    # On a region SMOTE bridges badly (two separated lobes), kept proposals are truer than SMOTE's.
    rng = np.random.default_rng(0)
    X = rng.random((400, 2))

    def f_of(Z):
        return 1.0 - 8.0 * np.minimum(((Z - 0.2) ** 2).sum(1), ((Z - 0.8) ** 2).sum(1))

    f = f_of(X)
    y = (f >= 0.9).astype(int)
    # k = 15 with ~11 positives per lobe: some SMOTE partners lie in the other lobe.
    proposals = SMOTE(k_neighbors=15, random_state=0).fit_resample(X, y)[0][len(y) :]
    assert np.mean(f_of(proposals) >= 0.9) < 0.95, "the case needs false SMOTE positives"
    sampler = SMOTEGP(v=0.005, k_neighbors=15, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y, f=f)
    kept = X_res[len(y) :]
    assert 0 < sampler.n_accepted_ < sampler.n_generated_
    assert np.mean(f_of(kept) >= 0.9) > np.mean(f_of(proposals) >= 0.9)
    assert np.bincount(y_res)[1] == y.sum() + sampler.n_accepted_


def test_fill_mode_tops_up_and_never_overshoots():
    X, y, f = _paper_like()
    single = SMOTEGP(v=0.0005, random_state=0)
    single.fit_resample(X, y, f=f)
    filled = SMOTEGP(v=0.0005, random_state=0, fill=True, max_tries=5)
    _, y_res = filled.fit_resample(X, y, f=f)
    requested = (y == 0).sum() - (y == 1).sum()
    assert single.n_accepted_ < filled.n_accepted_ <= requested
    assert np.bincount(y_res)[1] <= (y == 0).sum()
    assert filled.n_generated_ <= 5 * requested
    assert filled.accepted_.sum() == filled.n_accepted_ and filled.accepted_.size == filled.n_generated_
    assert np.all(filled.variances_[filled.accepted_] <= 0.0005)
    # the first round is the single pass
    np.testing.assert_array_equal(filled.variances_[: single.n_generated_], single.variances_)


def test_degenerate_classes():
    X, y, f = _paper_like()
    pos = np.flatnonzero(y == 1)
    one = y.copy()
    one[pos[1:]] = 0
    with pytest.raises(CannotRebalanceError, match="smote_gp"):
        SMOTEGP(random_state=0).fit_resample(X, one, f=f)
    two = y.copy()
    two[pos[2:]] = 0
    sampler = SMOTEGP(v=np.inf, random_state=0)
    X_res, y_res = sampler.fit_resample(X, two, f=f)
    assert sampler.k_neighbors_ == 1 and np.bincount(y_res)[1] == (two == 0).sum()
    # duplicated levels: the GP jitter keeps the fit defined
    X_dup = np.vstack([X, X[pos]])
    y_dup = np.r_[y, y[pos]]
    f_dup = np.r_[f, f[pos]]
    X_res, y_res = SMOTEGP(random_state=0).fit_resample(X_dup, y_dup, f=f_dup)
    assert X_res.shape[0] == y_res.shape[0] >= X_dup.shape[0]


def test_bad_inputs():
    X, y, f = _paper_like()
    with pytest.raises(InvalidParameterError, match="'v' parameter"):
        SMOTEGP(v=-1.0).fit_resample(X, y)
    with pytest.raises(ValueError, match="one value per sample"):
        SMOTEGP().fit_resample(X, y, f=f[:-1])
    with pytest.raises(ValueError, match="finite"):
        SMOTEGP().fit_resample(X, y, f=np.where(y == 1, np.nan, f))


# --- imbalanced-learn's own estimator checks ---------------------------------------------------

_FILTER_REASON = (
    "SMOTE-GP keeps only the proposals whose GP variance is <= v, so by design it returns fewer "
    "synthetic samples than sampling_strategy asks (see test_expected_failure_is_the_filter)"
)


def _expected_failures(estimator):
    return {"check_samplers_fit_resample": _FILTER_REASON} if estimator.v < np.inf else {}


@pytest.mark.slow
@parametrize_with_checks([SMOTEGP(random_state=0)], expected_failed_checks=_expected_failures)
def test_imblearn_estimator_checks(estimator, check):
    check(estimator)


def test_expected_failure_is_the_filter():
    """The one declared failure is the filter: with v = inf the same check passes."""
    check_samplers_fit_resample("SMOTEGP", SMOTEGP(v=np.inf, random_state=0))
    with pytest.raises(AssertionError):
        check_samplers_fit_resample("SMOTEGP", SMOTEGP(random_state=0))
