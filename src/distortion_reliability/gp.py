"""The one Gaussian-process helper: fit hyperparameters, condition on data, read the posterior.

Used by the GP samplers (``sampling/``), SMOTE-GP (``imbalance/smote_gp.py``) and
``predictors.GPThresholdClassifier``. Levels are in the unit cube [0, 1]^d.

The model (BoTorch's ``SingleTaskGP`` defaults, written out so it can be updated row by row)::

    z = (y - mean(y)) / std(y)              outcomes standardised (std with ddof=1; 1 if n < 2 or std ~ 0)
    z(x) = c + g(x) + eps                   constant mean c, eps ~ N(0, noise)
    g ~ GP(0, a * k),  k(x, x) = 1          prior variance a: 1 (BoTorch: z is standardised) or fitted
    k(x, x') = exp(-r^2 / 2)                (rbf)  or  (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)  (matern52)
    r^2 = sum_i ((x_i - x'_i) / l_i)^2      one length scale per dimension (ARD)

Hyperparameters (l, noise, c, and a when asked) are fitted by maximum a posteriori with BoTorch's
default priors, l_i ~ LogNormal(sqrt2 + ln(d)/2, sqrt3) and noise ~ LogNormal(-4, 1) (none on a),
by L-BFGS-B on the log parameters within bounds (:class:`FitOptions`). The posterior of g at x*
(paper equations 1-2)::

    mean(x*) = mean(y) + std(y) * (c + a k*^T K^-1 (z - c)),   K = a k(X, X) + noise * I
    var(x*)  = std(y)^2 * a * u(x*),   u(x*) = 1 - a k*^T K^-1 k*   in [0, 1]

``u`` is the posterior variance relative to the prior variance (SMOTE-GP's uncertainty score).

:class:`GP` keeps the Cholesky factor of K; :meth:`GP.add` extends it by the new rows (O(n^2 k)
instead of a new O(n^3) factorisation), which gives the same posterior as a new GP on all the data
with the same hyperparameters (to rounding).

Determinism: everything runs in float64 and, on the CPU, with one torch thread
(:func:`single_threaded`, restoring the caller's thread count), so a seed gives the same numbers
whatever ``threads`` the job uses: systems of a few hundred levels gain nothing from more threads.
On a CUDA device the GP runs there in float64; it is reproducible run to run on one device and
library version, but its rounding (hence a sampler's path) differs from the CPU's.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from scipy.optimize import minimize

from .errors import ConfigError

__all__ = ["KERNELS", "FitOptions", "GPParams", "GP", "fit_params", "fit_gp", "single_threaded", "resolve_device"]

KERNELS = ("rbf", "matern52")
DTYPE = torch.float64
_SQRT5 = math.sqrt(5.0)
# Jitter added (growing tenfold) only when a Cholesky fails, as gpytorch's psd_safe_cholesky does.
_JITTERS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
_MIN_STD = 1e-8  # BoTorch's Standardize: a smaller outcome spread is treated as constant


@contextmanager
def single_threaded() -> Iterator[None]:
    """Run torch's CPU linear algebra on one thread inside the block; restore the thread count after."""
    old = torch.get_num_threads()
    if old != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if old != 1:
            torch.set_num_threads(old)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"cpu"`` -> cpu; ``"auto"`` -> cuda when available; ``"cuda[:i]"`` must be available."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", device, "needs a CUDA GPU, but none is available (use cpu)")
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError("device", device, "must be cpu, cuda, cuda:<i> or auto") from None


@dataclass(frozen=True)
class GPParams:
    """Hyperparameters of the GP: kernel, length scales (unit cube), noise variance, mean and prior
    variance ``outputscale`` (the last three in standardised units)."""

    kernel: str
    lengthscale: tuple[float, ...]
    noise: float
    mean: float = 0.0
    outputscale: float = 1.0

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ConfigError("kernel", self.kernel, f"must be one of {', '.join(KERNELS)}")
        object.__setattr__(self, "lengthscale", tuple(float(v) for v in self.lengthscale))
        object.__setattr__(self, "noise", float(self.noise))
        object.__setattr__(self, "mean", float(self.mean))
        object.__setattr__(self, "outputscale", float(self.outputscale))

    def to_dict(self) -> dict:
        """JSON-ready (Python floats round-trip exactly through ``json``)."""
        return {"kernel": self.kernel, "lengthscale": list(self.lengthscale), "noise": self.noise, "mean": self.mean,
                "outputscale": self.outputscale}

    @classmethod
    def from_dict(cls, data: dict) -> "GPParams":
        return cls(data["kernel"], tuple(data["lengthscale"]), data["noise"], data.get("mean", 0.0),
                   data.get("outputscale", 1.0))


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


