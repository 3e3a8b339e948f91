"""Image classifiers T: architectures, checkpoint loading, and a small CNN trained on the fly (cached).

Every model takes images ``[B, C, H, W]`` in [0, 1] and returns logits over the dataset's classes;
normalisation lives *inside* the module (a :class:`Normalize` layer in front), because the
distortions act on raw intensities.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import ImageSet, download_timeout, get_dataset_info, held_out_split, open_split, resolve_data_dir
from .errors import ConfigError, DataNotFoundError, UnknownNameError

# Bump when a change to the small CNN or its training changes the trained weights (it keys the cache).
SMALL_CNN_VERSION = 1

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# ImageNette's class folders (sorted wnids) -> ImageNet-1k class indices. torchvision's Imagenette and
# the fastai archives name the parachute folder n03888257 (ImageNet 701, "parachute"); some fastai
# notebooks misspell it n03888605 (ImageNet 702 is "parallel bars"), so both spellings map to 701.
IMAGENETTE_TO_IMAGENET = {
    "n01440764": 0,  # tench
    "n02102040": 217,  # English springer
    "n02979186": 482,  # cassette player
    "n03000684": 491,  # chain saw
    "n03028079": 497,  # church
    "n03394916": 566,  # French horn
    "n03417042": 569,  # garbage truck
    "n03425413": 571,  # gas pump
    "n03445777": 574,  # golf ball
    "n03888257": 701,  # parachute
    "n03888605": 701,  # parachute (misspelt wnid)
}
IMAGENETTE_IMAGENET_INDICES = (0, 217, 482, 491, 497, 566, 569, 571, 574, 701)

DEFAULT_TRAIN = {"epochs": 10, "lr": 1e-3, "batch_size": 128, "weight_decay": 0.0, "max_train_images": None}
# Per-dataset small-CNN training defaults, chosen to stay CPU-friendly (a training key set to None
# in config falls back to these, then to DEFAULT_TRAIN). digits: ~0.98 test accuracy in seconds.
SMALL_CNN_TRAIN_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"epochs": 20, "lr": 3e-3, "batch_size": 64},
    "mnist": {"epochs": 3},
    "fashion_mnist": {"epochs": 8},
    "cifar10": {"epochs": 15},
    "cifar100": {"epochs": 20},
    "tiny_imagenet": {"epochs": 10, "max_train_images": 50000},
    "imagenette": {"epochs": 8, "batch_size": 64, "max_train_images": 5000},
    "image_folder": {"epochs": 15, "batch_size": 64},
}


@dataclass
class LoadedModel:
    """An image classifier T ready for inference.

    Attributes
    ----------
    module : torch.nn.Module
        In eval mode, on the requested device; ``[B, C, H, W]`` in [0, 1] -> logits ``[B, K]``.
    name : str
        Registry name.
    fingerprint : str
        sha256 of the checkpoint file, or of the trained weights and their training config.
    classes : list of str or None
        Class names of the logits, when known.
    """

    module: nn.Module
    name: str
    fingerprint: str
    classes: list[str] | None = None


# --------------------------------------------------------------------------------------------- layers


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, with mean and std stored as buffers (so they follow ``.to``)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class SelectLogits(nn.Module):
    """Keep only some output logits (e.g. the 10 ImageNette classes out of ImageNet's 1,000)."""

    def __init__(self, indices: Sequence[int]):
        super().__init__()
        self.register_buffer("indices", torch.as_tensor(list(indices), dtype=torch.long))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.index_select(1, self.indices)


class Classifier(nn.Module):
    """``normalize -> net -> head``: the wrapper every loaded model uses."""

    def __init__(self, net: nn.Module, normalize: nn.Module | None = None, head: nn.Module | None = None):
        super().__init__()
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.net = net
        self.head = head if head is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(self.normalize(x)))


# --------------------------------------------------------------------------------------------- LeNet-5


