"""One interface for every imbalance method: R (levels in the unit cube, labels, f) -> fitted predictors.

Every ``conf/imbalance/*.yaml`` names one of these classes in its ``_target_`` and the runner builds
it with ``hydra.utils.instantiate`` (the YAML's ``name`` key removed first); a user's own method is a
class with the same ``fit_predictors`` plus a YAML, and any imbalanced-learn style sampler is one
YAML away (``Resampling`` with a nested ``sampler: {_target_: ...}``). The kinds:

- :class:`NoRebalancing` (``none``): each predictor is fitted on R as is.
- :class:`Reweighting` (``reweight``, cost-sensitive learning): ``class_weight="balanced"`` in each
  predictor that has it (dt, rf, lr, svm); a predictor whose ``fit`` takes ``sample_weight`` gets
  balanced weights; the MLP has neither (scikit-learn 1.6), so its minority rows are *replicated*
  ``round(n_majority / n_minority)`` times, which is integer sample weighting.
- :class:`Resampling` (random_under ... smote_gp, gan, vae, ctgan, tvae, sv): R is rebalanced *once*
  into R* by the sampler (an object with ``fit_resample``) and every predictor is fitted on R*. Per
  run the sampler is cloned, every ``random_state`` in it (nested ones too) set to the run's seed, and
  its neighbour counts lowered to what the class sizes allow (:mod:`.neighbours`). A sampler whose
  ``fit_resample`` takes ``f`` (SMOTE-GP) receives the f values.
- :class:`Ensemble` (``spe``, ``mesa``): ensembles are classifiers, not resamplers: each predictor
  becomes the base estimator of its own ensemble (an SVC gets ``probability=True``). The paper's
  "average over five distortion-classifiers" then means the average over five ensembles.

Predictors that consume f (their ``fit`` takes ``f``, e.g. ``gp_classifier``) are fitted on the real
R with its f by every method. Every failure caused by the data (too few positives, one class left
after resampling, a library refusing the set) is raised as one
:class:`~distortion_reliability.errors.CannotRebalanceError`; bad settings raise
:class:`~distortion_reliability.errors.ConfigError` when the method is built.

After ``fit_predictors`` the method's ``stats_`` dict describes what it did:

``n_synthetic_proposed``, ``n_synthetic_kept``
    Synthetic levels the sampler generated and kept in R* (they differ for SMOTE-GP's filter and for
    SMOTE + cleaning); a level of R* counts as synthetic when it is not a level of R with that label,
    so the copies a random over-sampler makes count as real. ``None`` for none/reweight/ensembles.
``rebalance_seconds``, ``predictors_seconds``
    Wall time of building R* (0 where there is no separate step) and of fitting every predictor.
``rebalanced_X_unit``, ``rebalanced_y``, ``synthetic_mask``
    R* and which of its rows are synthetic (``None`` for none/reweight/ensembles).
``proposals_X_unit``, ``proposals_kept``, ``proposals_variance``
    For a sampler that filters proposals (SMOTE-GP: its ``proposals_``, ``accepted_``,
    ``variances_``): every proposal, whether it was kept, its uncertainty u (GP posterior variance
    over prior variance); ``None`` otherwise.
"""

from __future__ import annotations

import inspect
import time
import warnings
from typing import Any, Mapping

import numpy as np
from sklearn.base import clone

from ..errors import CannotRebalanceError, ConfigError
from .neighbours import copy_sampler, fit_neighbours, seed_everywhere
from .validation import (
    _data_errors_as_cannot_rebalance,
    _plain,
    _prefixed,
    _validate_estimator_params,
    check_training_set,
    needs_f,
)

__all__ = [
    "ImbalanceMethod",
    "NoRebalancing",
    "Reweighting",
    "Resampling",
    "STATS_KEYS",
    "check_training_set",
    "needs_f",
]

#: Keys of ``method.stats_`` after ``fit_predictors``.
STATS_KEYS = (
    "n_synthetic_proposed",
    "n_synthetic_kept",
    "rebalance_seconds",
    "predictors_seconds",
    "rebalanced_X_unit",
    "rebalanced_y",
    "synthetic_mask",
    "proposals_X_unit",
    "proposals_kept",
    "proposals_variance",
)


