"""What every stage is: a cache key, a cost estimate that spends nothing, and a run.

The estimate is what a dry run prints; it may load D and T (files, not work) and time one batch of
distorted images through T, but it evaluates no level and trains nothing. Its one measurement is the
*image rate* of T on this machine (:func:`image_rate`), never counted or cached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Estimate:
    """A stage's cost before it is spent: ``seconds`` (0 when cached, None when unknown) and one line."""

    seconds: float | None
    text: str


class Stage:
    """One arrow of the data flow. Subclasses set ``name`` and implement the three methods."""

    name = ""

    def __init__(self, job: Any):
        self.job = job

    def key(self) -> str | None:
        """The hash of exactly what determines this stage's output; None when the output is not stored."""
        return None

    def estimate(self) -> Estimate:
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"~{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"~{seconds / 60:.0f} min"
    return f"~{seconds / 3600:.1f} h"


def image_rate(oracle: Any, repeats: int = 2) -> float:
    """Distorted images per second through T (distortion + forward), from one timed batch."""
    n = min(oracle.n, oracle.batch_size)
    images = oracle.images[:n]
    noise = None if oracle.noise is None else oracle.noise[:n]
    level = torch.as_tensor(oracle.box.lower + 0.5 * oracle.box.width, dtype=torch.float32).reshape(1, -1)
    best = float("inf")
    with oracle._inference():
        for _ in range(repeats):  # the first call warms up kernels
            start = time.perf_counter()
            distorted = oracle.space.apply(images, level.to(oracle.device), noise)
            batch = distorted.reshape(-1, *distorted.shape[2:]).contiguous(memory_format=torch.channels_last)
            oracle.model(batch).argmax(1)
            best = min(best, time.perf_counter() - start)
    return n / max(best, 1e-9)
