"""The small CNN trained on the fly: seeded training, cached in the ArtifactStore (kind ``model``).

Training settings come from ``conf/model/small_cnn.yaml`` only; this module validates them and
never fills in defaults of its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ..artifacts import ArtifactStore, probe_writable, stable_hash
from ..console import progress_bar
from ..errors import ConfigError
from ..threads import fixed_threads
from .architectures import Classifier
from .loading import state_sha256

log = logging.getLogger(__name__)

#: ArtifactStore kind of trained models.
KIND = "model"
#: Bump when a change to the small CNN or its training changes the trained weights (it keys the cache).
SMALL_CNN_VERSION = 2
TRAIN_KEYS = ("epochs", "lr", "batch_size", "weight_decay", "max_train_images", "threads")


class TrainingCount:
    """Optimiser steps taken by :func:`train_small_cnn` in this process (a dry run must leave it unchanged)."""

    batches = 0


#: The plan of the enclosing :func:`planning` block, or None when models are really trained.
_PLAN: contextvars.ContextVar[dict | None] = contextvars.ContextVar("training_plan", default=None)


@contextlib.contextmanager
def planning() -> Iterator[dict]:
    """Inside this block :func:`cached_training` trains nothing (a dry run).

    A cached model is loaded as usual; an uncached one comes back untrained (the right architecture,
    for timing T), and the yielded dict gets ``train_seconds``: epochs x batches per epoch x the time
    of one training batch, timed on a throwaway copy after one warm-up batch.
    """
    plan: dict = {"train_seconds": None}
    token = _PLAN.set(plan)
    try:
        yield plan
    finally:
        _PLAN.reset(token)


def _is_int(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, np.integer))


def check_train_config(train: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validated copy of a ``train`` mapping with exactly :data:`TRAIN_KEYS` (errors name ``model.train.<key>``)."""
    if not isinstance(train, Mapping):
        raise ConfigError("model.train", train, f"must be a mapping with {', '.join(TRAIN_KEYS)}")
    unknown = sorted(set(train) - set(TRAIN_KEYS))
    if unknown:
        raise ConfigError(f"model.train.{unknown[0]}", train[unknown[0]], f"is not a training setting ({', '.join(TRAIN_KEYS)})")
    missing = [k for k in TRAIN_KEYS if k not in train]
    if missing:
        raise ConfigError(f"model.train.{missing[0]}", None, "must be set (conf/model/small_cnn.yaml holds the defaults)")
    cfg = dict(train)
    for key in ("epochs", "batch_size", "threads"):
        if not _is_int(cfg[key]) or cfg[key] < 1:
            raise ConfigError(f"model.train.{key}", cfg[key], "must be a positive integer")
    for key, zero_ok in (("lr", False), ("weight_decay", True)):
        v = cfg[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0 or (v == 0 and not zero_ok):
            raise ConfigError(f"model.train.{key}", v, "must be a finite number " + (">= 0" if zero_ok else "> 0"))
    m = cfg["max_train_images"]
    if m is not None and (not _is_int(m) or m < 1):
        raise ConfigError("model.train.max_train_images", m, "must be a positive integer or null")
    return {"epochs": int(cfg["epochs"]), "lr": float(cfg["lr"]), "batch_size": int(cfg["batch_size"]),
            "weight_decay": float(cfg["weight_decay"]), "max_train_images": None if m is None else int(m),
            "threads": int(cfg["threads"])}


def train_small_cnn(module: Classifier, images: torch.Tensor, labels: torch.Tensor, train: Mapping[str, Any],
                    seed: int = 0, progress: bool = True, fit_normalize: bool = True) -> Classifier:
    """Fit ``module`` (a :class:`Classifier` with a Normalize layer) with Adam and cross-entropy, seeded.

    With ``fit_normalize`` the Normalize buffers are first set to the training images' per-channel
    mean and std. Returns the module in eval mode. Runs on ``train["threads"]`` torch threads whatever
    the caller's count: sums in another order train other weights (digits, seed 0: up to 0.15 apart on
    2 threads than on 1), so a fixed count gives one model per seed on a CPU kind; another CPU kind
    (AVX2-only vs AVX-512 kernels) still trains another.
    """
    cfg = check_train_config(train)
    if images.shape[0] != labels.shape[0] or images.shape[0] == 0:
        raise ConfigError("training images", tuple(images.shape), f"must be non-empty and match {tuple(labels.shape)} labels")
    with fixed_threads(cfg["threads"]):
        _fit(module, images, labels, cfg, seed, progress, fit_normalize)
    return module.eval()


def _fit(module: Classifier, images: torch.Tensor, labels: torch.Tensor, cfg: Mapping[str, Any], seed: int,
         progress: bool, fit_normalize: bool) -> None:
    if fit_normalize:
        with torch.no_grad():
            module.normalize.mean.copy_(images.mean(dim=(0, 2, 3)).view_as(module.normalize.mean))
            module.normalize.std.copy_(images.std(dim=(0, 2, 3)).clamp_min(1e-3).view_as(module.normalize.std))
    generator = torch.Generator().manual_seed(int(seed))
    optimizer = torch.optim.Adam(module.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n = images.shape[0]
    module.train()
    with progress_bar(cfg["epochs"], "train small_cnn", unit="epoch", enabled=progress) as bar:
        for _ in range(cfg["epochs"]):
            order = torch.randperm(n, generator=generator)
            total, seen = 0.0, 0
            for start in range(0, n, cfg["batch_size"]):
                idx = order[start : start + cfg["batch_size"]]
                if idx.numel() < 2:  # BatchNorm cannot train on a batch of one
                    continue
                loss = F.cross_entropy(module(images[idx]), labels[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                TrainingCount.batches += 1
                total, seen = total + float(loss.detach()) * idx.numel(), seen + idx.numel()
            bar.set_postfix(loss=round(total / max(seen, 1), 4))
            bar.update(1)


def _data_fingerprint(data: Any) -> str:
    fp = getattr(data, "fingerprint", None)
    if fp:
        return str(fp)
    digest = hashlib.sha256()
    for t in (data.images, data.labels):
        t = t.detach().cpu().contiguous()
        digest.update(f"{tuple(t.shape)}:{t.dtype}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def _train_data(dataset: Any, max_images: int | None, seed: int) -> Any:
    train_set = getattr(dataset, "train_set", None)
    if not callable(train_set):
        raise ConfigError("model.checkpoint", None, f"must be set: dataset {getattr(dataset, 'name', dataset)!r} "
                          "offers no training images (train_set) to train the small CNN on")
    return train_set(max_images=max_images, seed=seed)


def cached_training(make_module: Callable[[], Classifier], dataset: Any, train: Mapping[str, Any], seed: int,
                    cache_dir: str | Path, arch: Mapping[str, Any], progress: bool = True,
                    fit_normalize: bool = True) -> tuple[Classifier, str, dict]:
    """Train ``make_module()`` on ``dataset.train_set`` once per (data, arch, training config, seed).

    Returns ``(module, fingerprint, spec)``. The weights are cached as arrays under
    ``<cache_dir>/model/<key>.npz`` (ArtifactStore, checksummed); a corrupted or foreign cache file is
    retrained and replaced.
    ``dataset.train_fingerprint(max_images=, seed=)``, when the dataset has it, keys the cache
    without loading the training images.
    """
    cfg = check_train_config(train)
    probe = make_module()
    size = sum(t.numel() * t.element_size() for t in probe.state_dict().values())
    # An unwritable or full cache fails now, in one line, not after training.
    store = ArtifactStore(probe_writable(cache_dir, "cache_dir", min_free_bytes=2 * size + (1 << 20)))
    data = None
    cheap = getattr(dataset, "train_fingerprint", None)
    if callable(cheap):
        data_fp = str(cheap(max_images=cfg["max_train_images"], seed=seed))
    else:
        data = _train_data(dataset, cfg["max_train_images"], seed)
        data_fp = _data_fingerprint(data)
    # One thread keys as before threads was a setting, so the models trained so far keep their keys.
    keyed = {k: v for k, v in cfg.items() if not (k == "threads" and v == 1)}
    spec = {"arch": dict(arch), "version": SMALL_CNN_VERSION, "train": keyed, "seed": int(seed),
            "dataset": str(getattr(dataset, "name", "")), "data": data_fp}
    key = stable_hash(spec, length=24)

    def load() -> tuple[Classifier, str] | None:
        cached = store.get_arrays(KIND, key)
        if cached is None:
            return None
        arrays, meta = cached
        module = make_module()
        try:
            module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}, strict=True)
            return module.eval(), str(meta["fingerprint"])
        except (RuntimeError, KeyError) as exc:  # written by another version of the code: retrain
            log.warning("cached model %s does not fit (%s); retraining", store.path(KIND, key, "npz"), exc)
            return None

    def compute() -> tuple[Classifier, str]:
        train_data = data if data is not None else _train_data(dataset, cfg["max_train_images"], seed)
        log.info("training small_cnn on %s: %d images, %d epochs (cached as %s)", spec["dataset"],
                 len(train_data.labels), cfg["epochs"], store.path(KIND, key, "npz"))
        # Seed the initialisation without disturbing the caller's global RNG.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            module = make_module()
        train_small_cnn(module, train_data.images, train_data.labels, cfg, seed=seed, progress=progress,
                        fit_normalize=fit_normalize)
        state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
        fingerprint = state_sha256(state, spec)
        try:
            store.put_arrays(KIND, key, meta={"fingerprint": fingerprint, "spec": spec},
                             **{k: v.numpy() for k, v in state.items()})
        except OSError as exc:  # the model is trained: use it even if it cannot be cached
            log.warning("could not cache the trained model: %s", exc)
        return module, fingerprint

    plan = _PLAN.get()
    if plan is not None:  # a dry run: load a cached model, else time two batches and train nothing
        found = load()
        if found is not None:
            return found[0], found[1], spec
        train_data = data if data is not None else _train_data(dataset, cfg["max_train_images"], seed)
        plan["train_seconds"] = _estimated_training_seconds(make_module, train_data, cfg)
        return make_module().eval(), f"untrained:{key}", spec
    # compute_once: parallel jobs needing the same model train it once; the others wait and load it.
    module, fingerprint = store.compute_once(KIND, key, compute, load)
    return module, fingerprint, spec


def _estimated_training_seconds(make_module: Callable[[], Classifier], data: Any, cfg: Mapping[str, Any]) -> float:
    """Seconds :func:`train_small_cnn` would take: one warm-up and one timed batch on a throwaway module."""
    module = make_module().train()
    optimizer = torch.optim.Adam(module.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n, size = len(data.labels), min(cfg["batch_size"], len(data.labels))
    seconds = 0.0
    with fixed_threads(cfg["threads"]):  # timed on the threads it will train on
        for _ in range(2):  # the first batch pays one-time kernel set-up
            start = time.perf_counter()
            loss = F.cross_entropy(module(data.images[:size]), data.labels[:size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seconds = time.perf_counter() - start
    return seconds * math.ceil(n / cfg["batch_size"]) * cfg["epochs"]
