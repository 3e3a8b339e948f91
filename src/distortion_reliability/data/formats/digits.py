"""scikit-learn's bundled 8x8 digits (1,797 images): no files, no download, split stratified and seeded."""

from __future__ import annotations

import numpy as np

from ..base import SplitSource, hash_parts
from .files import array_decoder

DIGITS_CLASSES = [str(c) for c in range(10)]


def open_digits(split: str, test_fraction: float, split_seed: int) -> SplitSource:
    """Split ``train`` or ``test`` of the digits, divided stratified by ``test_fraction`` and ``split_seed``.

    Pixels 0..16 are rescaled to 0..255 (uint8, one channel).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    pixels = np.clip(np.rint(bunch.images / 16.0 * 255.0), 0, 255).astype(np.uint8)[..., None]
    targets = bunch.target.astype(np.int64)
    train_idx, test_idx = train_test_split(
        np.arange(len(targets)), test_size=float(test_fraction), random_state=int(split_seed), stratify=targets
    )
    idx = np.sort(train_idx if split == "train" else test_idx)
    pixels, labels = pixels[idx], targets[idx]
    fingerprint = hash_parts(["digits", split, float(test_fraction), int(split_seed), pixels.tobytes(), labels.tobytes()])
    return SplitSource("digits", split, labels, list(DIGITS_CLASSES), fingerprint, array_decoder(pixels),
                       "sklearn.datasets.load_digits")
