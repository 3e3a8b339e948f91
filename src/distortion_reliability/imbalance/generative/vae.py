"""A small tabular variational auto-encoder (PyTorch) as an imbalanced-learn over-sampler."""

from __future__ import annotations

import logging
import math

import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from torch import nn

from .base import _mlp, _TorchOverSampler

__all__ = ["VAEOverSampler"]

logger = logging.getLogger(__name__)


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
        Log the loss every 100 epochs (INFO).

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
                logger.info("vae epoch %d: loss=%.4f", epoch + 1, loss.item())
        with torch.no_grad():
            return model.sample(n_samples)
