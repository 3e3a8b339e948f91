"""What every imbalance method checks once, when built or handed R: the training set and its settings.

Failures caused by the data become one :class:`~distortion_reliability.errors.CannotRebalanceError`;
bad estimator settings one :class:`~distortion_reliability.errors.ConfigError` naming the config key.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

import numpy as np

from ..errors import CannotRebalanceError, ConfigError, DistortionReliabilityError, sklearn_param_error

__all__ = ["check_training_set", "needs_f"]


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


def _plain(estimator: Any) -> Any:
    """Replace OmegaConf containers among an estimator's parameters (nested estimators too) by plain ones.

    ``hydra.utils.instantiate`` passes YAML lists and dicts as ListConfig / DictConfig, which
    scikit-learn's parameter checks (``dict``, tuples) and pickling of fitted models do not expect.
    """
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if not hasattr(estimator, "get_params"):
        return estimator
    changes = {}
    for key, value in estimator.get_params(deep=False).items():
        if isinstance(value, (DictConfig, ListConfig)):
            changes[key] = OmegaConf.to_container(value, resolve=True)
        elif hasattr(value, "get_params") and not isinstance(value, type):
            _plain(value)
    if changes:
        estimator.set_params(**changes)
    return estimator


def _validate_estimator_params(estimator: Any, field: str) -> None:
    """Run the estimator's own parameter checks (nested estimators' too) now, so a bad setting fails
    when the method is built, as ``<field>.<parameter>: <value>: <why>``."""
    from .neighbours import _walk

    for prefix, part in _walk(estimator):
        if not (hasattr(part, "_validate_params") and hasattr(part, "_parameter_constraints")):
            continue
        where = f"{field}.{prefix.replace('__', '.')}".rstrip(".")
        try:
            part._validate_params()
        except ConfigError as error:
            raise ConfigError(_prefixed(error.field, where), error.value, error.expected) from None
        except DistortionReliabilityError:
            raise
        except (ValueError, TypeError) as error:
            raise _explained(error, part, where) from None


def _explained(error: Exception, estimator: Any, where: str) -> ConfigError:
    """scikit-learn's InvalidParameterError as ``<where>.<param>: <value>: must be ...``."""
    return sklearn_param_error(error, where, estimator.get_params(deep=False), _shown_params(estimator))


def _prefixed(field: str, where: str) -> str:
    """An estimator's own field name (``epochs``, ``gan.epochs``) under the config key it came from."""
    return field if field.startswith("imbalance.") else f"{where}.{field.split('.')[-1]}"


def _shown_params(estimator: Any) -> dict:
    return {k: v for k, v in estimator.get_params(deep=False).items() if not hasattr(v, "get_params")}


def needs_f(estimator: Any) -> bool:
    """Whether a predictor consumes f values: its ``fit`` takes an ``f`` argument (``gp_classifier``).

    Such a predictor is fitted on the real training set R with its f by every method (synthetic
    levels have no f). Duck-typed, so this package never imports the predictors module.
    """
    try:
        return "f" in inspect.signature(estimator.fit).parameters
    except (AttributeError, TypeError, ValueError):
        return False
