"""The stages wired together: oracle -> grid and training set -> rebalancing -> predictors -> scores.

Every group is built from its YAML's ``_target_`` with ``hydra.utils.instantiate`` (no name
registries): the cheap objects first (:func:`build_components`), so a typo costs nothing, then the
expensive stages. Each expensive output is an artifact keyed by the hash of exactly what determines
it: the grid by (oracle context, points per dimension, h), the training set R by (oracle context,
sampler settings except the budget, seed, h). Sampler paths do not depend on the budget, so a
smaller budget reads a prefix of a stored run and a larger one continues it.
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
from .config import GROUPS, compose_config, conf_dir, resolve_model_config, validate
from .console import format_count
from .errors import CannotRebalanceError, ConfigError, DistortionReliabilityError
from .space import Box, test_levels, test_set_notice, test_set_settings, test_set_spec

log = logging.getLogger(__name__)
CONF_DIR = conf_dir()

__all__ = ["CONF_DIR", "Components", "OracleBundle", "Grid", "build_components", "build_oracle", "build_grid",
           "build_training_set", "compose_config", "instantiate_group", "resolve_model_config", "run"]


# --------------------------------------------------------------------------- construction by config


def group_label(cfg: DictConfig, group: str) -> str:
    """The option chosen for ``group`` (``gp_sqrt``, ``smote_gp``): Hydra's choice, else the YAML's ``name``."""
    try:
        from hydra.core.hydra_config import HydraConfig

        choice = HydraConfig.get().runtime.choices.get(group)
    except ValueError:  # not inside a Hydra app
        choice = OmegaConf.select(cfg, f"hydra.runtime.choices.{group}", default=None)
    name = cfg[group].get("name") if isinstance(cfg[group], DictConfig) else None
    if group == "model" and choice in (None, "auto"):
        return str(name)
    return str(choice or name)


def instantiate_group(node: DictConfig, group: str, **runtime: Any) -> Any:
    """``hydra.utils.instantiate`` of one group's node without its ``name`` label.

    Bad settings (an unknown key, a value the class refuses) become one ConfigError naming the
    group, so the entry point prints one ``error:`` line instead of Hydra's nested traceback.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    if "_target_" not in node:
        raise ConfigError(f"{group}._target_", None, "must name the class or function that builds this group")
    spec = OmegaConf.create(OmegaConf.to_container(node, resolve=True))
    spec.pop("name", None)
    try:
        return instantiate(spec, **runtime)
    except InstantiationException as err:
        cause: BaseException = err
        while cause.__cause__ is not None:  # nested nodes (ops, resamplers) wrap one level each
            if isinstance(cause, DistortionReliabilityError):
                break
            cause = cause.__cause__
        if isinstance(cause, DistortionReliabilityError):
            raise cause from None
        detail = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise ConfigError(group, node.get("name", node.get("_target_")), f"cannot be built: {detail}") from None
    except DistortionReliabilityError:
        raise


@dataclass
class Components:
    """The cheap objects of one job, built (and so validated) before any expensive stage."""

    settings: Any                # config.RootSchema
    dataset: Any
    space: Any                   # DistortionSpace
    model_cfg: DictConfig        # resolved model config (model: auto applied)
    model_factory: Any
    sampler: Any
    method: Any
    predictors: dict[str, Any]
    labels: dict[str, str]       # the chosen option of each group (for tags and messages)


def build_components(cfg: DictConfig) -> Components:
    """Validate the root keys, then build every group's object from its ``_target_`` (no I/O)."""
    from .predictors import build_predictors

    settings = validate(cfg)
    data_dir = str(Path(settings.data_dir).expanduser().resolve())
    dataset = instantiate_group(cfg.dataset, "dataset", data_dir=data_dir)
    space = instantiate_group(cfg.distortion, "distortion")
    model_cfg = resolve_model_config(cfg)
    model_factory = instantiate_group(model_cfg, "model")
    from .models import check_factory

    check_factory(model_factory)  # a misspelt or unset model key fails here, before any data is read
    sampler = instantiate_group(cfg.sampler, "sampler")
    method = instantiate_group(cfg.imbalance, "imbalance")
    try:
        predictors = build_predictors(cfg.predictors)
    except DistortionReliabilityError:
        raise
    except Exception as err:  # noqa: BLE001 - a bad predictor setting, said in one line
        raise ConfigError("predictors", cfg.predictors.get("name"), f"cannot be built: {err}") from None
    labels = {group: group_label(cfg, group) for group in GROUPS}
    labels["model"] = str(model_cfg.get("name"))
    return Components(settings, dataset, space, model_cfg, model_factory, sampler, method, predictors, labels)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", device, "needs a CUDA GPU, but none is available (use device=cpu)")
    return torch.device(device)


