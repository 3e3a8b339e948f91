"""The sweeper of every multirun (conf/hydra/sweeper/tracked.yaml): Hydra's basic sweeper, plus two steps
between making the job list and launching it.

    jobs (the cartesian product, as the basic sweeper makes it; each composed once, as it checks them)
      -> linked:  jobs whose exact config has a FINISHED run get their link run now, in this process
      -> ordered: the rest interleaved by training set (job_order.py)
      -> launched in batches of ``max_batch_size`` by the configured launcher (joblib, submitit, ...)

A warm sweep therefore starts no job process for a finished job: one store query per experiment
and one link run each. Linked jobs are numbered first (0..m-1), launched ones after (m..n-1); the
sweep callback's ``sweep: N finished, M failed, K skipped`` counts both, from their status files.
Hydra loads sweepers only from the ``hydra_plugins`` package: ``hydra_plugins/distortion_reliability_sweeper``
names this class.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, List, Sequence

from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)


class TrackedSweeper(Sweeper):
    """Same settings as Hydra's basic sweeper (``params``, ``max_batch_size``) and the same job list.

    A ``Sweeper`` rather than a ``BasicSweeper`` subclass: Hydra's plugin scan re-executes its core
    plugin modules, so a class derived from ``BasicSweeper`` before the scan would no longer match it.
    """

    def __init__(self, max_batch_size: int | None = None, params: dict[str, str] | None = None,
                 link_finished: bool = True, order_by_training_set: bool = True):
        super().__init__()
        self.max_batch_size = max_batch_size
        self.params = dict(params or {})
        self.link_finished = bool(link_finished)
        self.order_by_training_set = bool(order_by_training_set)
        self.hydra_context: Any = None
        self.config: DictConfig | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context, self.config = hydra_context, config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def all_jobs(self, arguments: List[str]) -> list[list[str]]:
        """Every job's overrides, in the basic sweeper's order (the product of params and command-line sweeps)."""
        from hydra._internal.core_plugins import basic_sweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        return [list(job) for job in basic_sweeper.BasicSweeper.split_arguments(overrides, None)[0]]

    def compose(self, job: Sequence[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(master_config=self.config,
                                                                  sweep_overrides=list(job))

    def sweep(self, arguments: List[str]) -> Any:
        from .job_order import launch_order
        from .links import job_config

        jobs = self.all_jobs(arguments)
        tic = time.perf_counter()
        composed = [self.compose(job) for job in jobs]  # the basic sweeper's legality check, kept for use
        configs = [job_config(c) for c in composed]
        log.debug("composed %d jobs in %.2f s", len(jobs), time.perf_counter() - tic)

        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")

        done = self._link(composed, configs) if self.link_finished else []
        pending = sorted(set(range(len(jobs))) - set(done))
        if self.order_by_training_set:
            order = launch_order([configs[i] for i in pending])
            pending = [pending[k] for k in order]
        size = self.max_batch_size if self.max_batch_size and self.max_batch_size > 0 else max(len(pending), 1)
        returns = []
        job_idx = len(done)
        for start in range(0, len(pending), size):
            batch = [jobs[i] for i in pending[start:start + size]]
            results = self.launcher.launch(batch, initial_job_idx=job_idx)
            for r in results:
                _ = r.return_value  # raises if the job raised (as the basic sweeper does)
            job_idx += len(batch)
            returns.append(results)
        return returns

    def _link(self, composed: list[DictConfig], configs: list[DictConfig]) -> list[int]:
        """Link the finished jobs; their indices, in order (they take job numbers 0..m-1)."""
        from . import make_tracker
        from .base import JobInfo

        tracker = make_tracker(self.config)
        own = OmegaConf.to_container(self.config.get("tracking") or {}, resolve=True)
        same_store = [(i, cfg) for i, cfg in enumerate(configs)  # a job that sweeps tracking= looks itself
                      if OmegaConf.to_container(cfg.get("tracking") or {}, resolve=True) == own]
        try:
            found = tracker.finished_jobs(same_store)
        except Exception as err:  # noqa: BLE001 - launch them all: each job looks itself up, or reports the store
            log.warning("could not look up finished jobs before launching: %s", err)
            return []
        done = sorted(found)
        tracker.link_jobs(Path(str(self.config.hydra.sweep.dir)),
                          [(k, configs[i], JobInfo.of_sweep_job(composed[i].hydra, num=k), found[i])
                           for k, i in enumerate(done)])
        log.info("%d of %d jobs have a FINISHED run: linked, not launched", len(done), len(configs))
        return done
