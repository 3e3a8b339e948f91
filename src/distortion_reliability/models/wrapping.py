"""What every model kind shares: the dataset's geometry, and ``adapt -> normalize -> net -> head`` around a net.

The settings these read (``mean``, ``std``, ``input_size``, ``input_channels``, ``class_map``,
``num_classes``) are described in :mod:`.kinds`; each is checked here, once, when a model is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch
from torch import nn

from ..artifacts import stable_hash
from ..errors import ConfigError
from .architectures import AdaptInput, Classifier, Normalize, SelectLogits
from .base import LoadedModel



def plain(value: Any) -> Any:
    """OmegaConf containers (what Hydra passes for YAML lists and mappings) as plain Python."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def required(value: Any, field: str, what: str) -> Any:
    if value is None or value == "???" or (isinstance(value, str) and not value.strip()):
        raise ConfigError(f"model.{field}", value, f"must be set: {what}")
    return value


@dataclass(frozen=True)
class Geometry:
    """What a builder reads from the dataset object."""

    name: str
    classes: list[str] | None
    num_classes: int
    channels: int
    size: tuple[int, int] | None


def dataset_geometry(dataset: Any) -> Geometry:
    """``name``, ``classes``/``num_classes``, ``channels``, ``image_size`` of a dataset object."""
    name = str(getattr(dataset, "name", type(dataset).__name__))
    classes = getattr(dataset, "classes", None)
    classes = [str(c) for c in classes] if classes is not None else None
    num_classes = getattr(dataset, "num_classes", None)
    num_classes = len(classes) if num_classes is None and classes is not None else num_classes
    channels = getattr(dataset, "channels", None)
    if num_classes is None or channels is None:
        raise ConfigError("dataset", name, "must give the model builders num_classes (or classes) and channels")
    size = getattr(dataset, "image_size", None)
    return Geometry(name, classes, int(num_classes), int(channels), size2(size, "dataset.image_size"))


def size2(value: Any, field: str) -> tuple[int, int] | None:
    value = plain(value)
    if value is None:
        return None
    if isinstance(value, (int,)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)):
        raise ConfigError(field, value, "must be a positive integer or [height, width]")
    return int(value[0]), int(value[1])


def square_size(size: tuple[int, int] | None, field: str) -> int:
    if size is None or size[0] != size[1]:
        raise ConfigError(field, size, "must be a square image size for this architecture (set model.input_size)")
    return size[0]


def head_size(value: Any, geo: Geometry) -> int:
    if value is None:
        return geo.num_classes
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError("model.num_classes", value, "must be a positive integer or null")
    return int(value)


def _class_indices(class_map: Any, geo: Geometry) -> list[int] | None:
    class_map = plain(class_map)
    if class_map is None:
        return None
    if isinstance(class_map, Mapping):
        if geo.classes is None:
            raise ConfigError("model.class_map", "{...}", f"needs class names, and dataset {geo.name!r} gives none (use a list)")
        by_name = {str(k): v for k, v in class_map.items()}
        missing = [c for c in geo.classes if c not in by_name]
        if missing:
            raise ConfigError("model.class_map", f"{len(by_name)} entries",
                              f"must map every class of {geo.name}; missing {missing[:5]}")
        indices = [by_name[c] for c in geo.classes]
    elif isinstance(class_map, (list, tuple)):
        if len(class_map) != geo.num_classes:
            raise ConfigError("model.class_map", class_map, f"must list one output index per class ({geo.num_classes})")
        indices = list(class_map)
    else:
        raise ConfigError("model.class_map", class_map, "must be a list of output indices or a {class: index} mapping")
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in indices):
        raise ConfigError("model.class_map", class_map, "must hold non-negative integer output indices")
    return [int(i) for i in indices]


def normalization(mean: Any, std: Any, channels: int) -> tuple[list[float], list[float]] | None:
    mean, std = plain(mean), plain(std)
    if mean is None and std is None:
        return None
    if mean is None or std is None:
        raise ConfigError("model.mean" if mean is None else "model.std", None, "must be set together with the other")
    out = []
    for field, v in (("mean", mean), ("std", std)):
        v = [v] if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if not isinstance(v, (list, tuple)) or len(v) not in (1, channels) or any(
                isinstance(x, bool) or not isinstance(x, (int, float)) for x in v):
            raise ConfigError(f"model.{field}", v, f"must be one number or {channels} (one per input channel)")
        out.append([float(x) for x in v] * (channels if len(v) == 1 else 1))
    if any(s <= 0 for s in out[1]):
        raise ConfigError("model.std", std, "must be positive")
    return out[0], out[1]


def wrap_net(net: nn.Module, geo: Geometry, *, mean: Any = None, std: Any = None, input_size: Any = None,
          input_channels: Any = None, class_map: Any = None, net_channels: int | None = None,
          net_size: tuple[int, int] | None = None) -> tuple[Classifier, dict]:
    """``adapt -> normalize -> net -> head`` around ``net``, and the spec of that wrapper."""
    if input_channels is not None and (isinstance(input_channels, bool) or not isinstance(input_channels, int)
                                       or input_channels < 1):
        raise ConfigError("model.input_channels", input_channels, "must be a positive integer or null")
    channels = int(input_channels or net_channels or geo.channels)
    size = size2(input_size, "model.input_size") or net_size
    adapt = None
    if channels != geo.channels or (size is not None and size != geo.size):
        adapt = AdaptInput(geo.channels, channels, size)
    norm = normalization(mean, std, channels)
    indices = _class_indices(class_map, geo)
    module = Classifier(net, Normalize(*norm) if norm else None, SelectLogits(indices) if indices else None, adapt)
    spec = {"channels": channels, "size": size, "mean": norm and norm[0], "std": norm and norm[1],
            "class_map": indices}
    return module, spec


def finish_model(module: Classifier, geo: Geometry, name: str, weights: str, spec: Mapping[str, Any],
            device: str | torch.device) -> LoadedModel:
    """Check the model classifies the dataset's images, then move it, freeze it and fingerprint it."""
    if geo.size is not None:
        probe = torch.zeros(2, geo.channels, *geo.size)
        module.eval()
        try:
            with torch.inference_mode():
                out = module(probe)
        except Exception as exc:  # shapes that do not fit: say which settings to look at
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise ConfigError("model", name, f"cannot classify {geo.name} images of shape {tuple(probe.shape[1:])} "
                              f"({type(exc).__name__}: {first}); check model.input_size, model.input_channels "
                              "and model.class_map") from None
        if out.ndim != 2 or out.shape[1] != geo.num_classes:
            raise ConfigError("model.class_map", spec.get("class_map"),
                              f"must give one logit per class: {name} outputs {tuple(out.shape[1:])} per image, "
                              f"dataset {geo.name} has {geo.num_classes} classes (set model.class_map to pick the "
                              "outputs, or model.num_classes)")
    full_spec = {"name": name, "weights": weights, **spec}
    module = module.to(torch.device(device)).eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return LoadedModel(module, name, stable_hash(full_spec, length=32), geo.classes, full_spec)
