"""Name-based helpers kept while ``pipeline.py`` and ``models.py`` move to Dataset objects.

They are NOT the construction path: a dataset is built from its YAML by ``hydra.utils.instantiate``
(see :mod:`distortion_reliability.data`). These helpers only map the built-in names to their
classes and hold no dataset fact: ``verification_set(name, size=None)`` takes the whole held-out
split (the Table 2 sizes live in ``conf/dataset/*.yaml``). Remove once nothing imports them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import ConfigError, DistortionReliabilityError, UnknownNameError
from .base import Dataset, ImageSet, SplitSource, VerificationSet, check_size
from .datasets import BUILTIN_DATASETS

# Keys of a conf/dataset/*.yaml that are not loader options.
CONFIG_KEYS = ("_target_", "name", "verification_size", "h", "default_model", "split", "download", "smote_gp_v")
_BY_NAME: dict[str, type[Dataset]] = {cls.name: cls for cls in BUILTIN_DATASETS}


def get_dataset_info(name: str) -> type[Dataset]:
    """The built-in Dataset class called ``name``; unknown names raise :class:`UnknownNameError`."""
    if name not in _BY_NAME:
        raise UnknownNameError("dataset", name, list(_BY_NAME))
    return _BY_NAME[name]


def _dataset(name: str, data_dir: str | Path | None, download: bool = False, **options: Any) -> Dataset:
    cls = get_dataset_info(name)
    try:
        return cls(data_dir=data_dir, download=bool(download), **options)
    except TypeError as exc:  # an option this class does not take
        raise ConfigError(f"{name} option", sorted(options), f"are not all options of {name} ({exc})") from None


def open_split(name: str, split: str, data_dir: str | Path | None = None, download: bool = False,
               **options: Any) -> SplitSource:
    """Open one split of the built-in dataset ``name`` without decoding its images."""
    return _dataset(name, data_dir, download, **options).open_split(split)


def load_split(name: str, split: str, data_dir: str | Path | None = None, download: bool = False,
               **options: Any) -> ImageSet:
    """A whole split of the built-in dataset ``name`` as an :class:`ImageSet`."""
    return open_split(name, split, data_dir, download, **options).load()


def held_out_split(name: str, data_dir: str | Path | None = None, **options: Any) -> str:
    """The split D is drawn from (``test``, ``val`` for Tiny-ImageNet and ImageNette; image folders: see
    :class:`~.datasets.ImageFolder`)."""
    ds = _dataset(name, data_dir, **options)
    if name == "image_folder" and options.get("root") is None:
        return "test"
    return ds.held_out_split()


def verification_set(name: str, data_dir: str | Path | None = None, size: int | None = None, seed: int = 0,
                     split: str | None = None, download: bool = False, **options: Any) -> VerificationSet:
    """D of the built-in dataset ``name``: ``size`` images (None: the whole held-out split) drawn by ``seed``."""
    check_size("verification_size", size)
    ds = _dataset(name, data_dir, download, verification_size=size, split=split, **options)
    return ds.verification_set(seed)


def loader_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The loader options of a ``conf/dataset/*.yaml`` mapping (everything but :data:`CONFIG_KEYS`)."""
    return {k: v for k, v in dict(cfg).items() if k not in CONFIG_KEYS}


def verification_set_from_config(cfg: Mapping[str, Any], data_dir: str | Path | None = None, seed: int = 0,
                                 download: bool = False) -> VerificationSet:
    """D from a resolved ``conf/dataset/*.yaml`` mapping: instantiates it (``name`` removed) with ``data_dir``."""
    return instantiate_dataset(cfg, data_dir=data_dir).verification_set(seed)


def instantiate_dataset(cfg: Mapping[str, Any], data_dir: str | Path | None = None) -> Dataset:
    """``hydra.utils.instantiate`` of a dataset node without its ``name`` label, with ``data_dir``."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    node = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else dict(cfg)
    node.pop("name", None)
    if "_target_" not in node:
        raise ConfigError("dataset._target_", None, "must name the Dataset class to build (e.g. distortion_reliability.data.MNIST)")
    try:
        return instantiate(node, data_dir=None if data_dir is None else str(data_dir))
    except InstantiationException as exc:  # Hydra wraps the class's own clear error: unwrap it
        cause = exc.__cause__
        while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
            cause = cause.__cause__
        if isinstance(cause, DistortionReliabilityError):
            raise cause from None
        detail = str(cause or exc).splitlines()[0] if str(cause or exc) else type(cause or exc).__name__
        raise ConfigError("dataset", node.get("_target_"), f"cannot be built: {detail}") from None
