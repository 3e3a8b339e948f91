"""A small tabular GAN (PyTorch) with a minibatch-spread discriminator, as an imbalanced-learn over-sampler."""

from __future__ import annotations

import logging

import torch
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from torch import nn

from .base import _mlp, _TorchOverSampler

__all__ = ["GANOverSampler"]

logger = logging.getLogger(__name__)


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
        Log the losses every 100 epochs (INFO).

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
                logger.info("gan epoch %d: loss_d=%.4f loss_g=%.4f", epoch + 1, loss_d.item(), loss_g.item())
        with torch.no_grad():
            return generator(torch.randn(n_samples, self.latent_dim))
