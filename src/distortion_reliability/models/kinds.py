"""One builder per model kind; each is the ``_target_`` of a ``conf/model/*.yaml`` (``_partial_: true``).

Hydra turns a YAML into ``factory = functools.partial(builder, **settings)``; the pipeline then calls
``factory(dataset=ds, cache_dir=..., device=..., progress=...)`` and gets a :class:`LoadedModel`.

Settings every kind takes (null = the default given):

``mean``, ``std``
    Per-channel input normalisation, applied inside the model after input adaptation (null: none;
    timm: the architecture's own ``pretrained_cfg``; small_cnn: the training images' statistics).
``input_size``
    ``H`` or ``[H, W]`` the network takes; images of another size are resampled (antialiased
    bilinear). null: as the dataset gives them (ONNX / export: the archive's static size, if any).
``input_channels``
    Channels the network takes; grey images are repeated, RGB turned to luma when they differ.
    null: the dataset's (torchvision: 3; timm: 3; ONNX / export: the archive's static channels).
``class_map``
    Which network output is which dataset class: a list of output indices in the dataset's label
    order, or a mapping ``{dataset class name: output index}``. null: output k is class k.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import nn

from ..data.locate import download_timeout
from ..errors import ConfigError, DataNotFoundError
from .architectures import CifarResNet, Classifier, LeNet5, Normalize, SmallCNN
from .base import LoadedModel
from .loading import existing_file, file_sha256, load_weights, state_sha256
from .training import cached_training
from .wrapping import (Geometry, dataset_geometry, finish_model, head_size, normalization, plain, required, size2,
                       square_size, wrap_net)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------- kinds


def lenet5(*, dataset: Any, checkpoint: str, cache_dir: Any = None, device: str | torch.device = "cpu",
           progress: bool = False, num_classes: int | None = None, mean: Any = None, std: Any = None,
           input_size: Any = None, input_channels: int | None = None, class_map: Any = None) -> LoadedModel:
    """The MNIST LeNet-5 (:class:`LeNet5`), sized from the data, weights from ``checkpoint``."""
    geo = dataset_geometry(dataset)
    size = square_size(size2(input_size, "model.input_size") or geo.size, "model.input_size")
    channels = input_channels or geo.channels
    net = LeNet5(channels, head_size(num_classes, geo), size)
    sha = load_weights(net, required(checkpoint, "checkpoint", "the LeNet-5 weights file"), "lenet5")
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map)
    return finish_model(module, geo, "lenet5", sha, spec, device)


def cifar_resnet(*, dataset: Any, depth: int, checkpoint: str, cache_dir: Any = None,
                 device: str | torch.device = "cpu", progress: bool = False, num_classes: int | None = None,
                 mean: Any = None, std: Any = None, input_size: Any = None, input_channels: int | None = None,
                 class_map: Any = None) -> LoadedModel:
    """A CIFAR ResNet of ``depth`` 20, 32, 44, 56 or 110 (option A; akamaster checkpoint layout)."""
    geo = dataset_geometry(dataset)
    net = CifarResNet(depth, head_size(num_classes, geo), input_channels or geo.channels)
    name = f"cifar_resnet{depth}"
    sha = load_weights(net, required(checkpoint, "checkpoint", f"the {name} weights file"), name)
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map)
    return finish_model(module, geo, name, sha, {**spec, "depth": depth}, device)


def small_cnn(*, dataset: Any, train: Mapping[str, Any], seed: int = 0, checkpoint: str | None = None,
              cache_dir: str | Path | None = None, device: str | torch.device = "cpu", progress: bool = False,
              mean: Any = None, std: Any = None, per_dataset: Any = None) -> LoadedModel:
    """A :class:`SmallCNN` sized from the data, trained on ``dataset.train_set`` (cached) unless ``checkpoint``.

    ``train`` holds ``epochs, lr, batch_size, weight_decay, max_train_images, threads`` (their defaults live in
    ``conf/model/small_cnn.yaml``; ``per_dataset`` there is read by that file's interpolations only).
    ``mean``/``std`` null: the training images' per-channel statistics, stored with the weights.
    """
    geo = dataset_geometry(dataset)
    size = square_size(geo.size, "dataset.image_size")
    norm = normalization(mean, std, geo.channels)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("model.seed", seed, "must be a non-negative integer")

    def make() -> Classifier:
        return Classifier(SmallCNN(geo.channels, size, geo.num_classes),
                          Normalize(*(norm or ([0.0] * geo.channels, [1.0] * geo.channels))))

    arch = {"arch": "small_cnn", "in_channels": geo.channels, "image_size": size, "num_classes": geo.num_classes,
            "mean": norm and norm[0], "std": norm and norm[1]}
    if checkpoint not in (None, ""):
        module = make()
        weights = load_weights(module, checkpoint, "small_cnn")
        spec = {"arch": arch}
    else:
        if cache_dir in (None, ""):
            raise ConfigError("cache_dir", cache_dir, "must be set to train (and cache) the small CNN")
        module, weights, spec = cached_training(make, dataset, plain(train), seed, cache_dir, arch,
                                                progress=progress, fit_normalize=norm is None)
    return finish_model(module, geo, "small_cnn", weights, {"arch": arch, "trained": spec.get("train")}, device)


def _torchvision_weights(arch: str, weights: str) -> Any:
    from torchvision import models as tvm

    try:
        if "." in weights:
            return tvm.get_weight(weights)
        return tvm.get_model_weights(arch)[weights]
    except (KeyError, ValueError, AttributeError):
        try:
            valid = [f"{e.__class__.__name__}.{e.name}" for e in tvm.get_model_weights(arch)] + ["DEFAULT"]
        except (KeyError, ValueError):
            valid = []
        raise ConfigError("model.weights", weights,
                          f"must name torchvision weights of {arch}" + (f" ({', '.join(valid)})" if valid else "")) from None


def _hub_weights_file(enum: Any, progress: bool) -> Path:
    """The torch hub cache file of torchvision weights ``enum``, downloaded when absent and online."""
    url = enum.url
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    path = hub / Path(url).name
    if path.is_file():
        return path
    found = re.search(r"-([a-f0-9]+)\.", path.name)
    try:
        hub.mkdir(parents=True, exist_ok=True)
        with download_timeout():  # a stalled download fails fast offline
            torch.hub.download_url_to_file(url, str(path), hash_prefix=found.group(1) if found else None,
                                           progress=progress)
    except Exception as exc:
        raise DataNotFoundError(
            f"model.weights {enum.__class__.__name__}.{enum.name}: not in the torch hub cache (looked for {path}) and "
            f"the download of {url} failed ({type(exc).__name__}: {str(exc)[:160]}). Offline, copy that file to "
            f"{path} (TORCH_HOME moves the cache) or pass model.checkpoint=<path to the weights>") from None
    return path


def torchvision_model(*, dataset: Any, arch: str, weights: str | None = None, checkpoint: str | None = None,
                      cache_dir: Any = None, device: str | torch.device = "cpu", progress: bool = False,
                      num_classes: int | None = None, model_kwargs: Mapping[str, Any] | None = None,
                      mean: Any = None, std: Any = None, input_size: Any = None, input_channels: int | None = None,
                      class_map: Any = None) -> LoadedModel:
    """Any ``torchvision.models`` architecture by name (``arch: resnet18``).

    Weights from ``checkpoint`` (a local state_dict or safetensors file; wins when both are set), else
    from ``weights`` (a torchvision enum name such as ``ResNet18_Weights.DEFAULT``, or just
    ``DEFAULT``), read from the torch hub cache and downloaded there only when absent.
    ``num_classes`` null keeps the architecture's (1,000 for ImageNet): pick the dataset's classes
    with ``class_map``.
    """
    from torchvision import models as tvm

    geo = dataset_geometry(dataset)
    arch = str(required(arch, "arch", "a torchvision.models architecture name, e.g. resnet18"))
    if arch not in tvm.list_models():
        close = difflib.get_close_matches(arch, tvm.list_models(), n=5)
        raise ConfigError("model.arch", arch, "is not a torchvision.models architecture" +
                          (f" (did you mean {', '.join(close)}?)" if close else ""))
    kwargs = dict(plain(model_kwargs) or {})
    if num_classes is not None:
        kwargs["num_classes"] = head_size(num_classes, geo)
    try:
        net = tvm.get_model(arch, weights=None, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError("model.model_kwargs", kwargs, f"are not accepted by torchvision's {arch}: {exc}") from None
    if checkpoint not in (None, ""):
        path = existing_file(checkpoint)
    elif weights not in (None, ""):
        path = _hub_weights_file(_torchvision_weights(arch, str(weights)), progress)
    else:
        raise ConfigError("model.weights", None, "must be set (e.g. DEFAULT), or model.checkpoint=<weights file>")
    sha = load_weights(net, path, arch)
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map, net_channels=3)
    return finish_model(module, geo, f"torchvision:{arch}", sha, {**spec, "arch": arch, "kwargs": kwargs}, device)


def timm_model(*, dataset: Any, arch: str, checkpoint: str, cache_dir: Any = None,
               device: str | torch.device = "cpu", progress: bool = False, num_classes: int | None = None,
               model_kwargs: Mapping[str, Any] | None = None, mean: Any = None, std: Any = None,
               input_size: Any = None, input_channels: int | None = None, class_map: Any = None) -> LoadedModel:
    """Any timm model by name, weights from a local file (never the hub at run time).

    ``num_classes`` null keeps timm's default head (1,000). ``mean``/``std`` null take the
    architecture's own ``pretrained_cfg`` normalisation. ``input_channels`` sets timm's ``in_chans``.
    """
    import timm

    geo = dataset_geometry(dataset)
    arch = str(required(arch, "arch", "a timm model name, e.g. resnet18"))
    path = existing_file(required(checkpoint, "checkpoint", "a local weights file (timm weights are not "
                                   "downloaded at run time; save model.state_dict() once where you are online)"))
    kwargs = dict(plain(model_kwargs) or {})
    if num_classes is not None:
        kwargs["num_classes"] = head_size(num_classes, geo)
    if input_channels is not None:
        kwargs["in_chans"] = int(input_channels)
    if not timm.is_model(arch):
        close = difflib.get_close_matches(arch, timm.list_models(), n=5)
        raise ConfigError("model.arch", arch, "is not a timm model" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    try:
        net = timm.create_model(arch, pretrained=False, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError("model.model_kwargs", kwargs, f"are not accepted by timm's {arch}: {exc}") from None
    sha = load_weights(net, path, arch)
    channels = int(kwargs.get("in_chans", 3))
    if mean is None and std is None:
        cfg = getattr(net, "pretrained_cfg", None) or {}
        if cfg.get("mean") is not None and len(cfg["mean"]) in (1, channels):
            mean, std = list(cfg["mean"]), list(cfg["std"])
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map, net_channels=channels)
    return finish_model(module, geo, f"timm:{arch}", sha, {**spec, "arch": arch, "kwargs": kwargs}, device)


def torchscript_model(*, dataset: Any, checkpoint: str, cache_dir: Any = None, device: str | torch.device = "cpu",
                      progress: bool = False, mean: Any = None, std: Any = None, input_size: Any = None,
                      input_channels: int | None = None, class_map: Any = None) -> LoadedModel:
    """A ``torch.jit`` archive (``torch.jit.save``) by path; normalisation null: none (the archive's own)."""
    from .runtimes import load_torchscript

    geo = dataset_geometry(dataset)
    path = existing_file(required(checkpoint, "checkpoint", "the TorchScript archive"), "TorchScript archive")
    net = load_torchscript(path)
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map)
    return finish_model(module, geo, f"torchscript:{path.name}", file_sha256(path), spec, device)


def _static_geometry(shape: Sequence[int | None]) -> tuple[int | None, tuple[int, int] | None]:
    if len(shape) != 4:
        return None, None
    size = (shape[2], shape[3]) if shape[2] and shape[3] else None
    return shape[1], size


def exported_model(*, dataset: Any, checkpoint: str, cache_dir: Any = None, device: str | torch.device = "cpu",
                   progress: bool = False, mean: Any = None, std: Any = None, input_size: Any = None,
                   input_channels: int | None = None, class_map: Any = None) -> LoadedModel:
    """A ``torch.export`` archive (``torch.export.save``, ``.pt2``) by path; export it in eval mode."""
    from .runtimes import load_exported

    geo = dataset_geometry(dataset)
    path = existing_file(required(checkpoint, "checkpoint", "the torch.export .pt2 archive"), "torch.export archive")
    net = load_exported(path)
    channels, size = _static_geometry(net.input_shape)
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map, net_channels=channels, net_size=size)
    return finish_model(module, geo, f"export:{path.name}", file_sha256(path), spec, device)


