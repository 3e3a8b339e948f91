"""The Hydra config: where it lives, how it is composed, and its typed schema, validated once.

Settings of the groups (dataset, model, distortion, sampler, imbalance, predictors) are checked by
building their objects (:func:`distortion_reliability.build.build`, from each YAML's ``_target_``),
which the pipeline does before any expensive stage. The root keys are plain values with no object to check
them, so they have a schema here: :class:`RootSchema`, registered in Hydra's ConfigStore as
``schema/root`` and enforced by :func:`validate`, which turns every problem into one
:class:`~distortion_reliability.errors.ConfigError` that the entry point prints as
``error: <field>: <value>: <why>`` (exit 2).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from .errors import ConfigError

#: The groups every job composes, in data-flow order; each YAML in them has a ``_target_``.
GROUPS = ("dataset", "model", "distortion", "sampler", "imbalance", "predictors")
#: Root keys that belong to other machinery (Hydra itself, config groups, optional extras).
_NOT_ROOT_SCALARS = set(GROUPS) | {"hydra", "tracking", "experiment", "study_sweep"}


def conf_dir() -> Path:
    """The ``conf/`` directory: shipped inside the package when installed, else the checkout's."""
    packaged = Path(__file__).resolve().parent / "conf"
    if (packaged / "config.yaml").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "conf"


def compose_config(overrides: list[str] | tuple[str, ...] = (), config_dir: str | Path | None = None,
                   return_hydra_config: bool = False) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra overrides, outside of ``@hydra.main`` (scripts, tests).

    This is the one way scripts, benchmarks and reports build a config, so command-line overrides
    mean the same everywhere.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():  # e.g. called from inside a Hydra app
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(Path(config_dir or conf_dir()).resolve()), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)


# --------------------------------------------------------------------------- schema of the root keys


def _positive_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(name, value, f"must be an integer >= {minimum}")


@dataclass
class OracleSchema:
    precision: str = "auto"            # auto (measured, see precision.py) or an engine's name, pinned
    batch_size: Any = "auto"           # images per forward pass, or auto
    chunk_size: Optional[int] = None   # images per early-stopping check
    noise_seed: int = 0                # seed of the rain fields

    def __post_init__(self) -> None:
        from .precision import PRECISIONS

        if self.precision not in PRECISIONS:
            raise ConfigError("oracle.precision", self.precision, f"must be one of {', '.join(PRECISIONS)}")
        if self.batch_size != "auto":
            try:
                size = int(self.batch_size)
            except (TypeError, ValueError):
                raise ConfigError("oracle.batch_size", self.batch_size, "must be auto or an integer >= 1") from None
            if size != self.batch_size and str(size) != str(self.batch_size):
                raise ConfigError("oracle.batch_size", self.batch_size, "must be auto or an integer >= 1")
            _positive_int("oracle.batch_size", size, 1)
        if self.chunk_size is not None:
            _positive_int("oracle.chunk_size", self.chunk_size, 1)
        _positive_int("oracle.noise_seed", self.noise_seed, 0)


@dataclass
class GridSchema:
    points_per_dim: int = 4
    kind: str = "auto"  # auto | grid | sobol (space.test_levels)
    size: int = 4096  # auto: Sobol beyond points_per_dim^d > size; sobol: its number of levels
    seed: int = 0  # scrambling of the Sobol set

    def __post_init__(self) -> None:
        from .box import TEST_SET_KINDS

        _positive_int("grid.points_per_dim", self.points_per_dim, 2)
        if self.kind not in TEST_SET_KINDS:
            raise ConfigError("grid.kind", self.kind, f"must be one of {', '.join(TEST_SET_KINDS)}")
        _positive_int("grid.size", self.size, 2)
        _positive_int("grid.seed", self.seed, 0)


@dataclass
class RootSchema:
    """Every root key a job reads, with its type; anything else at the root is a typo."""

    seed: int = 0
    h: float = 0.5
    data_dir: str = "data"
    cache_dir: str = "cache"
    device: str = "auto"
    threads: Optional[int] = None
    progress: bool = True
    data_seed: int = 0
    model_seed: int = 0
    study: Optional[str] = None
    rerun: bool = False
    dry_run: bool = False
    report: bool = True
    oracle: OracleSchema = field(default_factory=OracleSchema)
    grid: GridSchema = field(default_factory=GridSchema)

    def __post_init__(self) -> None:
        _positive_int("seed", self.seed, 0)
        _positive_int("data_seed", self.data_seed, 0)
        _positive_int("model_seed", self.model_seed, 0)
        if not (isinstance(self.h, (int, float)) and math.isfinite(self.h) and 0.0 <= self.h <= 1.0):
            raise ConfigError("h", self.h, "must lie in [0, 1]")
        if self.device != "auto" and self.device != "cpu" and not (self.device == "cuda" or self.device.startswith("cuda:")):
            raise ConfigError("device", self.device, "must be auto, cpu, cuda or cuda:<index>")
        if self.threads is not None:
            _positive_int("threads", self.threads, 1)
        for name in ("data_dir", "cache_dir"):
            if not str(getattr(self, name)).strip():
                raise ConfigError(name, getattr(self, name), "must be a non-empty path")


def _register_schema() -> None:
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="schema", name="root", node=RootSchema)


_register_schema()

_ROOT_FIELDS = {f.name for f in dataclasses.fields(RootSchema)}


_TYPE_WORDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}


def _lookup(tree: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _explain(err: OmegaConfBaseException, raw: Any = None) -> ConfigError:
    """One ConfigError (field, value, why) from OmegaConf's multi-line validation message."""
    import re

    key = str(getattr(err, "full_key", None) or getattr(err, "key", None) or "config")
    value = getattr(err, "value", None)
    if value is None and raw is not None:
        value = _lookup(raw, key)
    msg = (getattr(err, "msg", None) or str(err)).splitlines()[0]
    if isinstance(err, ConfigKeyError):
        return ConfigError(key, value, "is not a known setting")
    if isinstance(err, ValidationError):
        converted = re.search(r"could not be converted to (\w+)", msg)
        if converted:
            return ConfigError(key, value, f"must be {_TYPE_WORDS.get(converted.group(1), converted.group(1))}")
        if "is not a valid bool" in msg:
            return ConfigError(key, value, "must be true or false")
    return ConfigError(key, value, msg)


def validate(cfg: DictConfig) -> RootSchema:
    """Check every root key of a composed config once; return the typed settings.

    Raises
    ------
    ConfigError
        Naming the first bad field, its value and why (e.g. ``grid.points_per_dim: 2.5: must be of
        type int``; ``oracle.bogus: 1: is not a known setting``).
    """
    raw = {}
    for key in cfg:
        if key == "hydra":  # Hydra's own node (present when composed with return_hydra_config)
            continue
        try:
            node = cfg[key]
            raw[key] = OmegaConf.to_container(node, resolve=True, throw_on_missing=True) \
                if OmegaConf.is_config(node) else node
        except OmegaConfBaseException as err:
            raise _explain(err, raw) from None
    roots = {k: v for k, v in raw.items() if k not in _NOT_ROOT_SCALARS}
    for key in roots:
        if key not in _ROOT_FIELDS:
            raise ConfigError(key, roots[key], "is not a known setting")
    schema = OmegaConf.structured(RootSchema)
    try:
        merged = OmegaConf.merge(schema, roots)
        typed = OmegaConf.to_object(merged)
    except ConfigError:
        raise
    except OmegaConfBaseException as err:
        raise _explain(err, roots) from None
    for group in GROUPS:
        if group not in raw:
            raise ConfigError(group, None, "is a required config group")
    return typed
