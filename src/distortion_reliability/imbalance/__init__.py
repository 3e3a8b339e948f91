"""Rebalancing of the training set R (section 3.2.2 and the baselines of Tables 3-4).

Use :func:`make_method` (``make_method(cfg.name, **rest)``) to get any of :data:`METHOD_NAMES`;
:class:`SMOTEGP` is the paper's method as a stand-alone imbalanced-learn sampler.
"""

from .registry import (
    METHOD_NAMES,
    EnsembleMethod,
    ImbalanceMethod,
    NoRebalancing,
    Resampling,
    Reweighting,
    make_method,
)
from .smote_gp import SMOTEGP
from .sv import SmoteVariantsOverSampler, smote_variants_names

__all__ = [
    "METHOD_NAMES",
    "EnsembleMethod",
    "ImbalanceMethod",
    "NoRebalancing",
    "Resampling",
    "Reweighting",
    "SMOTEGP",
    "SmoteVariantsOverSampler",
    "make_method",
    "smote_variants_names",
]
