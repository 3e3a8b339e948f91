"""Cost before it is spent: each expensive stage's size and a time estimate from a measured rate.

Two measurements, both cheap:

- the *image rate* of T on this machine: one batch of distorted images through the model, timed,
  never counted or cached (the dry run uses only this, so it evaluates no image of the oracle);
- a *pilot* before a grid is labelled: a seeded sample of its levels labelled for real (cached, so
  the grid reuses them), which also captures how much early stopping saves at this h.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .artifacts import ArtifactStore
from .console import format_count
from .space import test_levels, test_set_settings

log = logging.getLogger(__name__)

PILOT_LEVELS = 48
#: Seconds of GP fitting and acquisition per sampled level (measured by benchmarks/gp_overhead.py).
GP_SECONDS_PER_LEVEL = 0.08


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
    level = (oracle.box.lower + 0.5 * oracle.box.width).reshape(1, -1)
    best = float("inf")
    with oracle._inference():
        for _ in range(repeats):  # the first call warms up kernels
            start = time.perf_counter()
            distorted = oracle.space.apply(images, level, noise)
            batch = distorted.reshape(-1, *distorted.shape[2:]).contiguous(memory_format=torch.channels_last)
            oracle.model(batch).argmax(1)
            best = min(best, time.perf_counter() - start)
    return n / max(best, 1e-9)


def announce_grid(bundle, grid, store: ArtifactStore) -> float | None:
    """Log the test set's size and estimated time (from a pilot of its levels); return the estimate in seconds."""
    from .pipeline import grid_key

    levels = test_levels(bundle.box, **test_set_settings(grid))
    n_levels, n_images = len(levels), bundle.oracle.n
    size = f"grid: {format_count(n_levels)} levels x {format_count(n_images)} images <= " \
           f"{n_levels * n_images / 1e6:.1f} M images"
    if store.path("grid", grid_key(bundle, grid), "npz").is_file():
        log.info("%s; cached", size)
        return 0.0
    picks = np.random.default_rng(0).choice(n_levels, size=min(PILOT_LEVELS + 8, n_levels), replace=False)
    # The first call pays one-time costs (kernel set-up, allocator): warm up on 8 levels, time the rest.
    bundle.oracle.label(levels[picks[:8]], bundle.h)
    pilot = levels[picks[8:]] if len(picks) > 8 else levels[picks]
    before = bundle.oracle.images_evaluated
    start = time.perf_counter()
    bundle.oracle.label(pilot, bundle.h)
    seconds = time.perf_counter() - start
    read = bundle.oracle.images_evaluated - before
    if read == 0:  # the pilot came from the cache: fall back to the image rate, no early stopping
        estimate = n_levels * n_images / image_rate(bundle.oracle)
        log.info("%s; %s at most here; cached for reruns", size, duration(estimate))
        return estimate
    estimate = seconds * n_levels / len(pilot)
    share = read / (len(pilot) * n_images)
    log.info("%s; a pilot of %d levels read %.0f %% of their images in %.1f s -> %s here; cached for reruns",
             size, len(pilot), 100 * share, seconds, duration(estimate))
    return estimate


def announce_sampling(bundle, sampler: Any, label: str) -> float:
    """Log the sampler's size (budget x N images, exact f) and estimated time."""
    budget = int(getattr(sampler, "budget", 0))
    per_level = bundle.oracle.n / image_rate(bundle.oracle)
    overhead = GP_SECONDS_PER_LEVEL if label != "random" else 0.0
    estimate = budget * (per_level + overhead)
    log.info("sampler %s: %s levels x %s images = %.1f M images, %s here (less when cached)", label,
             format_count(budget), format_count(bundle.oracle.n), budget * bundle.oracle.n / 1e6, duration(estimate))
    return estimate


def print_plan(cfg, comp) -> dict[str, float]:
    """The dry run: load D and T, measure T's image rate, log every stage's size and time; evaluate nothing."""
    from .pipeline import build_oracle, grid_key

    bundle = build_oracle(cfg, comp)
    rate = image_rate(bundle.oracle)
    n_levels = len(test_levels(bundle.box, **test_set_settings(comp.settings.grid)))
    n = bundle.oracle.n
    store = ArtifactStore(Path(comp.settings.cache_dir) / "artifacts")
    grid_cached = store.path("grid", grid_key(bundle, comp.settings.grid), "npz").is_file()
    full = n_levels * n / rate
    budget = int(getattr(comp.sampler, "budget", 0))
    overhead = GP_SECONDS_PER_LEVEL if comp.labels["sampler"] != "random" else 0.0
    sampling = budget * (n / rate + overhead)
    log.info("plan (dry run, nothing evaluated): dataset=%s model=%s sampler=%s imbalance=%s seed=%s h=%s",
             comp.labels["dataset"], comp.labels["model"], comp.labels["sampler"], comp.labels["imbalance"],
             comp.settings.seed, comp.settings.h)
    log.info("  T: %s images/s here (distortion + forward, %s)", format_count(round(rate)), bundle.info["precision"])
    log.info("  grid: %s levels x %s images = %.1f M images: %s", format_count(n_levels), format_count(n),
             n_levels * n / 1e6, "cached" if grid_cached else
             f"{duration(full)} without early stopping, typically {duration(0.3 * full)} with it")
    log.info("  sampler: %s levels x %s images = %.1f M images: %s", format_count(budget), format_count(n),
             budget * n / 1e6, duration(sampling))
    log.info("  rebalancing and five predictors: seconds to a few minutes (ctgan/tvae/mesa the slowest)")
    return {"rate": rate, "grid_seconds": 0.0 if grid_cached else full, "sampling_seconds": sampling}
