"""The one way an object is built from its config: ``build(group, node, **runtime)``.

Every group (dataset, model, distortion, sampler, imbalance, predictors, tracking) is a YAML whose
``_target_`` names what builds it, so one function builds them all, and the pipeline, the reports,
the benchmarks and the tests all go through it. It

1. drops the YAML's ``name`` (a label, not an argument) and resolves interpolations;
2. resolves ``model: auto`` to the dataset's ``default_model`` YAML (the only place that happens);
3. turns Hydra's ``InstantiationException`` into one :class:`ConfigError` naming the field
   (``imbalance.sampler.k_neighbors: 0: cannot be built (...)``), or re-raises the target's own
   error of this package unwrapped;
4. checks what the group promises (a model factory's settings, a method's ``fit_predictors``, a
   predictor's ``fit``/``predict`` and its scikit-learn parameters), so a typo fails before any
   data is read;
5. labels the result with the option chosen (``obj.label``: ``gp_sqrt``, ``lenet5`` for
   ``model=auto``), so later code asks the object, not the config.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf

from .errors import ConfigError, DistortionReliabilityError, sklearn_param_error

__all__ = ["Predictors", "build", "label_of", "resolve_model_config"]

#: Groups whose YAML lists must reach the target as plain Python lists (scikit-learn, MLflow settings).
_PLAIN_CONTAINERS = {"predictors", "tracking"}


class Predictors(dict):
    """``{predictor name: unfitted estimator}`` in config order, labelled with its option (``paper``)."""

    label: str = ""


def build(group: str, node: Any, **runtime: Any) -> Any:
    """Build ``group``'s object from its config ``node`` (a ``cfg.<group>`` node or a plain mapping).

    ``runtime`` holds what the YAML cannot know (a dataset's absolute ``data_dir``). Raises
    :class:`ConfigError` (or the target's own error of this package) in one line.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    node = resolve_model_config(node) if group == "model" else node
    label = label_of(group, node)
    spec = OmegaConf.to_container(node, resolve=True) if OmegaConf.is_config(node) else dict(node or {})
    spec.pop("name", None)
    if group == "predictors":
        _check_entries(spec)
    elif "_target_" not in spec:
        raise ConfigError(f"{group}._target_", None, "must name the class or function that builds this group")
    runtime = {k: str(v) if isinstance(v, Path) else v for k, v in runtime.items()}
    try:
        built = instantiate(spec, _convert_="all" if group in _PLAIN_CONTAINERS else "none", **runtime)
    except InstantiationException as error:
        raise _explained(error, group, spec) from None
    built = _CHECKS.get(group, _no_check)(built, group, spec, label)
    try:
        built.label = label
    except AttributeError:  # an object without a __dict__ (a builtin): nothing to label
        pass
    return built


# --------------------------------------------------------------------------- labels and model: auto


def label_of(group: str, node: Any) -> str:
    """The option chosen for ``group``: Hydra's choice (``gp_sqrt``), else the YAML's ``name``.

    For the model it is the resolved option (``lenet5`` for ``model=auto``).
    """
    name = node.get("name") if hasattr(node, "get") else None
    if group == "model" and name == "auto":
        name = _default_model(node)
    root = node._get_root() if isinstance(node, DictConfig) else None
    attached = root is not None and root is not node and group in root
    choice = _hydra_choice(group, root) if attached else None
    if group == "model" and choice in (None, "auto"):
        choice = None
    return str(choice or name or "")


def _hydra_choice(group: str, root: Any) -> str | None:
    try:
        from hydra.core.hydra_config import HydraConfig

        return HydraConfig.get().runtime.choices.get(group)
    except ValueError:  # not inside a Hydra app: a config composed with return_hydra_config holds them
        return None if root is None else OmegaConf.select(root, f"hydra.runtime.choices.{group}", default=None)


def resolve_model_config(node: Any) -> Any:
    """``model: auto`` -> the dataset's ``default_model`` YAML, with any keys the user set on top.

    ``node`` is ``cfg.model`` (attached to its job config, whose ``dataset`` names the default) or
    a whole job config; any other model node comes back unchanged.
    """
    if isinstance(node, DictConfig) and "model" in node and "dataset" in node:
        node = node.model
    if not (OmegaConf.is_config(node) or isinstance(node, Mapping)) or node.get("name") != "auto":
        return node
    default = _default_model(node)
    user = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else dict(node)
    for key in ("name", "_target_", "_partial_"):
        user.pop(key, None)
    merged = OmegaConf.merge(_option("model", default), user)
    # Interpolations like ${data_dir} resolve against the job's root config.
    job = OmegaConf.create(OmegaConf.to_container(node._get_root(), resolve=False))
    OmegaConf.set_struct(job, False)
    job.model = merged
    return job.model


def _default_model(node: Any) -> str:
    """The dataset's ``default_model``, which ``model: auto`` stands for."""
    root = node._get_root() if isinstance(node, DictConfig) else None
    default = OmegaConf.select(root, "dataset.default_model", default=None) if root is not None else None
    if not default:
        raise ConfigError("dataset.default_model", default, "must name a config in conf/model/ when model=auto")
    return str(default)


def _option(group: str, option: str) -> DictConfig:
    """One option of a config group (``model/lenet5``), composed through Hydra so its defaults apply."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from .config import conf_dir

    if not (conf_dir() / group / f"{option}.yaml").is_file():
        options = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
        raise ConfigError(group, option, f"must name a config in conf/{group}/ ({', '.join(options)})")
    # Inside a running Hydra app: compose in a fresh instance, then give the app's back.
    saved = GlobalHydra.instance().hydra if GlobalHydra.instance().is_initialized() else None
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            cfg = compose(config_name="config", overrides=[f"{group}={option}"])
    finally:
        if saved is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(saved)
    node = cfg[group]
    OmegaConf.set_struct(node, False)
    return node


# --------------------------------------------------------------------------- errors, once


def _explained(error: Exception, group: str, spec: dict) -> Exception:
    """Hydra's nested InstantiationException as ``<group>.<failing node>: <its settings>: <why>``.

    Hydra wraps a target's exception once per nested node (ops, resamplers); a clear error of this
    package inside is raised as is, anything else is said in one line naming the node.
    """
    cause: BaseException = error
    while cause.__cause__ is not None and not isinstance(cause, DistortionReliabilityError):
        cause = cause.__cause__
    if isinstance(cause, DistortionReliabilityError):
        return cause
    text = str(error)
    field, value = group, spec
    key = re.search(r"full_key: (\S+)", text)
    if key:
        field = f"{group}.{key.group(1)}"
        for part in key.group(1).split("."):
            value = value.get(part, value) if isinstance(value, dict) else value
    if cause is not error:
        why = f"{type(cause).__name__}: {cause}"
    else:
        why = text.split("\n")[0].replace(" set env var HYDRA_FULL_ERROR=1 to see chained exception.", "")
    return ConfigError(field, value, f"cannot be built ({' '.join(why.split()).rstrip('.,')})")


# --------------------------------------------------------------------------- what each group promises


def _no_check(built: Any, group: str, spec: dict, label: str) -> Any:
    return built


def _check_model(factory: Any, group: str, spec: dict, label: str) -> Any:
    from .models import check_factory

    check_factory(factory)  # a misspelt or unset model key fails here, before any data is read
    return factory


def _check_method(method: Any, group: str, spec: dict, label: str) -> Any:
    from .imbalance import ImbalanceMethod

    if not hasattr(method, "fit_predictors"):
        raise ConfigError(f"imbalance.{label}._target_", spec.get("_target_"),
                          "must build an ImbalanceMethod (an object with fit_predictors)")
    if isinstance(method, ImbalanceMethod) and label:
        method.name = label  # errors then name the config (smote), not the class (SMOTE)
    return method


def _check_entries(spec: dict) -> None:
    if not spec:
        raise ConfigError("predictors", spec, "must hold at least one predictor")
    for key, entry in spec.items():
        if not isinstance(entry, dict) or "_target_" not in entry:
            raise ConfigError(f"predictors.{key}", entry,
                              "must have a _target_ (e.g. sklearn.tree.DecisionTreeClassifier)")


def _check_predictors(built: dict, group: str, spec: dict, label: str) -> Predictors:
    """Every entry is a classifier, and scikit-learn's own parameter checks pass now, not at fit."""
    for key, estimator in built.items():
        field = f"predictors.{key}"
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise ConfigError(f"{field}._target_", spec[key]["_target_"], "must build a classifier (fit and predict)")
        if hasattr(estimator, "_validate_params") and hasattr(estimator, "_parameter_constraints"):
            try:
                estimator._validate_params()
            except ValueError as error:
                raise sklearn_param_error(error, field, spec[key], spec[key]) from None
    return Predictors(built)


def _check_tracker(tracker: Any, group: str, spec: dict, label: str) -> Any:
    from .tracking.base import Tracker

    if not isinstance(tracker, Tracker):
        raise ConfigError("tracking._target_", spec.get("_target_"), "must build a tracking.Tracker")
    return tracker


_CHECKS = {"model": _check_model, "imbalance": _check_method, "predictors": _check_predictors,
           "tracking": _check_tracker}
