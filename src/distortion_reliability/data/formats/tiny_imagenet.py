"""Tiny-ImageNet: the standard ``tiny-imagenet-200`` layout; ``val`` labels from ``val/val_annotations.txt``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base import SplitSource
from ..locate import DataFormatError, download_guard, not_found
from .files import IMAGE_EXTENSIONS, file_decoder, listing_fingerprint

TINY_IMAGENET_URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
LAYOUT = (
    "tiny-imagenet-200/wnids.txt, tiny-imagenet-200/train/<wnid>/images/*.JPEG and "
    "tiny-imagenet-200/val/images/*.JPEG with tiny-imagenet-200/val/val_annotations.txt"
)


def open_tiny_imagenet(split: str, data_dir: Path, download: bool) -> SplitSource:
    """Split ``train`` or ``val`` of ``data_dir/tiny-imagenet-200`` (classes = sorted wnids)."""
    root = data_dir / "tiny-imagenet-200"
    if not (root / "wnids.txt").is_file():
        if not download:
            raise not_found("tiny_imagenet", [root], LAYOUT)
        from torchvision.datasets.utils import download_and_extract_archive

        with download_guard("tiny_imagenet", [root], LAYOUT):
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
            raise not_found("tiny_imagenet", [annotations], LAYOUT)
        for number, line in enumerate(sorted(annotations.read_text().splitlines())):
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            if parts[1] not in index:
                raise DataFormatError(annotations, f"names wnid {parts[1]!r} (for {parts[0]}), which wnids.txt does not list")
            files.append(root / "val" / "images" / parts[0])
            labels.append(index[parts[1]])
    if not files:
        raise not_found("tiny_imagenet", [root / split], LAYOUT)
    missing = next((f for f in files if not f.is_file()), None)
    if missing is not None:
        raise not_found("tiny_imagenet", [missing], LAYOUT, download_hint=False)
    label_arr = np.asarray(labels, dtype=np.int64)
    fingerprint = listing_fingerprint(root, files, label_arr, ["tiny_imagenet", split, wnids])
    return SplitSource("tiny_imagenet", split, label_arr, wnids, fingerprint,
                       file_decoder(files, "RGB", None, None, root), str(root))
