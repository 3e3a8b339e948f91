"""Neighbour counts fitted to the training set, and per-run seeding, for any imbalanced-learn sampler.

A configured sampler asks for, say, ``k_neighbors=5``; a training set with 3 positives cannot give
SMOTE 5 neighbours among the other positives and scikit-learn's ``NearestNeighbors`` would crash.
:func:`fit_neighbours` lowers every neighbour count of a sampler (nested ones included, e.g. the
SMOTE inside ``SMOTEENN``) to what the class sizes support, by these rules:

- ``k_neighbors`` (SMOTE and its variants, SMOTE-GP): neighbours among the *other* minority
  samples, at most ``n_minority - 1``;
- ``m_neighbors`` (borderline detection): neighbours among all samples, at most ``n_samples - 1``;
- ``n_neighbors`` / ``n_neighbors_ver3`` of ``NearMiss``: minority neighbours of a majority
  sample, at most ``n_minority``; ``n_neighbors`` of ``ADASYN``: at most ``n_minority - 1``.

Other parameters (e.g. ``EditedNearestNeighbours.n_neighbors``) are left alone, and only integer
counts are touched (a ``NearestNeighbors`` object passed instead is used as given). When even one
neighbour is impossible the set cannot be rebalanced:
:class:`~distortion_reliability.errors.CannotRebalanceError`.
"""

from __future__ import annotations

import copy
from numbers import Integral
from typing import Any, Iterator

from imblearn.over_sampling import ADASYN
from imblearn.under_sampling import NearMiss
from sklearn.base import clone

from ..errors import CannotRebalanceError

__all__ = ["fit_neighbours", "seed_everywhere", "copy_sampler"]

_MINORITY_LESS_ONE = "minority-1"
_MINORITY = "minority"
_SAMPLES_LESS_ONE = "samples-1"


def _limit_kind(owner: Any, key: str) -> str | None:
    if key == "k_neighbors":
        return _MINORITY_LESS_ONE
    if key == "m_neighbors":
        return _SAMPLES_LESS_ONE
    if isinstance(owner, NearMiss) and key in ("n_neighbors", "n_neighbors_ver3"):
        return _MINORITY
    if isinstance(owner, ADASYN) and key == "n_neighbors":
        return _MINORITY_LESS_ONE
    return None


def _walk(estimator: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(parameter prefix, estimator)`` for the estimator and every estimator nested in its parameters."""
    if not hasattr(estimator, "get_params"):  # a plain object: nothing to walk into
        return
    yield prefix, estimator
    for key, value in estimator.get_params(deep=False).items():
        if hasattr(value, "get_params") and not isinstance(value, type):
            yield from _walk(value, f"{prefix}{key}__")


def copy_sampler(sampler: Any) -> Any:
    """An unfitted copy: ``sklearn.base.clone`` for estimators, a deep copy for plain objects."""
    return clone(sampler) if hasattr(sampler, "get_params") else copy.deepcopy(sampler)


def fit_neighbours(sampler: Any, n_minority: int, n_samples: int, method: str) -> Any:
    """Lower the neighbour counts of ``sampler`` (in place) to what the class sizes support.

    Parameters
    ----------
    sampler : imbalanced-learn compatible sampler
        Changed in place (pass a clone); returned for chaining.
    n_minority, n_samples : int
        Size of the smallest class and of the whole training set.
    method : str
        Name used in the error.

    Raises
    ------
    CannotRebalanceError
        When a neighbour count would have to drop below 1.
    """
    changes: dict[str, int] = {}
    for prefix, owner in _walk(sampler):
        for key, value in owner.get_params(deep=False).items():
            kind = _limit_kind(owner, key)
            if kind is None or not isinstance(value, Integral) or isinstance(value, bool):
                continue
            limit = {_MINORITY_LESS_ONE: n_minority - 1, _MINORITY: n_minority, _SAMPLES_LESS_ONE: n_samples - 1}[kind]
            if limit < 1:
                raise CannotRebalanceError(
                    method, f"{key} needs >= 1 usable neighbour, the minority class has {n_minority}"
                )
            if value > limit:
                changes[prefix + key] = limit
    if changes:
        sampler.set_params(**changes)
    return sampler


def seed_everywhere(estimator: Any, seed: int) -> Any:
    """Set every ``random_state`` of ``estimator``, nested ones included, to ``seed`` (in place).

    An object without ``get_params`` gets its ``random_state`` attribute set, if it has one.
    """
    if not hasattr(estimator, "get_params"):
        if hasattr(estimator, "random_state"):
            estimator.random_state = seed
        return estimator
    keys = [k for k in estimator.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")]
    if keys:
        estimator.set_params(**{key: seed for key in keys})
    return estimator