def onnx_model(*, dataset: Any, checkpoint: str, cache_dir: Any = None, device: str | torch.device = "cpu",
               progress: bool = False, mean: Any = None, std: Any = None, input_size: Any = None,
               input_channels: int | None = None, class_map: Any = None, threads: int | None = None) -> LoadedModel:
    """An ONNX file run by onnxruntime (see :class:`~.runtimes.OnnxModule`): runs in fp32 whatever ``oracle.precision``.

    ``threads`` null: ``torch.get_num_threads()`` (so the ``threads`` root setting applies to ORT too).
    """
    from .runtimes import OnnxModule

    geo = dataset_geometry(dataset)
    path = existing_file(required(checkpoint, "checkpoint", "the .onnx file"), "ONNX model")
    net = OnnxModule(path, device=device, threads=threads)
    channels, size = _static_geometry(net.input_shape)
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map, net_channels=channels, net_size=size)
    return finish_model(module, geo, f"onnx:{path.name}", file_sha256(path), spec, device)


def custom_model(*, dataset: Any, net: Any, checkpoint: str | None = None, cache_dir: Any = None,
                 device: str | torch.device = "cpu", progress: bool = False, mean: Any = None, std: Any = None,
                 input_size: Any = None, input_channels: int | None = None, class_map: Any = None) -> LoadedModel:
    """Your own ``nn.Module``: ``net: {_target_: my_package.MyNet, ...}`` plus a ``checkpoint``.

    The checkpoint (a state_dict or safetensors file) is loaded into ``net`` with the same checks as
    every kind. Without one, ``net`` is used as its constructor left it (it may load its own weights);
    the fingerprint then hashes its parameters.
    """
    from hydra.utils import instantiate

    geo = dataset_geometry(dataset)
    spec_net = plain(net)
    if isinstance(spec_net, Mapping):
        if spec_net.get("_target_") in (None, "", "???"):
            raise ConfigError("model.net._target_", None, "must name your nn.Module class (e.g. my_package.MyNet)")
        try:
            net = instantiate(spec_net)
        except Exception as exc:
            cause = exc.__cause__ or exc
            raise ConfigError("model.net", spec_net["_target_"], f"cannot be built: {str(cause).splitlines()[0][:200]}") from None
    if not isinstance(net, nn.Module):
        raise ConfigError("model.net", type(net).__name__, "must build a torch.nn.Module")
    label = type(net).__name__
    if checkpoint not in (None, ""):
        weights = load_weights(net, checkpoint, label)
    else:
        weights = state_sha256(net.state_dict(), {"class": f"{type(net).__module__}.{type(net).__qualname__}"})
    module, spec = wrap_net(net, geo, mean=mean, std=std, input_size=input_size, input_channels=input_channels,
                         class_map=class_map)
    return finish_model(module, geo, f"custom:{label}", weights, {**spec, "net": spec_net if isinstance(spec_net, Mapping)
                                                               else label}, device)


# --------------------------------------------------------------------------------------------- helpers for callers


def check_factory(factory: Any, group: str = "model") -> None:
    """Raise :class:`ConfigError` now if a ``_partial_`` factory holds a setting its builder does not take,
    or lacks one it needs (a YAML ``???`` the user did not set: Hydra leaves such keys out).

    Hydra's partial defers both to a TypeError at the call; the pipeline can check right after
    ``instantiate`` (before loading any data).
    """
    target = factory.func if isinstance(factory, functools.partial) else factory
    keywords = factory.keywords if isinstance(factory, functools.partial) else {}
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    runtime = {"dataset", "cache_dir", "device", "progress"}
    for key, value in keywords.items():
        if key not in params:
            valid = sorted(k for k in params if k not in runtime)
            raise ConfigError(f"{group}.{key}", value, f"is not a setting of {getattr(target, '__name__', target)} "
                              f"(settings: {', '.join(valid)})")
    for key, p in params.items():
        if (p.default is inspect.Parameter.empty and key not in keywords and key not in runtime
                and p.kind is not inspect.Parameter.VAR_POSITIONAL):
            raise ConfigError(f"{group}.{key}", "???", "must be set")
