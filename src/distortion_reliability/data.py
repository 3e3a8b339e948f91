"""Datasets: offline loading of the supported layouts, optional downloads, and the verification set D.

Images come back as float32 tensors ``[N, C, H, W]`` in [0, 1], *not* normalised: normalisation
belongs to the model, because distortions such as darkness act on raw intensities.

Where the files live is one setting, ``data_dir`` (explicit value, else the ``DR_DATA_DIR``
environment variable, else ``./data``). Present files load offline; absent ones are downloaded by
torchvision's own code only when ``download=True``; otherwise one :class:`DataNotFoundError` says
which dataset, where it looked and which layout it expected.

Every split is opened as a :class:`SplitSource` (labels and file list, cheap) and only the images
actually needed are decoded, so a 1,000-image verification set of ImageNette never decodes the
whole split.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from .errors import ConfigError, DataNotFoundError, UnknownNameError

DATA_DIR_ENV = "DR_DATA_DIR"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")
# Downloads must fail fast offline instead of hanging on a dead connection.
DOWNLOAD_SOCKET_TIMEOUT_S = 20.0
# Keys of a conf/dataset/*.yaml that describe the experiment, not the loader.
CONFIG_KEYS = ("name", "verification_size", "h", "default_model", "split", "download", "smote_gp_v")


# --------------------------------------------------------------------------------------------- types


@dataclass
class ImageSet:
    """Images with their labels.

    Attributes
    ----------
    images : torch.Tensor
        float32 ``[N, C, H, W]`` in [0, 1], not normalised.
    labels : torch.Tensor
        int64 ``[N]``, indices into ``classes``.
    classes : list of str
        Class names in label order.
    fingerprint : str
        Short stable hash of the exact pixel content, labels and classes (a cache key).
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    fingerprint: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]


@dataclass
class VerificationSet(ImageSet):
    """The verification set D: a seeded subset of a held-out split, in a stable seeded order.

    ``spec`` is JSON-able (name, split, size, seed, source fingerprint, options) and keys caches.
    """

    spec: dict = field(default_factory=dict)


@dataclass
class SplitSource:
    """One split, opened but not decoded: labels are known, images are decoded on demand.

    Attributes
    ----------
    dataset, split : str
        Where it comes from.
    labels : numpy.ndarray
        int64 labels of every item, in the split's canonical order.
    classes : list of str
        Class names in label order.
    fingerprint : str
        Hash of the split's identity (array content, or relative paths + sizes + labels of files).
    decode : callable
        ``decode(indices) -> uint8 array [n, H, W, C]``.
    location : str
        The folder or files it was read from (for messages).
    """

    dataset: str
    split: str
    labels: np.ndarray
    classes: list[str]
    fingerprint: str
    decode: Callable[[np.ndarray], np.ndarray]
    location: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def load(self, indices: Sequence[int] | np.ndarray | None = None) -> ImageSet:
        """Decode the items at ``indices`` (all, in order, when None) into an :class:`ImageSet`."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices, dtype=np.int64).reshape(-1)
        pixels = self.decode(idx) if idx.size else np.zeros((0, 1, 1, 1), np.uint8)
        labels = self.labels[idx].astype(np.int64)
        fingerprint = _hash_parts([pixels.shape, pixels.tobytes(), labels.tobytes(), self.classes])
        images = torch.from_numpy(np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))).float().div_(255.0)
        return ImageSet(images, torch.from_numpy(labels), list(self.classes), fingerprint)


@dataclass(frozen=True)
class DatasetInfo:
    """Registry entry: how to open a dataset, its splits, its held-out split and Table 2 size of D."""

    name: str
    opener: Callable[..., SplitSource]
    splits: tuple[str, ...]
    held_out_split: str
    verification_size: int | None  # None: the whole held-out split
    options: tuple[str, ...]
    layout: str


# --------------------------------------------------------------------------------------------- helpers


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data folder: ``data_dir`` if given, else ``$DR_DATA_DIR``, else ``./data``.

    Parameters
    ----------
    data_dir : str or Path or None
        Explicit folder; ``None`` or ``""`` falls back to the environment variable, then ``./data``.

    Returns
    -------
    Path
        The folder, with ``~`` expanded (it need not exist).
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or "data"
    return Path(data_dir).expanduser()


def _hash_parts(parts: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, (bytes, bytearray, memoryview)):
            digest.update(bytes(part))
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def _not_found(name: str, looked: Sequence[Path], layout: str, download_hint: bool = True) -> DataNotFoundError:
    where = ", ".join(str(p) for p in looked)
    hint = (
        f"Put the files there, or point data_dir (or the {DATA_DIR_ENV} environment variable) at the "
        "folder that holds them"
    )
    if download_hint:
        hint += ", or pass download=True on a machine with internet access"
    return DataNotFoundError(f"dataset {name!r} not found: looked at {where}; expected layout: {layout}. {hint}.")


@contextlib.contextmanager
def download_timeout(seconds: float = DOWNLOAD_SOCKET_TIMEOUT_S) -> Iterator[None]:
    """Temporarily give sockets a timeout, so a download without network fails instead of hanging."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextlib.contextmanager
