"""``hydra/launcher=slurm`` (conf/hydra/launcher/slurm.yaml): hydra-submitit's SlurmLauncher with a
device-following GPU default, one-line sbatch refusals and cancelled jobs counted, not raised.

Hydra accepts launcher classes only from the ``hydra_plugins`` namespace, hence this module; what it
adds is in :mod:`distortion_reliability.tracking.slurm`. Kept light: Hydra imports every
``hydra_plugins`` module at start-up.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any, Sequence

from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher as _HydraSlurmLauncher

log = logging.getLogger(__name__)


class SlurmLauncher(_HydraSlurmLauncher):
    """hydra-submitit's SlurmLauncher, with the device-following GPU default and one-line refusals."""

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[Any]:
        import submitit
        from submitit.core.utils import FailedJobError, UncompletedJobError

        from distortion_reliability.tracking import slurm

        assert self.config is not None
        if shutil.which("sbatch") is None:
            slurm.refused("hydra/launcher=slurm: sbatch not found: this machine is not a SLURM submit host "
                          "(hydra/launcher=joblib runs the sweep here)")
        if self.params.get("gpus_per_node") is None:
            self.params["gpus_per_node"] = slurm.gpus_for_device(self.config.get("device"))
        slurm.use_squeue_without_accounting()
        submitted = slurm.capture_jobs(submitit, self.params)
        try:
            super().launch(job_overrides, initial_job_idx)
        except FailedJobError as err:
            if not submitted.jobs:  # raised by the submission itself: sbatch said no
                slurm.refused(slurm.refusal_message(str(err), self.params))
            raise
        except UncompletedJobError:
            pass  # a job ended without a result: each job's end is read below
        finally:
            submitted.restore()
        return [self._result(job, overrides, initial_job_idx + k)
                for k, (job, overrides) in enumerate(zip(submitted.jobs, job_overrides))]

    def _result(self, job: Any, overrides: Sequence[str], num: int) -> Any:
        from hydra.core.utils import JobReturn, JobStatus
        from submitit.core.utils import UncompletedJobError

        from distortion_reliability.tracking import slurm

        try:
            return job.results()[0]
        except UncompletedJobError:
            why = f"SLURM job {job.job_id} ended {job.state} without a result"
            log.error("job #%d: %s", num, why)
            slurm.note_unfinished(self.config, num, overrides, why)
            ret = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
            ret.return_value = None  # the sweep callback counts it (its status file stays "running")
            return ret
