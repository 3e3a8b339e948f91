"""Generative over-samplers: a tabular GAN, a VAE, CTGAN and TVAE (the paper's "Deep learning" rows).

Each sampler fits a generative model on the rows of every class that ``sampling_strategy`` asks to
grow (in this project: the few reliable, positive levels) and draws exactly the number of synthetic
rows needed. The output is the original data, unchanged and first, followed by the synthetic rows,
as imbalanced-learn's over-samplers do, so every sampler drops into an ``imblearn.pipeline.Pipeline``.

Synthetic rows are clipped to the per-feature range observed in the class they imitate: a distortion
level outside the span of the real positives is an extrapolation no generator here can justify, and
it keeps levels inside the search box.

``GANOverSampler`` and ``VAEOverSampler`` are small PyTorch models written here; ``CTGANOverSampler``
and ``TVAEOverSampler`` wrap the ``ctgan`` package (imported lazily: it pulls in ``rdt``, which is slow
to import). All run on the CPU and are seeded by ``random_state`` without disturbing the global
NumPy/torch random state of the caller.
"""

from __future__ import annotations

import math
import re
import warnings
from abc import abstractmethod
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, InvalidParameterError
from torch import nn

from ..errors import CannotRebalanceError, ConfigError

__all__ = ["GANOverSampler", "VAEOverSampler", "CTGANOverSampler", "TVAEOverSampler"]

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
            match = re.search(r"The '(\w+)' parameter of \w+ (must be .*?)\. Got", str(exc))
            if match is None:
                raise ConfigError(self.method_name, self.get_params(), str(exc)) from exc
            field, expected = match.groups()
            raise ConfigError(f"{self.method_name}.{field}", getattr(self, field), expected) from exc

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


# --------------------------------------------------------------------------------------------------
# Small PyTorch GAN and VAE
# --------------------------------------------------------------------------------------------------


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


