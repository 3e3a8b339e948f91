"""Shared plumbing of the generative over-samplers: per-class fitting, seeding, clipping to the class's
observed range, degenerate-input errors, and the common parts of the PyTorch GAN and VAE."""

from __future__ import annotations

from abc import abstractmethod
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError
from torch import nn

from ...errors import CannotRebalanceError, ConfigError, sklearn_param_error

__all__ = ["MIN_CLASS_ROWS"]

# Smallest class a generative model is fitted on: one row has no spread to learn from.
MIN_CLASS_ROWS = 2


class _GenerativeOverSampler(BaseOverSampler):
    """Shared plumbing: per-class fit, seeding, clipping, degenerate-input errors.

    Subclasses set ``method_name`` (the registry name used in errors) and implement
    ``_generate(X_class, n_samples, seed)``.
    """

    method_name: ClassVar[str] = "generative"

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["boolean"],
    }

    def __init__(self, *, sampling_strategy="auto", random_state=None, epochs=300, batch_size=64, verbose=False):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.epochs = epochs
        self.batch_size = batch_size
        self.verbose = verbose

    def _validate_params(self):
        # Re-raise scikit-learn's parameter error as the project's ConfigError (field + value).
        try:
            super()._validate_params()
        except InvalidParameterError as exc:
            raise sklearn_param_error(exc, self.method_name, self.get_params(), self.get_params()) from exc

    def _check_X_y(self, X, y, accept_sparse=None):
        # Generators work on dense float tables; sparse input has no meaning for distortion levels.
        X, y, binarize_y = super()._check_X_y(X, y, accept_sparse=False)
        return np.asarray(X, dtype=float), y, binarize_y

    def fit_resample(self, X, y, **params):
        """Resample the dataset.

        Parameters
        ----------
        X : {array-like, dataframe} of shape (n_samples, n_features)
            Numeric feature table (here: distortion levels).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        X_resampled : {ndarray, dataframe} of shape (n_samples_new, n_features)
            ``X`` unchanged, followed by the synthetic rows.
        y_resampled : ndarray of shape (n_samples_new,)
            ``y`` followed by the labels of the synthetic rows.

        Raises
        ------
        CannotRebalanceError
            When ``y`` holds a single class, or a class to over-sample has fewer than 2 rows,
            or the generative model fails on this data.
        """
        # imblearn would raise a bare ValueError here; the runner needs the typed, skippable error.
        labels = np.unique(np.asarray(y))
        if labels.size < 2:
            raise CannotRebalanceError(
                self.method_name, f"y holds a single class {labels.tolist()}; nothing to rebalance against"
            )
        return super().fit_resample(X, y, **params)

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        X_resampled, y_resampled = [X.copy()], [y.copy()]
        for class_label, n_samples in self.sampling_strategy_.items():
            # Draw the seed even when nothing is generated, so a class's seed does not depend on
            # whether an earlier class needed rows.
            seed = int(rng.randint(np.iinfo(np.int32).max))
            if n_samples == 0:
                continue
            X_class = X[y == class_label]
            if X_class.shape[0] < MIN_CLASS_ROWS:
                raise CannotRebalanceError(
                    self.method_name,
                    f"class {class_label} has {X_class.shape[0]} row(s); "
                    f"a generative model needs at least {MIN_CLASS_ROWS}",
                )
            X_new = np.asarray(self._generate(X_class, int(n_samples), seed), dtype=float)
            if X_new.shape != (n_samples, X.shape[1]) or not np.all(np.isfinite(X_new)):
                raise CannotRebalanceError(
                    self.method_name,
                    f"the generator produced {X_new.shape} rows with non-finite values or a wrong shape "
                    f"for class {class_label} (training diverged)",
                )
            X_new = np.clip(X_new, X_class.min(axis=0), X_class.max(axis=0))
            X_resampled.append(X_new)
            y_resampled.append(np.full(n_samples, class_label, dtype=y.dtype))
        return np.vstack(X_resampled), np.hstack(y_resampled)

    def _effective_batch_size(self, n_rows: int) -> int:
        """A batch never exceeds the class size: larger batches would only repeat rows."""
        return max(1, min(int(self.batch_size), n_rows))

    @abstractmethod
    def _generate(self, X_class: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        """Fit a generative model on ``X_class`` and return ``n_samples`` new rows."""



def _mlp(n_in: int, hidden: int, n_out: int, activation: type[nn.Module]) -> nn.Sequential:
    """Two hidden layers of width ``hidden``: enough for a 6-D table of a few dozen rows."""
    return nn.Sequential(
        nn.Linear(n_in, hidden), activation(), nn.Linear(hidden, hidden), activation(), nn.Linear(hidden, n_out)
    )


class _Standardizer:
    """Per-feature standardisation; constant features get unit scale instead of a division by 0."""

    def __init__(self, X: np.ndarray):
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale = np.where(std > 1e-12, std, 1.0)

    def transform(self, X: np.ndarray) -> torch.Tensor:
        return torch.as_tensor((X - self.mean) / self.scale, dtype=torch.float32)

    def inverse(self, Z: torch.Tensor) -> np.ndarray:
        return Z.detach().numpy().astype(float) * self.scale + self.mean


class _TorchOverSampler(_GenerativeOverSampler):
    """Common parameters and seeding of the GAN and the VAE written here."""

    _parameter_constraints: dict = {
        **_GenerativeOverSampler._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        epochs=300,
        batch_size=64,
        latent_dim=4,
        hidden=64,
        learning_rate=1e-3,
        verbose=False,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
        )
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.learning_rate = learning_rate

    def _generate(self, X_class: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        scaler = _Standardizer(X_class)
        data = scaler.transform(X_class)
        # fork_rng keeps the caller's global torch state untouched while we seed our own.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            sample = self._fit_and_sample(data, n_samples)
        return scaler.inverse(sample)

    def _minibatches(self, n_rows: int):
        """Indices of one shuffled epoch, in batches of the effective batch size."""
        batch = self._effective_batch_size(n_rows)
        order = torch.randperm(n_rows)
        return [order[start : start + batch] for start in range(0, n_rows, batch)]

    @abstractmethod
    def _fit_and_sample(self, data: torch.Tensor, n_samples: int) -> torch.Tensor:
        """Train on standardised ``data`` and return ``n_samples`` standardised rows."""