def _rows_in(X_new: np.ndarray, y_new: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which rows (level and label) of ``(X_new, y_new)`` are rows of ``(X, y)``."""
    known = {(int(label), row.tobytes()) for row, label in zip(np.ascontiguousarray(X, dtype=float), y)}
    X_new = np.ascontiguousarray(X_new, dtype=float)
    return np.fromiter(((int(label), row.tobytes()) in known for row, label in zip(X_new, y_new)), bool, len(y_new))


def _empty_stats() -> dict[str, Any]:
    return dict.fromkeys(STATS_KEYS)


class ImbalanceMethod:
    """Base class: a way of turning R into fitted predictors.

    Parameters
    ----------
    name : str or None
        Label used in errors (``CannotRebalanceError.method``) and ``repr``; by default the kind's
        name (``none``, ``reweight``) or the sampler's / ensemble's class name.

    Attributes
    ----------
    kind : {"none", "reweight", "resample", "ensemble"}
    stats_ : dict or None
        Set by :meth:`fit_predictors`, keys :data:`STATS_KEYS` (see the module docstring).
    """

    kind = "none"

    def __init__(self, name: str | None = None):
        self.name = name or self._default_name()
        self.stats_: dict[str, Any] | None = None

    def _default_name(self) -> str:
        return self.kind

    @property
    def is_resampler(self) -> bool:
        """Whether :meth:`resample` yields a rebalanced set R*."""
        return self.kind in ("none", "resample")

    def fit_predictors(
        self, X_unit: Any, y: Any, f: Any = None, predictors: Mapping[str, Any] | None = None, seed: int = 0
    ) -> dict[str, Any]:
        """Fit a clone of every predictor with this method; fill :attr:`stats_`.

        Parameters
        ----------
        X_unit : array of shape (n, d)
            Training levels in the unit cube.
        y : array of shape (n,)
            0/1 labels I[f >= h].
        f : array of shape (n,) or None
            f values of the levels (used by SMOTE-GP and ``gp_classifier``).
        predictors : mapping of str to unfitted estimator
            E.g. ``build("predictors", cfg.predictors)``; they keep their own ``random_state``.
        seed : int
            Seeds the method itself (resampler, ensemble).

        Returns
        -------
        dict
            ``{predictor name: fitted estimator}``, same keys as ``predictors``.
        """
        self.stats_ = None
        if not predictors:
            raise ConfigError("predictors", predictors, "must hold at least one predictor")
        X, y, f = check_training_set(self.name, X_unit, y, f)
        stats = _empty_stats()
        fitted: dict[str, Any] = {}
        with _data_errors_as_cannot_rebalance(self.name), warnings.catch_warnings():
            # Convergence chatter on tiny rebalanced sets is expected and not actionable here.
            warnings.simplefilter("ignore", UserWarning)
            start = time.perf_counter()
            prepared = self._prepare(X, y, f, seed, stats)
            stats["rebalance_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            for key, template in predictors.items():
                if needs_f(template):
                    fitted[key] = clone(template).fit(X, y, f=f)
                else:
                    fitted[key] = self._fit_one(clone(template), prepared, seed)
            stats["predictors_seconds"] = time.perf_counter() - start
        self.stats_ = stats
        return fitted

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The rebalanced set R* = (X*, y*); only for resamplers (see :attr:`is_resampler`)."""
        raise ConfigError("imbalance", self.name, f"must be a resampler to resample (it is a {self.kind} method)")

    def _prepare(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None, seed: int, stats: dict) -> Any:
        return X, y

    def _fit_one(self, estimator: Any, prepared: Any, seed: int) -> Any:
        X, y = prepared
        return estimator.fit(X, y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class NoRebalancing(ImbalanceMethod):
    """``none``: the standard distortion-classifiers, trained on R as is."""

    kind = "none"

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        X, y, _ = check_training_set(self.name, X_unit, y, f)
        return X, y


class Reweighting(ImbalanceMethod):
    """``reweight``: cost-sensitive learning with balanced class weights (see the module docstring)."""

    kind = "reweight"

    def _fit_one(self, estimator: Any, prepared: Any, seed: int) -> Any:
        X, y = prepared
        if "class_weight" in estimator.get_params():
            return estimator.set_params(class_weight="balanced").fit(X, y)
        counts = np.bincount(y, minlength=2)
        if "sample_weight" in inspect.signature(estimator.fit).parameters:
            weights = (len(y) / (2.0 * counts))[y]
            return estimator.fit(X, y, sample_weight=weights)
        # Replication = integer sample weights, for estimators (MLP) that take no weights at all.
        minority = int(np.argmin(counts))
        factor = max(1, int(round(counts.max() / counts.min())))
        rows = np.concatenate([np.flatnonzero(y != minority), np.repeat(np.flatnonzero(y == minority), factor)])
        return estimator.fit(X[rows], y[rows])


class Resampling(ImbalanceMethod):
    """A resampler: R is rebalanced once into R*, then every predictor is fitted on R*.

    Parameters
    ----------
    sampler : object with ``fit_resample(X, y)``
        Any imbalanced-learn compatible sampler (imblearn's, SMOTE-GP, the generative ones, a
        smote-variants adapter, a user's own). It is cloned for every run (the instance given is
        never fitted); its ``random_state`` parameters are set to the run's seed. A plain object
        without ``get_params`` works too (deep-copied; its ``random_state`` attribute seeded).
    name : str or None
        Label for errors; by default the sampler's class name.
    **sampler_params
        Parameters set on the sampler (``set_params``) on top of its own: a YAML can keep a
        parameter beside ``sampler`` (SMOTE-GP's ``v``, so ``imbalance.v=...`` works). A ``None``
        value leaves the sampler's own value (a dataset whose ``smote_gp_v`` is null keeps 0.005).

    Attributes
    ----------
    sampler_ : fitted sampler or None
        The seeded clone that built the last R* (e.g. SMOTE-GP's ``gps_``, ``accepted_``).

    Raises
    ------
    ConfigError
        If ``sampler`` has no ``fit_resample`` or a parameter is invalid.
    """

    kind = "resample"

    def __init__(self, sampler: Any, *, name: str | None = None, **sampler_params: Any):
        if not hasattr(sampler, "fit_resample"):
            raise ConfigError("imbalance.sampler", sampler, "must be a sampler with fit_resample(X, y)")
        self.sampler = _plain(sampler)
        super().__init__(name)
        sampler_params = {key: value for key, value in sampler_params.items() if value is not None}
        if sampler_params:
            self.sampler = copy_sampler(self.sampler)
            valid = self.sampler.get_params(deep=True) if hasattr(self.sampler, "get_params") else {}
            for key, value in sampler_params.items():
                if key not in valid:
                    raise ConfigError(f"imbalance.{key}", value, f"must be a parameter of {type(self.sampler).__name__} "
                                      f"({', '.join(sorted(k for k in valid if '__' not in k))})")
            self.sampler.set_params(**sampler_params)
        _validate_estimator_params(self.sampler, "imbalance.sampler")
        if hasattr(self.sampler, "make_oversampler"):  # smote-variants: unknown class or bad params fail here
            self.sampler.make_oversampler()
        self.sampler_: Any = None

    def _default_name(self) -> str:
        return type(self.sampler).__name__

    @property
    def uses_f(self) -> bool:
        """Whether the sampler takes f values (``fit_resample(X, y, f=...)``, e.g. SMOTE-GP)."""
        try:
            return "f" in inspect.signature(self.sampler.fit_resample).parameters
        except (TypeError, ValueError):
            return False

    def make_sampler(self, seed: int, n_minority: int | None = None, n_samples: int | None = None) -> Any:
        """A clone of the sampler, seeded, with neighbour counts fitted to the class sizes if given."""
        sampler = seed_everywhere(copy_sampler(self.sampler), seed)
        if n_minority is not None and n_samples is not None:
            fit_neighbours(sampler, n_minority, n_samples, self.name)
        return sampler

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """R* for ``seed``; the same as :meth:`fit_predictors` fits on (and ``stats_`` as it fills)."""
        X, y, f = check_training_set(self.name, X_unit, y, f)
        stats = _empty_stats()
        with _data_errors_as_cannot_rebalance(self.name), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            start = time.perf_counter()
            X_res, y_res = self._prepare(X, y, f, seed, stats)
            stats["rebalance_seconds"] = time.perf_counter() - start
        self.stats_ = stats
        return X_res, y_res

    def _prepare(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None, seed: int, stats: dict) -> Any:
        counts = np.bincount(y, minlength=2)
        sampler = self.make_sampler(seed, int(counts.min()), len(y))
        if self.uses_f and f is not None:
            X_res, y_res = sampler.fit_resample(X, y, f=f)
        else:
            X_res, y_res = sampler.fit_resample(X, y)
        X_res, y_res = np.asarray(X_res, dtype=float), np.asarray(y_res).astype(int)
        if np.unique(y_res).size < 2:
            raise CannotRebalanceError(self.name, "the rebalanced set has one class only")
        self.sampler_ = sampler
        synthetic = ~_rows_in(X_res, y_res, X, y)
        n_kept = int(synthetic.sum())
        stats.update(
            rebalanced_X_unit=X_res,
            rebalanced_y=y_res,
            synthetic_mask=synthetic,
            n_synthetic_kept=n_kept,
            n_synthetic_proposed=_n_proposed(sampler, n_kept),
            **_proposals(sampler),
        )
        return X_res, y_res

    def __repr__(self) -> str:
        return f"Resampling(sampler={self.sampler!r})"


def _n_proposed(sampler: Any, n_kept: int) -> int:
    """Synthetic levels the fitted sampler generated before any filter or cleaning."""
    if isinstance(getattr(sampler, "n_generated_", None), (int, np.integer)):  # SMOTE-GP
        return int(sampler.n_generated_)
    inner = getattr(sampler, "smote_", None)  # SMOTEENN / SMOTETomek: SMOTE's output before cleaning
    if isinstance(getattr(inner, "sampling_strategy_", None), dict):
        return int(sum(inner.sampling_strategy_.values()))
    return n_kept


def _proposals(sampler: Any) -> dict[str, Any]:
    """A filtering sampler's proposals: SMOTE-GP's ``proposals_`` (levels), ``accepted_`` (kept or not)
    and ``variances_`` (u, the GP's posterior over prior variance); nothing for other samplers."""
    if getattr(sampler, "proposals_", None) is None or getattr(sampler, "accepted_", None) is None:
        return {}
    variance = getattr(sampler, "variances_", None)
    return {
        "proposals_X_unit": np.asarray(sampler.proposals_, dtype=float),
        "proposals_kept": np.asarray(sampler.accepted_, dtype=bool),
        "proposals_variance": None if variance is None else np.asarray(variance, dtype=float),
    }
