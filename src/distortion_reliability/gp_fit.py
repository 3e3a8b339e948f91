"""Hyperparameters of the GP in gp.py: maximum a posteriori with BoTorch's default priors.

l_i ~ LogNormal(sqrt2 + ln(d)/2, sqrt3) and noise ~ LogNormal(-4, 1) (none on the prior variance a),
by L-BFGS-B on the log parameters within bounds (:class:`FitOptions`), from a warm start and/or the
priors' modes; the loss is the negative log marginal likelihood (plus log priors) per observation,
as gpytorch's ExactMarginalLogLikelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize

from .errors import ConfigError
from .gp import DTYPE, GP, KERNELS, GPParams, _cholesky, _standardise, kernel_of_r2, resolve_device
from .threads import single_threaded

__all__ = ["FitOptions", "NOISE_PRIOR", "default_params", "fit_gp", "fit_params", "lengthscale_prior"]


@dataclass(frozen=True)
class FitOptions:
    """How :func:`fit_params` fits: bounds, whether noise is fitted, priors, iteration cap.

    Parameters
    ----------
    lengthscale_bounds : (float, float)
        Length scales are searched in this interval (unit-cube widths). BoTorch's lower bound is 0.025.
    noise : float or None
        ``None``: the noise variance is fitted within ``noise_bounds``; a float: fixed at that value.
    noise_bounds : (float, float)
        BoTorch's lower bound 1e-4 (standardised units).
    priors : bool
        Add BoTorch's log-normal priors on length scales and noise (MAP); False: maximum likelihood.
    maxiter : int
        Cap on L-BFGS-B iterations.
    outputscale_bounds : (float, float) or None
        ``None``: the prior variance a is 1 (BoTorch's default on standardised outcomes); bounds:
        a is fitted within them (no prior).
    """

    lengthscale_bounds: tuple[float, float] = (0.025, 100.0)
    noise: float | None = None
    noise_bounds: tuple[float, float] = (1e-4, 10.0)
    priors: bool = True
    maxiter: int = 75
    outputscale_bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        lo, hi = self.lengthscale_bounds
        if not 0 < lo <= hi:
            raise ConfigError("lengthscale_bounds", self.lengthscale_bounds, "must satisfy 0 < lower <= upper")
        if self.noise is not None and not self.noise > 0:
            raise ConfigError("noise", self.noise, "must be > 0 (or None to fit it)")
        if not 0 < self.noise_bounds[0] <= self.noise_bounds[1]:
            raise ConfigError("noise_bounds", self.noise_bounds, "must satisfy 0 < lower <= upper")
        if int(self.maxiter) < 1:
            raise ConfigError("maxiter", self.maxiter, "must be >= 1")
        if self.outputscale_bounds is not None and not 0 < self.outputscale_bounds[0] <= self.outputscale_bounds[1]:
            raise ConfigError("outputscale_bounds", self.outputscale_bounds, "must satisfy 0 < lower <= upper")



def _lognormal_logpdf(x: torch.Tensor, loc: float, scale: float) -> torch.Tensor:
    logx = torch.log(x)
    return (-logx - math.log(scale * math.sqrt(2 * math.pi)) - (logx - loc) ** 2 / (2 * scale**2)).sum()


def lengthscale_prior(d: int) -> tuple[float, float]:
    """BoTorch's dimension-scaled log-normal prior on length scales (Hvarfner et al., 2024): (loc, scale)."""
    return math.sqrt(2.0) + math.log(d) / 2.0, math.sqrt(3.0)


NOISE_PRIOR = (-4.0, 1.0)  # BoTorch's LogNormal(-4, 1) on the noise variance


def default_params(d: int, kernel: str = "rbf", options: FitOptions = FitOptions()) -> GPParams:
    """Where a fit starts without a warm start: the priors' modes (BoTorch's initial values), within bounds."""
    loc, scale = lengthscale_prior(d)
    ls = float(np.clip(math.exp(loc - scale**2), *options.lengthscale_bounds))
    noise = options.noise if options.noise is not None else float(np.clip(math.exp(NOISE_PRIOR[0] - NOISE_PRIOR[1] ** 2), *options.noise_bounds))
    return GPParams(kernel, (ls,) * d, noise, 0.0, 1.0)


def fit_params(
    X, y, kernel: str = "rbf", init: GPParams | None = None, options: FitOptions = FitOptions(),
    device: str | torch.device | None = None, also_from_prior: bool = False,
) -> GPParams:
    """Hyperparameters by MAP (or ML) on ``(X, y)``, starting from ``init`` (a warm start) or the priors' modes.

    ``also_from_prior``: with a warm start, also start from the priors' modes and keep the better
    optimum (a warm-started chain can stay in a poor basin, e.g. a dimension's length scale stuck
    at 20 with inflated noise). Deterministic: L-BFGS-B from fixed starts, one CPU thread.
    """
    X_t = torch.as_tensor(np.asarray(X, dtype=float), dtype=DTYPE, device=resolve_device(device))
    n, d = X_t.shape
    if kernel not in KERNELS:
        raise ConfigError("kernel", kernel, f"must be one of {', '.join(KERNELS)}")
    warm = init is not None and init.kernel == kernel and len(init.lengthscale) == d
    starts = [init] if warm else []
    if not warm or also_from_prior:
        starts.append(default_params(d, kernel, options))
    with single_threaded():
        z, _, _ = _standardise(torch.as_tensor(np.asarray(y, dtype=float).reshape(-1), dtype=DTYPE, device=X_t.device))
        fit_noise = options.noise is None
        ls_lo, ls_hi = (math.log(b) for b in options.lengthscale_bounds)
        nz_lo, nz_hi = (math.log(b) for b in options.noise_bounds)
        fit_amp = options.outputscale_bounds is not None
        a_lo, a_hi = (math.log(b) for b in options.outputscale_bounds) if fit_amp else (0.0, 0.0)
        bounds = [(ls_lo, ls_hi)] * d + ([(nz_lo, nz_hi)] if fit_noise else []) + ([(a_lo, a_hi)] if fit_amp else [])
        bounds.append((None, None))

        def theta_of(start: GPParams) -> np.ndarray:
            theta = [float(np.clip(math.log(v), ls_lo, ls_hi)) for v in start.lengthscale]
            if fit_noise:
                theta.append(float(np.clip(math.log(start.noise), nz_lo, nz_hi)))
            if fit_amp:
                theta.append(float(np.clip(math.log(start.outputscale), a_lo, a_hi)))
            return np.asarray([*theta, start.mean])

        loc, scale = lengthscale_prior(d)
        eye = torch.eye(n, dtype=DTYPE, device=X_t.device)
        # Pairwise differences do not depend on the hyperparameters: computed once.
        diff2 = (X_t.unsqueeze(-2) - X_t.unsqueeze(-3)).pow(2)  # (n, n, d)

        def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
            t = torch.as_tensor(theta, dtype=DTYPE, device=X_t.device).requires_grad_(True)
            ls = torch.exp(t[:d])
            noise = torch.exp(t[d]) if fit_noise else torch.as_tensor(options.noise, dtype=DTYPE, device=X_t.device)
            c = t[-1]
            amp = torch.exp(t[-2]) if fit_amp else 1.0
            K = amp * kernel_of_r2((diff2 / ls.pow(2)).sum(-1), kernel)
            L = _cholesky(K + noise * eye)
            resid = (z - c).unsqueeze(-1)
            alpha = torch.cholesky_solve(resid, L)
            mll = -0.5 * (resid * alpha).sum() - torch.log(torch.diagonal(L)).sum() - 0.5 * n * math.log(2 * math.pi)
            if options.priors:
                mll = mll + _lognormal_logpdf(ls, loc, scale)
                if fit_noise:
                    mll = mll + _lognormal_logpdf(noise.reshape(1), *NOISE_PRIOR)
            loss = -mll / n  # per observation, as gpytorch's ExactMarginalLogLikelihood
            loss.backward()
            return float(loss.detach()), t.grad.detach().cpu().numpy()

        results = [minimize(loss_and_grad, theta_of(start), jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"maxiter": int(options.maxiter)}) for start in starts]
        theta = min(results, key=lambda r: r.fun if np.isfinite(r.fun) else np.inf).x  # ties: the warm start
    noise = math.exp(theta[d]) if fit_noise else float(options.noise)
    amp = math.exp(theta[-2]) if fit_amp else 1.0
    return GPParams(kernel, tuple(math.exp(v) for v in theta[:d]), noise, float(theta[-1]), amp)


def fit_gp(
    X, y, kernel: str = "rbf", init: GPParams | None = None, options: FitOptions = FitOptions(),
    device: str | torch.device | None = None,
) -> GP:
    """:func:`fit_params` then a :class:`GP` on the same data."""
    return GP(X, y, fit_params(X, y, kernel, init, options, device), device)
