"""Network definitions and the wrapper layers every loaded model is built from.

Every model takes images ``[B, C, H, W]`` in [0, 1] and returns logits; input adaptation and
normalisation live *inside* the module (layers in front of the network), because the distortions act
on raw intensities.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

# --------------------------------------------------------------------------------------------- wrappers


class Normalize(nn.Module):
    """``(x - mean) / std`` per channel, with mean and std stored as buffers (so they follow ``.to``)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(list(mean), dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.as_tensor(list(std), dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class AdaptInput(nn.Module):
    """Give the network the channels and resolution it was built for.

    1 -> k channels repeats the grey image; 3 -> 1 takes the ITU-R 601 luma; the resolution is
    changed with antialiased bilinear resampling. No parameters, no state.
    """

    def __init__(self, in_channels: int, out_channels: int, size: tuple[int, int] | None = None):
        super().__init__()
        if in_channels != out_channels and in_channels != 1 and not (in_channels == 3 and out_channels == 1):
            raise ConfigError("model.input_channels", out_channels,
                              f"cannot be made from {in_channels}-channel images (only 1 -> k and 3 -> 1)")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.size = None if size is None else (int(size[0]), int(size[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.in_channels != self.out_channels:
            if self.in_channels == 1:
                x = x.expand(-1, self.out_channels, -1, -1)
            else:
                weights = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
                x = (x * weights).sum(1, keepdim=True)
        if self.size is not None and tuple(x.shape[-2:]) != self.size:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return x

    def extra_repr(self) -> str:
        return f"{self.in_channels} -> {self.out_channels} channels, size={self.size}"


class SelectLogits(nn.Module):
    """Keep only some output logits, in the dataset's class order (e.g. 10 ImageNette classes of 1,000)."""

    def __init__(self, indices: Sequence[int]):
        super().__init__()
        self.register_buffer("indices", torch.as_tensor(list(indices), dtype=torch.long))

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return logits.index_select(1, self.indices)


class Classifier(nn.Module):
    """``adapt -> normalize -> net -> head``: the wrapper every loaded model uses (missing parts are identities)."""

    def __init__(self, net: nn.Module, normalize: nn.Module | None = None, head: nn.Module | None = None,
                 adapt: nn.Module | None = None):
        super().__init__()
        self.adapt = adapt if adapt is not None else nn.Identity()
        self.normalize = normalize if normalize is not None else nn.Identity()
        self.net = net
        self.head = head if head is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(self.normalize(self.adapt(x))))


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

CIFAR_RESNET_DEPTHS = (20, 32, 44, 56, 110)


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
    """The CIFAR ResNet of He et al. (2016), option A shortcuts, depth ``6n + 2`` (20, 32, 44, 56, 110).

    Parameter names match the akamaster/pytorch_resnet_cifar10 checkpoints (minus ``module.``).
    """

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6 != 0:
            raise ConfigError("model.depth", depth, f"must be 6n + 2 (published: {', '.join(map(str, CIFAR_RESNET_DEPTHS))})")
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
