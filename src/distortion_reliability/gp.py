"""The one Gaussian-process helper: fit hyperparameters, condition on data, read the posterior.

Used by the GP samplers (``sampling/``), SMOTE-GP (``imbalance/smote_gp.py``) and
``predictors.GPThresholdClassifier``. Levels are in the unit cube [0, 1]^d.

The model (BoTorch's ``SingleTaskGP`` defaults, written out so it can be updated row by row)::

    z = (y - mean(y)) / std(y)              outcomes standardised (std with ddof=1; 1 if n < 2 or std ~ 0)
    z(x) = c + g(x) + eps                   constant mean c, eps ~ N(0, noise)
    g ~ GP(0, a * k),  k(x, x) = 1          prior variance a: 1 (BoTorch: z is standardised) or fitted
    k(x, x') = exp(-r^2 / 2)                (rbf)  or  (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)  (matern52)
    r^2 = sum_i ((x_i - x'_i) / l_i)^2      one length scale per dimension (ARD)

Hyperparameters (l, noise, c, and a when asked) are fitted (``gp_fit.py``) by maximum a posteriori with
BoTorch's default priors, l_i ~ LogNormal(sqrt2 + ln(d)/2, sqrt3) and noise ~ LogNormal(-4, 1) (none on a),
by L-BFGS-B on the log parameters within bounds (:class:`FitOptions`). The posterior of g at x*
(paper equations 1-2)::

    mean(x*) = mean(y) + std(y) * (c + a k*^T K^-1 (z - c)),   K = a k(X, X) + noise * I
    var(x*)  = std(y)^2 * a * u(x*),   u(x*) = 1 - a k*^T K^-1 k*   in [0, 1]

``u`` is the posterior variance relative to the prior variance (SMOTE-GP's uncertainty score).

:class:`GP` keeps the Cholesky factor of K; :meth:`GP.add` extends it by the new rows (O(n^2 k)
instead of a new O(n^3) factorisation), which gives the same posterior as a new GP on all the data
with the same hyperparameters (to rounding).

Determinism: everything runs in float64 and, on the CPU, with one torch thread
(:func:`.threads.single_threaded`, restoring the caller's thread count), so a seed gives the same numbers
whatever ``threads`` the job uses: systems of a few hundred levels gain nothing from more threads.
On a CUDA device the GP runs there in float64; it is reproducible run to run on one device and
library version, but its rounding (hence a sampler's path) differs from the CPU's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ConfigError
from .threads import single_threaded

__all__ = ["KERNELS", "FitOptions", "GPParams", "GP", "fit_params", "fit_gp", "resolve_device"]

KERNELS = ("rbf", "matern52")
DTYPE = torch.float64
_SQRT5 = math.sqrt(5.0)
# Jitter added (growing tenfold) only when a Cholesky fails, as gpytorch's psd_safe_cholesky does.
_JITTERS = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
_MIN_STD = 1e-8  # BoTorch's Standardize: a smaller outcome spread is treated as constant


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


def kernel_of_r2(r2: torch.Tensor, kernel: str, slope: bool = False):
    """``k`` (unit prior variance) from squared scaled distances ``r2``; with ``slope``, also ``-dk/d(r^2/2)``.

    The slope turns the kernel into its gradient: ``dk/dx = -slope * (x - x') / l^2``.
    """
    if kernel == "rbf":
        k = torch.exp(-0.5 * r2)
        return (k, k) if slope else k
    r = r2.clamp_min(1e-30).sqrt()  # clamped: the gradient of sqrt at 0 would be inf * 0
    e = torch.exp(-_SQRT5 * r)
    k = (1.0 + _SQRT5 * r + (5.0 / 3.0) * r2) * e
    return (k, (5.0 / 3.0) * (1.0 + _SQRT5 * r) * e) if slope else k


def kernel_matrix(A: torch.Tensor, B: torch.Tensor, lengthscale: torch.Tensor, kernel: str) -> torch.Tensor:
    """``k(A, B)`` (unit prior variance) for ``A`` (m, d) and ``B`` (n, d): shape (m, n)."""
    return kernel_of_r2(((A.unsqueeze(-2) - B.unsqueeze(-3)) / lengthscale).pow(2).sum(-1), kernel)


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
            Ks, slope = kernel_of_r2((diff / self._ls).pow(2).sum(-1), self.params.kernel, slope=True)
            Ks, dK_factor = self._amp * Ks, -self._amp * slope
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


#: Hyperparameter fitting lives in gp_fit.py (it builds on this module); its names stay importable here.
_FIT_NAMES = ("FitOptions", "fit_params", "fit_gp", "default_params", "lengthscale_prior", "NOISE_PRIOR")


def __getattr__(name: str):
    if name in _FIT_NAMES:
        from . import gp_fit

        return getattr(gp_fit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
