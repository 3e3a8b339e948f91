"""CIFAR-10/100: torchvision's python-pickle folders, or an ImageFolder ``<name>/<split>/<class>/*.png``.

The pickles are checked against torchvision's published md5 sums before they are read (a corrupt
or truncated file is named in one :class:`DataFormatError`), and read with an unpickler that only
rebuilds numpy arrays, so a crafted file cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ..base import SplitSource, hash_parts
from ..locate import DataFormatError, download_guard, not_found
from .files import array_decoder, folder_source

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes into a protocol-2 pickle
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, bytes and numpy arrays; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")


def _load_batch(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            entry = _ArrayUnpickler(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError) as exc:
        raise DataFormatError(path, f"is not a readable CIFAR batch ({type(exc).__name__}: {exc})") from exc
    if not isinstance(entry, dict):
        raise DataFormatError(path, f"must hold a dict, holds {type(entry).__name__}")
    return entry


def _tv_class(torchvision_class: str) -> Any:
    import torchvision.datasets as tvd

    return getattr(tvd, torchvision_class)


def read_cifar_pickles(name: str, split: str, pickle_dir: Path, torchvision_class: str) -> SplitSource:
    """Read one split of torchvision's pickle folder (every needed file md5-checked first)."""
    from torchvision.datasets.utils import check_integrity

    tv = _tv_class(torchvision_class)
    files = list(tv.train_list if split == "train" else tv.test_list)
    meta = tv.meta
    for file_name, md5 in files + [[meta["filename"], meta["md5"]]]:
        path = pickle_dir / file_name
        if not path.is_file():
            raise DataFormatError(path, f"is missing from {pickle_dir} (an incomplete {name} download?)")
        if not check_integrity(str(path), md5):
            raise DataFormatError(path, f"is corrupt or truncated: its md5 is not {md5}; delete {pickle_dir} "
                                        "and copy or download it again")
    data, labels = [], []
    for file_name, _ in files:
        path = pickle_dir / file_name
        entry = _load_batch(path)
        try:
            data.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(entry["labels"] if "labels" in entry else entry["fine_labels"])
        except (KeyError, ValueError) as exc:
            raise DataFormatError(path, f"is not a CIFAR batch ({type(exc).__name__}: {exc})") from exc
    classes = _load_batch(pickle_dir / meta["filename"]).get(meta["key"])
    if not isinstance(classes, list):
        raise DataFormatError(pickle_dir / meta["filename"], f"must hold the class names under {meta['key']!r}")
    pixels = np.ascontiguousarray(np.vstack(data).transpose(0, 2, 3, 1))  # HWC
    label_arr = np.asarray(labels, dtype=np.int64)
    if label_arr.shape != (pixels.shape[0],):
        raise DataFormatError(pickle_dir, f"holds {pixels.shape[0]} images but {label_arr.size} labels")
    fingerprint = hash_parts([name, split, pixels.tobytes(), label_arr.tobytes()])
    return SplitSource(name, split, label_arr, [str(c) for c in classes], fingerprint, array_decoder(pixels),
                       str(pickle_dir))


def open_cifar(name: str, split: str, data_dir: Path, download: bool, *, pickle_folder: str, num_classes: int,
               torchvision_class: str) -> SplitSource:
    """Split ``train`` or ``test`` of CIFAR-10/100.

    The canonical pickles (``data_dir/pickle_folder``) win when both layouts are present; a broken
    pickle folder falls back to the ImageFolder layout when that exists, else it is reported.
    """
    pickle_dir = data_dir / pickle_folder
    folder_dir = data_dir / name / split
    layout = (
        f"torchvision's python-pickle layout {pickle_folder}/ (as downloaded by torchvision), or an "
        f"ImageFolder layout {name}/{split}/<class>/*.png with {num_classes} class folders in label order"
    )
    if pickle_dir.is_dir():
        try:
            return read_cifar_pickles(name, split, pickle_dir, torchvision_class)
        except DataFormatError:
            if not folder_dir.is_dir():
                raise
    if not folder_dir.is_dir():
        if not download:
            raise not_found(name, [pickle_dir, folder_dir], layout)
        with download_guard(name, [pickle_dir, folder_dir], layout):
            _tv_class(torchvision_class)(root=str(data_dir), train=(split == "train"), download=True)
        return read_cifar_pickles(name, split, pickle_dir, torchvision_class)
    source = folder_source(name, split, folder_dir, mode="RGB", resize=None, crop=None, layout=layout)
    if len(source.classes) != num_classes:
        raise ConfigError(f"{name} class folders in {folder_dir}", len(source.classes), f"must number {num_classes}")
    return source
