"""``build_method``: an ``imbalance`` config node -> its method, errors as one ConfigError line."""

from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError, DistortionReliabilityError
from .methods import ImbalanceMethod

__all__ = ["build_method"]


def build_method(cfg: Any) -> Any:
    """``hydra.utils.instantiate`` of an ``imbalance`` config node, with errors as ConfigError.

    Parameters
    ----------
    cfg : DictConfig or mapping
        ``cfg.imbalance``; its ``name`` key (the config's label) is dropped before instantiating.

    Returns
    -------
    ImbalanceMethod (or any object with ``fit_predictors``)

    Raises
    ------
    ConfigError
        A bad ``_target_``, unknown or invalid parameters, or a target that builds no method.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    # Resolved while still attached to the root config, so ${seed}, ${h}, ${oc.select:dataset...} work.
    node = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    label = node.pop("name", None) or "imbalance"
    if "_target_" not in node:
        raise ConfigError(f"imbalance.{label}._target_", None,
                          "must name the method class (e.g. distortion_reliability.imbalance.Resampling)")
    try:
        method = instantiate(node)
    except InstantiationException as error:
        cause = error.__cause__
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, DistortionReliabilityError):
            raise cause from None
        raise _instantiation_error(error, node, "imbalance") from None
    if not hasattr(method, "fit_predictors"):
        raise ConfigError(f"imbalance.{label}._target_", node.get("_target_"),
                          "must build an ImbalanceMethod (an object with fit_predictors)")
    if isinstance(method, ImbalanceMethod) and label != "imbalance":
        method.name = label  # errors then name the config (smote), not the class (SMOTE)
    return method


def _instantiation_error(error: Exception, node: dict, group: str) -> ConfigError:
    """Hydra's InstantiationException as ``<group>.<key of the failing node>: <its settings>: <why>``."""
    text = str(error)
    key = re.search(r"full_key: (\S+)", text)
    field, value = group, node
    if key:
        field = f"{group}.{key.group(1)}"
        for part in key.group(1).split("."):
            value = value.get(part, value) if isinstance(value, dict) else value
    cause = error.__cause__
    if cause is not None and not isinstance(cause, type(error)):
        why = f"{type(cause).__name__}: {cause}"
    else:
        why = text.split("\n")[0].replace(" set env var HYDRA_FULL_ERROR=1 to see chained exception.", "")
    return ConfigError(field, value, f"cannot be built ({' '.join(why.split()).rstrip('.,')})")
