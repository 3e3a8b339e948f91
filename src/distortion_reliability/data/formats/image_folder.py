"""A user's own images in ImageFolder layout: ``root/<split>/<class>/<image>`` (or ``root/<class>/<image>``)."""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError
from ..base import SplitSource
from ..locate import not_found
from .files import folder_source


def image_folder_base(root: str | Path | None, data_dir: Path) -> Path:
    """The folder ``root`` names: as given when absolute or existing, else relative to ``data_dir``."""
    if root is None or str(root) == "":
        raise ConfigError("dataset.root", root, "must name the folder that holds the images (dataset.root=/path)")
    base = Path(root).expanduser()
    if not base.is_absolute() and not base.exists():
        base = data_dir / base
    return base


def image_folder_split(base: Path, preferred: tuple[str, ...]) -> str:
    """The first of ``preferred`` that exists under ``base``, else ``all``."""
    return next((split for split in preferred if (base / split).is_dir()), "all")


def open_image_folder(split: str, base: Path, *, mode: str, image_size: int | None) -> SplitSource:
    """Split ``split`` of ``base`` (``all``: ``base`` itself holds the class folders).

    ``image_size`` resizes the shorter side and center-crops (required when images differ in size);
    ``mode`` is PIL's ``"RGB"`` or ``"L"`` (grayscale).
    """
    folder = base if split == "all" else base / split
    layout = f"ImageFolder: {base}/<split>/<class>/<image> (or {base}/<class>/<image> with split='all')"
    if not folder.is_dir():
        raise not_found("image_folder", [folder], layout, download_hint=False)
    return folder_source("image_folder", split, folder, mode=mode, resize=image_size, crop=image_size, layout=layout)
