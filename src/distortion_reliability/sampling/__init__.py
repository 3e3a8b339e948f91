"""Samplers that build the training set R = {c_t, f(c_t)} (paper section 3.2.1).

Each is built from its config's ``_target_`` (``conf/sampler/*.yaml``, via ``hydra.utils.instantiate``);
``sampler.sample(objective, box, h, seed, resume=None, on_progress=None)`` returns a :class:`SampleResult`.

==========================  ================================================================
RandomSampler (random)      uniform levels in C (the paper's baseline)
GPSampler (gp, gp_sqrt)     the paper's GP-based sampler, ``beta*sigma + (mu - h)``
GPBatchSampler (gp_batch)   q levels per step, Kriging believer, one oracle call per step
StraddleSampler (straddle)  level-set estimation, ``1.96*sigma - |mu - h|``
MatchedShareGPSampler       gp_matched: the paper's GP sampler held at a target positive share of R
==========================  ================================================================

A sampler of your own: subclass :class:`Sampler` (or :class:`GPSampler` and override
``_acquisition``) and point a YAML's ``_target_`` at it.
"""

from __future__ import annotations

from .acquisition import AnalyticAcquisition, ReliabilityUCB, Straddle, maximize, paper_beta
from .base import Objective, SampleResult, Sampler
from .batch import GPBatchSampler
from .gp_sampler import GPSampler
from .matched import MatchedShareGPSampler
from .random import RandomSampler
from .straddle import StraddleSampler

__all__ = [
    "AnalyticAcquisition",
    "GPBatchSampler",
    "GPSampler",
    "MatchedShareGPSampler",
    "Objective",
    "RandomSampler",
    "ReliabilityUCB",
    "SampleResult",
    "Sampler",
    "Straddle",
    "StraddleSampler",
    "maximize",
    "paper_beta",
]
