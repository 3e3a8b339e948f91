"""Analytic acquisition functions of the GP samplers, in BoTorch's ``AnalyticAcquisitionFunction`` form.

* :class:`ReliabilityUCB` — the paper's equation 3, ``q(c) = beta * sigma(c) + (mu(c) - h)``, and its
  minority switch ``beta * sigma(c) + (h - mu(c))`` (paper, "Discussion").
* :class:`Straddle` — level-set estimation (Bryan et al. 2005), ``kappa * sigma(c) - |mu(c) - h|``.

Both take points in the unit cube, shaped ``batch x 1 x d`` as BoTorch's optimisers pass them.
"""

from __future__ import annotations

import math

import torch
from botorch.acquisition.analytic import AnalyticAcquisitionFunction
from botorch.models.model import Model
from botorch.utils.transforms import t_batch_mode_transform
from torch import Tensor

from ..errors import ConfigError
from ..space import check_threshold

#: Sides of h the reliability acquisition can seek.
TARGETS = ("above", "below")


def paper_beta(d: int, t: int, delta: float = 0.1) -> float:
    """Exploration weight of the paper's equation 3: ``2 * [log(d * t * pi^2) - log(6 * delta)]``.

    Parameters
    ----------
    d : int
        Dimension of the search space C.
    t : int
        Current number of observations.
    delta : float, default 0.1
        Confidence parameter in (0, 1) (Srinivas et al.'s GP-UCB schedule, the paper's reference 28).

    Returns
    -------
    float
    """
    if int(d) != d or d < 1:
        raise ConfigError("d", d, "must be an integer >= 1")
    if int(t) != t or t < 1:
        raise ConfigError("t", t, "must be an integer >= 1")
    if not 0.0 < float(delta) < 1.0:
        raise ConfigError("delta", delta, "must lie in (0, 1)")
    return 2.0 * (math.log(d * t * math.pi**2) - math.log(6.0 * delta))


class ReliabilityUCB(AnalyticAcquisitionFunction):
    r"""The paper's acquisition: ``beta * sigma(c) + (mu(c) - h)`` (or ``(h - mu(c))`` for ``below``).

    Unlike BoTorch's ``UpperConfidenceBound``, which weights sigma by ``sqrt(beta)``, beta multiplies
    sigma directly, as in the paper's equation 3.

    Parameters
    ----------
    model : botorch Model
        A fitted single-output model of f on the unit cube.
    beta : float
        Weight of the posterior standard deviation (see :func:`paper_beta`).
    h : float
        Reliability threshold in [0, 1].
    target : {"above", "below"}, default "above"
        ``above`` seeks f >= h (positives are the minority); ``below`` seeks f < h.
    """

    def __init__(self, model: Model, beta: float, h: float, target: str = "above"):
        super().__init__(model=model)
        if target not in TARGETS:
            raise ConfigError("target", target, f"must be one of {', '.join(TARGETS)}")
        if not math.isfinite(float(beta)) or beta < 0:
            raise ConfigError("beta", beta, "must be a finite number >= 0")
        self.register_buffer("beta", torch.as_tensor(float(beta)))
        self.register_buffer("h", torch.as_tensor(check_threshold(h)))
        self.target = target

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        """Acquisition values at ``X`` (``batch x 1 x d``), shaped ``batch``."""
        mean, sigma = self._mean_and_sigma(X)
        gap = mean - self.h if self.target == "above" else self.h - mean
        return (self.beta * sigma + gap).squeeze(-1)


class Straddle(AnalyticAcquisitionFunction):
    r"""Level-set (straddle) acquisition ``kappa * sigma(c) - |mu(c) - h|``.

    It is largest where the GP is unsure on which side of h the level lies, so it maps the boundary
    f = h instead of only the reliable side.

    Parameters
    ----------
    model : botorch Model
        A fitted single-output model of f on the unit cube.
    h : float
        Reliability threshold in [0, 1].
    kappa : float, default 1.96
        Weight of sigma (1.96: the 95 % two-sided normal quantile, as in Bryan et al.).
    """

    def __init__(self, model: Model, h: float, kappa: float = 1.96):
        super().__init__(model=model)
        if not math.isfinite(float(kappa)) or kappa < 0:
            raise ConfigError("kappa", kappa, "must be a finite number >= 0")
        self.register_buffer("kappa", torch.as_tensor(float(kappa)))
        self.register_buffer("h", torch.as_tensor(check_threshold(h)))

    @t_batch_mode_transform(expected_q=1)
    def forward(self, X: Tensor) -> Tensor:
        """Acquisition values at ``X`` (``batch x 1 x d``), shaped ``batch``."""
        mean, sigma = self._mean_and_sigma(X)
        return (self.kappa * sigma - (mean - self.h).abs()).squeeze(-1)