def kernel_matrix(A: torch.Tensor, B: torch.Tensor, lengthscale: torch.Tensor, kernel: str) -> torch.Tensor:
    """``k(A, B)`` (unit prior variance) for ``A`` (m, d) and ``B`` (n, d): shape (m, n)."""
    diff = (A.unsqueeze(-2) - B.unsqueeze(-3)) / lengthscale
    r2 = diff.pow(2).sum(-1)
    if kernel == "rbf":
        return torch.exp(-0.5 * r2)
    r = r2.clamp_min(1e-30).sqrt()  # clamped: the gradient of sqrt at 0 would be inf * 0
    return (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * torch.exp(-_SQRT5 * r)


def _cholesky(K: torch.Tensor) -> torch.Tensor:
    L, info = torch.linalg.cholesky_ex(K)
    if not bool(info.any()):
        return L
    eye = torch.eye(K.shape[-1], dtype=K.dtype, device=K.device)
    for jitter in _JITTERS:
        L, info = torch.linalg.cholesky_ex(K + jitter * eye)
        if not bool(info.any()):
            return L
    raise np.linalg.LinAlgError("kernel matrix is not positive definite even with jitter 1e-3")


def _standardise(y: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """BoTorch's ``Standardize``: (y - mean) / std with ddof=1; std 1 when undefined or below 1e-8."""
    mean = float(y.mean())
    std = float(y.std()) if y.numel() > 1 else float("nan")
    if not std >= _MIN_STD:  # also catches nan
        std = 1.0
    return (y - mean) / std, mean, std


class GP:
    """Exact GP posterior on unit-cube levels with a cached Cholesky factor.

    Parameters
    ----------
    X : array (n, d)
        Levels in the unit cube.
    y : array (n,)
        Observed values (standardised internally).
    params : GPParams
        Fixed hyperparameters (see :func:`fit_params`).
    device : str or torch.device, default cpu
    """

    def __init__(self, X, y, params: GPParams, device: str | torch.device | None = None):
        self.params = params
        self.device = resolve_device(device)
        X_t = torch.as_tensor(np.asarray(X, dtype=float), dtype=DTYPE, device=self.device)
        if X_t.ndim != 2 or X_t.shape[1] != len(params.lengthscale):
            raise ConfigError("X", tuple(X_t.shape), f"must have shape (n, {len(params.lengthscale)})")
        self._ls = torch.as_tensor(params.lengthscale, dtype=DTYPE, device=self.device)
        self._amp = params.outputscale
        self.X = X_t
        self.y = torch.as_tensor(np.asarray(y, dtype=float).reshape(-1), dtype=DTYPE, device=self.device)
        if self.y.shape[0] != self.X.shape[0]:
            raise ConfigError("y", tuple(self.y.shape), f"must have one value per level ({self.X.shape[0]})")
        with single_threaded():
            self.L = _cholesky(self._k(self.X, self.X) + params.noise * self._eye(len(self.X)))
            self._refresh()

    # --- data ------------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    def add(self, X_new, y_new) -> "GP":
        """Condition on ``k`` more observations in place: the Cholesky factor grows by k rows."""
        X_new = torch.as_tensor(np.asarray(X_new, dtype=float), dtype=DTYPE, device=self.device).reshape(-1, self.X.shape[1])
        y_new = torch.as_tensor(np.asarray(y_new, dtype=float).reshape(-1), dtype=DTYPE, device=self.device)
        if len(X_new) == 0:
            return self
        with single_threaded():
            K12 = self._k(self.X, X_new)
            K22 = self._k(X_new, X_new) + self.params.noise * self._eye(len(X_new))
            L21t = torch.linalg.solve_triangular(self.L, K12, upper=False)  # (n, k)
            L22 = _cholesky(K22 - L21t.T @ L21t)
            n, k = self.n, len(X_new)
            L = torch.zeros(n + k, n + k, dtype=DTYPE, device=self.device)
            L[:n, :n] = self.L
            L[n:, :n] = L21t.T
            L[n:, n:] = L22
            self.L = L
            self.X = torch.cat([self.X, X_new])
            self.y = torch.cat([self.y, y_new])
            self._refresh()
        return self

    def condition(self, X_new, y_new) -> "GP":
        """A copy conditioned on more observations (this GP is unchanged)."""
        other = object.__new__(GP)
        other.__dict__.update(self.__dict__)
        return other.add(X_new, y_new)

    # --- posterior -------------------------------------------------------------------------------
    def mean_and_sigma(self, Xs: torch.Tensor, min_var: float = 1e-12) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and standard deviation of f at ``Xs`` (m, d), in the units of y (differentiable)."""
        z_mean, u = self._latent(Xs)
        return self.y_mean + self.y_std * z_mean, self.y_std * u.clamp_min(min_var).sqrt()

    def mean_and_sigma_with_grad(
        self, Xs: torch.Tensor, min_var: float = 1e-12
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Posterior mean, sigma and their gradients with respect to ``Xs`` (m, d), in closed form.

        Returns ``mean (m,), sigma (m,), dmean (m, d), dsigma (m, d)``; no autograd graph (the
        acquisition optimiser calls this hundreds of times per step).
        """
        with torch.no_grad():
            diff = Xs.unsqueeze(-2) - self.X  # (m, n, d)
            scaled = diff / self._ls.pow(2)
            r2 = (diff / self._ls).pow(2).sum(-1)
            if self.params.kernel == "rbf":
                Ks = torch.exp(-0.5 * r2)
                dK_factor = -Ks  # dk/dx = -k * (x - x_i) / l^2
            else:
                r = r2.clamp_min(1e-30).sqrt()
                e = torch.exp(-_SQRT5 * r)
                Ks = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
                dK_factor = -(5.0 / 3.0) * (1.0 + _SQRT5 * r) * e
            Ks, dK_factor = self._amp * Ks, self._amp * dK_factor
            dKs = dK_factor.unsqueeze(-1) * scaled  # (m, n, d)
            z_mean = self.params.mean + Ks @ self.alpha
            dz_mean = torch.einsum("mnd,n->md", dKs, self.alpha)
            V = torch.linalg.solve_triangular(self.L, Ks.T, upper=False)  # (n, m)
            W = torch.linalg.solve_triangular(self.L.T, V, upper=True)  # K^-1 k*, (n, m)
            u = self._amp - V.pow(2).sum(0)
            du = -2.0 * torch.einsum("mnd,nm->md", dKs, W)
            clamped = u < min_var
            u = u.clamp_min(min_var)
            sd = u.sqrt()
            dsd = torch.where(clamped.unsqueeze(-1), torch.zeros_like(du), du / (2.0 * sd.unsqueeze(-1)))
        return (self.y_mean + self.y_std * z_mean, self.y_std * sd, self.y_std * dz_mean, self.y_std * dsd)

    def predict(self, Xs) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of f at ``Xs`` as numpy arrays."""
        with torch.no_grad(), single_threaded():
            z_mean, u = self._latent(self._as_tensor(Xs))
        return (self.y_mean + self.y_std * z_mean).cpu().numpy(), (self.y_std**2 * u).cpu().numpy()

    def relative_variance(self, Xs) -> np.ndarray:
        """``u(x) = posterior variance / prior variance`` of f, in [0, 1] (SMOTE-GP's uncertainty score)."""
        with torch.no_grad(), single_threaded():
            _, var = self._latent(self._as_tensor(Xs))
        return (var / self._amp).clamp(0.0, 1.0).cpu().numpy()

    # --- internals -------------------------------------------------------------------------------
    def _as_tensor(self, Xs) -> torch.Tensor:
        if isinstance(Xs, torch.Tensor):
            return Xs.to(device=self.device, dtype=DTYPE)
        return torch.as_tensor(np.asarray(Xs, dtype=float), dtype=DTYPE, device=self.device).reshape(-1, self.X.shape[1])

    def _latent(self, Xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Standardised posterior mean and variance ``a - k*^T K^-1 k*`` at ``Xs`` (m, d)."""
        Ks = self._k(Xs, self.X)  # (m, n)
        z_mean = self.params.mean + Ks @ self.alpha
        V = torch.linalg.solve_triangular(self.L, Ks.T, upper=False)  # (n, m)
        return z_mean, self._amp - V.pow(2).sum(0)

    def _k(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return self._amp * kernel_matrix(A, B, self._ls, self.params.kernel)

    def _eye(self, n: int) -> torch.Tensor:
        return torch.eye(n, dtype=DTYPE, device=self.device)

    def _refresh(self) -> None:
        z, self.y_mean, self.y_std = _standardise(self.y)
        self.alpha = torch.cholesky_solve((z - self.params.mean).unsqueeze(-1), self.L).squeeze(-1)


# --------------------------------------------------------------------------- hyperparameters


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
            r2 = (diff2 / ls.pow(2)).sum(-1)
            if kernel == "rbf":
                K = torch.exp(-0.5 * r2)
            else:
                r = r2.clamp_min(1e-30).sqrt()
                K = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * torch.exp(-_SQRT5 * r)
            K = amp * K
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
