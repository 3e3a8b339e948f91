"""The stages wired together: oracle -> grid and training set -> rebalancing -> predictors -> scores.

Each expensive stage output is an artifact keyed by the hash of exactly what determines it: the
grid by (oracle context, points per dimension, h), the training set R by (oracle context, sampler
config, seed, h). A Table-3 sweep therefore evaluates the grid and each R once, and a killed sweep
resumes where it stopped (the oracle additionally caches every level it evaluated).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from .artifacts import ArtifactStore, stable_hash
from .errors import ConfigError
from .oracle import Oracle
from .space import Box, check_threshold

log = logging.getLogger(__name__)
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose_config(overrides: list[str] | tuple[str, ...] = (), config_dir: str | Path | None = None) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra overrides, outside of ``@hydra.main`` (scripts, tests)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(Path(config_dir or CONF_DIR).resolve()), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def resolve_model_config(cfg: DictConfig) -> DictConfig:
    """``model: auto`` -> the dataset's ``default_model`` config, with any keys the user set on top."""
    model_cfg = cfg.model
    if model_cfg.get("name") != "auto":
        return model_cfg
    default = cfg.dataset.get("default_model")
    path = CONF_DIR / "model" / f"{default}.yaml"
    if not default or not path.is_file():
        raise ConfigError("dataset.default_model", default, "must name a config in conf/model/ when model=auto")
    user = OmegaConf.to_container(model_cfg, resolve=True)
    user.pop("name")
    return OmegaConf.merge(OmegaConf.load(path), user)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", device, "needs a CUDA GPU, but none is available (use device=cpu)")
    return torch.device(device)


@dataclass
class OracleBundle:
    """What the later stages need from stage one."""

    oracle: Oracle
    box: Box
    h: float
    clean_accuracy: float
    info: dict = field(default_factory=dict)


def build_oracle(cfg: DictConfig) -> OracleBundle:
    """Load D, T and the distortion space named by ``cfg`` and return the (cached) oracle f(c)."""
    from . import data, models
    from .distortions import DistortionSpace

    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    h = check_threshold(cfg.h)
    device = resolve_device(str(cfg.device))
    ds = OmegaConf.to_container(cfg.dataset, resolve=True)
    vset = data.verification_set_from_config(ds, data_dir=cfg.data_dir, seed=int(cfg.get("data_seed", 0)))
    model_cfg = OmegaConf.to_container(resolve_model_config(cfg), resolve=True)
    model_name = model_cfg.pop("name")
    model = models.load_model(model_name, dataset=ds["name"], data_dir=cfg.data_dir, cache_dir=cfg.cache_dir,
                              device=device, seed=int(cfg.get("model_seed", 0)), progress=bool(cfg.progress),
                              dataset_options=data.loader_options(ds), **model_cfg)
    space = DistortionSpace.from_config(OmegaConf.to_container(cfg.distortion, resolve=True))
    oc = cfg.oracle
    oracle = Oracle(model.module, vset.images, vset.labels, space,
                    context={"dataset": vset.spec, "model": {"name": model.name, "fingerprint": model.fingerprint}},
                    cache_dir=cfg.cache_dir, batch_size=oc.batch_size, precision=oc.precision,
                    chunk_size=oc.chunk_size, noise_seed=oc.noise_seed, device=device, progress=bool(cfg.progress))
    clean = oracle.clean_accuracy()
    info = {"dataset": ds["name"], "model": model.name, "n_verification": oracle.n, "device": str(device),
            "precision": oc.precision, "clean_accuracy": clean}
    return OracleBundle(oracle=oracle, box=space.box, h=h, clean_accuracy=clean, info=info)


@dataclass
class Grid:
    """The test set R': grid levels (natural units) and their labels I[f >= h]."""

    levels: np.ndarray
    labels: np.ndarray
    seconds: float = 0.0

    @property
    def n_positive(self) -> int:
        return int(self.labels.sum())

    @property
    def n_negative(self) -> int:
        return int(len(self.labels) - self.labels.sum())


def build_grid(bundle: OracleBundle, points_per_dim: int, store: ArtifactStore) -> Grid:
    """Label every grid level with the oracle (early stopping), cached per (D, T, C, h, grid size)."""
    key = stable_hash({"oracle": bundle.oracle.context_key, "points_per_dim": int(points_per_dim), "h": bundle.h})
    cached = store.get_arrays("grid", key)
    if cached is not None:
        arrays, meta = cached
        return Grid(arrays["levels"], arrays["labels"].astype(bool), float(meta.get("seconds", 0.0)))
    levels = bundle.box.grid(points_per_dim)
    start = time.perf_counter()
    labels = bundle.oracle.label(levels, bundle.h)
    seconds = time.perf_counter() - start
    store.put_arrays("grid", key, meta={"seconds": seconds, "h": bundle.h, "points_per_dim": int(points_per_dim)},
                     levels=levels, labels=labels)
    return Grid(levels, labels, seconds)