# --------------------------------------------------------------------------- stage 1: the oracle


@dataclass
class OracleBundle:
    """What the later stages need from stage one."""

    oracle: Any
    box: Box
    h: float
    clean_accuracy: float
    space: Any = None
    info: dict = field(default_factory=dict)


def build_oracle(cfg: DictConfig, components: Components | None = None) -> OracleBundle:
    """Load D and T, and return the (cached) oracle f(c) over the configured distortion space."""
    from .oracle import Oracle

    comp = components or build_components(cfg)
    settings = comp.settings
    device = resolve_device(settings.device)
    vset = comp.dataset.verification_set(seed=settings.data_seed)
    loaded = comp.model_factory(dataset=comp.dataset, cache_dir=settings.cache_dir, device=device,
                                progress=settings.progress)
    oc = settings.oracle
    oracle = Oracle(loaded.module, vset.images, vset.labels, comp.space,
                    context={"dataset": vset.spec, "model": {"name": loaded.name, "fingerprint": loaded.fingerprint}},
                    cache_dir=settings.cache_dir, batch_size=oc.batch_size, precision=oc.precision,
                    chunk_size=oc.chunk_size, noise_seed=oc.noise_seed, device=device, progress=settings.progress)
    clean = oracle.clean_accuracy()
    info = {"dataset": comp.labels["dataset"], "model": comp.labels["model"], "n_verification": oracle.n,
            "device": str(device), "precision": oc.precision, "clean_accuracy": clean}
    return OracleBundle(oracle=oracle, box=comp.space.box, h=float(settings.h), clean_accuracy=clean,
                        space=comp.space, info=info)


# --------------------------------------------------------------------------- stage 2: grid and training set


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


def grid_key(bundle: OracleBundle, grid) -> str:
    """Cache key of the labelled test set: (D, T, C, h, its levels' spec); ``grid`` as in :func:`build_grid`."""
    spec = test_set_spec(bundle.box, **test_set_settings(grid))
    return stable_hash({"oracle": bundle.oracle.context_key, **spec, "h": bundle.h})


def build_grid(bundle: OracleBundle, grid, store: ArtifactStore) -> Grid:
    """Label every test level with the oracle (early stopping), cached per (D, T, C, h, test set).

    ``grid`` is the ``grid.*`` settings (or just ``points_per_dim``, the factorial grid): the test
    set is :func:`space.test_levels` -- the grid, or a scrambled Sobol set beyond ``grid.size``.
    """
    settings = test_set_settings(grid)
    key = grid_key(bundle, grid)
    if notice := test_set_notice(bundle.box.d, **settings):
        log.info(notice)

    def load():
        cached = store.get_arrays("grid", key)
        if cached is None:
            return None
        arrays, meta = cached
        return Grid(arrays["levels"], arrays["labels"].astype(bool), float(meta.get("seconds", 0.0)))

    def compute():
        levels = test_levels(bundle.box, **settings)
        start = time.perf_counter()
        labels = bundle.oracle.label(levels, bundle.h)
        seconds = time.perf_counter() - start
        store.put_arrays("grid", key, meta={"seconds": seconds, "h": bundle.h, **settings},
                         levels=levels, labels=labels)
        return Grid(levels, labels, seconds)

    # No claim around the whole grid: jobs that share it split its blocks inside the oracle instead
    # of one labelling while the others wait.
    return load() or compute()


