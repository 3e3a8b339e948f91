"""Adapter: any smote-variants oversampler as an imbalanced-learn sampler.

smote-variants (Kovacs, 2019) implements 86 oversamplers with its own interface:
``OverSampler(proportion=..., random_state=..., **params).sample(X, y) -> (X_res, y_res)`` on
binary data. :class:`SmoteVariantsOverSampler` wraps one by class name, so ``SMOTEWB`` or any other
drops into :class:`~distortion_reliability.imbalance.Resampling` (``conf/imbalance/sv.yaml``) and
``imblearn`` pipelines.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from sklearn.utils import check_random_state

from ..errors import CannotRebalanceError, ConfigError, UnknownNameError

__all__ = ["SmoteVariantsOverSampler", "smote_variants_names"]


def _smote_variants() -> Any:
    import smote_variants

    # smote-variants logs every call at INFO; a sweep of thousands of fits would drown the log.
    logging.getLogger("smote_variants").setLevel(logging.WARNING)
    return smote_variants


def smote_variants_names() -> list[str]:
    """Class names of every oversampler smote-variants provides."""
    return sorted(cls.__name__ for cls in _smote_variants().get_all_oversamplers())


def smote_variants_class(name: str) -> type:
    """The smote-variants oversampler class called ``name``; UnknownNameError otherwise."""
    by_name = {cls.__name__: cls for cls in _smote_variants().get_all_oversamplers()}
    if name not in by_name:
        raise UnknownNameError("smote-variants oversampler", name, list(by_name))
    return by_name[name]


class SmoteVariantsOverSampler(BaseOverSampler):
    """One smote-variants oversampler behind imbalanced-learn's ``fit_resample``.

    Parameters
    ----------
    oversampler : str, default="SMOTEWB"
        Class name in smote-variants (see :func:`smote_variants_names`).
    params : dict or None, default=None
        Keyword parameters of that class (``proportion`` included: 1.0 balances the classes).
    random_state : int, RandomState instance or None, default=None
        Passed on as smote-variants' ``random_state`` (an int is drawn from a RandomState).
    sampling_strategy : "auto", default="auto"
        Kept for imbalanced-learn compatibility; smote-variants sizes the output with
        ``params["proportion"]`` and works on binary targets only.

    Notes
    -----
    When an oversampler cannot run, smote-variants logs a warning and returns the data
    unchanged; that is passed on as is (the method "works" and adds nothing).
    """

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "oversampler": [str],
        "params": [dict, None],
    }

    def __init__(
        self,
        oversampler: str = "SMOTEWB",
        params: dict | None = None,
        *,
        random_state: Any = None,
        sampling_strategy: Any = "auto",
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.oversampler = oversampler
        self.params = params
        self.random_state = random_state

    def make_oversampler(self) -> Any:
        """Instantiate the smote-variants object (raises on an unknown name or bad params)."""
        cls = smote_variants_class(self.oversampler)
        seed = self.random_state
        if not (seed is None or isinstance(seed, (int, np.integer))):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        try:
            return cls(**dict(self.params or {}), random_state=seed)
        except TypeError as error:
            raise ConfigError(f"sv.{self.oversampler}.params", self.params, f"must be valid parameters ({error})") from None

    def _fit_resample(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if np.unique(y).size != 2:
            raise CannotRebalanceError(f"sv.{self.oversampler}", "smote-variants works on binary targets only")
        X_res, y_res = self.make_oversampler().sample(np.asarray(X, dtype=float), np.asarray(y))
        return np.asarray(X_res), np.asarray(y_res).astype(y.dtype, copy=False)
