"""The Hydra callback of every multirun (conf/hydra/callbacks/sweep.yaml).

on_multirun_start (main process, before any job): registers the project's sweeper, creates/migrates
the tracking store once and the sweep's MLflow parent run (its id goes to
``<sweep dir>/.tracking/parents.json``, where jobs in joblib workers, submitit processes or SLURM
nodes find it); a store that cannot be used ends the command with one ``error:`` line (exit 2)
before any oracle work.

SIGTERM/SIGUSR2 to the main process stop the sweep as Ctrl-C does (summary printed, runs closed).

on_multirun_end: reads the jobs' status files, ends the parent run(s), prints
``sweep: N finished, M failed, K skipped`` and the failing overrides, and exits 1 when any job failed.
"""

from __future__ import annotations

import atexit
import logging
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from ..signals import install_signal_handlers

log = logging.getLogger(__name__)
_QUIET_END = False


def end_quietly() -> None:
    """The sweep ends now after its own ``error:`` line (e.g. sbatch refused it): no summary lines."""
    global _QUIET_END
    _QUIET_END = True


class SweepCallback(Callback):
    def __init__(self, fail_exit_code: int = 1):
        self.fail_exit_code = int(fail_exit_code)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from ..errors import DistortionReliabilityError
        from . import make_tracker

        _register_plugins()

        sweep_dir = Path(str(config.hydra.sweep.dir))
        try:
            make_tracker(config).prepare_sweep(config, sweep_dir)
        except DistortionReliabilityError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        # A sweep that dies (Ctrl-C, a launcher error, a worker killed by the OOM killer) never reaches
        # on_multirun_end: still print what ran and close its parent run(s) as KILLED.
        self._ended = False
        atexit.register(self._at_exit, config)
        # SIGTERM (kill, timeout, scancel of a sweep run inside an allocation) would end this process
        # without running atexit; as Preempted, a KeyboardInterrupt, it takes Ctrl-C's way out.
        # In-process jobs (basic launcher) install their own handlers for their duration.
        install_signal_handlers()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._ended = True
        summary = self._finish(config, aborted=False)
        if summary.n_failed:
            sys.exit(self.fail_exit_code)

    def _at_exit(self, config: DictConfig) -> None:
        if not getattr(self, "_ended", True):
            if not _QUIET_END:
                print("sweep: stopped before all its jobs ran", flush=True)
            self._finish(config, aborted=True, quiet=_QUIET_END)

    def _finish(self, config: DictConfig, aborted: bool, quiet: bool = False):
        from . import make_tracker
        from .sweep import SweepState, SweepSummary

        sweep_dir = Path(str(config.hydra.sweep.dir))
        summary = SweepSummary.from_jobs(SweepState(sweep_dir).jobs())
        try:
            make_tracker(config).finish_sweep(config, sweep_dir, summary, aborted=aborted)
        except Exception as err:  # the summary matters more than closing the parent run
            log.warning("could not end the sweep's parent run: %s", err)
        for line in [] if quiet else summary.lines():
            print(line, flush=True)
        return summary


def _register_plugins() -> None:
    """Make the project's sweeper and SLURM launcher known to Hydra, however we were installed.

    Hydra finds plugins by listing the folders of the ``hydra_plugins`` package; an editable install
    (``make install``) serves ours through an import hook that cannot be listed. Hydra instantiates the
    sweeper right after this callback, and the sweeper the launcher, so registering the classes here
    is enough (a clean clone's CI found ``hydra/launcher=slurm`` unknown without it).
    """
    from hydra.core.plugins import Plugins
    from hydra_plugins.distortion_reliability_slurm import SlurmLauncher
    from hydra_plugins.distortion_reliability_sweeper import TrackedSweeper

    for plugin in (TrackedSweeper, SlurmLauncher):
        Plugins.instance().register(plugin)