def _sampler_spec(sampler_cfg: DictConfig) -> dict:
    """What determines a sampler's path: its settings minus the budget (paths are budget-free) and progress."""
    spec = OmegaConf.to_container(sampler_cfg, resolve=True)
    for key in ("budget", "progress", "name"):
        spec.pop(key, None)
    return spec


def _result_from_arrays(arrays: dict, meta: dict, h: float):
    from .sampling import SampleResult

    return SampleResult(levels=arrays["levels"], values=arrays["values"], labels=arrays["labels"].astype(bool), h=h,
                        oracle_seconds=float(meta.get("oracle_seconds", 0.0)),
                        sampler_seconds=float(meta.get("sampler_seconds", 0.0)), state=meta.get("state"))


def _prefix(result, budget: int):
    """The first ``budget`` levels of a stored run (a smaller budget's exact run: paths are budget-free)."""
    import dataclasses

    if len(result.levels) == budget:
        return result
    share = budget / max(len(result.levels), 1)
    changes = {"levels": result.levels[:budget], "values": result.values[:budget], "labels": result.labels[:budget],
               "oracle_seconds": result.oracle_seconds * share, "sampler_seconds": result.sampler_seconds * share}
    for name in ("acquisition_values", "step_seconds"):
        arr = getattr(result, name, None)
        if isinstance(arr, np.ndarray) and len(arr) > budget:
            changes[name] = arr[:budget]
    return dataclasses.replace(result, **changes)


def build_training_set(bundle: OracleBundle, sampler, sampler_cfg: DictConfig, seed: int, store: ArtifactStore):
    """Run the sampler against the oracle: R = {c_t, f(c_t)}, cached per (oracle, sampler, seed, h).

    A stored run at least as long as the budget is cut to it; a shorter or interrupted one is
    continued (``resume``), so Figure 6's budgets and an extended study share one run per seed.
    """
    budget = int(sampler.budget)
    key = stable_hash({"oracle": bundle.oracle.context_key, "sampler": _sampler_spec(sampler_cfg), "seed": seed,
                       "h": bundle.h})

    def load():
        cached = store.get_arrays("training_set", key)
        return None if cached is None else _result_from_arrays(*cached, h=bundle.h)

    def save(result, complete: bool) -> None:
        meta = {"oracle_seconds": result.oracle_seconds, "sampler_seconds": result.sampler_seconds,
                "complete": complete}
        state = getattr(result, "state", None)
        if state is not None:
            meta["state"] = state
        store.put_arrays("training_set", key, meta=meta, levels=result.levels, values=result.values,
                         labels=result.labels)

    def load_enough():
        stored = load()
        return _prefix(stored, budget) if stored is not None and len(stored.levels) >= budget else None

    def compute():
        stored = load()
        if stored is not None:
            log.info("sampler: continuing a stored run of %s levels to %s", format_count(len(stored.levels)),
                     format_count(budget))
        last_save = [time.monotonic()]

        def on_progress(partial) -> None:
            # Persist the run every few seconds, so a killed job continues instead of starting over.
            if time.monotonic() - last_save[0] >= 5.0:
                last_save[0] = time.monotonic()
                longest = load()
                if longest is None or len(longest.levels) < len(partial.levels):
                    save(partial, complete=False)

        result = sampler.sample(bundle.oracle, bundle.box, bundle.h, seed, resume=stored, on_progress=on_progress)
        longest = load()
        if longest is None or len(longest.levels) <= len(result.levels):
            save(result, complete=True)
        return result

    # While another live job samples the same R, wait for it and reuse (or continue) its run.
    return store.compute_once("training_set", key, compute, load_enough)


# --------------------------------------------------------------------------- stage 3: rebalance, fit, score


def fit_and_score(method, predictors: dict, box: Box, training, grid: Grid, seed: int):
    """Rebalance R with ``method``, fit ``predictors`` on R*, score F1 etc. on the grid."""
    from .scoring import score_predictors

    fitted = method.fit_predictors(box.to_unit(training.levels), training.labels, training.values, predictors, seed)
    return fitted, score_predictors(fitted, box.to_unit(grid.levels), grid.labels)


