"""The training set R = {c_t, f(c_t)}: the sampler run against the oracle.

Keyed by (oracle, sampler settings except the budget, seed, h): sampler paths do not depend on the
budget, so a smaller budget reads a prefix of a stored run and a larger one continues it.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
from omegaconf import OmegaConf

from ..artifacts import stable_hash
from ..console import format_count
from .base import Estimate, Stage, duration

log = logging.getLogger(__name__)

#: Seconds of GP fitting and acquisition per sampled level (measured by benchmarks/gp_overhead.py).
GP_SECONDS_PER_LEVEL = 0.08


def budgets_for(budget: int, step: int = 100) -> list[int]:
    """The Figure-6 budgets logged as ``n_positive_at_<B>``: every ``step`` up to the budget, and the budget."""
    points = list(range(step, budget + 1, step))
    if not points or points[-1] != budget:
        points.append(budget)
    return points


class SamplingStage(Stage):
    name = "sampling"

    @property
    def budget(self) -> int:
        return int(self.job.sampler.budget)

    def key(self) -> str:
        # What determines a sampler's path: its settings minus the budget (paths are budget-free) and progress.
        spec = OmegaConf.to_container(self.job.cfg.sampler, resolve=True)
        for key in ("budget", "progress", "name"):
            spec.pop(key, None)
        bundle = self.job.bundle
        return stable_hash({"oracle": bundle.oracle.context_key, "sampler": spec, "seed": self.job.seed, "h": bundle.h})

    def estimate(self) -> Estimate:
        from ..sampling import GPSampler

        n = self.job.bundle.oracle.n
        overhead = GP_SECONDS_PER_LEVEL if isinstance(self.job.sampler, GPSampler) else 0.0
        seconds = self.budget * (n / self.job.rate + overhead)
        return Estimate(seconds, f"sampler: {format_count(self.budget)} levels x {format_count(n)} images = "
                                 f"{self.budget * n / 1e6:.1f} M images ({self.job.sampler.label}), {duration(seconds)} "
                                 "here (less when cached)")

    def run(self) -> None:
        from ..advice import explain_few_positives
        from .base import image_rate

        job = self.job
        job.rate = job.rate or image_rate(job.bundle.oracle)
        log.info(self.estimate().text)
        start = time.perf_counter()
        job.training = training = self._sample()
        job.summary.update(n_positive_sampled=training.n_positive, n_sampled=len(training.levels),
                           seconds_sampling=time.perf_counter() - start,
                           seconds_gp_overhead=float(training.sampler_seconds))
        for b in budgets_for(len(training.levels)):
            job.summary[f"n_positive_at_{b}"] = int(np.count_nonzero(training.labels[:b]))
        log.info("sampler: %s, %s levels, %s positive (oracle %.1f s, sampler overhead %.1f s)", job.sampler.label,
                 format_count(len(training.levels)), format_count(training.n_positive), training.oracle_seconds,
                 training.sampler_seconds)
        job.advice = explain_few_positives(training, job.h, job.sampler, job.bundle.box)

    def _sample(self):
        """A stored run at least as long as the budget is cut to it; a shorter or interrupted one is
        continued (``resume``), so Figure 6's budgets and an extended study share one run per seed."""
        job, key, budget = self.job, self.key(), self.budget
        store, bundle = job.store, job.bundle

        def load():
            cached = store.get_arrays("training_set", key)
            return None if cached is None else _result_from_arrays(*cached, h=bundle.h)

        def save(result, complete: bool) -> None:
            meta = {"oracle_seconds": result.oracle_seconds, "sampler_seconds": result.sampler_seconds,
                    "complete": complete}
            if getattr(result, "state", None) is not None:
                meta["state"] = result.state
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

            result = job.sampler.sample(bundle.oracle, bundle.box, bundle.h, job.seed, resume=stored,
                                        on_progress=on_progress)
            longest = load()
            if longest is None or len(longest.levels) <= len(result.levels):
                save(result, complete=True)
            return result

        # While another live job samples the same R, wait for it and reuse (or continue) its run.
        return store.compute_once("training_set", key, compute, load_enough)


def _result_from_arrays(arrays: dict, meta: dict, h: float):
    from ..sampling import SampleResult

    return SampleResult(levels=arrays["levels"], values=arrays["values"], labels=arrays["labels"].astype(bool), h=h,
                        oracle_seconds=float(meta.get("oracle_seconds", 0.0)),
                        sampler_seconds=float(meta.get("sampler_seconds", 0.0)), state=meta.get("state"))


def _prefix(result, budget: int):
    """The first ``budget`` levels of a stored run (a smaller budget's exact run: paths are budget-free)."""
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
