"""Generative over-samplers (GAN, VAE, CTGAN, TVAE): output layout, counts, range, seeds, training effect,
pipeline use and degenerate input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from imblearn.pipeline import Pipeline
from scipy.spatial.distance import cdist
from sklearn.linear_model import LogisticRegression

from distortion_reliability.errors import CannotRebalanceError, ConfigError
from distortion_reliability.imbalance.generative import (
    CTGANOverSampler,
    GANOverSampler,
    TVAEOverSampler,
    VAEOverSampler,
)

torch.set_num_threads(1)

# Few epochs keep the whole file fast; the training-effect test uses the defaults.
FAST = {
    "gan": (GANOverSampler, {"epochs": 20}),
    "vae": (VAEOverSampler, {"epochs": 20}),
    "ctgan": (CTGANOverSampler, {"epochs": 3, "generator_dim": (32, 32), "discriminator_dim": (32, 32)}),
    "tvae": (TVAEOverSampler, {"epochs": 3, "compress_dims": (32, 32), "decompress_dims": (32, 32)}),
}
NAMES = list(FAST)


def make_sampler(name: str, **overrides):
    cls, params = FAST[name]
    return cls(**{**params, **overrides})


def corner_set(n: int = 200, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit-cube levels, positives in the corner near 1 (about 10 %), like a reliable region."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = (np.linalg.norm(X - 1.0, axis=1) < 0.75).astype(int)
    assert 10 <= y.sum() <= 40  # guards the fixture itself
    return X, y


def energy_distance(A: np.ndarray, B: np.ndarray) -> float:
    """Two-sample energy distance: 0 for identical distributions, larger the more they differ."""
    return float(2 * cdist(A, B).mean() - cdist(A, A).mean() - cdist(B, B).mean())


@pytest.mark.parametrize("name", NAMES)
def test_appends_balanced_synthetic_positives_inside_observed_range(name):
    X, y = corner_set()
    X_res, y_res = make_sampler(name, random_state=0).fit_resample(X, y)

    n = len(y)
    np.testing.assert_array_equal(X_res[:n], X)
    np.testing.assert_array_equal(y_res[:n], y)
    n_neg, n_pos = int((y == 0).sum()), int((y == 1).sum())
    assert len(y_res) == 2 * n_neg  # balanced: positives grown to the negative count
    np.testing.assert_array_equal(y_res[n:], np.ones(n_neg - n_pos, dtype=int))

    synthetic, positives = X_res[n:], X[y == 1]
    assert np.all(np.isfinite(synthetic))
    assert np.all(synthetic >= positives.min(axis=0)) and np.all(synthetic <= positives.max(axis=0))
    # Generated, not copied: new rows differ from each other and from every real positive.
    assert len(np.unique(synthetic.round(6), axis=0)) > len(synthetic) // 2
    assert cdist(synthetic, positives).min(axis=1).max() > 1e-6


@pytest.mark.parametrize("name", ["gan", "ctgan"])
def test_float_strategy_and_dataframe_input(name):
    X, y = corner_set()
    frame = pd.DataFrame(X, columns=["blur", "rotation", "noise", "contrast"])
    n_neg = int((y == 0).sum())
    X_res, y_res = make_sampler(name, random_state=0, sampling_strategy=0.5).fit_resample(frame, y)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(frame.columns)
    assert int((y_res == 1).sum()) == int(0.5 * n_neg)
    assert int((y_res == 0).sum()) == n_neg


@pytest.mark.parametrize("name", NAMES)
def test_seed_reproduces_and_leaves_global_random_state_alone(name):
    X, y = corner_set()
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_before, torch_before = np.random.get_state()[1].copy(), torch.get_rng_state().clone()

    first, _ = make_sampler(name, random_state=7).fit_resample(X, y)
    second, _ = make_sampler(name, random_state=7).fit_resample(X, y)
    other, _ = make_sampler(name, random_state=8).fit_resample(X, y)

    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first[len(y):], other[len(y):])
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_before)
    assert torch.equal(torch.get_rng_state(), torch_before)


def bimodal_set(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """30 positives in two tight clusters, 570 uniform negatives, 6-D: a shape an untrained
    generator cannot match (it spreads its rows over the gap between the clusters)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.2] * 6, [0.8] * 6])
    positives = centers[rng.integers(0, 2, 30)] + 0.03 * rng.standard_normal((30, 6))
    X = np.vstack([rng.random((570, 6)), positives])
    y = np.r_[np.zeros(570, dtype=int), np.ones(30, dtype=int)]
    return X, y, positives