def _frame(levels: np.ndarray, names, **columns):
    import pandas as pd

    frame = pd.DataFrame(np.asarray(levels, dtype=float), columns=list(names))
    for name, values in columns.items():
        frame[name] = np.asarray(values)
    return frame


def _space_dict(space, box: Box) -> dict:
    identity = getattr(space, "identity", None)
    return {"names": list(box.names), "lower": box.lower.tolist(), "upper": box.upper.tolist(),
            "identity": None if identity is None else np.asarray(identity, dtype=float).tolist()}


def budgets_for(budget: int, step: int = 100) -> list[int]:
    """The Figure-6 budgets logged as ``n_positive_at_<B>``: every ``step`` up to the budget, and the budget."""
    points = list(range(step, budget + 1, step))
    if not points or points[-1] != budget:
        points.append(budget)
    return points


def run(cfg: DictConfig, output_dir: str | Path | None = None):
    """One job: oracle, grid, training set, rebalancing, predictors, scores -> a ``JobResult``."""
    from .advice import explain_few_positives, grid_warning
    from .tracking.result import JobResult

    t0 = time.perf_counter()
    comp = build_components(cfg)
    settings = comp.settings
    seed = int(settings.seed)
    store = ArtifactStore(Path(settings.cache_dir) / "artifacts")
    _probe_cache(settings.cache_dir)
    if settings.dry_run:
        from .estimate import print_plan

        print_plan(cfg, comp)
        return JobResult(summary={"dry_run": 1}, skipped="dry run", tags=_tags(comp))
    log.info("job: dataset=%s model=%s sampler=%s imbalance=%s seed=%d h=%s", comp.labels["dataset"],
             comp.labels["model"], comp.labels["sampler"], comp.labels["imbalance"], seed, settings.h)

    timings: dict[str, float] = {}
    bundle = build_oracle(cfg, comp)
    log.info("oracle: %s / %s, clean accuracy on D (N=%s) = %.4f, h = %s", bundle.info["dataset"],
             bundle.info["model"], format_count(bundle.oracle.n), bundle.clean_accuracy, bundle.h)

    from .estimate import announce_grid, announce_sampling

    announce_grid(bundle, settings.grid, store)
    start = time.perf_counter()
    grid = build_grid(bundle, settings.grid, store)
    timings["seconds_oracle_grid"] = time.perf_counter() - start
    log.info("grid: %s levels, %s positive, %s negative", format_count(len(grid.levels)),
             format_count(grid.n_positive), format_count(grid.n_negative))
    warning = grid_warning(grid)
    if warning:
        log.warning(warning)

    announce_sampling(bundle, comp.sampler, comp.labels["sampler"])
    start = time.perf_counter()
    training = build_training_set(bundle, comp.sampler, cfg.sampler, seed, store)
    timings["seconds_sampling"] = time.perf_counter() - start
    timings["seconds_gp_overhead"] = float(training.sampler_seconds)
    log.info("sampler: %s, %s levels, %s positive (oracle %.1f s, sampler overhead %.1f s)", comp.labels["sampler"],
             format_count(len(training.levels)), format_count(training.n_positive), training.oracle_seconds,
             training.sampler_seconds)

    names = list(bundle.box.names)
    summary: dict[str, Any] = {
        "clean_accuracy": bundle.clean_accuracy, "grid_positive": grid.n_positive,
        "grid_negative": grid.n_negative, "n_positive_sampled": training.n_positive,
        "n_sampled": len(training.levels), "n_verification": int(bundle.oracle.n),
        # what labelling the grid cost when it was labelled (this job may have read it from the cache)
        "seconds_grid_labelling": float(grid.seconds),
    }
    for b in budgets_for(len(training.levels)):
        summary[f"n_positive_at_{b}"] = int(np.count_nonzero(training.labels[:b]))
    result = JobResult(summary=summary, space=_space_dict(comp.space, bundle.box), tags=_tags(comp),
                       training=_frame(training.levels, names, f=training.values, label=training.labels.astype(int)))
    advice = explain_few_positives(training, bundle.h, comp.labels["sampler"], bundle.box)
    try:
        fitted, scores = fit_and_score(comp.method, comp.predictors, bundle.box, training, grid, seed)
    except CannotRebalanceError as err:
        result.skipped = str(err)
        log.warning("imbalance: skipped: %s", err)
        fitted, scores = None, None
    if advice:
        for line in advice:
            log.warning(line)
    if scores is not None:
        _record_scores(result, scores, fitted, comp, bundle.box, names)
        # The tracker writes scores.csv and the other result files (tracking.result's run layout).
        log.info("F1 on the grid:\n%s", scores.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    elif output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "skipped.txt").write_text(f"{result.skipped}\n" + "".join(f"{a}\n" for a in advice))
    stats = getattr(comp.method, "stats_", None) or {}
    timings["seconds_rebalancing"] = float(stats.get("rebalance_seconds") or 0.0)
    timings["seconds_predictors"] = float(stats.get("predictors_seconds") or 0.0)
    summary.update(timings)
    summary["oracle_images_evaluated"] = int(bundle.oracle.images_evaluated)  # 0 when all came from cache
    summary["wall_seconds"] = time.perf_counter() - t0
    if settings.report and output_dir is not None and not _in_multirun():
        # After the summary: the map's oracle work is not the job's (and is cached for the next map).
        _draw_reliability_report(bundle, comp, training, fitted, grid, Path(output_dir) / "reliability")
    return result


