"""One interface for every imbalance method, so the runner treats all 18 (+ sv) alike.

``make_method(name, **params)`` returns an :class:`ImbalanceMethod` whose
``fit_predictors(X_unit, y, f, predictors, seed)`` returns ``{predictor name: fitted estimator}``:

- ``none``: each predictor is fitted on R as is.
- ``reweight`` (cost-sensitive learning): ``class_weight="balanced"`` in each predictor that has
  it (dt, rf, lr, svm); a predictor whose ``fit`` takes ``sample_weight`` gets balanced weights;
  the MLP has neither (scikit-learn 1.6), so its minority rows are *replicated*
  ``round(n_majority / n_minority)`` times, which is integer sample weighting.
- resamplers (random_under ... smote_gp, gan, vae, ctgan, tvae, sv): R is rebalanced *once* into
  R* and every predictor is fitted on R*. ``resample(X, y, f, seed)`` exposes R* for figures.
- ensembles (``spe``, ``mesa``) are classifiers, not resamplers: each predictor becomes the base
  estimator of its own ensemble. The paper's "average over five distortion-classifiers" then
  means the average over five ensembles (SPE-of-dt, SPE-of-rf, ...).

Predictors that consume f (``gp_classifier``) are fitted on the real R with its f by every method.
Every failure caused by the data (too few positives, one class left after resampling, a library
refusing the set) is raised as one :class:`~distortion_reliability.errors.CannotRebalanceError`;
bad settings raise :class:`~distortion_reliability.errors.ConfigError` when the method is made.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import warnings
from typing import Any, Callable, Iterator, Mapping

import numpy as np
from sklearn.base import clone

from ..errors import CannotRebalanceError, ConfigError, UnknownNameError
from ..predictors import needs_f
from ._compat import import_self_paced_ensemble
from .baselines import RESAMPLERS, build_resampler

__all__ = [
    "METHOD_NAMES",
    "ImbalanceMethod",
    "NoRebalancing",
    "Reweighting",
    "Resampling",
    "EnsembleMethod",
    "make_method",
]

ENSEMBLES: dict[str, Callable[[], type]] = {
    "spe": import_self_paced_ensemble,
    "mesa": lambda: importlib.import_module("distortion_reliability.imbalance.mesa").MESAClassifier,
}
# Table 3 order, then Table 4's SMOTE variants, then the paper's method and the generic adapter.
METHOD_NAMES: tuple[str, ...] = (
    "none", "reweight", "random_under", "nearmiss", "random_over", "smote", "adasyn", "spe", "mesa",
    "gan", "vae", "ctgan", "tvae", "smote_borderline", "smote_svm", "smote_enn", "smote_tomek",
    "smote_wb", "smote_gp", "sv",
)  # fmt: skip


@contextlib.contextmanager
def _data_errors_as_cannot_rebalance(method: str) -> Iterator[None]:
    """Turn a library's refusal of this training set into the one typed, recordable error."""
    try:
        yield
    except (CannotRebalanceError, ConfigError):
        raise
    except (ValueError, RuntimeError, IndexError, ZeroDivisionError, np.linalg.LinAlgError) as error:
        raise CannotRebalanceError(method, f"{type(error).__name__}: {error}") from error


def check_training_set(method: str, X: Any, y: Any, f: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate R (levels, 0/1 labels, optional f); CannotRebalanceError if it has one class only."""
    X = np.asarray(X, dtype=float)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ConfigError("X", X.shape, f"must be 2-D with one row per label ({y.shape[0]})")
    if not np.all(np.isfinite(X)):
        raise ConfigError("X", "non-finite values", "must be finite")
    if not np.isin(y, (0, 1)).all():
        raise ConfigError("y", np.unique(y).tolist(), "must hold 0/1 labels only")
    y = y.astype(int)
    if f is not None:
        f = np.asarray(f, dtype=float).reshape(-1)
        if f.shape[0] != y.shape[0] or not np.all(np.isfinite(f)):
            raise ConfigError("f", f.shape, f"must hold one finite value per level ({y.shape[0]})")
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        missing = "positives" if counts[1] == 0 else "negatives"
        raise CannotRebalanceError(method, f"the training set has no {missing} ({counts[0]} neg, {counts[1]} pos)")
    return X, y, f


class ImbalanceMethod:
    """Base class: a named way of turning R into fitted predictors.

    Attributes
    ----------
    name : str
        Registry name (``conf/imbalance/<name>.yaml``).
    params : dict
        Keyword parameters it was made with.
    kind : {"none", "reweight", "resample", "ensemble"}
    """

    kind = "none"

    def __init__(self, name: str, params: Mapping[str, Any] | None = None):
        self.name = name
        self.params = dict(params or {})

    @property
    def is_resampler(self) -> bool:
        """Whether :meth:`resample` yields a rebalanced set R*."""
        return self.kind in ("none", "resample")

    def fit_predictors(
        self, X_unit: Any, y: Any, f: Any = None, predictors: Mapping[str, Any] | None = None, seed: int = 0
    ) -> dict[str, Any]:
        """Fit a clone of every predictor with this method.

        Parameters
        ----------
        X_unit : array of shape (n, d)
            Training levels in the unit cube.
        y : array of shape (n,)
            0/1 labels I[f >= h].
        f : array of shape (n,) or None
            f values of the levels (used by SMOTE-GP and ``gp_classifier``).
        predictors : mapping of str to unfitted estimator
            E.g. ``make_predictors(cfg, seed)``; they keep their own ``random_state``.
        seed : int
            Seeds the method itself (resampler, ensemble).

        Returns
        -------
        dict
            ``{predictor name: fitted estimator}``, same keys as ``predictors``.
        """
        if not predictors:
            raise ConfigError("predictors", predictors, "must hold at least one predictor")
        X, y, f = check_training_set(self.name, X_unit, y, f)
        fitted: dict[str, Any] = {}
        with _data_errors_as_cannot_rebalance(self.name), warnings.catch_warnings():
            # Convergence chatter on tiny rebalanced sets is expected and not actionable here.
            warnings.simplefilter("ignore", UserWarning)
            prepared = self._prepare(X, y, f, seed)
            for key, template in predictors.items():
                if needs_f(template):
                    fitted[key] = clone(template).fit(X, y, f=f)
                else:
                    fitted[key] = self._fit_one(clone(template), prepared, seed)
        return fitted

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The rebalanced set R* = (X*, y*); only for resamplers (see :attr:`is_resampler`)."""
        raise ConfigError("imbalance", self.name, f"must be a resampler to resample (it is a {self.kind} method)")

    def _prepare(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None, seed: int) -> Any:
        return X, y

    def _fit_one(self, estimator: Any, prepared: Any, seed: int) -> Any:
        X, y = prepared
        return estimator.fit(X, y)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, params={self.params!r})"


