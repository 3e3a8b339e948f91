"""The oracle f(c): accuracy of the image classifier T on the verification set D distorted by level c.

It is the expensive black box of the paper, so it is

* batched: several levels x a chunk of images go through one distortion call and one forward pass;
* cheap by default: ``torch.inference_mode`` with bf16 autocast (config switch to fp32);
* exact when it stops early: :meth:`Oracle.label` stops evaluating a level as soon as the images not
  yet seen cannot change the decision ``f(c) >= h`` — same answer as the full evaluation;
* cached: every evaluation is stored per level as a running count ``(n_evaluated, n_correct)`` keyed
  by the exact context (D, T's weights, distortion spec and op versions, noise seed, precision). An
  early-stopped entry is resumed, not redone, when a later call needs more images.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from .allocator import keep_freed_memory
from .artifacts import atomic_write_bytes, canonical_json, read_verified_bytes, stable_hash
from .errors import ConfigError
from .space import Box, check_threshold

# Bump when a change to this module changes the numbers it returns (it keys the cache).
ORACLE_VERSION = 1
PRECISIONS = ("bf16", "fp32")


class DistortionLike(Protocol):
    """What the oracle needs of a distortion space (see ``distortions.DistortionSpace``)."""

    box: Box

    def spec(self) -> dict: ...

    def make_noise(self, num_images: int, height: int, width: int, seed: int, device: Any) -> torch.Tensor | None: ...

    def apply(self, images: torch.Tensor, levels: Any, noise: torch.Tensor | None = None) -> torch.Tensor: ...


@dataclass
class Count:
    """Running evaluation of one level: ``n_correct`` right out of the first ``n_evaluated`` images of D."""

    n_evaluated: int
    n_correct: int

    def decided(self, n_total: int, h: float) -> bool | None:
        """True/False if ``n_correct_total / N >= h`` is already certain, else None.

        Both bounds use the same expression as the full evaluation (``correct / N >= h``), so an
        early decision can never differ from the exact one by floating-point rounding.
        """
        if self.n_correct / n_total >= h:
            return True  # correct answers only accumulate
        if (self.n_correct + (n_total - self.n_evaluated)) / n_total < h:
            return False  # even if every remaining image were right, f < h
        return None


class EvalCache:
    """Per-level evaluation counts on disk, one small checksummed file per level.

    One file per level keeps concurrent writers (multirun jobs) independent: each write is an
    atomic rename, two jobs computing the same level write the same content, and a corrupted file
    fails its checksum and is recomputed.
    """

    def __init__(self, root: str | Path, context: Mapping[str, Any]):
        self.context_key = stable_hash(context)
        self.dir = Path(root) / "oracle" / self.context_key
        self._context = dict(context)
        self._wrote_context = False

    @staticmethod
    def level_key(level: np.ndarray) -> str:
        # Rounded so that the same level computed along two code paths (grid, config) hits one entry.
        return stable_hash([round(float(v), 10) for v in level], length=24)

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}.json"

    def get(self, level: np.ndarray, n_total: int) -> Count | None:
        payload = read_verified_bytes(self._path(self.level_key(level)))
        if payload is None:
            return None
        try:
            entry = json.loads(payload)
            count = Count(int(entry["n_evaluated"]), int(entry["n_correct"]))
            ok = entry["n_total"] == n_total and np.allclose(entry["level"], level, rtol=0, atol=1e-9)
        except (KeyError, TypeError, ValueError):
            return None
        if not ok or not (0 <= count.n_correct <= count.n_evaluated <= n_total):
            return None
        return count

    def put(self, level: np.ndarray, n_total: int, count: Count) -> None:
        if not self._wrote_context:  # a human-readable record of what the directory holds
            atomic_write_bytes(self.dir / "context.json", canonical_json(self._context).encode())
            self._wrote_context = True
        entry = {"level": [float(v) for v in level], "n_total": n_total,
                 "n_evaluated": count.n_evaluated, "n_correct": count.n_correct}
        atomic_write_bytes(self._path(self.level_key(level)), canonical_json(entry).encode())


def auto_batch_size(pixels_per_image: int) -> int:
    """Images per forward pass so that one batch holds about 2^20 pixels (16 to 4,096 images)."""
    return int(min(4096, max(16, 2**20 // max(1, pixels_per_image))))


class Oracle:
    """f(c) = accuracy of ``model`` on ``images`` distorted by level c, and the label I[f(c) >= h].

    Parameters
    ----------
    model : torch.nn.Module
        The image classifier T, in eval mode, taking images in [0, 1] and returning logits. It is
        moved to ``device`` and to the channels_last layout in place (``Module.to`` semantics).
    images, labels : torch.Tensor
        The verification set D, ``[N, C, H, W]`` in [0, 1] and ``[N]``, in a fixed (seeded) order.
    space : DistortionSpace
        The distortion space C and its batched ops.
    context : mapping
        JSON-able description of D, T (weights fingerprint) and anything else that determines f;
        with the distortion spec, noise seed, precision and ``ORACLE_VERSION`` it keys the cache.
    cache_dir : path or None
        Root of the evaluation cache; None disables caching.
    batch_size : int or "auto"
        Images per forward pass (levels x image chunk). "auto" sizes batches to about 2^20 pixels
        (1,337 MNIST images, 1,024 CIFAR, 4,096 digits). Measured here, one thread: LeNet-5 4 % faster
        at 1,024-1,337 images than at 334, ResNet-20 flat from 256 to 1,024; memory stays bounded.
    precision : {"bf16", "fp32"}
        bf16 autocast: measured here (LeNet-5, MNIST, one thread) 1.7x the fp32 throughput, with the
        same reliability decision on all 256 benchmark levels (the issue expected 4-5x; not seen here).
    chunk_size : int or None
        Images evaluated per level before re-checking the early-stopping bound in :meth:`label`
        (default N/8).
    noise_seed : int
        Seed of the per-image random fields (rain); part of the cache key.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        space: DistortionLike,
        *,
        context: Mapping[str, Any] | None = None,
        cache_dir: str | Path | None = None,
        batch_size: int | str = "auto",
        precision: str = "bf16",
        chunk_size: int | None = None,
        noise_seed: int = 0,
        device: str | torch.device = "cpu",
        progress: bool = True,
    ):
        if precision not in PRECISIONS:
            raise ConfigError("oracle.precision", precision, f"must be one of {', '.join(PRECISIONS)}")
        if batch_size == "auto":
            batch_size = auto_batch_size(images.shape[-2] * images.shape[-1])
        if isinstance(batch_size, str) or int(batch_size) < 1:
            raise ConfigError("oracle.batch_size", batch_size, "must be an integer >= 1 or 'auto'")
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise ConfigError("verification set", (tuple(images.shape), tuple(labels.shape)),
                              "must be non-empty images [N, C, H, W] with labels [N]")
        self.device = torch.device(device)
        keep_freed_memory()  # without it, page faults on every batch's activations dominate on CPU
        # channels_last: oneDNN's fast layout on CPU (LeNet-5 bf16 2.5x, ResNet-20 1.1-1.25x measured
        # here); with NCHW weights, bf16 max-pooling takes a slow path. Also the fast layout on GPUs.
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.images = images.to(self.device, torch.float32)
        self.labels = labels.to(self.device, torch.long)
        self.space = space
        self.box: Box = space.box
        self.n = len(self.images)
        self.batch_size = int(batch_size)
        self.precision = precision
        self.chunk_size = int(chunk_size) if chunk_size else max(1, math.ceil(self.n / 8))
        if self.chunk_size < 1:
            raise ConfigError("oracle.chunk_size", chunk_size, "must be >= 1")
        self.progress = progress
        _, _, height, width = self.images.shape
        self.noise = space.make_noise(self.n, height, width, noise_seed, self.device)
        full_context = {"context": dict(context or {}), "distortion": space.spec(), "noise_seed": noise_seed,
                        "precision": precision, "n": self.n, "oracle_version": ORACLE_VERSION}
        self.context_key = stable_hash(full_context)
        self.cache = EvalCache(cache_dir, full_context) if cache_dir is not None else None
        # Counters let callers (tests, benchmarks) see how much work was really done.
        self.images_evaluated = 0
        self.levels_evaluated = 0

    # ------------------------------------------------------------------ public API
    def accuracy(self, levels: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
        """f(c) for each level (rows, natural units): the exact accuracy on all of D."""
        levels = self.box.validate(levels)
        counts = self._evaluate(levels, h=None)
        return np.array([c.n_correct / self.n for c in counts])

    __call__ = accuracy  # an Oracle is an objective: levels (n, d) -> f values (n,)

    def label(self, levels: np.ndarray | Sequence[Sequence[float]], h: float) -> np.ndarray:
        """I[f(c) >= h] for each level, evaluating only as many images as the decision needs."""
        h = check_threshold(h)
        levels = self.box.validate(levels)
        counts = self._evaluate(levels, h=h)
        return np.array([c.decided(self.n, h) for c in counts], dtype=bool)

    def clean_accuracy(self) -> float:
        """Accuracy of T on undistorted D (the identity level, when the space has one)."""
        with self._inference():
            correct = 0
            for start in range(0, self.n, self.batch_size):
                batch = self.images[start : start + self.batch_size].contiguous(memory_format=torch.channels_last)
                logits = self.model(batch)
                correct += int((logits.argmax(1) == self.labels[start : start + self.batch_size]).sum())
        return correct / self.n

    # ------------------------------------------------------------------ internals
    def _inference(self):
        import contextlib

        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self.precision == "bf16":
            stack.enter_context(torch.autocast(self.device.type, dtype=torch.bfloat16))
        return stack

    def _done(self, count: Count, h: float | None) -> bool:
        if count.n_evaluated >= self.n:
            return True
        return h is not None and count.decided(self.n, h) is not None

    def _evaluate(self, levels: np.ndarray, h: float | None) -> list[Count]:
        counts: list[Count] = []
        for level in levels:
            cached = self.cache.get(level, self.n) if self.cache is not None else None
            counts.append(cached if cached is not None else Count(0, 0))
        todo = [i for i, c in enumerate(counts) if not self._done(c, h)]
        if not todo:
            return counts
        # Full evaluations take all remaining images at once; labels re-check the bound every chunk.
        # A chunk never exceeds one batch: a level of N images is then evaluated in several batches.
        chunk = min(self.n if h is None else self.chunk_size, self.batch_size)
        total = sum(self.n - counts[i].n_evaluated for i in todo)
        bar = tqdm(total=total, unit="img", desc="oracle", disable=not self.progress, leave=False, smoothing=0.1)
        try:
            with self._inference():
                while todo:
                    # Levels at the same position in D share one image chunk, hence one batched call.
                    start = min(counts[i].n_evaluated for i in todo)
                    group = [i for i in todo if counts[i].n_evaluated == start]
                    stop = min(self.n, start + chunk)
                    per_batch = max(1, self.batch_size // (stop - start))
                    for g in range(0, len(group), per_batch):
                        members = group[g : g + per_batch]
                        correct = self._correct_counts(levels[members], start, stop)
                        for i, c in zip(members, correct):
                            counts[i].n_evaluated = stop
                            counts[i].n_correct += int(c)
                            if self.cache is not None and self._done(counts[i], h):
                                self.cache.put(levels[i], self.n, counts[i])
                        bar.update(len(members) * (stop - start))
                    newly_done = {i for i in group if self._done(counts[i], h)}
                    bar.total -= sum(self.n - counts[i].n_evaluated for i in newly_done)
                    todo = [i for i in todo if i not in newly_done]
        except BaseException:
            # Keep partial work of an interrupted run: it resumes from here next time.
            if self.cache is not None:
                for i in todo:
                    if counts[i].n_evaluated > 0:
                        self.cache.put(levels[i], self.n, counts[i])
            raise
        finally:
            bar.close()
        return counts

    def _correct_counts(self, levels: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Number of correctly classified images [start:stop) of D under each level (one batch)."""
        images = self.images[start:stop]
        noise = None if self.noise is None else self.noise[start:stop]
        level_t = torch.as_tensor(levels, dtype=torch.float32, device=self.device)
        distorted = self.space.apply(images, level_t, noise)  # [L, m, C, H, W]
        n_levels, m = distorted.shape[:2]
        batch = distorted.reshape(n_levels * m, *distorted.shape[2:]).contiguous(memory_format=torch.channels_last)
        logits = self.model(batch)
        hits = logits.argmax(1).reshape(n_levels, m) == self.labels[start:stop]
        self.images_evaluated += n_levels * m
        self.levels_evaluated += n_levels
        return hits.sum(1).cpu().numpy()