def _tags(comp: Components) -> dict[str, str]:
    return {"dataset": comp.labels["dataset"], "model": comp.labels["model"], "sampler": comp.labels["sampler"],
            "imbalance": comp.labels["imbalance"], "seed": str(int(comp.settings.seed)), "h": str(comp.settings.h),
            "study": str(comp.settings.study or "")}


def _record_scores(result, scores, fitted, comp: Components, box: Box, names) -> None:
    summary = result.summary
    for row in scores.itertuples(index=False):
        for metric in ("f1", "precision", "recall", "balanced_accuracy"):
            summary[f"{metric}_{row.predictor}"] = float(getattr(row, metric))
    result.scores = scores.loc[:, ["predictor", "f1", "precision", "recall", "balanced_accuracy"]]
    result.fitted = dict(fitted)
    stats = getattr(comp.method, "stats_", None) or {}
    for key in ("n_synthetic_proposed", "n_synthetic_kept"):
        if stats.get(key) is not None:
            summary[key] = int(stats[key])
    if stats.get("rebalanced_X_unit") is not None:
        mask = np.asarray(stats.get("synthetic_mask"), dtype=bool)
        result.rebalanced = _frame(box.from_unit(np.asarray(stats["rebalanced_X_unit"])), names,
                                   label=np.asarray(stats["rebalanced_y"]).astype(int),
                                   origin=np.where(mask, "synthetic", "real"))
    if stats.get("proposals_X_unit") is not None:
        result.proposals = _frame(box.from_unit(np.asarray(stats["proposals_X_unit"])), names,
                                  kept=np.asarray(stats["proposals_kept"]).astype(int),
                                  variance=np.asarray(stats.get("proposals_variance")))


def _probe_cache(cache_dir: str) -> None:
    """A cache that cannot be written fails now, in one line, not after the model is trained."""
    from .artifacts import probe_writable

    probe_writable(Path(cache_dir))


def _in_multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.get().mode == RunMode.MULTIRUN
    except ValueError:  # not inside a Hydra app
        return False


def _draw_reliability_report(bundle: OracleBundle, comp: Components, training, fitted, grid: Grid, out: Path) -> None:
    """The quality-control answer of a single run: reliability map, profile and the predictors' region.

    Sweeps skip it (one map per model is enough: ``python -m distortion_reliability.report map``).
    """
    from .reports.maps import write_reliability_report

    log.info("reliability map and profile: %s (report=false skips them)", out)
    report = write_reliability_report(bundle.oracle, comp.space, bundle.h, out, training=training,
                                      proposals=getattr(comp.method, "stats_", None), fitted=fitted or None,
                                      grid=grid, resolution=15, title=f"{comp.labels['dataset']}, h = {bundle.h:g}")
    summary = getattr(report, "summary", None)
    if summary:
        log.info("reliable when each distortion acts alone: %s", summary)