class NoRebalancing(ImbalanceMethod):
    """``none``: the standard distortion-classifiers, trained on R as is."""

    kind = "none"

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        X, y, _ = check_training_set(self.name, X_unit, y, f)
        return X, y


class Reweighting(ImbalanceMethod):
    """``reweight``: cost-sensitive learning with balanced class weights (see module docstring)."""

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
    """A resampler: R is rebalanced once into R*, then every predictor is fitted on R*."""

    kind = "resample"

    def make_sampler(self, seed: int, n_minority: int | None = None, n_samples: int | None = None) -> Any:
        """The configured sampler, seeded, with neighbour counts fitted to the class sizes."""
        return build_resampler(self.name, self.params, seed, n_minority, n_samples)

    def resample(self, X_unit: Any, y: Any, f: Any = None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        X, y, f = check_training_set(self.name, X_unit, y, f)
        with _data_errors_as_cannot_rebalance(self.name), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return self._prepare(X, y, f, seed)

    def _prepare(self, X: np.ndarray, y: np.ndarray, f: np.ndarray | None, seed: int) -> Any:
        counts = np.bincount(y, minlength=2)
        sampler = self.make_sampler(seed, int(counts.min()), len(y))
        if RESAMPLERS[self.name].uses_f and f is not None:
            X_res, y_res = sampler.fit_resample(X, y, f=f)
        else:
            X_res, y_res = sampler.fit_resample(X, y)
        X_res, y_res = np.asarray(X_res, dtype=float), np.asarray(y_res).astype(int)
        if np.unique(y_res).size < 2:
            raise CannotRebalanceError(self.name, "the rebalanced set has one class only")
        return X_res, y_res


class EnsembleMethod(ImbalanceMethod):
    """``spe`` / ``mesa``: every predictor becomes the base estimator of its own ensemble."""

    kind = "ensemble"

    def ensemble_class(self) -> type:
        return ENSEMBLES[self.name]()

    def make_ensemble(self, estimator: Any, seed: int) -> Any:
        """The ensemble around ``estimator`` (an SVC gets ``probability=True``: both need predict_proba)."""
        if not hasattr(estimator, "predict_proba") and "probability" in estimator.get_params():
            estimator = estimator.set_params(probability=True)
        return self.ensemble_class()(estimator=estimator, random_state=seed, **self.params)

    def _fit_one(self, estimator: Any, prepared: Any, seed: int) -> Any:
        X, y = prepared
        return self.make_ensemble(estimator, seed).fit(X, y)


def _validated(method: ImbalanceMethod) -> ImbalanceMethod:
    """Build the method's sampler/ensemble once now so bad settings fail at config time."""
    from sklearn.tree import DecisionTreeClassifier

    field = f"imbalance.{method.name}"
    try:
        if isinstance(method, Resampling):
            built = method.make_sampler(seed=0)
        elif isinstance(method, EnsembleMethod):
            built = method.make_ensemble(DecisionTreeClassifier(), seed=0)
        else:
            return method
    except TypeError as error:
        raise ConfigError(field, method.params, f"must be parameters of {method.name} ({error})") from None
    if hasattr(built, "_validate_params") and hasattr(built, "_parameter_constraints"):
        try:
            built._validate_params()
        except ConfigError:
            raise
        except ValueError as error:
            raise ConfigError(field, method.params, f"must be valid ({error})") from None
    if hasattr(built, "make_oversampler"):  # smote-variants: unknown class or bad params fail here
        built.make_oversampler()
    return method


def make_method(name: str, **params: Any) -> ImbalanceMethod:
    """The imbalance method registered as ``name``, configured with ``params``.

    Parameters
    ----------
    name : str
        One of :data:`METHOD_NAMES`, or the class name of any smote-variants oversampler (e.g.
        ``"SMOTE_IPF"``), which is the same as ``make_method("sv", oversampler=name, params=params)``.
    **params
        Keyword parameters of the method (the YAML's keys other than ``name``).

    Raises
    ------
    UnknownNameError
        For a name that is neither registered nor a smote-variants oversampler.
    ConfigError
        For parameters the method does not accept.
    """
    if name in ("none", "reweight"):
        if params:
            raise ConfigError(f"imbalance.{name}", params, "takes no parameters")
        return NoRebalancing(name) if name == "none" else Reweighting(name)
    if name in ENSEMBLES:
        return _validated(EnsembleMethod(name, params))
    if name in RESAMPLERS:
        return _validated(Resampling(name, params))
    from .sv import smote_variants_names

    if name in smote_variants_names():
        return _validated(Resampling("sv", {"oversampler": name, "params": params}))
    raise UnknownNameError("imbalance method", name, list(METHOD_NAMES))
