"""SMOTE-GP: SMOTE whose synthetic samples are kept only where a Gaussian process is certain.

Algorithm 1 of the paper (section 3.2.2): SMOTE proposes synthetic positives; a GP is fitted on
the *real* positives with their f values; a synthetic level c is kept only if the GP posterior
variance u(c) = k(c, c) - k^T K^-1 k (equation 5) is at most the uncertainty threshold v.

Convention that gives v its meaning
-----------------------------------
Levels are expected in the unit cube [0, 1]^d (the runner scales them; in a plain pipeline put a
``MinMaxScaler`` first). The GP targets (f of the real samples of the class) are standardised to
zero mean and unit variance; the kernel is ``amplitude * ARD-Matern-5/2`` with amplitude and one
length scale per dimension fitted by maximum marginal likelihood. u(c) is therefore in units of
the variance of f among the real positives (the prior variance k(c, c) is the fitted amplitude,
about 1). On ``benchmarks/rebalancing.py``'s paper-shaped 6-D set (600 levels, 37 positive) this
keeps 57 of SMOTE's 526 proposals (11 %) at v = 0.005 and 159 (30 %) at v = 0.05, and raises the
fraction of truly reliable synthetic levels from 0.89 to 0.98, in line with the paper's remark
(section 4.4) that v < 0.01 filters out most synthetic positives.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from scipy import sparse
from imblearn.over_sampling import SMOTE
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Kernel, Matern
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..errors import CannotRebalanceError

__all__ = ["SMOTEGP", "make_gp_kernel", "fit_gp"]

_KERNELS = ("matern52", "matern32", "rbf")
# Length scales are searched in [0.01, 10] unit-cube widths: below that the GP interpolates noise,
# above it the response is flat across the whole cube.
_LENGTH_SCALE_BOUNDS = (1e-2, 1e1)
_AMPLITUDE_BOUNDS = (1e-2, 1e2)
_SCOUT_SIZE = 200  # on standardised targets the amplitude should stay near 1


def make_gp_kernel(kernel: str | Kernel, n_features: int) -> Kernel:
    """The GP covariance: a fitted amplitude times an ARD stationary kernel.

    Parameters
    ----------
    kernel : {"matern52", "matern32", "rbf"} or sklearn Kernel
        A name builds ``ConstantKernel(1) * base(length_scale=[0.5] * n_features)``, both fitted;
        a :class:`~sklearn.gaussian_process.kernels.Kernel` instance is used as given (then u is
        in that kernel's units).
    n_features : int
        Number of dimensions d (one length scale each).
    """
    if isinstance(kernel, Kernel):
        return kernel
    length_scale = np.full(n_features, 0.5)
    if kernel == "rbf":
        base: Kernel = RBF(length_scale, _LENGTH_SCALE_BOUNDS)
    else:
        base = Matern(length_scale, _LENGTH_SCALE_BOUNDS, nu=2.5 if kernel == "matern52" else 1.5)
    return ConstantKernel(1.0, _AMPLITUDE_BOUNDS) * base


def _standardise(values: np.ndarray) -> np.ndarray:
    std = values.std()
    # Constant targets carry no scale; zeros keep the GP well defined (length scales then go long).
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def fit_gp(
    X: np.ndarray,
    targets: np.ndarray,
    kernel: str | Kernel = "matern52",
    noise: float = 1e-6,
    optimize: bool = True,
    random_state: int | np.random.RandomState | None = 0,
    n_restarts: int = 2,
) -> GaussianProcessRegressor:
    """Fit a GP regression on ``(X, standardised targets)``; its ``predict(..., return_std=True)``
    gives the latent posterior standard deviation (``noise`` is a fixed jitter, not predicted)."""
    gp = GaussianProcessRegressor(
        kernel=make_gp_kernel(kernel, X.shape[1]),
        alpha=noise,
        optimizer="fmin_l_bfgs_b" if optimize else None,
        normalize_y=False,
        # Restarts guard against the short-length-scale local optimum small positive sets produce.
        n_restarts_optimizer=n_restarts if optimize else 0,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        # A length scale at its bound is a legitimate answer on tiny or flat data.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(X, _standardise(np.asarray(targets, dtype=float)))
    return gp


class SMOTEGP(BaseOverSampler):
    """SMOTE filtered by Gaussian-process uncertainty (SMOTE-GP, Algorithm 1 of the paper).

    Read more in the module docstring for the scaling convention that gives ``v`` its meaning.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many synthetic samples SMOTE proposes per class (imbalanced-learn semantics). The
        filter may keep fewer, so the output is only *at most* this balanced.
    random_state : int, RandomState instance or None, default=None
        Seeds SMOTE (identically to ``SMOTE(random_state=...)``) and the GP optimiser.
    k_neighbors : int, default=5
        SMOTE's nearest neighbours. Shrunk to ``n_class - 1`` when a class has fewer samples.
    v : float, default=0.005
        Uncertainty threshold: keep a synthetic sample iff its posterior variance ``u <= v``.
        The paper uses 0.005 (0.05 for CIFAR-10). ``np.inf`` keeps everything (plain SMOTE);
        ``0`` keeps (almost surely) nothing.
    kernel : {"matern52", "matern32", "rbf"} or sklearn Kernel, default="matern52"
        GP covariance, see :func:`make_gp_kernel`.
    noise : float, default=1e-6
        Fixed jitter added to the GP's diagonal (f is a measured accuracy, nearly noise free).
    fill : bool, default=False
        ``False``: the paper's single pass (SMOTE once, filter once). ``True``: keep proposing
        and filtering until every class reaches its requested count or ``max_tries`` rounds ran.
    max_tries : int, default=10
        Bound on SMOTE rounds when ``fill=True``.

    Attributes
    ----------
    sampling_strategy_ : dict
        Requested number of synthetic samples per class.
    k_neighbors_ : int
        The neighbour count actually used.
    gps_ : dict
        Fitted GP per oversampled class.
    variances_ : ndarray of shape (n_generated_,)
        Posterior variance u of every SMOTE proposal, in proposal order.
    accepted_ : ndarray of bool of shape (n_generated_,)
        Which proposals were kept (u <= v, and in fill mode not beyond the requested count).
    n_generated_, n_accepted_ : int
        Totals over classes and rounds.
    used_f_ : bool
        Whether the GP was fitted on f values (True) or on the labels (False).

    Notes
    -----
    f values reach the sampler as a keyword: ``fit_resample(X, y, f=f)`` with ``f`` of shape
    (n_samples,). In an :class:`imblearn.pipeline.Pipeline` route it with scikit-learn's metadata
    routing: ``sklearn.set_config(enable_metadata_routing=True)``, then
    ``SMOTEGP().set_fit_resample_request(f=True)`` and ``pipe.fit(X, y, f=f)`` (without routing,
    imblearn's pipeline passes no parameters to ``fit_resample``). Without ``f`` the sampler still works: the GP's length scales are fitted on
    the samples (all of the class, others subsampled to 200 in all) with the one-vs-rest label of
    the class as target (labels show at which scale the class changes), then the posterior is
    conditioned on the real samples of that class only, as in the paper. Posterior variance does not depend on the targets once the length scales are
    fixed, so f matters only through the length scales.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "v": [Interval(numbers.Real, 0, None, closed="both")],
        "kernel": [StrOptions(set(_KERNELS)), Kernel],
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
        "fill": ["boolean"],
        "max_tries": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: int = 5,
        v: float = 0.005,
        kernel: str | Kernel = "matern52",
        noise: float = 1e-6,
        fill: bool = False,
        max_tries: int = 10,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.v = v
        self.kernel = kernel
        self.noise = noise
        self.fill = fill
        self.max_tries = max_tries

    def fit_resample(self, X: Any, y: Any, f: Any = None) -> tuple[Any, Any]:
        """Resample ``(X, y)``; ``f`` (n_samples,) are the f values the GP is fitted on.

        Declaring ``f`` here (not only in ``**params``) lets scikit-learn's metadata routing
        offer ``set_fit_resample_request(f=True)`` for pipelines.
        """
        return super().fit_resample(X, y, f=f)

    # imblearn validates X, y and sets sampling_strategy_ before calling this.
    def _fit_resample(self, X: np.ndarray, y: np.ndarray, f: Any = None) -> tuple[np.ndarray, np.ndarray]:
        f_arr = self._check_f(f, y)
        wanted = {c: int(n) for c, n in self.sampling_strategy_.items() if n > 0}
        classes, counts = np.unique(y, return_counts=True)
        count_of = dict(zip(classes.tolist(), counts.tolist()))

        self.used_f_ = f_arr is not None
        self.gps_ = {}
        self.variances_ = np.empty(0)
        self.accepted_ = np.empty(0, dtype=bool)
        self.k_neighbors_ = self.k_neighbors
        if not wanted:
            self.n_generated_ = self.n_accepted_ = 0
            return X.copy(), y.copy()

        smallest = min(count_of[c] for c in wanted)
        if smallest < 2:
            raise CannotRebalanceError("smote_gp", f"SMOTE needs >= 2 samples of a class to oversample, got {smallest}")
        self.k_neighbors_ = min(self.k_neighbors, smallest - 1)

        rng = check_random_state(self.random_state)
        for c in wanted:
            self.gps_[c] = self._fit_class_gp(X, y, f_arr, c, rng)

        kept_X: list[np.ndarray] = []
        kept_y: list[np.ndarray] = []
        variances: list[np.ndarray] = []
        accepted: list[np.ndarray] = []
        remaining = dict(wanted)
        for attempt in range(self.max_tries if self.fill else 1):
            # Round 0 uses random_state as given, so v = inf reproduces SMOTE(random_state=...) exactly.
            seed = self.random_state if attempt == 0 else rng.randint(np.iinfo(np.int32).max)
            X_new, y_new = self._smote_proposals(X, y, remaining, count_of, seed)
            u = np.empty(len(y_new))
            for c in np.unique(y_new):
                rows = y_new == c
                _, std = self.gps_[c].predict(_dense(X_new[rows]), return_std=True)
                u[rows] = std**2
            keep = u <= self.v
            kept = np.zeros(len(y_new), dtype=bool)
            for c in list(remaining):
                # In fill mode never overshoot the requested count.
                rows = np.flatnonzero(keep & (y_new == c))[: remaining[c]]
                kept[rows] = True
                kept_X.append(X_new[rows])
                kept_y.append(y_new[rows])
                remaining[c] -= len(rows)
                if remaining[c] == 0:
                    del remaining[c]
            variances.append(u)
            accepted.append(kept)
            if not remaining:
                break

        self.variances_ = np.concatenate(variances)
        self.accepted_ = np.concatenate(accepted)
        self.n_generated_ = int(self.variances_.size)
        self.n_accepted_ = int(sum(len(part) for part in kept_y))
        X_out = _stack([X, *kept_X]) if kept_X else X.copy()
        y_out = np.concatenate([y, *kept_y]).astype(y.dtype, copy=False) if kept_y else y.copy()
        return X_out, y_out

    @property
    def acceptance_rate_(self) -> float:
        """Fraction of SMOTE proposals kept (nan before any proposal)."""
        return self.n_accepted_ / self.n_generated_ if getattr(self, "n_generated_", 0) else float("nan")

    def _check_f(self, f: Any, y: np.ndarray) -> np.ndarray | None:
        if f is None:
            return None
        f_arr = np.asarray(f, dtype=float).reshape(-1)
        if f_arr.shape[0] != y.shape[0]:
            raise ValueError(f"f must have one value per sample ({y.shape[0]}), got {f_arr.shape[0]}")
        if not np.all(np.isfinite(f_arr)):
            raise ValueError("f must be finite, got non-finite values")
        return f_arr

    def _fit_class_gp(
        self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None, c: Any, rng: np.random.RandomState
    ) -> GaussianProcessRegressor:
        X = _dense(X)  # the GP works on dense levels; sparse input is densified here only
        X_c = X[y == c]
        seed = rng.randint(np.iinfo(np.int32).max)
        if f is not None:
            # Restarts matter for the small positive sets of the paper (tens of levels); on large
            # classes one optimisation is stable enough and restarts would dominate the run time.
            restarts = 2 if len(X_c) <= _SCOUT_SIZE else 0
            return fit_gp(X_c, f[y == c], self.kernel, self.noise, random_state=seed, n_restarts=restarts)
        # Without f, learn length scales from where the label changes, then condition on the class only.
        # The scout sees every sample of the class plus others up to _SCOUT_SIZE: an exact GP on a
        # whole 600-level set costs tens of seconds per fit, the length scales barely move.
        in_class = np.flatnonzero(y == c)
        others = np.flatnonzero(y != c)
        n_others = max(0, min(len(others), _SCOUT_SIZE - len(in_class)))
        rows = np.concatenate([in_class, rng.choice(others, n_others, replace=False)])
        scout = fit_gp(
            X[rows], (y[rows] == c).astype(float), self.kernel, self.noise, random_state=seed, n_restarts=0
        )
        return fit_gp(X_c, np.ones(len(X_c)), scout.kernel_, self.noise, optimize=False, random_state=seed)

    def _smote_proposals(
        self, X: np.ndarray, y: np.ndarray, remaining: dict, count_of: dict, seed: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        # A dict strategy means "final count per class" to SMOTE, hence count + number to add.
        smote = SMOTE(
            sampling_strategy={c: count_of[c] + n for c, n in remaining.items()},
            k_neighbors=self.k_neighbors_,
            random_state=seed,
        )
        X_res, y_res = smote.fit_resample(X, y)
        # SMOTE appends its synthetic rows after the original ones, class by class.
        return X_res[len(y) :], np.asarray(y_res[len(y) :])


def _dense(X: Any) -> np.ndarray:
    return X.toarray() if sparse.issparse(X) else np.asarray(X)


def _stack(blocks: list) -> Any:
    # Keep the caller's container: a sparse input gives a sparse output, as in imblearn's SMOTE.
    if sparse.issparse(blocks[0]):
        return sparse.vstack(blocks, format=blocks[0].format)
    return np.vstack(blocks)
