"""Analytic acquisition functions of the GP samplers and their optimiser.

In BoTorch's analytic style: an acquisition holds a fitted model (a :class:`~distortion_reliability.gp.GP`)
and maps points ``X`` (m, d) in the unit cube to values (m,) through the posterior mean and sigma.

* :class:`ReliabilityUCB` — the paper's equation 3, ``q(c) = beta * sigma(c) + (mu(c) - h)``, and its
  minority switch ``beta * sigma(c) + (h - mu(c))`` (paper, "Discussion").
* :class:`Straddle` — level-set estimation (Bryan et al. 2005), ``kappa * sigma(c) - |mu(c) - h|``.

:func:`maximize` finds a maximiser in a box: score ``raw_samples`` scrambled Sobol points plus the
warm starts (the previous optimum), run L-BFGS-B from the ``num_restarts`` best of them jointly
(one vector, as BoTorch's ``gen_candidates_scipy``), keep the best end point.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from scipy.optimize import minimize
from torch import Tensor

from ..errors import ConfigError
from ..gp import DTYPE, GP

#: Sides of h the reliability acquisition can seek.
TARGETS = ("above", "below")
#: L-BFGS-B stops when an iteration improves the (summed) acquisition by less than this relative
#: amount. scipy's default (2.2e-9) spends half the iterations polishing the sixth digit; a level
#: needs no such precision (measured: ~2x fewer evaluations, same positives within seed noise).
FTOL = 1e-6


def paper_beta(d: int, t: int, delta: float = 0.1) -> float:
    """Exploration weight of the paper's equation 3: ``2 * [log(d * t * pi^2) - log(6 * delta)]``.

    In 6-D with delta = 0.1 it runs from 13.8 (t = 10) to 22.0 (t = 600).

    Parameters
    ----------
    d : int
        Dimension of the search space C.
    t : int
        Current number of observations.
    delta : float, default 0.1
        Confidence parameter in (0, 1) (Srinivas et al.'s GP-UCB schedule, the paper's reference 28).
    """
    if int(d) != d or d < 1:
        raise ConfigError("d", d, "must be an integer >= 1")
    if int(t) != t or t < 1:
        raise ConfigError("t", t, "must be an integer >= 1")
    if not 0.0 < float(delta) < 1.0:
        raise ConfigError("delta", delta, "must lie in (0, 1)")
    return 2.0 * (math.log(d * t * math.pi**2) - math.log(6.0 * delta))


class AnalyticAcquisition:
    """Base class: ``acquisition(X) -> values`` for ``X`` of shape (m, d), from the model's mean and sigma."""

    def __init__(self, model: GP):
        self.model = model

    def forward(self, mean: Tensor, sigma: Tensor) -> Tensor:
        raise NotImplementedError

    def partials(self, mean: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor] | None:
        """``(d value / d mean, d value / d sigma)`` in closed form, or None to let autograd find them."""
        return None

    def __call__(self, X: Tensor) -> Tensor:
        mean, sigma = self.model.mean_and_sigma(X)
        return self.forward(mean, sigma)

    def value_and_grad(self, X: Tensor) -> tuple[Tensor, Tensor]:
        """Values (m,) and gradients (m, d) at ``X``: the GP's closed-form gradients of mean and sigma,
        chained with autograd through :meth:`forward` only (a graph of a few elementwise ops)."""
        mean, sigma, dmean, dsigma = self.model.mean_and_sigma_with_grad(X)
        partials = self.partials(mean, sigma)
        if partials is not None:
            g_mean, g_sigma = partials
            return self.forward(mean, sigma), g_mean.unsqueeze(-1) * dmean + g_sigma.unsqueeze(-1) * dsigma
        mean.requires_grad_(True)
        sigma.requires_grad_(True)
        with torch.enable_grad():
            values = self.forward(mean, sigma)
            g_mean, g_sigma = torch.autograd.grad(values.sum(), (mean, sigma), allow_unused=True)
        grad = torch.zeros_like(dmean)
        if g_mean is not None:
            grad = grad + g_mean.unsqueeze(-1) * dmean
        if g_sigma is not None:
            grad = grad + g_sigma.unsqueeze(-1) * dsigma
        return values.detach(), grad