def _download_guard(name: str, looked: Sequence[Path], layout: str) -> Iterator[None]:
    """Run torchvision's download code with a socket timeout; any failure becomes one clear error."""
    try:
        with download_timeout():
            yield
    except DataNotFoundError:
        raise
    except Exception as exc:  # URLError, RuntimeError("Error downloading ..."), OSError, ...
        err = _not_found(name, looked, layout, download_hint=False)
        raise DataNotFoundError(f"{err} Download failed: {type(exc).__name__}: {str(exc)[:300]}") from exc


def _check_split(name: str, split: str, valid: Sequence[str]) -> str:
    if split not in valid:
        raise ConfigError(f"{name}.split", split, f"must be one of {list(valid)}")
    return split


# --------------------------------------------------------------------------------------------- decoding


def _decode_file(path: Path, mode: str, resize: int | None, crop: int | None) -> np.ndarray:
    from PIL import Image
    from torchvision.transforms import functional as TF

    with Image.open(path) as img:
        img = img.convert(mode)
        if resize is not None:
            img = TF.resize(img, resize, interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
        if crop is not None:
            img = TF.center_crop(img, [crop, crop])
        arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _file_decoder(
    files: Sequence[Path], mode: str, resize: int | None, crop: int | None, root: Path
) -> Callable[[np.ndarray], np.ndarray]:
    def decode(indices: np.ndarray) -> np.ndarray:
        arrays = [_decode_file(files[i], mode, resize, crop) for i in indices]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ConfigError(
                "image_size",
                None,
                f"must be set: images under {root} have different sizes {sorted(shapes)[:3]}",
            )
        return np.stack(arrays)

    return decode


def _array_decoder(pixels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda indices: pixels[indices]


def _listing_fingerprint(root: Path, files: Sequence[Path], labels: np.ndarray, extra: Any) -> str:
    # File sizes + relative paths identify a folder cheaply and survive copies (mtimes would not).
    listing = [(str(f.relative_to(root)), f.stat().st_size) for f in files]
    return _hash_parts([listing, labels.tobytes(), extra])


def _scan_class_folders(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """ImageFolder layout: ``root/<class>/<image>``, classes in sorted folder order."""
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[Path] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        for f in sorted((root / cls).rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS:
                files.append(f)
                labels.append(label)
    return files, np.asarray(labels, dtype=np.int64), classes


def _folder_source(
    name: str, split: str, root: Path, *, mode: str, resize: int | None, crop: int | None, layout: str
) -> SplitSource:
    files, labels, classes = _scan_class_folders(root)
    if not files:
        raise _not_found(name, [root], layout)
    fingerprint = _listing_fingerprint(root, files, labels, [classes, mode, resize, crop])
    return SplitSource(name, split, labels, classes, fingerprint, _file_decoder(files, mode, resize, crop, root), str(root))


def _check_size(field_name: str, value: Any, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(field_name, value, "must be a positive integer" + (" or null" if allow_none else ""))
    return int(value)


# --------------------------------------------------------------------------------------------- digits


def _open_digits(split: str, data_dir: Path, download: bool, *, test_fraction: float = 0.5, split_seed: int = 0) -> SplitSource:
    """scikit-learn's bundled 8x8 digits (1,797 images), split stratified and seeded: no files, no download."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    _check_split("digits", split, ("train", "test"))
    if not isinstance(test_fraction, (int, float)) or not 0.0 < float(test_fraction) < 1.0:
        raise ConfigError("digits.test_fraction", test_fraction, "must lie strictly between 0 and 1")
    bunch = load_digits()
    pixels = np.clip(np.rint(bunch.images / 16.0 * 255.0), 0, 255).astype(np.uint8)[..., None]
    targets = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(targets)), test_size=float(test_fraction), random_state=int(split_seed), stratify=targets
    )
    idx = np.sort(train_idx if split == "train" else test_idx)
    pixels, labels = pixels[idx], targets[idx]
    classes = [str(c) for c in range(10)]
    fingerprint = _hash_parts(["digits", split, float(test_fraction), int(split_seed), pixels.tobytes(), labels.tobytes()])
    return SplitSource("digits", split, labels, classes, fingerprint, _array_decoder(pixels), "sklearn.datasets.load_digits")


# --------------------------------------------------------------------------------------------- MNIST-like


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_CLASSES = [str(c) for c in range(10)]
_FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzip-compressed or not, as a uint8 array.

    Parameters
    ----------
    path : Path
        ``*-ubyte`` or ``*-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        uint8 array whose shape is the one stored in the header.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ConfigError("idx file", str(path), "must be an unsigned-byte IDX file (magic 0x00000803/0x00000801)")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise ConfigError("idx file", str(path), f"must hold {expected} bytes of data for shape {dims}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _find_idx(raw: Path, stem: str) -> Path | None:
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _mnist_like(name: str, folder: str, classes: list[str], tv_class: str) -> Callable[..., SplitSource]:
    def opener(split: str, data_dir: Path, download: bool) -> SplitSource:
        _check_split(name, split, ("train", "test"))
        raw = data_dir / folder / "raw"
        layout = (
            f"torchvision's raw IDX layout: {folder}/raw/{_IDX_FILES[split][0]}[.gz] and "
            f"{folder}/raw/{_IDX_FILES[split][1]}[.gz]"
        )
        paths = [_find_idx(raw, stem) for stem in _IDX_FILES[split]]
        if any(p is None for p in paths):
            if not download:
                raise _not_found(name, [raw], layout)
            import torchvision.datasets as tvd

            with _download_guard(name, [raw], layout):
                getattr(tvd, tv_class)(root=str(data_dir), train=(split == "train"), download=True)
            paths = [_find_idx(raw, stem) for stem in _IDX_FILES[split]]
            if any(p is None for p in paths):
                raise _not_found(name, [raw], layout, download_hint=False)
        images, labels = read_idx(paths[0]), read_idx(paths[1]).astype(np.int64)
        if images.ndim != 3 or labels.shape != (images.shape[0],):
            raise ConfigError(f"{name} files", [str(p) for p in paths], "must hold [N, H, W] images and N labels")
        fingerprint = _hash_parts([name, split, images.tobytes(), labels.tobytes()])
        return SplitSource(name, split, labels, list(classes), fingerprint, _array_decoder(images[..., None]), str(raw))

    return opener


# --------------------------------------------------------------------------------------------- CIFAR


def _cifar(name: str, pickle_folder: str, num_classes: int, tv_class: str) -> Callable[..., SplitSource]:
    def opener(split: str, data_dir: Path, download: bool) -> SplitSource:
        _check_split(name, split, ("train", "test"))
        import torchvision.datasets as tvd

        pickle_dir = data_dir / pickle_folder
        folder_dir = data_dir / name / split
        layout = (
            f"torchvision's python-pickle layout {pickle_folder}/ (as downloaded by torchvision), or an "
            f"ImageFolder layout {name}/{split}/<class>/*.png with {num_classes} class folders in label order"
        )
        tv_cls = getattr(tvd, tv_class)

        def from_pickles(download_now: bool) -> SplitSource:
            ds = tv_cls(root=str(data_dir), train=(split == "train"), download=download_now)
            pixels = np.asarray(ds.data, dtype=np.uint8)
            labels = np.asarray(ds.targets, dtype=np.int64)
            fingerprint = _hash_parts([name, split, pixels.tobytes(), labels.tobytes()])
            return SplitSource(name, split, labels, list(ds.classes), fingerprint, _array_decoder(pixels), str(pickle_dir))

        # The canonical pickles win when both layouts are present.
        if pickle_dir.is_dir():
            try:
                return from_pickles(False)
            except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted"
                if not folder_dir.is_dir():
                    raise _not_found(name, [pickle_dir, folder_dir], layout) from exc
        if not folder_dir.is_dir():
            if not download:
                raise _not_found(name, [pickle_dir, folder_dir], layout)
            with _download_guard(name, [pickle_dir, folder_dir], layout):
                return from_pickles(True)
        source = _folder_source(name, split, folder_dir, mode="RGB", resize=None, crop=None, layout=layout)
        if len(source.classes) != num_classes:
            raise ConfigError(f"{name} class folders in {folder_dir}", len(source.classes), f"must number {num_classes}")
        return source

    return opener


# --------------------------------------------------------------------------------------------- Tiny-ImageNet

TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"


def _open_tiny_imagenet(split: str, data_dir: Path, download: bool) -> SplitSource:
    """Standard ``tiny-imagenet-200`` layout; ``val`` labels come from ``val/val_annotations.txt``."""
    _check_split("tiny_imagenet", split, ("train", "val"))
    root = data_dir / "tiny-imagenet-200"
    layout = (
        "tiny-imagenet-200/wnids.txt, tiny-imagenet-200/train/<wnid>/images/*.JPEG and "
        "tiny-imagenet-200/val/images/*.JPEG with tiny-imagenet-200/val/val_annotations.txt"
    )
    if not (root / "wnids.txt").is_file():
        if not download:
            raise _not_found("tiny_imagenet", [root], layout)
        from torchvision.datasets.utils import download_and_extract_archive

        with _download_guard("tiny_imagenet", [root], layout):
            download_and_extract_archive(TINY_IMAGENET_URL, download_root=str(data_dir))
    wnids = sorted(line.strip() for line in (root / "wnids.txt").read_text().splitlines() if line.strip())
    index = {w: i for i, w in enumerate(wnids)}
    files: list[Path] = []
    labels: list[int] = []
    if split == "train":
        for wnid in wnids:
            for f in sorted((root / "train" / wnid / "images").glob("*")):
                if f.suffix.lower() in IMAGE_EXTENSIONS:
                    files.append(f)
                    labels.append(index[wnid])
    else:
        annotations = root / "val" / "val_annotations.txt"
        if not annotations.is_file():
            raise _not_found("tiny_imagenet", [annotations], layout)
        for line in sorted(annotations.read_text().splitlines()):
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            if parts[1] not in index:
                raise ConfigError("tiny_imagenet val annotation wnid", parts[1], "must be listed in wnids.txt")
            files.append(root / "val" / "images" / parts[0])
            labels.append(index[parts[1]])
    if not files:
        raise _not_found("tiny_imagenet", [root / split], layout)
    label_arr = np.asarray(labels, dtype=np.int64)
    fingerprint = _listing_fingerprint(root, files, label_arr, ["tiny_imagenet", split, wnids])
    return SplitSource("tiny_imagenet", split, label_arr, wnids, fingerprint, _file_decoder(files, "RGB", None, None, root), str(root))


# --------------------------------------------------------------------------------------------- ImageNette

IMAGENETTE_FOLDERS = {"320px": "imagenette2-320", "full": "imagenette2", "160px": "imagenette2-160"}


def _open_imagenette(
    split: str, data_dir: Path, download: bool, *, size: str = "320px", image_size: int = 224, resize_size: int = 256
) -> SplitSource:
    """fastai's ImageNette (``imagenette2-320`` or ``imagenette2``), resized (shorter side) and center-cropped."""
    _check_split("imagenette", split, ("train", "val"))
    if size not in IMAGENETTE_FOLDERS:
        raise ConfigError("imagenette.size", size, f"must be one of {list(IMAGENETTE_FOLDERS)}")
    image_size = _check_size("imagenette.image_size", image_size, allow_none=False)
    resize_size = _check_size("imagenette.resize_size", resize_size, allow_none=False)
    # The requested variant first, then any other one already on disk.
    folders = [IMAGENETTE_FOLDERS[size]] + [f for f in IMAGENETTE_FOLDERS.values() if f != IMAGENETTE_FOLDERS[size]]
    candidates = [data_dir / f / split for f in folders]
    layout = "fastai's imagenette2-320/{train,val}/<wnid>/*.JPEG (or imagenette2/, imagenette2-160/)"
    root = next((c for c in candidates if c.is_dir()), None)
    if root is None:
        if not download:
            raise _not_found("imagenette", candidates, layout)
        import torchvision.datasets as tvd

        with _download_guard("imagenette", candidates, layout):
            tvd.Imagenette(root=str(data_dir), split=split, size=size, download=True)
        root = candidates[0]
    return _folder_source("imagenette", split, root, mode="RGB", resize=resize_size, crop=image_size, layout=layout)


# --------------------------------------------------------------------------------------------- ImageFolder


def _open_image_folder(
    split: str, data_dir: Path, download: bool, *, root: str | Path | None = None, image_size: int | None = None, mode: str = "RGB"
) -> SplitSource:
    """A user's own ImageFolder tree: ``root/<split>/<class>/*`` or, for ``split='all'``, ``root/<class>/*``.

    ``root`` may be relative to ``data_dir``. ``image_size`` resizes the shorter side and center-crops
    (required when images differ in size); ``mode`` is PIL's ``"RGB"`` or ``"L"`` (grayscale).
    """
    if root is None or str(root) == "":
        raise ConfigError("image_folder.root", root, "must name the folder that holds the images")
    if mode not in ("RGB", "L"):
        raise ConfigError("image_folder.mode", mode, "must be 'RGB' or 'L'")
    image_size = _check_size("image_folder.image_size", image_size)
    base = Path(root).expanduser()
    if not base.is_absolute() and not base.exists():
        base = data_dir / base
    folder = base if split == "all" else base / split
    layout = f"ImageFolder: {base}/<split>/<class>/<image> (or {base}/<class>/<image> with split='all')"
    if not folder.is_dir():
        raise _not_found("image_folder", [folder], layout, download_hint=False)
    return _folder_source("image_folder", split, folder, mode=mode, resize=image_size, crop=image_size, layout=layout)


def held_out_split(name: str, data_dir: str | Path | None = None, **options: Any) -> str:
    """The split D is drawn from: ``test`` (``val`` for Tiny-ImageNet and ImageNette).

    For ``image_folder`` it is ``test`` if ``<root>/test`` exists, else ``val``, else ``all``.
    """
    info = get_dataset_info(name)
    if name != "image_folder" or options.get("root") is None:
        return info.held_out_split
    base = Path(options["root"]).expanduser()
    base = base if base.is_absolute() or base.exists() else resolve_data_dir(data_dir) / base
    return next((split for split in ("test", "val") if (base / split).is_dir()), "all")


# --------------------------------------------------------------------------------------------- registry

DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("digits", _open_digits, ("train", "test"), "test", None, ("test_fraction", "split_seed"),
                    "embedded (scikit-learn)"),
        DatasetInfo("mnist", _mnist_like("mnist", "MNIST", _MNIST_CLASSES, "MNIST"), ("train", "test"), "test", 6000,
                    (), "MNIST/raw/*-ubyte[.gz]"),
        DatasetInfo("fashion_mnist", _mnist_like("fashion_mnist", "FashionMNIST", _FASHION_CLASSES, "FashionMNIST"),
                    ("train", "test"), "test", 6000, (), "FashionMNIST/raw/*-ubyte[.gz]"),
        DatasetInfo("cifar10", _cifar("cifar10", "cifar-10-batches-py", 10, "CIFAR10"), ("train", "test"), "test", 5000,
                    (), "cifar-10-batches-py/ or cifar10/<split>/<class>/*.png"),
        DatasetInfo("cifar100", _cifar("cifar100", "cifar-100-python", 100, "CIFAR100"), ("train", "test"), "test",
                    5000, (), "cifar-100-python/ or cifar100/<split>/<class>/*.png"),
        DatasetInfo("tiny_imagenet", _open_tiny_imagenet, ("train", "val"), "val", 10000, (), "tiny-imagenet-200/"),
        DatasetInfo("imagenette", _open_imagenette, ("train", "val"), "val", 1000, ("size", "image_size", "resize_size"),
                    "imagenette2-320/{train,val}/<wnid>/"),
        DatasetInfo("image_folder", _open_image_folder, ("train", "val", "test", "all"), "test", None,
                    ("root", "image_size", "mode"), "<root>/<split>/<class>/<image>"),
    )
}


def get_dataset_info(name: str) -> DatasetInfo:
    """Registry entry of ``name``; unknown names raise :class:`UnknownNameError` listing the valid ones."""
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, list(DATASETS))
    return DATASETS[name]


def open_split(
    name: str, split: str, data_dir: str | Path | None = None, download: bool = False, **options: Any
) -> SplitSource:
    """Open one split without decoding its images (labels, classes, fingerprint, decoder).

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    split : str
        One of the dataset's splits (``train``/``test``, or ``train``/``val``).
    data_dir : str or Path or None
        See :func:`resolve_data_dir`.
    download : bool
        Use torchvision's download code when the files are absent.
    **options
        Dataset-specific loader options (e.g. ``root``, ``image_size`` for ``image_folder``).
    """
    info = get_dataset_info(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ConfigError(f"{name} option", unknown[0], f"is not an option of {name} (valid: {list(info.options)})")
    return info.opener(split, resolve_data_dir(data_dir), bool(download), **options)


def load_split(name: str, split: str, data_dir: str | Path | None = None, download: bool = False, **options: Any) -> ImageSet:
    """Load a whole split as an :class:`ImageSet` (float32 ``[N, C, H, W]`` in [0, 1], int64 labels).

    Files present load offline; absent ones are downloaded only with ``download=True``; otherwise a
    :class:`DataNotFoundError` names the dataset, the path(s) looked at and the expected layout.
    """
    return open_split(name, split, data_dir, download, **options).load()


def default_verification_size(name: str) -> int | None:
    """The paper's Table 2 size of D (None: the whole held-out split)."""
    return get_dataset_info(name).verification_size


def verification_set(
    name: str,
    data_dir: str | Path | None = None,
    size: int | None = None,
    seed: int = 0,
    split: str | None = None,
    download: bool = False,
    **options: Any,
) -> VerificationSet:
    """The verification set D: ``size`` items of the held-out split, drawn and ordered by ``seed``.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    data_dir : str or Path or None
        See :func:`resolve_data_dir`.
    size : int or None
        Number of images; None takes the paper's Table 2 default (capped at the split size for
        datasets without a Table 2 entry). Larger than the split raises :class:`ConfigError`.
    seed : int
        Seeds the subset and its order (a random permutation, so that classes are mixed early:
        the oracle evaluates images in this order and may stop early).
    split : str or None
        Held-out split by default (``test``, or ``val`` for Tiny-ImageNet and ImageNette).
    download : bool
        See :func:`load_split`.
    **options
        Loader options.

    Returns
    -------
    VerificationSet
        With ``spec`` = {name, split, size, seed, source_fingerprint, options}.
    """
    info = get_dataset_info(name)
    resolved_dir = resolve_data_dir(data_dir)
    if split is None:
        split = held_out_split(name, resolved_dir, **options)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError("seed", seed, "must be an integer")
    size = _check_size("verification_size", size)
    source = open_split(name, split, resolved_dir, download, **options)
    available = len(source)
    if size is None:
        size = available if info.verification_size is None else info.verification_size
    if size > available:
        raise ConfigError("verification_size", size, f"must be <= {available}, the size of {name}/{split}")
    order = np.random.default_rng(int(seed)).permutation(available)[:size]
    subset = source.load(order)
    spec = {
        "name": name,
        "split": split,
        "size": int(size),
        "seed": int(seed),
        "source_fingerprint": source.fingerprint,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(options.items())},
    }
    return VerificationSet(subset.images, subset.labels, subset.classes, subset.fingerprint, spec)


def loader_options(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The loader options of a ``conf/dataset/*.yaml`` mapping (everything but :data:`CONFIG_KEYS`)."""
    return {k: v for k, v in dict(cfg).items() if k not in CONFIG_KEYS}


def verification_set_from_config(
    cfg: Mapping[str, Any], data_dir: str | Path | None = None, seed: int = 0, download: bool = False
) -> VerificationSet:
    """Build D from a ``conf/dataset/*.yaml`` mapping (``name``, ``verification_size``, ``split``,
    ``download``, loader options; ``h`` and ``default_model`` are ignored here)."""
    cfg = dict(cfg)
    if "name" not in cfg:
        raise ConfigError("dataset.name", None, "must be set")
    return verification_set(
        cfg["name"], data_dir, size=cfg.get("verification_size"), seed=seed, split=cfg.get("split"),
        download=bool(cfg.get("download", download)), **loader_options(cfg),
    )
