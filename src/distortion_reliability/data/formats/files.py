"""Image files on disk: decoding (resize + center crop), ImageFolder scans and listing fingerprints.

Shared by the folder-based formats (CIFAR's ImageFolder variant, Tiny-ImageNet, ImageNette and a
user's own image folder).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ...errors import ConfigError
from ..base import SplitSource, hash_parts
from ..locate import DataFormatError, not_found

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm", ".pgm")


def decode_file(path: Path, mode: str, resize: int | None, crop: int | None) -> np.ndarray:
    """One image file as uint8 ``[H, W, C]``: converted to ``mode``, shorter side resized, center-cropped.

    A file that is not a readable image raises :class:`DataFormatError` naming it.
    """
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms import functional as TF

    try:
        with Image.open(path) as img:
            img = img.convert(mode)
            if resize is not None:
                img = TF.resize(img, resize, interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
            if crop is not None:
                img = TF.center_crop(img, [crop, crop])
            arr = np.asarray(img, dtype=np.uint8)
    except FileNotFoundError as exc:
        raise DataFormatError(path, "is listed but missing (was the folder changed while reading?)") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataFormatError(path, f"is not a readable image, truncated or corrupt ({type(exc).__name__}: {exc})") from exc
    return arr[:, :, None] if arr.ndim == 2 else arr


def file_decoder(files: Sequence[Path], mode: str, resize: int | None, crop: int | None,
                 root: Path) -> Callable[[np.ndarray], np.ndarray]:
    """``decode(indices) -> uint8 [n, H, W, C]`` over ``files``; differing sizes need ``image_size``."""
    def decode(indices: np.ndarray) -> np.ndarray:
        arrays = [decode_file(files[i], mode, resize, crop) for i in indices]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ConfigError(
                "dataset.image_size",
                None,
                f"must be set: images under {root} have different sizes {sorted(shapes)[:3]}",
            )
        return np.stack(arrays)

    return decode


def array_decoder(pixels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``decode(indices)`` over an in-memory uint8 array ``[N, H, W, C]``."""
    return lambda indices: pixels[indices]


def listing_fingerprint(root: Path, files: Sequence[Path], labels: np.ndarray, extra: Any) -> str:
    """Identity of a folder: relative paths + sizes (survive copies, unlike mtimes) + labels."""
    listing = [(str(f.relative_to(root)), f.stat().st_size) for f in files]
    return hash_parts([listing, labels.tobytes(), extra])


def scan_class_folders(root: Path) -> tuple[list[Path], np.ndarray, list[str]]:
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


def folder_source(name: str, split: str, root: Path, *, mode: str, resize: int | None, crop: int | None,
                  layout: str) -> SplitSource:
    """An ImageFolder split as a :class:`SplitSource` (no image decoded yet)."""
    files, labels, classes = scan_class_folders(root)
    if not files:
        raise not_found(name, [root], layout)
    fingerprint = listing_fingerprint(root, files, labels, [classes, mode, resize, crop])
    return SplitSource(name, split, labels, classes, fingerprint, file_decoder(files, mode, resize, crop, root), str(root))