class ReliabilityUCB(AnalyticAcquisition):
    r"""The paper's acquisition: ``beta * sigma(c) + (mu(c) - h)`` (or ``(h - mu(c))`` for ``below``).

    Unlike BoTorch's ``UpperConfidenceBound``, which weights sigma by ``sqrt(beta)``, beta multiplies
    sigma directly, as in the paper's equation 3 (pass ``sqrt(beta)`` for GP-UCB's form).

    Parameters
    ----------
    model : GP
    beta : float
        Weight of the posterior standard deviation (see :func:`paper_beta`).
    h : float
        Reliability threshold in [0, 1].
    target : {"above", "below"}, default "above"
        ``above`` seeks f >= h (positives are the minority); ``below`` seeks f < h.
    """

    def __init__(self, model: GP, beta: float, h: float, target: str = "above"):
        super().__init__(model)
        if target not in TARGETS:
            raise ConfigError("target", target, f"must be one of {', '.join(TARGETS)}")
        if not math.isfinite(float(beta)) or beta < 0:
            raise ConfigError("beta", beta, "must be a finite number >= 0")
        self.beta = float(beta)
        self.h = float(h)  # checked once, by the settings schema
        self.target = target

    def forward(self, mean: Tensor, sigma: Tensor) -> Tensor:
        gap = mean - self.h if self.target == "above" else self.h - mean
        return self.beta * sigma + gap

    def partials(self, mean: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
        sign = 1.0 if self.target == "above" else -1.0
        return torch.full_like(mean, sign), torch.full_like(sigma, self.beta)


class Straddle(AnalyticAcquisition):
    r"""Level-set (straddle) acquisition ``kappa * sigma(c) - |mu(c) - h|``.

    Largest where the GP is unsure on which side of h the level lies, so it maps the boundary f = h
    instead of only the reliable side.
    """

    def __init__(self, model: GP, h: float, kappa: float = 1.96):
        super().__init__(model)
        if not math.isfinite(float(kappa)) or kappa < 0:
            raise ConfigError("kappa", kappa, "must be a finite number >= 0")
        self.kappa = float(kappa)
        self.h = float(h)  # checked once, by the settings schema

    def forward(self, mean: Tensor, sigma: Tensor) -> Tensor:
        return self.kappa * sigma - (mean - self.h).abs()

    def partials(self, mean: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor]:
        return -torch.sign(mean - self.h), torch.full_like(sigma, self.kappa)


def sobol_points(n: int, upper: np.ndarray, seed: int) -> np.ndarray:
    """``n`` scrambled Sobol points in ``prod_i [0, upper_i]`` (deterministic for a seed)."""
    engine = torch.quasirandom.SobolEngine(len(upper), scramble=True, seed=int(seed))
    return engine.draw(int(n), dtype=DTYPE).numpy() * upper


def maximize(
    acquisition: AnalyticAcquisition,
    upper: np.ndarray,
    raw_samples: int,
    num_restarts: int,
    maxiter: int,
    seed: int,
    warm_starts: np.ndarray | None = None,
    ftol: float = FTOL,
) -> tuple[np.ndarray, float]:
    """A maximiser of ``acquisition`` over ``prod_i [0, upper_i]`` and its value.

    ``upper`` is 1 per dimension, or 0 on a degenerate dimension (never searched). The
    ``num_restarts`` best of ``raw_samples`` Sobol points and ``warm_starts`` start one joint
    L-BFGS-B run of at most ``maxiter`` iterations, stopped when an iteration gains less than
    ``ftol`` (relative).
    """
    upper = np.asarray(upper, dtype=float)
    d = len(upper)
    device = acquisition.model.device
    candidates = sobol_points(raw_samples, upper, seed)
    if warm_starts is not None and len(warm_starts):
        candidates = np.vstack([np.clip(np.asarray(warm_starts, dtype=float).reshape(-1, d), 0.0, upper), candidates])
    with torch.no_grad():
        scores = acquisition(torch.as_tensor(candidates, dtype=DTYPE, device=device)).cpu().numpy()
    order = np.argsort(-scores, kind="stable")[: int(num_restarts)]
    starts = candidates[order]
    k = len(starts)

    def negative_sum(x: np.ndarray) -> tuple[float, np.ndarray]:
        values, grad = acquisition.value_and_grad(torch.as_tensor(x.reshape(k, d), dtype=DTYPE, device=device))
        return -float(values.sum()), -grad.cpu().numpy().reshape(-1)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = minimize(negative_sum, starts.reshape(-1), jac=True, method="L-BFGS-B",
                          bounds=[(0.0, u) for u in upper] * k, options={"maxiter": int(maxiter), "ftol": float(ftol)})
    ends = np.clip(result.x.reshape(k, d), 0.0, upper)
    with torch.no_grad():
        end_scores = acquisition(torch.as_tensor(ends, dtype=DTYPE, device=device)).cpu().numpy()
    # Never worse than the best start (a joint line search can trade one restart for another).
    points = np.vstack([ends, starts[:1]])
    values = np.r_[end_scores, scores[order[0]]]
    best = int(np.nanargmax(values))
    return points[best], float(values[best])
