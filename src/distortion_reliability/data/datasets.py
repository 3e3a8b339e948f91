"""The datasets that ``conf/dataset/*.yaml`` instantiate, one class each (facts come from the YAML).

Every class takes the facts of :class:`~.base.Dataset` (``data_dir``, ``h``, ``verification_size``,
``default_model``, ``smote_gp_v``, ``download``, ``split``) plus its format options, validates
them, and reads no file until a set is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ..errors import ConfigError
from .base import Dataset, SplitSource, check_size
from .formats import (
    IMAGENETTE_FOLDERS,
    image_folder_base,
    image_folder_split,
    open_cifar,
    open_digits,
    open_idx,
    open_image_folder,
    open_imagenette,
    open_tiny_imagenet,
)

MNIST_CLASSES = [str(c) for c in range(10)]
FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


class Digits(Dataset):
    """scikit-learn's bundled 8x8 digits (1,797 images), split stratified into train and test.

    Parameters
    ----------
    test_fraction : float
        Share of the images in the test split, strictly between 0 and 1.
    split_seed : int
        Seed of the stratified split.
    **facts
        See :class:`~.base.Dataset`.
    """

    name = "digits"

    def __init__(self, *, test_fraction: float = 0.5, split_seed: int = 0, **facts: Any):
        super().__init__(**facts)
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
                or not 0.0 < float(test_fraction) < 1.0:
            raise ConfigError("dataset.test_fraction", test_fraction, "must lie strictly between 0 and 1")
        if isinstance(split_seed, bool) or not isinstance(split_seed, int):
            raise ConfigError("dataset.split_seed", split_seed, "must be an integer")
        self.test_fraction = float(test_fraction)
        self.split_seed = int(split_seed)

    @property
    def options(self) -> dict[str, Any]:
        return {"test_fraction": self.test_fraction, "split_seed": self.split_seed}

    def _open(self, split: str) -> SplitSource:
        return open_digits(split, self.test_fraction, self.split_seed)


class IdxDataset(Dataset):
    """An MNIST-like dataset in torchvision's raw IDX layout ``<data_dir>/<folder>/raw/*-ubyte[.gz]``.

    Subclasses set ``name``, ``folder``, ``class_names`` and ``torchvision_class`` (used only to
    download with ``download=true``).
    """

    folder: ClassVar[str]
    class_names: ClassVar[list[str]]
    torchvision_class: ClassVar[str]

    def _open(self, split: str) -> SplitSource:
        return open_idx(self.name, split, self.data_dir, self.download, folder=self.folder,
                        classes=self.class_names, torchvision_class=self.torchvision_class)


class MNIST(IdxDataset):
    """MNIST: ``<data_dir>/MNIST/raw/*-ubyte[.gz]``."""

    name = "mnist"
    folder = "MNIST"
    class_names = MNIST_CLASSES
    torchvision_class = "MNIST"


class FashionMNIST(IdxDataset):
    """Fashion-MNIST: ``<data_dir>/FashionMNIST/raw/*-ubyte[.gz]``."""

    name = "fashion_mnist"
    folder = "FashionMNIST"
    class_names = FASHION_MNIST_CLASSES
    torchvision_class = "FashionMNIST"


class CifarDataset(Dataset):
    """CIFAR: torchvision's pickle folder ``<data_dir>/<pickle_folder>``, or ``<data_dir>/<name>/<split>/<class>/*.png``."""

    pickle_folder: ClassVar[str]
    num_classes_expected: ClassVar[int]
    torchvision_class: ClassVar[str]

    def _open(self, split: str) -> SplitSource:
        return open_cifar(self.name, split, self.data_dir, self.download, pickle_folder=self.pickle_folder,
                          num_classes=self.num_classes_expected, torchvision_class=self.torchvision_class)


class CIFAR10(CifarDataset):
    """CIFAR-10: ``cifar-10-batches-py/`` or ``cifar10/<split>/<class>/*.png``."""

    name = "cifar10"
    pickle_folder = "cifar-10-batches-py"
    num_classes_expected = 10
    torchvision_class = "CIFAR10"


class CIFAR100(CifarDataset):
    """CIFAR-100: ``cifar-100-python/`` or ``cifar100/<split>/<class>/*.png``."""

    name = "cifar100"
    pickle_folder = "cifar-100-python"
    num_classes_expected = 100
    torchvision_class = "CIFAR100"


class TinyImageNet(Dataset):
    """Tiny-ImageNet (64x64, 200 classes): ``<data_dir>/tiny-imagenet-200``; D comes from ``val``."""

    name = "tiny_imagenet"
    splits = ("train", "val")
    held_out = "val"

    def _open(self, split: str) -> SplitSource:
        return open_tiny_imagenet(split, self.data_dir, self.download)


class Imagenette(Dataset):
    """ImageNette (10 ImageNet classes): ``<data_dir>/imagenette2-320/{train,val}``; D comes from ``val``.

    Parameters
    ----------
    size : {"320px", "full", "160px"}
        Archive variant looked for first (and downloaded with ``download=true``).
    resize_size : int
        Shorter side after resizing, then ...
    image_size : int
        ... side of the center crop (ImageNet evaluation preprocessing: 256 then 224).
    """

    name = "imagenette"
    splits = ("train", "val")
    held_out = "val"

    def __init__(self, *, size: str = "320px", resize_size: int = 256, image_size: int = 224, **facts: Any):
        super().__init__(**facts)
        if size not in IMAGENETTE_FOLDERS:
            raise ConfigError("dataset.size", size, f"must be one of {list(IMAGENETTE_FOLDERS)}")
        self.size = str(size)
        self.resize_size = check_size("dataset.resize_size", resize_size, allow_none=False)
        self.crop_size = check_size("dataset.image_size", image_size, allow_none=False)

    @property
    def options(self) -> dict[str, Any]:
        return {"size": self.size, "resize_size": self.resize_size, "image_size": self.crop_size}

    def _open(self, split: str) -> SplitSource:
        return open_imagenette(split, self.data_dir, self.download, size=self.size, resize_size=self.resize_size,
                               image_size=self.crop_size)


class ImageFolder(Dataset):
    """A user's own images: ``<root>/<split>/<class>/<image>``, or ``<root>/<class>/<image>`` (split ``all``).

    D comes from ``test`` if ``<root>/test`` exists, else ``val``, else ``all``; the small CNN
    trains on ``train``, else ``all``.

    Parameters
    ----------
    root : str
        The image folder: absolute, or relative to the working directory or else to ``data_dir``.
    image_size : int or None
        Resize the shorter side and center-crop to this size (required when image sizes differ).
    mode : {"RGB", "L"}
        Colour (3 channels) or grayscale (1 channel).
    """

    name = "image_folder"
    splits = ("train", "val", "test", "all")

    def __init__(self, *, root: str | Path | None = None, image_size: int | None = None, mode: str = "RGB",
                 **facts: Any):
        super().__init__(**facts)
        if mode not in ("RGB", "L"):
            raise ConfigError("dataset.mode", mode, "must be 'RGB' or 'L'")
        self.root = None if root is None else str(root)
        self.crop_size = check_size("dataset.image_size", image_size)
        self.mode = mode

    @property
    def options(self) -> dict[str, Any]:
        return {"root": self.root, "image_size": self.crop_size, "mode": self.mode}

    @property
    def base(self) -> Path:
        """The resolved image folder (``root`` must be set)."""
        return image_folder_base(self.root, self.data_dir)

    def held_out_split(self) -> str:
        return self.split or image_folder_split(self.base, ("test", "val"))

    def training_split(self) -> str:
        return image_folder_split(self.base, ("train",))

    def _open(self, split: str) -> SplitSource:
        return open_image_folder(split, self.base, mode=self.mode, image_size=self.crop_size)


BUILTIN_DATASETS: tuple[type[Dataset], ...] = (
    Digits, MNIST, FashionMNIST, CIFAR10, CIFAR100, TinyImageNet, Imagenette, ImageFolder,
)
