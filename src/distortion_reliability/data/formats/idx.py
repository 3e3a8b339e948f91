"""MNIST-like datasets in torchvision's raw IDX layout: ``<folder>/raw/*-ubyte[.gz]``."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..base import SplitSource, hash_parts
from ..locate import DataFormatError, download_guard, not_found
from .files import array_decoder

IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


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

    Raises
    ------
    DataFormatError
        Truncated or corrupt gzip stream, wrong magic number, or a data size that does not match
        the header; the message names the file.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataFormatError(path, f"is a truncated or corrupt gzip file ({type(exc).__name__}: {exc}); "
                                    "delete it and copy or download it again") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataFormatError(path, "is not an unsigned-byte IDX file (magic 0x00000803/0x00000801)")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if len(data) < offset:
        raise DataFormatError(path, f"is truncated: {len(data)} bytes, shorter than its {offset}-byte IDX header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise DataFormatError(path, f"holds {len(data) - offset} bytes of data, but its header says shape {dims} "
                                    f"({expected} bytes): truncated or corrupt")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def find_idx(raw: Path, stem: str) -> Path | None:
    """``raw/stem`` or ``raw/stem.gz``, whichever exists (uncompressed first)."""
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def open_idx(name: str, split: str, data_dir: Path, download: bool, *, folder: str, classes: list[str],
             torchvision_class: str) -> SplitSource:
    """Split ``train`` or ``test`` of an MNIST-like dataset under ``data_dir/folder/raw``.

    Absent files are fetched by ``torchvision.datasets.<torchvision_class>`` only with ``download``.
    """
    raw = data_dir / folder / "raw"
    layout = (
        f"torchvision's raw IDX layout: {folder}/raw/{IDX_FILES[split][0]}[.gz] and "
        f"{folder}/raw/{IDX_FILES[split][1]}[.gz]"
    )
    paths = [find_idx(raw, stem) for stem in IDX_FILES[split]]
    if any(p is None for p in paths):
        if not download:
            raise not_found(name, [raw], layout)
        import torchvision.datasets as tvd

        with download_guard(name, [raw], layout):
            getattr(tvd, torchvision_class)(root=str(data_dir), train=(split == "train"), download=True)
        paths = [find_idx(raw, stem) for stem in IDX_FILES[split]]
        if any(p is None for p in paths):
            raise not_found(name, [raw], layout, download_hint=False)
    images, labels = read_idx(paths[0]), read_idx(paths[1]).astype(np.int64)
    if images.ndim != 3:
        raise DataFormatError(paths[0], f"must hold images [N, H, W], holds shape {list(images.shape)}")
    if labels.shape != (images.shape[0],):
        raise DataFormatError(paths[1], f"must hold {images.shape[0]} labels (one per image in {paths[0].name}), "
                                        f"holds shape {list(labels.shape)}")
    if labels.size and int(labels.max()) >= len(classes):
        raise DataFormatError(paths[1], f"holds label {int(labels.max())}, but {name} has {len(classes)} classes")
    fingerprint = hash_parts([name, split, images.tobytes(), labels.tobytes()])
    return SplitSource(name, split, labels, list(classes), fingerprint, array_decoder(images[..., None]), str(raw))