class LeNet5(nn.Module):
    """The MNIST LeNet-5 of ``mnist_lenet5_clntrained.pt``: two 3x3 conv + pool stages, two linear layers."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.linear1 = nn.Linear(64 * (image_size // 4) ** 2, 200)
        self.linear2 = nn.Linear(200, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.linear1(x.flatten(1)))
        return self.linear2(x)


# --------------------------------------------------------------------------------------------- CIFAR ResNets


class _PadShortcut(nn.Module):
    """He et al.'s option A: subsample by 2 and zero-pad the new channels (no parameters)."""

    def __init__(self, planes: int):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = _PadShortcut(planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """The CIFAR ResNet of He et al. (2016), option A shortcuts, depth ``6n + 2`` (20, 56, ...).

    Parameter names match the akamaster/pytorch_resnet_cifar10 checkpoints (minus ``module.``).
    """

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ConfigError("resnet depth", depth, "must be 6n + 2")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.in_planes = 16
        self.layer1 = self._stage(16, n, 1)
        self.layer2 = self._stage(32, n, 2)
        self.layer3 = self._stage(64, n, 2)
        self.linear = nn.Linear(64, num_classes)

    def _stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(_BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


# --------------------------------------------------------------------------------------------- small CNN


class SmallCNN(nn.Module):
    """A small conv net sized from the data: ``conv-BN-ReLU-maxpool`` stages until the map is <= 4 px.

    Widths 32, 64, 128 (capped), then one more conv and a linear layer on the flattened map (no
    global pooling: on 8x8 digits the position of the strokes is the information).
    """

    def __init__(self, in_channels: int, image_size: int, num_classes: int, max_stages: int = 5):
        super().__init__()
        layers: list[nn.Module] = []
        width, channels, size = 32, in_channels, int(image_size)
        for _ in range(max_stages):
            if size <= 4:
                break
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            channels, width, size = width, min(2 * width, 128), size // 2
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                   nn.Flatten(), nn.Linear(width * size * size, num_classes)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


# --------------------------------------------------------------------------------------------- helpers


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def state_sha256(state: Mapping[str, torch.Tensor], extra: Any = None) -> str:
    """sha256 of a state_dict's names, shapes and bytes (and of ``extra``, JSON-encoded)."""
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _load_checkpoint_file(path: Path, model_name: str) -> Any:
    if not path.is_file():
        raise DataNotFoundError(
            f"checkpoint for model {model_name!r} not found: {path}. Pass checkpoint=<path to the file> "
            "(model.checkpoint in config) or point data_dir at the folder that holds weights/"
        )
    # Checkpoints saved on CUDA must load on a CPU-only machine.
    return torch.load(path, map_location="cpu", weights_only=False)


def _extract_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping):
        raise ConfigError("checkpoint", type(obj).__name__, "must hold a state_dict (a mapping of tensors)")
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    # DataParallel checkpoints prefix every key with "module.".
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _load_into(net: nn.Module, state: Mapping[str, torch.Tensor], model_name: str, path: Path) -> None:
    expected = net.state_dict()
    # Checkpoints older than PyTorch 0.4.1 lack BatchNorm's step counter, which inference never reads.
    state = {**{k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}, **state}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong_shape:
        details = []
        if missing:
            details.append(f"missing keys {missing[:5]}")
        if unexpected:
            details.append(f"unexpected keys {unexpected[:5]}")
        if wrong_shape:
            k = wrong_shape[0]
            details.append(f"shape mismatch for {k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}")
        raise ConfigError(
            f"checkpoint {path}", f"{len(state)} tensors", f"must match the state_dict of model {model_name!r} ({'; '.join(details)})"
        )
    net.load_state_dict(state, strict=True)


@dataclass(frozen=True)
class _DataGeometry:
    channels: int
    image_size: int
    num_classes: int
    classes: list[str]


def _geometry(dataset: str, data_dir: Path, dataset_options: Mapping[str, Any]) -> _DataGeometry:
    source = open_split(dataset, held_out_split(dataset, data_dir, **dataset_options), data_dir, **dataset_options)
    first = source.load([0])
    c, h, w = first.shape
    if h != w:
        raise ConfigError(f"{dataset} image size", (h, w), "must be square for the built-in models")
    return _DataGeometry(c, h, len(source.classes), list(source.classes))


def _finish(net: Classifier, name: str, fingerprint: str, device: str | torch.device, classes: list[str] | None) -> LoadedModel:
    net = net.to(device).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return LoadedModel(net, name, fingerprint, classes)


# --------------------------------------------------------------------------------------------- factories


def _build_lenet5(ctx: "_Context") -> LoadedModel:
    path = ctx.checkpoint_path("weights/mnist_lenet5_clntrained.pt")
    geo = ctx.geometry()
    net = LeNet5(geo.channels, geo.num_classes, geo.image_size)
    _load_into(net, _extract_state_dict(_load_checkpoint_file(path, ctx.name)), ctx.name, path)
    return _finish(Classifier(net), ctx.name, file_sha256(path), ctx.device, geo.classes)


def _cifar_resnet(depth: int, default_file: str) -> Callable[["_Context"], LoadedModel]:
    def build(ctx: "_Context") -> LoadedModel:
        path = ctx.checkpoint_path(default_file)
        geo = ctx.geometry()
        net = CifarResNet(depth, geo.num_classes, geo.channels)
        _load_into(net, _extract_state_dict(_load_checkpoint_file(path, ctx.name)), ctx.name, path)
        return _finish(Classifier(net, Normalize(IMAGENET_MEAN, IMAGENET_STD)), ctx.name, file_sha256(path), ctx.device,
                       geo.classes)

    return build


def _build_resnet50(ctx: "_Context") -> LoadedModel:
    from torchvision.models import ResNet50_Weights, resnet50

    geo = ctx.geometry()
    net = resnet50(weights=None)
    if ctx.checkpoint is not None:
        path = ctx.checkpoint_path("")
        state = _extract_state_dict(_load_checkpoint_file(path, ctx.name))
        fingerprint = file_sha256(path)
    else:
        weights = ResNet50_Weights.IMAGENET1K_V1
        hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
        try:
            with download_timeout():
                state = weights.get_state_dict(progress=ctx.progress, check_hash=True)
        except Exception as exc:
            raise DataNotFoundError(
                f"model 'resnet50': could not download torchvision's ImageNet weights ({weights.url}) into "
                f"{hub_dir}: {type(exc).__name__}: {str(exc)[:200]}. Offline, download the file elsewhere and pass "
                "checkpoint=<path> (model.checkpoint in config)"
            ) from exc
        path = hub_dir / Path(weights.url).name
        fingerprint = file_sha256(path) if path.is_file() else state_sha256(state, weights.url)
    head: nn.Module | None = None
    fc = state.get("fc.weight")
    if fc is not None and fc.shape[0] == geo.num_classes and geo.num_classes != 1000:
        net.fc = nn.Linear(net.fc.in_features, geo.num_classes)  # a checkpoint fine-tuned on the dataset
    elif ctx.dataset == "imagenette":
        head = SelectLogits(imagenette_indices(geo.classes))
    elif geo.num_classes != 1000:
        raise ConfigError(
            "model", "resnet50", f"has ImageNet's 1,000 classes; dataset {ctx.dataset!r} has {geo.num_classes} "
            "(use imagenette, or a checkpoint fine-tuned on the dataset)"
        )
    _load_into(net, state, ctx.name, Path(ctx.checkpoint or "torchvision ImageNet weights"))
    return _finish(Classifier(net, Normalize(IMAGENET_MEAN, IMAGENET_STD), head), ctx.name, fingerprint, ctx.device,
                   geo.classes)


def imagenette_indices(classes: Sequence[str]) -> list[int]:
    """ImageNet-1k indices of ImageNette's class folders (wnids), in the dataset's label order."""
    unknown = [c for c in classes if c not in IMAGENETTE_TO_IMAGENET]
    if unknown:
        raise ConfigError("imagenette classes", unknown, f"must be ImageNette wnids ({sorted(IMAGENETTE_TO_IMAGENET)})")
    return [IMAGENETTE_TO_IMAGENET[c] for c in classes]


def _build_small_cnn(ctx: "_Context") -> LoadedModel:
    geo = ctx.geometry()
    arch = {"arch": "small_cnn", "version": SMALL_CNN_VERSION, "in_channels": geo.channels,
            "image_size": geo.image_size, "num_classes": geo.num_classes}
    if ctx.checkpoint is not None:
        path = ctx.checkpoint_path("")
        obj = _load_checkpoint_file(path, ctx.name)
        net = _small_cnn_module(geo)
        _load_into(net, _extract_state_dict(obj), ctx.name, path)
        return _finish(net, ctx.name, file_sha256(path), ctx.device, geo.classes)
    net, fingerprint = _small_cnn_cached(ctx, geo, arch)
    return _finish(net, ctx.name, fingerprint, ctx.device, geo.classes)


def _small_cnn_module(geo: _DataGeometry) -> Classifier:
    # Mean/std are buffers filled from the training images, so they travel inside the checkpoint.
    return Classifier(SmallCNN(geo.channels, geo.image_size, geo.num_classes),
                      Normalize([0.0] * geo.channels, [1.0] * geo.channels))


def _check_train_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    cfg = dict(cfg)
    for key in ("epochs", "batch_size"):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"train.{key}", v, "must be a positive integer")
    for key, low_ok in (("lr", False), ("weight_decay", True)):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0 or (v == 0 and not low_ok):
            raise ConfigError(f"train.{key}", v, "must be a finite number " + (">= 0" if low_ok else "> 0"))
    m = cfg["max_train_images"]
    if m is not None and (isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1):
        raise ConfigError("train.max_train_images", m, "must be a positive integer or null")
    return {"epochs": int(cfg["epochs"]), "lr": float(cfg["lr"]), "batch_size": int(cfg["batch_size"]),
            "weight_decay": float(cfg["weight_decay"]), "max_train_images": None if m is None else int(m)}


