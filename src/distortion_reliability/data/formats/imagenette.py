"""fastai's ImageNette: ``imagenette2-320/{train,val}/<wnid>/*.JPEG`` (or ``imagenette2/``, ``imagenette2-160/``)."""

from __future__ import annotations

from pathlib import Path

from ..base import SplitSource
from ..locate import download_guard, not_found
from .files import folder_source

IMAGENETTE_FOLDERS = {"320px": "imagenette2-320", "full": "imagenette2", "160px": "imagenette2-160"}
LAYOUT = "fastai's imagenette2-320/{train,val}/<wnid>/*.JPEG (or imagenette2/, imagenette2-160/)"


def open_imagenette(split: str, data_dir: Path, download: bool, *, size: str, resize_size: int,
                    image_size: int) -> SplitSource:
    """Split ``train`` or ``val``: shorter side resized to ``resize_size``, center-cropped to ``image_size``.

    The archive variant ``size`` is looked for first, then any other variant already on disk.
    """
    folders = [IMAGENETTE_FOLDERS[size]] + [f for f in IMAGENETTE_FOLDERS.values() if f != IMAGENETTE_FOLDERS[size]]
    candidates = [data_dir / f / split for f in folders]
    root = next((c for c in candidates if c.is_dir()), None)
    if root is None:
        if not download:
            raise not_found("imagenette", candidates, LAYOUT)
        import torchvision.datasets as tvd

        with download_guard("imagenette", candidates, LAYOUT):
            tvd.Imagenette(root=str(data_dir), split=split, size=size, download=True)
        root = candidates[0]
    return folder_source("imagenette", split, root, mode="RGB", resize=resize_size, crop=image_size, layout=LAYOUT)
