"""Samplers that build the training set R = {c_t, f(c_t)} (paper section 3.2.1).

``make_sampler(name, **params)`` builds one by registry name; ``sampler.sample(objective, box, h, seed)``
returns a :class:`SampleResult`.

=========  =====================================================================
random     uniform levels in C (the paper's baseline)
gp         the paper's GP-based sampler, ``beta*sigma + (mu - h)``
gp_batch   q levels per iteration, Kriging believer, one oracle call per batch
straddle   level-set estimation, ``1.96*sigma - |mu - h|``
=========  =====================================================================
"""

from __future__ import annotations

from ..errors import ConfigError, UnknownNameError
from .acquisition import ReliabilityUCB, Straddle, paper_beta
from .base import Objective, SampleResult, Sampler
from .batch import GPBatchSampler
from .gp import GPSampler, build_gp, fit_gp
from .random import RandomSampler
from .straddle import StraddleSampler

SAMPLERS: dict[str, type[Sampler]] = {
    cls.name: cls for cls in (RandomSampler, GPSampler, GPBatchSampler, StraddleSampler)
}


def make_sampler(name: str, **params) -> Sampler:
    """Build the sampler registered as ``name`` with keyword ``params`` (the config minus ``name``).

    Raises
    ------
    UnknownNameError
        If ``name`` is not one of :data:`SAMPLERS`.
    ConfigError
        If a parameter is invalid or unknown.
    """
    if name not in SAMPLERS:
        raise UnknownNameError("sampler", name, list(SAMPLERS))
    try:
        return SAMPLERS[name](**params)
    except TypeError as err:
        if "unexpected keyword argument" not in str(err):
            raise
        raise ConfigError(f"sampler {name} parameters", sorted(params), f"must be known parameters ({err})") from None


__all__ = [
    "SAMPLERS",
    "GPBatchSampler",
    "GPSampler",
    "Objective",
    "RandomSampler",
    "ReliabilityUCB",
    "SampleResult",
    "Sampler",
    "Straddle",
    "StraddleSampler",
    "build_gp",
    "fit_gp",
    "make_sampler",
    "paper_beta",
]
