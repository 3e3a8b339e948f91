"""Contact sheet of the distortions (paper Figure 5): what each level does to a real image.

One row per op (per image when several are given): the original, then the op at
``levels_per_op`` levels spread evenly across its domain, every other op at its identity level.

Command line (the dataset and the distortion space come from the composed Hydra config, so any
override reaches the sheet)::

    python -m distortion_reliability.reporting.contact_sheet --dataset digits --out results/contact_sheet.png
    python -m distortion_reliability.reporting.contact_sheet --dataset cifar10 --data-dir ../shared/data \\
        --out results/contact_sheet_cifar10.png --index 3 'distortion.ops.1.domain=[0,45]'
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from ..errors import ConfigError, DistortionReliabilityError

if TYPE_CHECKING:  # the sheet only needs the space's interface, not the module
    from ..data import Dataset
    from ..distortions import DistortionSpace


def contact_sheet_levels(space: DistortionSpace, levels_per_op: int) -> np.ndarray:
    """Levels ``[d, levels_per_op, d]``: row j varies op j evenly over its domain, others at identity."""
    if int(levels_per_op) != levels_per_op or levels_per_op < 1:
        raise ConfigError("levels_per_op", levels_per_op, "must be an integer >= 1")
    levels = np.broadcast_to(space.identity, (space.d, int(levels_per_op), space.d)).copy()
    for j in range(space.d):
        levels[j, :, j] = np.linspace(space.box.lower[j], space.box.upper[j], int(levels_per_op))
    return levels


def _format_level(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def contact_sheet(
    images: torch.Tensor,
    space: DistortionSpace,
    levels_per_op: int = 4,
    path: str | Path = "results/contact_sheet.png",
    noise_seed: int = 0,
    title: str | None = None,
) -> Path:
    """Write a PNG grid of ``images`` under each op at a few levels; return its path.

    Parameters
    ----------
    images : Tensor ``[K, C, H, W]``
        In [0, 1]; 1 (grey) or 3 (RGB) channels.
    space : DistortionSpace
        The ops and domains to show.
    levels_per_op : int
        Columns after the original, spread from the lower to the upper end of each domain.
    path : str or Path
        Output PNG; parent folders are created, the file appears whole or not at all.
    noise_seed : int
        Seed of the rain fields.
    title : str or None
        Figure title.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ConfigError("images", getattr(images, "shape", type(images)), "must be a tensor [K, 1 or 3, H, W]")
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    images = images.detach().to("cpu", torch.float32)
    k, channels, height, width = images.shape
    levels = contact_sheet_levels(space, levels_per_op)  # [d, m, d]
    d, m = levels.shape[:2]
    noise = space.make_noise(k, height, width, noise_seed)
    distorted = space.apply(images, levels.reshape(d * m, d), noise).view(d, m, k, channels, height, width)

    cell = 1.7
    fig, axes = plt.subplots(k * d, m + 1, figsize=(cell * (m + 1), cell * k * d + (0.5 if title else 0)),
                             squeeze=False)
    for i in range(k):
        for j, name in enumerate(space.names):
            row = axes[i * d + j]
            panels = [images[i]] + [distorted[j, c, i] for c in range(m)]
            titles = ["original"] + [f"{name}={_format_level(levels[j, c, j])}" for c in range(m)]
            for ax, panel, text in zip(row, panels, titles):
                pixels = panel.permute(1, 2, 0).numpy()
                # Nearest upsampling keeps 8x8 digits readable as pixels instead of a blur.
                ax.imshow(pixels[..., 0] if channels == 1 else pixels, cmap="gray" if channels == 1 else None,
                          vmin=0.0, vmax=1.0, interpolation="nearest")
                ax.set_title(text, fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temp file + rename: a reader never sees half a PNG (and the file gets the usual permissions).
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp.png"
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def load_image(dataset: Dataset, index: int, split: str | None = None) -> torch.Tensor:
    """Image ``index`` of a split (default: the one D is drawn from) as ``[1, C, H, W]`` in [0, 1]."""
    split = dataset.held_out_split() if split is None else split
    source = dataset.open_split(split)
    if not 0 <= index < len(source):
        raise ConfigError("index", index, f"must lie in [0, {len(source) - 1}] for {dataset.name} {split}")
    return source.load([index]).images


def build_from_config(overrides: Sequence[str] = ()) -> tuple[Dataset, DistortionSpace, str]:
    """Compose ``conf/config.yaml`` with ``overrides`` (as the runner does) and build its dataset and space.

    Returns the dataset, the distortion space and the dataset's config label.
    """
    from ..build import build
    from ..config import compose_config

    try:
        cfg = compose_config(list(overrides))
    except Exception as exc:  # Hydra: unknown group option, malformed override, ...
        if isinstance(exc, DistortionReliabilityError):
            raise
        why = " ".join(str(exc).split("Config search path")[0].split())
        raise ConfigError("overrides", list(overrides), f"must compose with conf/config.yaml ({why})") from None
    data_dir = Path(str(cfg.data_dir)).expanduser().resolve()
    dataset = build("dataset", cfg.dataset, data_dir=data_dir)
    return dataset, build("distortion", cfg.distortion), dataset.label or dataset.name


def main(argv: Sequence[str] | None = None) -> Path:
    """Command line: write the contact sheet of one dataset image under the configured distortions."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=None, help="dataset config (default: the config's, digits)")
    parser.add_argument("--data-dir", default=None, help="data folder (default: the config's data_dir)")
    parser.add_argument("--split", default=None, help="split to take the image from (default: the held-out split)")
    parser.add_argument("--index", type=int, default=0, help="index of the image in the split")
    parser.add_argument("--levels-per-op", type=int, default=4)
    parser.add_argument("--noise-seed", type=int, default=0, help="seed of the rain fields")
    parser.add_argument("--out", default="results/contact_sheet.png", help="PNG to write")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. 'distortion.ops.1.domain=[0,45]'")
    args = parser.parse_args(argv)
    overrides = ([f"dataset={args.dataset}"] if args.dataset else []) + \
                ([f"data_dir={args.data_dir}"] if args.data_dir else []) + list(args.overrides)
    torch.set_num_threads(1)
    try:
        dataset, space, label = build_from_config(overrides)
        split = dataset.held_out_split() if args.split is None else args.split
        image = load_image(dataset, args.index, split)
        path = contact_sheet(image, space, args.levels_per_op, args.out, noise_seed=args.noise_seed,
                             title=f"{label} {split}[{args.index}]")
    except DistortionReliabilityError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