@pytest.mark.parametrize("cls", [GANOverSampler, VAEOverSampler])
def test_training_moves_samples_towards_the_minority_distribution(cls):
    X, y, positives = bimodal_set()
    for seed in (0, 1):
        untrained, _ = cls(random_state=seed, epochs=1).fit_resample(X, y)
        trained, _ = cls(random_state=seed).fit_resample(X, y)  # default epochs
        d_untrained = energy_distance(untrained[len(y):], positives)
        d_trained = energy_distance(trained[len(y):], positives)
        assert d_trained < 0.75 * d_untrained, (seed, d_trained, d_untrained)


def test_gan_does_not_collapse_onto_one_cluster():
    # A plain small GAN puts every row on one of the two clusters; both must be populated.
    X, y, _ = bimodal_set()
    X_res, _ = GANOverSampler(random_state=0).fit_resample(X, y)
    row_means = X_res[len(y):].mean(axis=1)
    assert 0.2 < np.mean(row_means < 0.5) < 0.8


@pytest.mark.parametrize("name", NAMES)
def test_works_inside_imblearn_pipeline(name):
    X, y = corner_set()
    pipe = Pipeline([("rebalance", make_sampler(name, random_state=0)), ("predictor", LogisticRegression())])
    pipe.fit(X, y)
    n_neg, n_pos = int((y == 0).sum()), int((y == 1).sum())
    assert pipe.named_steps["rebalance"].sampling_strategy_ == {1: n_neg - n_pos}
    # Trained on a balanced set, the predictor finds most real positives (unbalanced LR finds few).
    recall = pipe.predict(X[y == 1]).mean()
    assert recall >= 0.7


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_pos", [2, 3, 7])
def test_tiny_minority_with_batch_larger_than_class_still_works(name, n_pos):
    rng = np.random.default_rng(n_pos)
    X = rng.random((40, 3))
    y = np.zeros(40, dtype=int)
    y[:n_pos] = 1
    # batch_size (and ctgan's pac = 10) exceed the class size: both must shrink.
    X_res, y_res = make_sampler(name, random_state=0, batch_size=64).fit_resample(X, y)
    assert int((y_res == 1).sum()) == int((y_res == 0).sum()) == 40 - n_pos
    assert np.all(np.isfinite(X_res))


@pytest.mark.parametrize("name", NAMES)
def test_duplicate_positives_give_that_level_back(name):
    X = np.random.default_rng(0).random((30, 3))
    y = np.r_[np.ones(5, dtype=int), np.zeros(25, dtype=int)]
    X[:5] = [0.3, 0.6, 0.9]
    X_res, _ = make_sampler(name, random_state=0).fit_resample(X, y)
    # Zero spread: clipping to the observed range pins every synthetic row to the one level.
    np.testing.assert_allclose(X_res[30:], np.tile([0.3, 0.6, 0.9], (20, 1)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_pos", [0, 1, 40])
def test_degenerate_minority_raises_cannot_rebalance(name, n_pos):
    X = np.random.default_rng(0).random((40, 3))
    y = np.zeros(40, dtype=int)
    y[:n_pos] = 1
    with pytest.raises(CannotRebalanceError) as info:
        make_sampler(name, random_state=0).fit_resample(X, y)
    assert info.value.method == name
    assert ("1 row" in info.value.reason) if n_pos == 1 else ("single class" in info.value.reason)


def test_ctgan_batch_and_pac_always_fit_ctgan_constraints():
    sampler = CTGANOverSampler(batch_size=500, pac=10)
    for n_rows in range(2, 80):
        batch, pac = sampler._batch_and_pac(n_rows)
        assert 2 <= batch <= n_rows and batch % 2 == 0 and batch % pac == 0 and 1 <= pac <= 10
    assert sampler._batch_and_pac(30) == (30, 10)  # a class of 30 keeps ctgan's own pac


@pytest.mark.parametrize("field, value", [("epochs", 0), ("batch_size", -1), ("latent_dim", 0)])
def test_bad_parameter_raises_config_error_naming_field_and_value(field, value):
    X, y = corner_set()
    with pytest.raises(ConfigError) as info:
        GANOverSampler(**{field: value}).fit_resample(X, y)
    assert info.value.field == f"gan.{field}" and info.value.value == value
