"""The oracle f(c): accuracy of the image classifier T on the verification set D distorted by level c.

It is the expensive black box of the paper, so it is

* batched: several levels x a chunk of images go through one distortion call and one forward pass;
* fast on the machine at hand: ``precision="auto"`` runs T the fastest way whose predictions agree
  with fp32 (torch fp32 / bf16, either memory layout, or ONNX Runtime; see :mod:`.precision`);
* exact when it stops early: :meth:`Oracle.label` stops evaluating a level as soon as the images not
  yet seen cannot change the decision ``f(c) >= h`` — same answer as the full evaluation;
* cached: every evaluation is stored per level as a running count ``(n_evaluated, n_correct)`` keyed
  by the exact context (D, T's weights, distortion spec and op versions, noise seed, the effective
  precision: results of two machines that run T differently never mix). An
  early-stopped entry is resumed, not redone, when a later call needs more images;
* crash-safe: a call's levels are split into blocks (by position, so every job splits a grid the same
  way); the counts of the block in flight go to one checksummed journal file every ``flush_seconds``
  and on any exception (Ctrl-C, SIGTERM, ``SystemExit`` from submitit, full disk), so a job killed at
  any moment, SIGKILL included, loses at most the last few seconds of work;
* shared: a job evaluates a block only while holding its claim (:class:`~.locks.LockFile`), so jobs
  labelling the same grid at the same time split its blocks, wait for blocks others are evaluating
  and read those counts from the cache instead of recomputing them.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np
import torch

from .allocator import keep_freed_memory
from .artifacts import stable_hash
from .console import progress_bar
from .errors import ConfigError
from .locks import describe_holder, deferred_signals
from .models.engines import Engine, build_engine, candidate_names, measure, onnx_unavailable, torch_engine
from .oracle_cache import Count, EvalCache
from .precision import PRECISIONS, decide, machine_kind
from .box import Box

log = logging.getLogger(__name__)

# Bump when a change to this module changes the numbers it returns (it keys the cache).
# 2: levels reach the distortion in float64 (no float32 round trip); the key holds the effective precision.
ORACLE_VERSION = 2
#: Probe of ``precision="auto"``: this many levels, from the identity outwards, x up to 1,024 images in all.
PROBE_LEVELS = 8

__all__ = ["Count", "EvalCache", "Oracle", "ORACLE_VERSION", "PRECISIONS", "auto_batch_size"]


class DistortionLike(Protocol):
    """What the oracle needs of a distortion space (see ``distortions.DistortionSpace``)."""

    box: Box

    def spec(self) -> dict: ...

    def make_noise(self, num_images: int, height: int, width: int, seed: int, device: Any) -> torch.Tensor | None: ...

    def apply(self, images: torch.Tensor, levels: Any, noise: torch.Tensor | None = None) -> torch.Tensor:
        """``levels``: float64 ``[L, d]`` in natural units, as validated by the oracle (converted once, here)."""


def auto_batch_size(pixels_per_image: int) -> int:
    """Images per forward pass so that one batch holds about 2^20 pixels (16 to 4,096 images)."""
    return int(min(4096, max(16, 2**20 // max(1, pixels_per_image))))


class Oracle:
    """f(c) = accuracy of ``model`` on ``images`` distorted by level c, and the label I[f(c) >= h].

    Parameters
    ----------
    model : torch.nn.Module
        The image classifier T, in eval mode, taking images in [0, 1] and returning logits. It is
        moved to ``device`` and to the chosen engine's memory layout in place (``Module.to`` semantics).
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
    precision : {"auto", "fp32", "bf16", "fp32-nchw", "bf16-nchw", "onnxruntime"}
        "auto": the fastest engine of :mod:`.models.engines` whose predictions agree with fp32 on a
        probe (rule and why in :mod:`.precision`), measured once per (T, device, input shape, machine
        kind) and stored under ``cache_dir``; :attr:`precision` is then the engine chosen. An engine's
        name runs that engine as asked, measuring nothing ("fp32" / "bf16": torch, channels_last), so a
        study can be rerun in the engine its numbers came from on any machine kind.
        Settings (precision, batch size, chunk size, h) are validated once, by the config schema:
        the oracle trusts them.
    chunk_size : int or None
        Images evaluated per level before re-checking the early-stopping bound in :meth:`label`
        (default N/8).
    noise_seed : int
        Seed of the per-image random fields (rain); part of the cache key.
    flush_seconds : float
        With a cache: the running counts of the levels in flight are journalled at most this often
        (checked after every batch), so a killed job loses at most about this much work.
    block_levels : int or "auto"
        With a cache: levels per block, the unit that concurrent jobs claim ("auto": enough for 16
        full batches, at least 256).
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
        precision: str = "auto",
        chunk_size: int | None = None,
        noise_seed: int = 0,
        device: str | torch.device = "cpu",
        progress: bool = True,
        flush_seconds: float = 1.0,
        block_levels: int | str = "auto",
    ):
        if batch_size == "auto":
            batch_size = auto_batch_size(images.shape[-2] * images.shape[-1])
        if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise ConfigError("verification set", (tuple(images.shape), tuple(labels.shape)),
                              "must be non-empty images [N, C, H, W] with labels [N]")
        self.device = torch.device(device)
        keep_freed_memory()  # without it, page faults on every batch's activations dominate on CPU
        self.images = images.to(self.device, torch.float32)
        self.labels = labels.to(self.device, torch.long)
        self.space = space
        self.box: Box = space.box
        self.n = len(self.images)
        self.batch_size = int(batch_size)
        self.chunk_size = int(chunk_size) if chunk_size else max(1, math.ceil(self.n / 8))
        self.progress = progress
        if not (isinstance(flush_seconds, (int, float)) and flush_seconds >= 0):
            raise ConfigError("oracle.flush_seconds", flush_seconds, "must be a number of seconds >= 0")
        self.flush_seconds = float(flush_seconds)
        if block_levels == "auto":
            block_levels = max(256, 16 * max(1, self.batch_size // min(self.chunk_size, self.batch_size)))
        if isinstance(block_levels, str) or int(block_levels) < 1:
            raise ConfigError("oracle.block_levels", block_levels, "must be an integer >= 1 or 'auto'")
        self.block_levels = int(block_levels)
        _, _, height, width = self.images.shape
        self.noise = space.make_noise(self.n, height, width, noise_seed, self.device)
        self.decision = None
        # ONNX exports are stored per T under the cache, shared by auto and a pinned onnxruntime.
        context = dict(context or {})
        model_key = stable_hash(context.get("model", context), length=24)
        folder = None if cache_dir is None else Path(cache_dir) / "precision" / "onnx"

        def build(name: str) -> Engine | None:
            return build_engine(name, model, self.device, self.images, folder, model_key)

        if precision == "auto":
            self.engine = self._auto_engine(model, build, model_key, cache_dir)
        else:  # pinned; fp32/bf16 in channels_last: oneDNN's fast layout on CPU (LeNet-5 bf16 2.5x), and GPUs'
            self.engine = build(precision)
            if self.engine is None:  # only ONNX Runtime can be unavailable
                raise ConfigError("oracle.precision", precision, onnx_unavailable(model, self.device))
        self.model = self.engine.module
        self.precision = self.engine.name  # the effective precision: it keys the cache
        full_context = {"context": context, "distortion": space.spec(), "noise_seed": noise_seed,
                        "precision": self.precision, "n": self.n, "oracle_version": ORACLE_VERSION}
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
        levels = self.box.validate(levels)
        counts = self._evaluate(levels, h=h)
        return np.array([c.decided(self.n, h) for c in counts], dtype=bool)

    def label_counts(self, levels: np.ndarray | Sequence[Sequence[float]], h: float) -> tuple[np.ndarray, np.ndarray]:
        """``(n_evaluated, n_correct)`` per level: the counts :meth:`label` decides from (same work, same cache).

        A level stopped early has ``n_evaluated < N``; :mod:`distortion_reliability.confidence` turns
        the counts into an interval for f.
        """
        counts = self._evaluate(self.box.validate(levels), h=h)
        return (np.array([c.n_evaluated for c in counts], dtype=np.int64),
                np.array([c.n_correct for c in counts], dtype=np.int64))

    def clean_accuracy(self) -> float:
        """Accuracy of T on undistorted D (the identity level, when the space has one)."""
        correct = 0
        with self.engine.inference():
            for start in range(0, self.n, self.batch_size):
                logits = self.engine(self.images[start : start + self.batch_size])
                correct += int((logits.argmax(1) == self.labels[start : start + self.batch_size]).sum())
        return correct / self.n

    # ------------------------------------------------------------------ internals
    def _inference(self):  # estimate.image_rate times T with it (there: oracle.engine.inference())
        return self.engine.inference()

    def _auto_engine(self, model: torch.nn.Module, build: Callable[[str], Engine | None], model_key: str,
                     cache_dir: str | Path | None) -> Engine:
        """The engine ``precision="auto"`` picks here (measured on the probe once per machine kind)."""
        names = candidate_names(model, self.device)
        about = {"model": model_key, "device": self.device.type, "input": list(self.images.shape[1:]),
                 "machine": machine_kind(self.device), "candidates": names, "probe": self._probe_shape()}
        self.decision = decide(about, self.n, cache_dir, lambda: measure(build, names, *self._probe()))
        log.info(self.decision.describe())
        engine = build(self.decision.choice)
        if engine is None:  # the stored choice cannot be rebuilt here (e.g. the export failed this time)
            log.warning("oracle: %s unavailable, running fp32", self.decision.choice)
            engine = torch_engine("fp32", model, self.device)
        return engine

    def _probe_shape(self) -> tuple[int, int]:
        """Probe levels x images per level: up to one batch (at most 1,024 images), PROBE_LEVELS levels."""
        per_level = max(1, min(self.n, min(self.batch_size, 1024) // PROBE_LEVELS))
        return PROBE_LEVELS, per_level

    def _probe(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The first images of D distorted by levels from the identity (mild) to seeded random (heavy) ones."""
        levels_n, m = self._probe_shape()
        far = self.box.sample_uniform(levels_n, np.random.default_rng(0))
        near = np.asarray(getattr(self.space, "identity", self.box.lower), dtype=np.float64)
        steps = (np.arange(1, levels_n + 1) / levels_n)[:, None] ** 2  # most probe levels mild, as near h
        noise = None if self.noise is None else self.noise[:m]
        with torch.inference_mode():
            return self.space.apply(self.images[:m], near + steps * (far - near), noise), self.labels[:m]

    def _done(self, count: Count, h: float | None) -> bool:
        if count.n_evaluated >= self.n:
            return True
        return h is not None and count.decided(self.n, h) is not None

    def _evaluate(self, levels: np.ndarray, h: float | None) -> list[Count]:
        cache = self.cache
        keys = [cache.level_key(level) for level in levels] if cache is not None else None
        counts: list[Count] = []
        for i, level in enumerate(levels):
            cached = cache.get(level, self.n, keys[i]) if cache is not None else None
            counts.append(cached if cached is not None else Count(0, 0))
        todo = [i for i, c in enumerate(counts) if not self._done(c, h)]
        if not todo:
            return counts
        # Stable total: every image a level still needs, credited as evaluated or as skipped once
        # the level is decided (early stopping, or another job's counts read from the cache).
        tracker = _Tracker(self, counts, todo, h)
        tracker.bar = progress_bar(tracker.total, "oracle", unit="img", enabled=self.progress, smoothing=0.1)
        try:
            if cache is None:
                self._evaluate_block(levels, counts, todo, h, tracker)
                return counts
            # Blocks by position in the call (not by what is cached), so two jobs with the same
            # levels cut them identically and their claims exclude each other.
            blocks = []
            for first in range(0, len(levels), self.block_levels):
                members = list(range(first, min(len(levels), first + self.block_levels)))
                if any(not self._done(counts[i], h) for i in members):
                    blocks.append((cache.block_key([keys[i] for i in members], self.n), members))
            told = False
            while blocks:
                waiting = []
                for block in blocks:
                    claim = cache.claim(block[0])
                    if not claim.try_acquire():
                        waiting.append((block, claim))
                        continue
                    try:
                        self._claimed_block(levels, keys, counts, block, h, tracker)
                    finally:
                        claim.release()
                blocks = [block for block, _ in waiting]
                if blocks and len(waiting) == len(blocks):
                    if not told:
                        log.info("oracle: waiting for %d block(s) of levels that %s is evaluating",
                                 len(blocks), describe_holder(waiting[0][1].holder() or {}))
                        told = True
                    time.sleep(waiting[0][1].poll)
            return counts
        finally:
            tracker.bar.close()

    def _claimed_block(self, levels: np.ndarray, keys: list[str], counts: list[Count], block: tuple[str, list[int]],
                       h: float | None, tracker: "_Tracker") -> None:
        """Evaluate one block under its claim, resuming from the cache and the block's journal."""
        cache = self.cache
        bkey, members = block
        journal = cache.get_partial(bkey, levels[members], self.n)
        for j, i in enumerate(members):
            if self._done(counts[i], h):
                continue
            best = cache.get(levels[i], self.n, keys[i])  # another job may have finished it meanwhile
            if journal is not None and (best is None or journal[j].n_evaluated > best.n_evaluated):
                best = journal[j]
            if best is not None and best.n_evaluated > counts[i].n_evaluated:
                counts[i] = best
                tracker.credit(i)
        todo = [i for i in members if not self._done(counts[i], h)]
        if todo:
            self._evaluate_block(levels, counts, todo, h, tracker, block=block, keys=keys)
        cache.drop_partial(bkey)  # every level of the block is stored on its own now

    def _evaluate_block(self, levels: np.ndarray, counts: list[Count], todo: list[int], h: float | None,
                        tracker: "_Tracker", block: tuple[str, list[int]] | None = None,
                        keys: list[str] | None = None) -> None:
        cache = self.cache if block is not None else None
        # Full evaluations take all remaining images at once; labels re-check the bound every chunk.
        # A chunk never exceeds one batch: a level of N images is then evaluated in several batches.
        chunk = min(self.n if h is None else self.chunk_size, self.batch_size)

        def flush() -> None:
            bkey, members = block
            cache.put_partial(bkey, levels[members], self.n, [counts[i] for i in members])

        try:
            with self.engine.inference():
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
                            counts[i] = Count(stop, counts[i].n_correct + int(c))
                            tracker.credit(i)
                            if cache is not None and self._done(counts[i], h):
                                cache.put(levels[i], self.n, counts[i], keys[i])
                        # the clock runs across blocks: a block shorter than the interval is flushed too
                        if cache is not None and time.monotonic() - tracker.last_flush >= self.flush_seconds:
                            flush()
                            tracker.last_flush = time.monotonic()
                    todo = [i for i in todo if not self._done(counts[i], h)]
        except BaseException as err:
            # Keep partial work of an interrupted run (Ctrl-C, SIGTERM, SystemExit, full disk): it
            # resumes from here next time. A second signal waits until the journal is written.
            if cache is not None:
                with deferred_signals(redeliver=False):
                    try:
                        flush()
                        log.info("oracle: progress saved (%d images of this call evaluated)",
                                 tracker.evaluated)
                    except Exception as save_err:  # e.g. the disk is full: the earlier journal stays
                        # when the error itself is the disk, its one message says it all
                        (log.info if isinstance(err, OSError) else log.warning)(
                            "oracle: could not save the latest progress: %s", save_err)
            raise

    def _correct_counts(self, levels: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Number of correctly classified images [start:stop) of D under each level (one batch)."""
        images = self.images[start:stop]
        noise = None if self.noise is None else self.noise[start:stop]
        distorted = self.space.apply(images, levels, noise)  # [L, m, C, H, W]; float64 levels, converted there
        n_levels, m = distorted.shape[:2]
        logits = self.engine(distorted.reshape(n_levels * m, *distorted.shape[2:]))
        hits = logits.argmax(1).reshape(n_levels, m) == self.labels[start:stop]
        self.images_evaluated += n_levels * m
        self.levels_evaluated += n_levels
        return hits.sum(1).cpu().numpy()


class _Tracker:
    """Progress of one oracle call against a stable total (images the call's levels still need)."""

    def __init__(self, oracle: Oracle, counts: list[Count], todo: list[int], h: float | None):
        self.oracle, self.counts, self.h = oracle, counts, h
        self.base = {i: counts[i].n_evaluated for i in todo}
        self.credited = dict.fromkeys(todo, 0)
        self.total = sum(oracle.n - b for b in self.base.values())
        self.start_images = oracle.images_evaluated
        self.last_flush = time.monotonic()
        self.bar: Any = None

    @property
    def evaluated(self) -> int:
        return self.oracle.images_evaluated - self.start_images

    def credit(self, i: int) -> None:
        count = self.counts[i]
        reached = self.oracle.n if self.oracle._done(count, self.h) else count.n_evaluated
        new = max(0, reached - self.base[i])
        if new > self.credited[i]:
            self.bar.update(new - self.credited[i])
            self.credited[i] = new