def train_small_cnn(module: Classifier, images: torch.Tensor, labels: torch.Tensor, train: Mapping[str, Any],
                    seed: int = 0, progress: bool = True) -> Classifier:
    """Fit ``module`` (a small-CNN :class:`Classifier`) with Adam and cross-entropy, seeded.

    The Normalize buffers are set to the training images' per-channel mean and std first.
    Returns the module in eval mode. Reproducible on one machine for a fixed ``seed``.
    """
    from tqdm.auto import tqdm

    cfg = _check_train_config({**DEFAULT_TRAIN, **dict(train)})
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ConfigError("training images", tuple(images.shape), f"must be non-empty and match {tuple(labels.shape)} labels")
    with torch.no_grad():
        module.normalize.mean.copy_(images.mean(dim=(0, 2, 3)).view_as(module.normalize.mean))
        module.normalize.std.copy_(images.std(dim=(0, 2, 3)).clamp_min(1e-3).view_as(module.normalize.std))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(module.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n = images.shape[0]
    module.train()
    bar = tqdm(range(cfg["epochs"]), desc="train small_cnn", disable=not progress, leave=False)
    for _ in bar:
        order = torch.randperm(n, generator=generator)
        total, seen = 0.0, 0
        for start in range(0, n, cfg["batch_size"]):
            idx = order[start : start + cfg["batch_size"]]
            if idx.numel() < 2:  # BatchNorm cannot train on a batch of one
                continue
            loss = F.cross_entropy(module(images[idx]), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, seen = total + float(loss.detach()) * idx.numel(), seen + idx.numel()
        bar.set_postfix(loss=f"{total / max(seen, 1):.4f}")
    return module.eval()


def _small_cnn_cached(ctx: _Context, geo: _DataGeometry, arch: dict) -> tuple[Classifier, str]:
    """Train the small CNN once per (training data, architecture, training config, seed); reuse the cached weights."""
    cfg = _check_train_config(ctx.train)
    split = "train"
    source = open_split(ctx.dataset, split, ctx.data_dir, **ctx.dataset_options)
    key_spec = {"dataset": ctx.dataset, "split": split, "data": source.fingerprint, "arch": arch, "train": cfg,
                "seed": ctx.seed}
    key = hashlib.sha256(json.dumps(key_spec, sort_keys=True, default=str).encode()).hexdigest()[:24]
    path = ctx.cache_dir / "models" / f"{key}.pt"
    module = _small_cnn_module(geo)
    if path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("fingerprint") == state_sha256(saved["state_dict"], key_spec):
                module.load_state_dict(saved["state_dict"])
                return module, saved["fingerprint"]
        except Exception:  # a truncated or foreign file is retrained and overwritten below
            pass
    indices = None
    if cfg["max_train_images"] is not None and cfg["max_train_images"] < len(source):
        indices = np.sort(np.random.default_rng(ctx.seed).permutation(len(source))[: cfg["max_train_images"]])
    data = source.load(indices)
    # Seed the initialisation without disturbing the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        module = _small_cnn_module(geo)
    train_small_cnn(module, data.images, data.labels, cfg, seed=ctx.seed, progress=ctx.progress)
    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    fingerprint = state_sha256(state, key_spec)
    atomic_torch_save({"state_dict": state, "fingerprint": fingerprint, "spec": key_spec}, path)
    return module, fingerprint


MODELS: dict[str, Callable[["_Context"], LoadedModel]] = {
    "small_cnn": _build_small_cnn,
    "lenet5": _build_lenet5,
    "cifar_resnet20": _cifar_resnet(20, "weights/cifar10_resnet20-12fca82f.th"),
    "cifar_resnet56": _cifar_resnet(56, "weights/cifar10_resnet56-4bfd9763.th"),
    "resnet50": _build_resnet50,
}


@dataclass
class _Context:
    """Everything a model factory may need, resolved once."""

    name: str
    dataset: str
    data_dir: Path
    checkpoint: str | None
    cache_dir: Path
    device: str | torch.device
    seed: int
    train: dict
    progress: bool
    dataset_options: dict
    _geometry: _DataGeometry | None = None

    def checkpoint_path(self, default_relative: str) -> Path:
        if self.checkpoint is not None:
            return Path(self.checkpoint).expanduser()
        return self.data_dir / default_relative

    def geometry(self) -> _DataGeometry:
        if self._geometry is None:
            self._geometry = _geometry(self.dataset, self.data_dir, self.dataset_options)
        return self._geometry


def load_model(
    name: str,
    *,
    dataset: str,
    data_dir: str | Path | None = None,
    checkpoint: str | Path | None = None,
    cache_dir: str | Path = "cache",
    device: str | torch.device = "cpu",
    seed: int = 0,
    train: Mapping[str, Any] | None = None,
    progress: bool = True,
    dataset_options: Mapping[str, Any] | None = None,
) -> LoadedModel:
    """Load (or train, for ``small_cnn`` without checkpoint) the image classifier T.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    dataset : str
        The dataset T classifies (sizes the network, picks the training split).
    data_dir : str or Path or None
        See :func:`distortion_reliability.data.resolve_data_dir`; default checkpoints live in
        ``<data_dir>/weights``.
    checkpoint : str or Path or None
        Any checkpoint file for this architecture (a state_dict, or a dict holding ``state_dict``).
    cache_dir : str or Path
        Trained small CNNs are cached under ``cache_dir/models``.
    device : str or torch.device
        Where the module lives.
    seed : int
        Seeds the small CNN's initialisation and data order.
    train : mapping or None
        Small CNN training config: ``epochs``, ``lr``, ``batch_size``, ``weight_decay``,
        ``max_train_images``; missing or None keys take :data:`SMALL_CNN_TRAIN_DEFAULTS` of the
        dataset, then :data:`DEFAULT_TRAIN`.
    progress : bool
        Show tqdm progress bars (training, downloads).
    dataset_options : mapping or None
        Loader options of the dataset (e.g. ``root`` for ``image_folder``).

    Returns
    -------
    LoadedModel
    """
    if name not in MODELS:
        raise UnknownNameError("model", name, list(MODELS))
    get_dataset_info(dataset)  # unknown dataset -> UnknownNameError before any work
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError("seed", seed, "must be an integer")
    if train is not None and not isinstance(train, Mapping):
        raise ConfigError("train", train, "must be a mapping of training options or null")
    unknown = sorted(set(train or {}) - set(DEFAULT_TRAIN))
    if unknown:
        raise ConfigError("train option", unknown[0], f"is not a training option (valid: {sorted(DEFAULT_TRAIN)})")
    train_cfg = {**DEFAULT_TRAIN, **SMALL_CNN_TRAIN_DEFAULTS.get(dataset, {}),
                 **{k: v for k, v in dict(train or {}).items() if v is not None}}
    train_cfg = _check_train_config(train_cfg)  # bad values fail before any data is read
    ctx = _Context(
        name=name,
        dataset=dataset,
        data_dir=resolve_data_dir(data_dir),
        checkpoint=None if checkpoint in (None, "") else str(checkpoint),
        cache_dir=Path(cache_dir),
        device=device,
        seed=int(seed),
        train=train_cfg,
        progress=bool(progress),
        dataset_options=dict(dataset_options or {}),
    )
    return MODELS[name](ctx)


@torch.inference_mode()
def predict(model: LoadedModel | nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Predicted class of every image (int64, on CPU), in batches."""
    module = model.module if isinstance(model, LoadedModel) else model
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", batch_size, "must be a positive integer")
    device = next(module.parameters()).device
    out = [module(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, images.shape[0], batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def clean_accuracy(model: LoadedModel | nn.Module, images: torch.Tensor | ImageSet, labels: torch.Tensor | None = None,
                   batch_size: int = 1024) -> float:
    """Accuracy of ``model`` on undistorted images (``images`` may be an :class:`ImageSet`)."""
    if isinstance(images, ImageSet):
        images, labels = images.images, images.labels
    if labels is None or labels.shape[0] != images.shape[0]:
        raise ConfigError("labels", None if labels is None else tuple(labels.shape), f"must have {images.shape[0]} entries")
    if images.shape[0] == 0:
        raise ConfigError("images", tuple(images.shape), "must hold at least one image")
    return float((predict(model, images, batch_size) == labels.cpu()).double().mean())


def atomic_torch_save(obj: Any, path: Path) -> None:
    """Write with ``torch.save`` to a temp file in the same folder, then ``os.replace`` (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