def make_sampler_from_config(sampler_cfg: dict):
    """The sampler a resolved ``cfg.sampler`` mapping describes (bad settings raise ConfigError)."""
    from .sampling import make_sampler

    params = dict(sampler_cfg)
    return make_sampler(params.pop("name"), **params)


def build_training_set(bundle: OracleBundle, sampler_cfg: dict, seed: int, store: ArtifactStore, sampler=None):
    """Run the sampler against the oracle: R = {c_t, f(c_t)}, cached per (oracle, sampler config, seed, h).

    ``sampler`` is the one ``sampler_cfg`` describes, when the caller has already built it.
    """
    from .sampling import SampleResult

    # progress only changes what is printed, so it stays out of the key
    spec = {k: v for k, v in sampler_cfg.items() if k != "progress"}
    key = stable_hash({"oracle": bundle.oracle.context_key, "sampler": spec, "seed": seed, "h": bundle.h})
    cached = store.get_arrays("training_set", key)
    if cached is not None:
        arrays, meta = cached
        return SampleResult(levels=arrays["levels"], values=arrays["values"], labels=arrays["labels"].astype(bool),
                            h=bundle.h, oracle_seconds=meta["oracle_seconds"], sampler_seconds=meta["sampler_seconds"])
    if sampler is None:
        sampler = make_sampler_from_config(sampler_cfg)
    result = sampler.sample(bundle.oracle, bundle.box, bundle.h, seed)
    store.put_arrays("training_set", key, meta={"oracle_seconds": result.oracle_seconds,
                                                "sampler_seconds": result.sampler_seconds},
                     levels=result.levels, values=result.values, labels=result.labels)
    return result


def build_method_and_predictors(cfg: DictConfig, h: float, seed: int):
    """The configured imbalance method and predictors (cheap: run first, so bad names fail fast)."""
    from .imbalance import make_method
    from .predictors import make_predictors

    imb = OmegaConf.to_container(cfg.imbalance, resolve=True)
    method = make_method(imb.pop("name"), **imb)
    predictors = make_predictors(OmegaConf.to_container(cfg.predictors, resolve=True), seed=seed, h=h)
    return method, predictors


def fit_and_score(method, predictors, box: Box, training, grid: Grid, seed: int):
    """Rebalance R with ``method``, fit ``predictors``, score F1 etc. on the grid."""
    from .predictors import score_predictors

    fitted = method.fit_predictors(box.to_unit(training.levels), training.labels, training.values, predictors, seed)
    return score_predictors(fitted, box.to_unit(grid.levels), grid.labels)


def run(cfg: DictConfig, output_dir: str | Path | None = None) -> dict[str, Any]:
    """One job: oracle, grid, training set, rebalancing, predictors, scores. Returns a summary dict."""
    from .errors import CannotRebalanceError

    t0 = time.perf_counter()
    # Build the cheap stages before the expensive ones: a typo in sampler.*, imbalance.* or
    # predictors.* must not cost a grid labelling first.
    seed = int(cfg.seed)
    method, predictors = build_method_and_predictors(cfg, check_threshold(cfg.h), seed)
    sampler_cfg = OmegaConf.to_container(cfg.sampler, resolve=True)
    sampler = make_sampler_from_config(sampler_cfg)
    store = ArtifactStore(Path(cfg.cache_dir) / "artifacts")
    bundle = build_oracle(cfg)
    print(f"[oracle] {bundle.info['dataset']} / {bundle.info['model']}: clean accuracy on D "
          f"(N={bundle.oracle.n}) = {bundle.clean_accuracy:.4f}, h = {bundle.h}")
    grid = build_grid(bundle, int(cfg.grid.points_per_dim), store)
    print(f"[grid] {len(grid.levels)} levels: {grid.n_positive} positive, {grid.n_negative} negative "
          f"({grid.seconds:.1f} s to label)")
    summary: dict[str, Any] = {**bundle.info, "h": bundle.h, "grid_positive": grid.n_positive,
                               "grid_negative": grid.n_negative}
    training = build_training_set(bundle, sampler_cfg, seed, store, sampler=sampler)
    print(f"[sampler] {sampler_cfg['name']}: {len(training.levels)} levels, {training.n_positive} positive "
          f"(oracle {training.oracle_seconds:.1f} s, sampler overhead {training.sampler_seconds:.1f} s)")
    summary["n_positive_sampled"] = training.n_positive
    try:
        scores = fit_and_score(method, predictors, bundle.box, training, grid, seed)
    except CannotRebalanceError as err:
        print(f"[imbalance] skipped: {err}")
        summary["skipped"] = str(err)
        scores = None
    if scores is not None:
        print(scores.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        summary.update({f"f1_{name}": float(v) for name, v in zip(scores["predictor"], scores["f1"])})
        if output_dir is not None:
            Path(output_dir).mkdir(parents=True, exist_ok=True)
            scores.to_csv(Path(output_dir) / "scores.csv", index=False)
    summary["oracle_images_evaluated"] = bundle.oracle.images_evaluated  # 0 when everything came from cache
    summary["wall_seconds"] = time.perf_counter() - t0
    return summary
