"""Stage one: load D and T, and set up the (cached) oracle f(c) over the distortion space."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..console import format_count
from ..gp import resolve_device
from ..box import Box
from .base import Estimate, Stage, duration, image_rate

log = logging.getLogger(__name__)


@dataclass
class OracleBundle:
    """What the later stages need from stage one."""

    oracle: Any
    box: Box
    h: float
    clean_accuracy: float | None
    space: Any = None
    info: dict = field(default_factory=dict)
    train_seconds: float | None = None   # a dry run's estimate of the model training it would do


class OracleStage(Stage):
    """Key: the oracle's context (D, T's fingerprint, C, precision, noise seed). Its run trains T
    when it has to (cached in the ArtifactStore) and measures the clean accuracy; its estimate loads
    a cached T or times two training batches, and times one batch of distorted images."""

    name = "oracle"

    def key(self) -> str | None:
        return None if self.job.bundle is None else self.job.bundle.oracle.context_key

    def load(self, plan_only: bool = False) -> OracleBundle:
        """D, T and the oracle; with ``plan_only`` an uncached T is not trained (see models.training.planning)."""
        import contextlib

        from ..models.training import planning
        from ..oracle import Oracle

        job, settings = self.job, self.job.settings
        device = resolve_device(settings.device)
        vset = job.dataset.verification_set(seed=settings.data_seed)
        with planning() if plan_only else contextlib.nullcontext({}) as plan:
            loaded = job.model_factory(dataset=job.dataset, cache_dir=settings.cache_dir, device=device,
                                       progress=settings.progress)
        oc = settings.oracle
        model = {"name": loaded.name, "fingerprint": loaded.fingerprint}
        oracle = Oracle(loaded.module, vset.images, vset.labels, job.space, context={"dataset": vset.spec, "model": model},
                        cache_dir=settings.cache_dir, batch_size=oc.batch_size, precision=oc.precision,
                        chunk_size=oc.chunk_size, noise_seed=oc.noise_seed, device=device, progress=settings.progress)
        info = {"dataset": job.labels["dataset"], "model": job.labels["model"], "n_verification": oracle.n,
                "device": str(device), "precision": oracle.precision}  # the effective one (auto resolved)
        job.bundle = OracleBundle(oracle=oracle, box=job.space.box, h=job.h, clean_accuracy=None, space=job.space,
                                  info=info, train_seconds=plan.get("train_seconds"))
        return job.bundle

    def estimate(self) -> Estimate:
        bundle = self.job.bundle or self.load(plan_only=True)
        self.job.rate = image_rate(bundle.oracle)
        seconds = bundle.train_seconds
        training = "none (cached or given weights)" if seconds is None else \
            f"{duration(seconds)} to train {self.job.labels['model']} (from one timed batch; cached afterwards)"
        return Estimate(seconds or 0.0, f"T: {format_count(round(self.job.rate))} images/s here (distortion + "
                                        f"forward, {bundle.info['precision']}); model training: {training}")

    def run(self) -> None:
        bundle = self.load()
        bundle.clean_accuracy = bundle.info["clean_accuracy"] = bundle.oracle.clean_accuracy()
        self.job.summary.update(clean_accuracy=bundle.clean_accuracy, n_verification=int(bundle.oracle.n),
                                oracle_precision=bundle.info["precision"])  # effective: an MLflow tag
        log.info("oracle: %s / %s, clean accuracy on D (N=%s) = %.4f, h = %s", bundle.info["dataset"],
                 bundle.info["model"], format_count(bundle.oracle.n), bundle.clean_accuracy, bundle.h)
