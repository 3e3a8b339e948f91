"""SMOTE-GP: SMOTE whose synthetic samples are kept only where a Gaussian process is certain.

Algorithm 1 of the paper (section 3.2.2): SMOTE proposes synthetic positives; a GP is fitted on
the *real* positives with their f values; a synthetic level c is kept only if its uncertainty
score u(c) is at most the threshold v.

How the filter reads
--------------------
Levels are in the unit cube [0, 1]^d (the pipeline scales them). The GP is the one of
:mod:`distortion_reliability.gp`: f standardised, an ARD Matern-5/2 kernel a * k with its prior
variance a fitted in [0.01, 100] and its length scales fitted by MAP (BoTorch's prior) within
[0.025, 1] unit-cube widths, a fixed jitter ``noise`` (1e-6) for the noise-free accuracies. The
score is

    u(c) = sigma^2(c) / (a k(c, c)) = 1 - a k^T K^-1 k      (paper equation 5 over the prior variance)

the share of the prior variance of f that the real positives leave unexplained at c: 0 on a real
positive, 1 far from all of them, in [0, 1] for any data. The paper's equation 5 with a unit-variance
kernel (k(c, c) = 1, as it writes k without an amplitude) is exactly this, so v keeps the paper's
meaning on every dataset: v = 0.005 keeps a proposal only where the positives explain 99.5 % of the
prior variance (posterior sd <= 7 % of the prior sd); CIFAR-10's v = 0.05, 95 % (22 %).

Because the posterior variance does not depend on the f values once the length scales are fixed,
f matters only through the length scales. When the positives' f says nothing about them -- fewer
than 3 distinct positive levels, or f constant among the positives (a flat plateau, e.g. all at
100 % accuracy) -- the length scales are fitted on the whole training set's f instead (all positives
plus up to 200 others), where f does change, and the posterior is still conditioned on the real
positives only. Together with the upper bound of 1 on every length scale, a proposal far from every
real positive can never look certain (before this, a flat plateau sent the length scales to their
bound 10 and u to ~5e-7 everywhere: SMOTE-GP silently became SMOTE).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.over_sampling.base import BaseOverSampler
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from ..errors import CannotRebalanceError
from ..gp import GP, KERNELS
from ..gp_fit import FitOptions, fit_params

__all__ = ["SMOTEGP", "LENGTHSCALE_BOUNDS", "OUTPUTSCALE_BOUNDS"]

#: Length scales are searched in [0.025, 1] unit-cube widths: below, the GP interpolates noise;
#: above, one positive would vouch for a whole edge of the cube.
LENGTHSCALE_BOUNDS = (0.025, 1.0)
#: The prior variance a is fitted (u divides it out) within these bounds, in units of f's variance.
OUTPUTSCALE_BOUNDS = (1e-2, 1e2)
_SCOUT_SIZE = 200  # levels a fallback length-scale fit sees: every sample of the class, others up to this
_MIN_DISTINCT = 3  # fewer distinct levels of the class: their f cannot fix d length scales


class SMOTEGP(BaseOverSampler):
    """SMOTE filtered by Gaussian-process uncertainty (SMOTE-GP, Algorithm 1 of the paper).

    See the module docstring for what ``u`` and ``v`` mean.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many synthetic samples SMOTE proposes per class (imbalanced-learn semantics). The
        filter may keep fewer, so the output is only *at most* this balanced.
    random_state : int, RandomState instance or None, default=None
        Seeds SMOTE (identically to ``SMOTE(random_state=...)``) and the subsample of a fallback fit.
    k_neighbors : int, default=5
        SMOTE's nearest neighbours. Shrunk to ``n_class - 1`` when a class has fewer samples.
    v : float, default=0.005
        Uncertainty threshold: keep a synthetic sample iff ``u <= v``, u in [0, 1] the posterior
        variance over the prior variance. The paper uses 0.005 (0.05 for CIFAR-10). ``np.inf``
        (or any v >= 1) keeps everything (plain SMOTE); ``0`` keeps (almost surely) nothing.
    kernel : {"matern52", "rbf"}, default="matern52"
        ARD kernel of the GP (:mod:`distortion_reliability.gp`).
    noise : float, default=1e-6
        Fixed noise variance (standardised units) on the GP's diagonal: f is a measured accuracy,
        nearly noise free; it also keeps duplicated levels well defined.
    fill : bool, default=False
        ``False``: the paper's single pass (SMOTE once, filter once). ``True``: keep proposing
        and filtering until every class reaches its requested count or ``max_tries`` rounds ran.
    max_tries : int, default=10
        Bound on SMOTE rounds when ``fill=True``.

    Attributes
    ----------
    proposals_ : ndarray of shape (n_generated_, n_features)
        Every SMOTE proposal, in proposal order (dense), kept or not.
    proposals_y_ : ndarray of shape (n_generated_,)
        The class each proposal was made for.
    accepted_ : ndarray of bool of shape (n_generated_,)
        Which proposals were kept (u <= v, and in fill mode not beyond the requested count).
    variances_ : ndarray of shape (n_generated_,)
        The uncertainty score u in [0, 1] of every proposal (``variance_`` is the same array).
    n_generated_, n_accepted_ : int
        Totals over classes and rounds.
    gps_ : dict
        The GP (:class:`distortion_reliability.gp.GP`) per oversampled class, conditioned on its real samples.
    length_scale_source_ : dict
        Per class, what fixed the length scales: ``"class"`` (its own f, the paper), ``"all"``
        (f of the whole set: the class's f was constant or had < 3 distinct levels) or
        ``"labels"`` (no f given).
    sampling_strategy_ : dict
        Requested number of synthetic samples per class.
    k_neighbors_ : int
        The neighbour count actually used.
    used_f_ : bool
        Whether f values were given.

    Notes
    -----
    f values reach the sampler as a keyword: ``fit_resample(X, y, f=f)`` with ``f`` of shape
    (n_samples,). In an :class:`imblearn.pipeline.Pipeline` route it with scikit-learn's metadata
    routing: ``sklearn.set_config(enable_metadata_routing=True)``, then
    ``SMOTEGP().set_fit_resample_request(f=True)`` and ``pipe.fit(X, y, f=f)`` (without routing,
    imblearn's pipeline passes no parameters to ``fit_resample``). Without ``f`` the length scales
    are fitted on the class's one-vs-rest labels (they show at which scale the class changes) over
    the class and up to 200 samples in all; the posterior is conditioned on the class only, as in
    the paper. A class with a single sample cannot be oversampled (SMOTE needs two):
    :class:`~distortion_reliability.errors.CannotRebalanceError`.
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "k_neighbors": [Interval(numbers.Integral, 1, None, closed="left")],
        "v": [Interval(numbers.Real, 0, None, closed="both")],
        "kernel": [StrOptions(set(KERNELS))],
        "noise": [Interval(numbers.Real, 0, None, closed="neither")],
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
        kernel: str = "matern52",
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

    @property
    def variance_(self) -> np.ndarray:
        """Alias of ``variances_``: u of every proposal."""
        return self.variances_

    @property
    def acceptance_rate_(self) -> float:
        """Fraction of SMOTE proposals kept (nan before any proposal)."""
        return self.n_accepted_ / self.n_generated_ if getattr(self, "n_generated_", 0) else float("nan")

    # imblearn validates X, y and sets sampling_strategy_ before calling this.
    def _fit_resample(self, X: np.ndarray, y: np.ndarray, f: Any = None) -> tuple[np.ndarray, np.ndarray]:
        f_arr = self._check_f(f, y)
        wanted = {c: int(n) for c, n in self.sampling_strategy_.items() if n > 0}
        classes, counts = np.unique(y, return_counts=True)
        count_of = dict(zip(classes.tolist(), counts.tolist()))

        self.used_f_ = f_arr is not None
        self.gps_, self.length_scale_source_ = {}, {}
        self.proposals_ = np.empty((0, X.shape[1]))
        self.proposals_y_ = np.empty(0, dtype=y.dtype)
        self.variances_ = np.empty(0)
        self.accepted_ = np.empty(0, dtype=bool)
        self.n_generated_ = self.n_accepted_ = 0
        self.k_neighbors_ = self.k_neighbors
        if not wanted:
            return X.copy(), y.copy()

        smallest = min(count_of[c] for c in wanted)
        if smallest < 2:
            raise CannotRebalanceError("smote_gp", f"SMOTE needs >= 2 samples of a class to oversample, got {smallest}")
        self.k_neighbors_ = min(self.k_neighbors, smallest - 1)

        rng = check_random_state(self.random_state)
        for c in wanted:
            self.gps_[c], self.length_scale_source_[c] = self._fit_class_gp(_dense(X), y, f_arr, c, rng)

        kept_X: list[Any] = []
        kept_y: list[np.ndarray] = []
        proposals, proposals_y, variances, accepted = [], [], [], []
        remaining = dict(wanted)
        for attempt in range(self.max_tries if self.fill else 1):
            # Round 0 uses random_state as given, so v = inf reproduces SMOTE(random_state=...) exactly.
            seed = self.random_state if attempt == 0 else rng.randint(np.iinfo(np.int32).max)
            X_new, y_new = self._smote_proposals(X, y, remaining, count_of, seed)
            dense_new = _dense(X_new)
            u = np.empty(len(y_new))
            for c in np.unique(y_new):
                rows = y_new == c
                u[rows] = self.gps_[c].relative_variance(dense_new[rows])
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
            proposals.append(dense_new)
            proposals_y.append(y_new)
            variances.append(u)
            accepted.append(kept)
            if not remaining:
                break

        self.proposals_ = np.vstack(proposals)
        self.proposals_y_ = np.concatenate(proposals_y)
        self.variances_ = np.concatenate(variances)
        self.accepted_ = np.concatenate(accepted)
        self.n_generated_ = int(self.variances_.size)
        self.n_accepted_ = int(sum(len(part) for part in kept_y))
        X_out = _stack([X, *kept_X]) if kept_X else X.copy()
        y_out = np.concatenate([y, *kept_y]).astype(y.dtype, copy=False) if kept_y else y.copy()
        return X_out, y_out

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
    ) -> tuple[GP, str]:
        """The GP conditioned on the real samples of class ``c``, and where its length scales came from."""
        options = FitOptions(lengthscale_bounds=LENGTHSCALE_BOUNDS, noise=float(self.noise),
                             outputscale_bounds=OUTPUTSCALE_BOUNDS)
        in_class = np.flatnonzero(y == c)
        X_c = X[in_class]
        if f is not None and len(np.unique(X_c, axis=0)) >= _MIN_DISTINCT and np.ptp(f[in_class]) > 1e-12:
            params = fit_params(X_c, f[in_class], self.kernel, options=options)  # the paper: the class's own f
            return GP(X_c, f[in_class], params), "class"
        # The class's f cannot fix the length scales: learn them where the response does change,
        # on every sample of the class plus others up to _SCOUT_SIZE (an exact GP on a whole
        # 600-level set costs seconds per fit; the length scales barely move).
        others = np.flatnonzero(y != c)
        n_others = max(0, min(len(others), _SCOUT_SIZE - len(in_class)))
        rows = np.concatenate([in_class, rng.choice(others, n_others, replace=False)])
        target = f[rows] if f is not None else (y[rows] == c).astype(float)
        params = fit_params(X[rows], target, self.kernel, options=options)
        values = f[in_class] if f is not None else np.ones(len(in_class))
        return GP(X_c, values, params), "all" if f is not None else "labels"

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
