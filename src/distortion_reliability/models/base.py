"""The loaded classifier T and what every stage does with it (predict, clean accuracy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError


@dataclass
class LoadedModel:
    """An image classifier T ready for inference.

    Attributes
    ----------
    module : torch.nn.Module
        In eval mode, on the requested device; ``[B, C, H, W]`` in [0, 1] -> logits ``[B, K]``, one
        logit per class of the dataset, in the dataset's label order.
    name : str
        What was loaded (``lenet5``, ``cifar_resnet32``, ``torchvision:resnet18``, ``onnx:model.onnx``).
    fingerprint : str
        Hash of everything that decides the predictions: the weights (file sha256, or the trained
        weights and their training config) and the input adaptation, normalisation and class
        mapping. The oracle's cache is keyed by it.
    classes : list of str or None
        Class names of the logits, when known.
    spec : dict
        The JSON-able description the fingerprint was computed from (for logs).
    """

    module: nn.Module
    name: str
    fingerprint: str
    classes: list[str] | None = None
    spec: dict[str, Any] = field(default_factory=dict)


def module_device(module: nn.Module) -> torch.device:
    """Device of the first parameter or buffer (CPU for modules that hold none, e.g. an ONNX session)."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


@torch.inference_mode()
def predict(model: LoadedModel | nn.Module, images: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Predicted class of every image (int64, on CPU), in batches."""
    module = model.module if isinstance(model, LoadedModel) else model
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError("batch_size", batch_size, "must be a positive integer")
    device = module_device(module)
    out = [module(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, images.shape[0], batch_size)]
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def clean_accuracy(model: LoadedModel | nn.Module, images: Any, labels: torch.Tensor | None = None,
                   batch_size: int = 1024) -> float:
    """Accuracy of ``model`` on undistorted images (``images`` may be any object with ``.images`` and ``.labels``)."""
    if not isinstance(images, torch.Tensor) and hasattr(images, "images") and hasattr(images, "labels"):
        images, labels = images.images, images.labels
    if labels is None or labels.shape[0] != images.shape[0]:
        raise ConfigError("labels", None if labels is None else tuple(labels.shape), f"must have {images.shape[0]} entries")
    if images.shape[0] == 0:
        raise ConfigError("images", tuple(images.shape), "must hold at least one image")
    return float((predict(model, images, batch_size) == labels.cpu()).double().mean())
