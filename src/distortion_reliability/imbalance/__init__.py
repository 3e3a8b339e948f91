"""Rebalancing of the training set R (section 3.2.2 and the baselines of Tables 3-4).

Each ``conf/imbalance/<name>.yaml`` builds its method with ``hydra.utils.instantiate`` from a
``_target_`` (:func:`distortion_reliability.build.build` reports errors as ConfigError): :class:`NoRebalancing`,
:class:`Reweighting`, :class:`Resampling` around any imbalanced-learn style sampler, or
:class:`Ensemble` around an ensemble classifier. :class:`SMOTEGP` is the paper's method as a
stand-alone imbalanced-learn sampler. See :mod:`.methods` for ``fit_predictors`` and ``stats_``.
"""

from ._compat import self_paced_ensemble
from .methods import (
    STATS_KEYS,
    ImbalanceMethod,
    NoRebalancing,
    Resampling,
    Reweighting,
    check_training_set,
    needs_f,
)
from .ensemble import Ensemble
from .smote_gp import SMOTEGP
from .sv import SmoteVariantsOverSampler, smote_variants_names

__all__ = [
    "STATS_KEYS",
    "Ensemble",
    "ImbalanceMethod",
    "NoRebalancing",
    "Resampling",
    "Reweighting",
    "SMOTEGP",
    "SmoteVariantsOverSampler",
    "check_training_set",
    "needs_f",
    "self_paced_ensemble",
    "smote_variants_names",
]
