"""Resampling baselines of Tables 3-4, built by config name, with neighbour counts fitted to the data.

Each entry of :data:`RESAMPLERS` builds an imbalanced-learn compatible sampler from the keyword
parameters of ``conf/imbalance/<name>.yaml`` plus a seed. :func:`build_resampler` also shrinks
neighbour counts (``k_neighbors`` ...) to what the training set can support, so a set with only a
few positives still rebalances instead of crashing inside scikit-learn's ``NearestNeighbors``.
The generative samplers (gan, vae, ctgan, tvae) live in :mod:`.generative` and are imported lazily.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from imblearn.combine import SMOTEENN, SMOTETomek
from imblearn.over_sampling import ADASYN, SMOTE, SVMSMOTE, BorderlineSMOTE, RandomOverSampler
from imblearn.under_sampling import EditedNearestNeighbours, NearMiss, RandomUnderSampler

from ..errors import CannotRebalanceError
from .smote_gp import SMOTEGP
from .sv import SmoteVariantsOverSampler

__all__ = ["RESAMPLERS", "ResamplerSpec", "build_resampler"]


def _smote_enn(
    *, random_state: Any = None, sampling_strategy: Any = "auto", k_neighbors: int = 5, enn_n_neighbors: int = 3
) -> SMOTEENN:
    return SMOTEENN(
        sampling_strategy=sampling_strategy,
        random_state=random_state,
        smote=SMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=random_state),
        enn=EditedNearestNeighbours(n_neighbors=enn_n_neighbors),
    )


def _smote_tomek(*, random_state: Any = None, sampling_strategy: Any = "auto", k_neighbors: int = 5) -> SMOTETomek:
    return SMOTETomek(
        sampling_strategy=sampling_strategy,
        random_state=random_state,
        smote=SMOTE(sampling_strategy=sampling_strategy, k_neighbors=k_neighbors, random_state=random_state),
    )


def _nearmiss(*, random_state: Any = None, **params: Any) -> NearMiss:
    del random_state  # NearMiss is deterministic
    return NearMiss(**params)


def _smote_wb(*, random_state: Any = None, **params: Any) -> SmoteVariantsOverSampler:
    return SmoteVariantsOverSampler("SMOTEWB", params, random_state=random_state)


def _sv(*, oversampler: str = "SMOTEWB", params: dict | None = None, random_state: Any = None) -> SmoteVariantsOverSampler:
    return SmoteVariantsOverSampler(oversampler, dict(params or {}), random_state=random_state)


def _lazy(module: str, attribute: str) -> Callable[..., Any]:
    """A factory importing ``distortion_reliability.imbalance.<module>.<attribute>`` on first use."""

    def factory(**params: Any) -> Any:
        cls = getattr(importlib.import_module(f"distortion_reliability.imbalance.{module}"), attribute)
        return cls(**params)

    factory.__name__ = attribute
    return factory


# Which neighbour parameters depend on the class sizes, and their largest usable value:
# "minority-1" = neighbours among the other minority samples (SMOTE's interpolation partners),
# "minority" = neighbours of a majority sample among the minority (NearMiss),
# "samples-1" = neighbours among all samples (borderline detection).
_MINORITY_LESS_ONE = "minority-1"
_MINORITY = "minority"
_SAMPLES_LESS_ONE = "samples-1"


@dataclass(frozen=True)
class ResamplerSpec:
    """How to build one resampler: its factory and which neighbour parameters to fit to the data."""

    factory: Callable[..., Any]
    neighbours: tuple[tuple[str, str], ...] = ()
    uses_f: bool = False  # SMOTE-GP takes f values through fit_resample(X, y, f=...)


RESAMPLERS: dict[str, ResamplerSpec] = {
    "random_under": ResamplerSpec(RandomUnderSampler),
    "nearmiss": ResamplerSpec(_nearmiss, (("n_neighbors", _MINORITY), ("n_neighbors_ver3", _MINORITY))),
    "random_over": ResamplerSpec(RandomOverSampler),
    "smote": ResamplerSpec(SMOTE, (("k_neighbors", _MINORITY_LESS_ONE),)),
    "adasyn": ResamplerSpec(ADASYN, (("n_neighbors", _MINORITY_LESS_ONE),)),
    "smote_borderline": ResamplerSpec(
        BorderlineSMOTE, (("k_neighbors", _MINORITY_LESS_ONE), ("m_neighbors", _SAMPLES_LESS_ONE))
    ),
    "smote_svm": ResamplerSpec(SVMSMOTE, (("k_neighbors", _MINORITY_LESS_ONE), ("m_neighbors", _SAMPLES_LESS_ONE))),
    "smote_enn": ResamplerSpec(_smote_enn, (("k_neighbors", _MINORITY_LESS_ONE),)),
    "smote_tomek": ResamplerSpec(_smote_tomek, (("k_neighbors", _MINORITY_LESS_ONE),)),
    "smote_wb": ResamplerSpec(_smote_wb),
    "smote_gp": ResamplerSpec(SMOTEGP, uses_f=True),  # shrinks its own k_neighbors
    "sv": ResamplerSpec(_sv),
    "gan": ResamplerSpec(_lazy("generative", "GANOverSampler")),
    "vae": ResamplerSpec(_lazy("generative", "VAEOverSampler")),
    "ctgan": ResamplerSpec(_lazy("generative", "CTGANOverSampler")),
    "tvae": ResamplerSpec(_lazy("generative", "TVAEOverSampler")),
}

_DEFAULTS = {"k_neighbors": 5, "n_neighbors": 3, "n_neighbors_ver3": 3, "m_neighbors": 10}
_ADASYN_DEFAULT_NEIGHBOURS = 5


def build_resampler(
    name: str, params: dict[str, Any], random_state: Any, n_minority: int | None = None, n_samples: int | None = None
) -> Any:
    """Build resampler ``name`` with ``params``; fit neighbour counts to the class sizes if given.

    Raises
    ------
    CannotRebalanceError
        When the minority class is too small for the method even with one neighbour.
    """
    spec = RESAMPLERS[name]
    params = dict(params)
    if n_minority is not None and n_samples is not None:
        for key, limit_kind in spec.neighbours:
            default = _ADASYN_DEFAULT_NEIGHBOURS if name == "adasyn" else _DEFAULTS[key]
            wanted = int(params.get(key, default))
            limit = {_MINORITY_LESS_ONE: n_minority - 1, _MINORITY: n_minority, _SAMPLES_LESS_ONE: n_samples - 1}[
                limit_kind
            ]
            if limit < 1:
                raise CannotRebalanceError(name, f"{key} needs >= 1 usable neighbour, the minority class has {n_minority}")
            params[key] = min(wanted, limit)
    return spec.factory(random_state=random_state, **params)
