"""CTGAN and TVAE from the ``ctgan`` package (imported lazily: it pulls in ``rdt``, slow to import), fitted
on each class to grow as a continuous table."""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from sklearn.utils._param_validation import Interval

from ...errors import CannotRebalanceError
from .base import _GenerativeOverSampler

__all__ = ["CTGANOverSampler", "TVAEOverSampler"]


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