class _MinibatchStdDiscriminator(nn.Module):
    """MLP critic that also sees the per-feature spread of the whole batch it judges.

    With a few dozen rows a plain GAN collapses onto one mode (every synthetic row nearly equal);
    the batch spread lets the discriminator spot a collapsed batch (the ProGAN minibatch-std trick).
    """

    def __init__(self, n_features: int, hidden: int):
        super().__init__()
        self.net = _mlp(2 * n_features, hidden, 1, nn.LeakyReLU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spread = x.std(dim=0, unbiased=False, keepdim=True).expand_as(x)
        return self.net(torch.cat([x, spread], dim=1))


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class GANOverSampler(_TorchOverSampler):
    """Over-sample with a small tabular GAN fitted on each class to grow.

    A generator and a discriminator, both MLPs with two hidden layers, are trained with the
    non-saturating GAN loss on the standardised rows of the class; synthetic rows are generator
    outputs, clipped to the class's observed feature range.

    Parameters
    ----------
    {sampling_strategy}

    {random_state}

    epochs : int, default=300
        Passes over the class rows (one optimisation step per batch).

    batch_size : int, default=64
        Rows per step; shrunk to the class size when larger.

    latent_dim : int, default=4
        Size of the generator's Gaussian noise input.

    hidden : int, default=64
        Width of the two hidden layers of both networks.

    learning_rate : float, default=1e-3
        Adam learning rate of both networks.

    verbose : bool, default=False
        Print the losses every 100 epochs.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of synthetic rows generated per class.

    See Also
    --------
    VAEOverSampler, CTGANOverSampler, TVAEOverSampler

    Examples
    --------
    >>> import numpy as np
    >>> from distortion_reliability.imbalance.generative import GANOverSampler
    >>> X = np.random.default_rng(0).random((60, 2)); y = (X[:, 0] > 0.8).astype(int)
    >>> X_res, y_res = GANOverSampler(epochs=20, random_state=0).fit_resample(X, y)
    >>> int((y_res == 1).sum()) == int((y_res == 0).sum())
    True
    """

    method_name = "gan"

    def _fit_and_sample(self, data: torch.Tensor, n_samples: int) -> torch.Tensor:
        n_rows, n_features = data.shape
        generator = _mlp(self.latent_dim, self.hidden, n_features, nn.LeakyReLU)
        discriminator = _MinibatchStdDiscriminator(n_features, self.hidden)
        # beta1 = 0.5 is the usual GAN setting: momentum from 0.9 makes the two players oscillate.
        opt_g = torch.optim.Adam(generator.parameters(), lr=self.learning_rate, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=self.learning_rate, betas=(0.5, 0.999))
        bce = nn.BCEWithLogitsLoss()
        for epoch in range(self.epochs):
            for index in self._minibatches(n_rows):
                real = data[index]
                ones, zeros = torch.ones(len(index), 1), torch.zeros(len(index), 1)
                fake = generator(torch.randn(len(index), self.latent_dim))
                loss_d = bce(discriminator(real), ones) + bce(discriminator(fake.detach()), zeros)
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                # Non-saturating generator loss: log D(G(z)) keeps gradients when D wins early.
                loss_g = bce(discriminator(fake), ones)
                opt_g.zero_grad()
                loss_g.backward()
                opt_g.step()
            if self.verbose and (epoch + 1) % 100 == 0:
                print(f"gan epoch {epoch + 1}: loss_d={loss_d.item():.4f} loss_g={loss_g.item():.4f}")
        with torch.no_grad():
            return generator(torch.randn(n_samples, self.latent_dim))


class _VAE(nn.Module):
    """Gaussian VAE with a learned per-feature decoder noise scale."""

    # Bounds on the decoder's noise scale (standardised units): the floor stops the likelihood from
    # collapsing onto single training rows, the ceiling is the data's own spread.
    LOG_SIGMA_MIN, LOG_SIGMA_MAX = math.log(0.01), 0.0

    def __init__(self, n_features: int, hidden: int, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = _mlp(n_features, hidden, 2 * latent_dim, nn.ReLU)
        self.decoder = _mlp(latent_dim, hidden, n_features, nn.ReLU)
        self.log_sigma = nn.Parameter(torch.zeros(n_features))

    def sigma(self) -> torch.Tensor:
        return self.log_sigma.clamp(self.LOG_SIGMA_MIN, self.LOG_SIGMA_MAX).exp()

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """Negative ELBO per row (Gaussian likelihood up to a constant, KL to N(0, I))."""
        mu, log_var = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
        sigma = self.sigma()
        reconstruction = (((x - self.decoder(z)) / sigma) ** 2 / 2 + sigma.log()).sum(dim=1)
        kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var).sum(dim=1)
        return (reconstruction + kl).mean()

    def sample(self, n: int) -> torch.Tensor:
        mean = self.decoder(torch.randn(n, self.latent_dim))
        # Adding the learned noise gives the data's spread even where the decoder mean is smooth.
        return mean + torch.randn_like(mean) * self.sigma()


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class VAEOverSampler(_TorchOverSampler):
    """Over-sample with a small tabular variational auto-encoder fitted on each class to grow.

    Encoder and decoder are MLPs with two hidden layers; the decoder has a learned per-feature
    Gaussian noise scale. Synthetic rows are decoded prior samples plus that noise, clipped to the
    class's observed feature range.

    Parameters
    ----------
    {sampling_strategy}

    {random_state}

    epochs : int, default=300
        Passes over the class rows (one optimisation step per batch).

    batch_size : int, default=64
        Rows per step; shrunk to the class size when larger.

    latent_dim : int, default=4
        Size of the latent code.

    hidden : int, default=64
        Width of the two hidden layers of encoder and decoder.

    learning_rate : float, default=1e-3
        Adam learning rate.

    verbose : bool, default=False
        Print the loss every 100 epochs.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of synthetic rows generated per class.

    See Also
    --------
    GANOverSampler, CTGANOverSampler, TVAEOverSampler
    """

    method_name = "vae"

    def _fit_and_sample(self, data: torch.Tensor, n_samples: int) -> torch.Tensor:
        n_rows, n_features = data.shape
        model = _VAE(n_features, self.hidden, self.latent_dim)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        for epoch in range(self.epochs):
            for index in self._minibatches(n_rows):
                loss = model.loss(data[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if self.verbose and (epoch + 1) % 100 == 0:
                print(f"vae epoch {epoch + 1}: loss={loss.item():.4f}")
        with torch.no_grad():
            return model.sample(n_samples)


# --------------------------------------------------------------------------------------------------
# ctgan package: CTGAN and TVAE
# --------------------------------------------------------------------------------------------------


class _CtganPackageOverSampler(_GenerativeOverSampler):
    """Fits one of the ``ctgan`` package's synthesizers on the class rows as a continuous DataFrame."""

    def _generate(self, X_class: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
        import pandas as pd

        columns = [f"x{j}" for j in range(X_class.shape[1])]
        table = pd.DataFrame(X_class, columns=columns)
        synthesizer = self._make_synthesizer(X_class.shape[0])
        # The package seeds numpy and torch inside fit/sample and restores the caller's state after.
        synthesizer.set_random_state(seed)
        try:
            with warnings.catch_warnings():
                if not self.verbose:
                    # Few rows make the per-column Bayesian GMMs warn about convergence; expected here.
                    warnings.simplefilter("ignore")
                synthesizer.fit(table)
                sample = synthesizer.sample(n_samples)
        except (ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            raise CannotRebalanceError(self.method_name, f"{type(exc).__name__}: {exc}") from exc
        return sample[columns].to_numpy(dtype=float)

    @abstractmethod
    def _make_synthesizer(self, n_rows: int):
        """The configured, unfitted synthesizer for a class of ``n_rows`` rows."""


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class CTGANOverSampler(_CtganPackageOverSampler):
    """Over-sample with the ``ctgan`` package's CTGAN fitted on each class to grow.

    Every feature is modelled as a continuous column (mode-specific normalisation by a Bayesian
    GMM). Runs on the CPU. Synthetic rows are clipped to the class's observed feature range.

    Parameters
    ----------
    {sampling_strategy}

    {random_state}

    epochs : int, default=300
        CTGAN epochs; with a class smaller than the batch, one step each.

    batch_size : int, default=500
        Upper bound of the rows per step. CTGAN needs an even batch divisible by ``pac``, so the
        batch is shrunk to the largest such size not above the class size (and ``pac`` to at most
        half the batch, down to 1 for classes of a few rows).

    pac : int, default=10
        Rows the discriminator judges together (PacGAN), reduced for small classes as above.

    embedding_dim : int, default=128
        Size of the generator's noise input.

    generator_dim, discriminator_dim : tuple of int, default=(256, 256)
        Hidden layer widths.

    generator_lr, discriminator_lr : float, default=2e-4
        Adam learning rates.

    discriminator_steps : int, default=1
        Discriminator updates per generator update.

    verbose : bool, default=False
        Show the package's progress bar and warnings.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of synthetic rows generated per class.

    See Also
    --------
    TVAEOverSampler, GANOverSampler
    """

    method_name = "ctgan"

    _parameter_constraints: dict = {
        **_GenerativeOverSampler._parameter_constraints,
        "batch_size": [Interval(Integral, 2, None, closed="left")],
        "pac": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "generator_dim": ["array-like"],
        "discriminator_dim": ["array-like"],
        "generator_lr": [Interval(Real, 0, None, closed="neither")],
        "discriminator_lr": [Interval(Real, 0, None, closed="neither")],
        "discriminator_steps": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        epochs=300,
        batch_size=500,
        pac=10,
        embedding_dim=128,
        generator_dim=(256, 256),
        discriminator_dim=(256, 256),
        generator_lr=2e-4,
        discriminator_lr=2e-4,
        discriminator_steps=1,
        verbose=False,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
        )
        self.pac = pac
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.generator_lr = generator_lr
        self.discriminator_lr = discriminator_lr
        self.discriminator_steps = discriminator_steps

    def _batch_and_pac(self, n_rows: int) -> tuple[int, int]:
        """Largest even batch <= min(batch_size, n_rows) divisible by a pac <= batch / 2."""
        batch = self._effective_batch_size(n_rows)
        pac = max(1, min(int(self.pac), batch // 2))
        step = math.lcm(2, pac)
        batch = (batch // step) * step
        if batch < 2:  # n_rows >= 2 always allows pac = 1, batch = 2
            pac, batch = 1, 2
        return batch, pac

    def _make_synthesizer(self, n_rows: int):
        from ctgan import CTGAN

        batch, pac = self._batch_and_pac(n_rows)
        return CTGAN(
            embedding_dim=int(self.embedding_dim),
            generator_dim=tuple(int(w) for w in self.generator_dim),
            discriminator_dim=tuple(int(w) for w in self.discriminator_dim),
            generator_lr=float(self.generator_lr),
            discriminator_lr=float(self.discriminator_lr),
            batch_size=batch,
            discriminator_steps=int(self.discriminator_steps),
            verbose=bool(self.verbose),
            epochs=int(self.epochs),
            pac=pac,
            enable_gpu=False,
        )


@Substitution(
    sampling_strategy=BaseOverSampler._sampling_strategy_docstring,
    random_state=_random_state_docstring,
)
class TVAEOverSampler(_CtganPackageOverSampler):
    """Over-sample with the ``ctgan`` package's TVAE fitted on each class to grow.

    Every feature is modelled as a continuous column. Runs on the CPU. Synthetic rows are clipped
    to the class's observed feature range.

    Parameters
    ----------
    {sampling_strategy}

    {random_state}

    epochs : int, default=300
        TVAE epochs (passes over the class rows).

    batch_size : int, default=500
        Rows per step; shrunk to the class size when larger.

    embedding_dim : int, default=128
        Size of the latent code.

    compress_dims, decompress_dims : tuple of int, default=(128, 128)
        Hidden layer widths of encoder and decoder.

    l2scale : float, default=1e-5
        Adam weight decay.

    loss_factor : float, default=2
        Weight of the reconstruction term against the KL term.

    verbose : bool, default=False
        Show the package's progress bar and warnings.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of synthetic rows generated per class.

    See Also
    --------
    CTGANOverSampler, VAEOverSampler
    """

    method_name = "tvae"

    _parameter_constraints: dict = {
        **_GenerativeOverSampler._parameter_constraints,
        "embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "compress_dims": ["array-like"],
        "decompress_dims": ["array-like"],
        "l2scale": [Interval(Real, 0, None, closed="left")],
        "loss_factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        epochs=300,
        batch_size=500,
        embedding_dim=128,
        compress_dims=(128, 128),
        decompress_dims=(128, 128),
        l2scale=1e-5,
        loss_factor=2,
        verbose=False,
    ):
        super().__init__(
            sampling_strategy=sampling_strategy,
            random_state=random_state,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
        )
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.l2scale = l2scale
        self.loss_factor = loss_factor

    def _make_synthesizer(self, n_rows: int):
        from ctgan.synthesizers.tvae import TVAE

        return TVAE(
            embedding_dim=int(self.embedding_dim),
            compress_dims=tuple(int(w) for w in self.compress_dims),
            decompress_dims=tuple(int(w) for w in self.decompress_dims),
            l2scale=float(self.l2scale),
            batch_size=self._effective_batch_size(n_rows),
            epochs=int(self.epochs),
            loss_factor=float(self.loss_factor),
            enable_gpu=False,
            verbose=bool(self.verbose),
        )
