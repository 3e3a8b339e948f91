"""What the SLURM launcher of ``hydra/launcher=slurm`` adds to hydra's submitit launcher (the class
itself lives in ``hydra_plugins/distortion_reliability_slurm``, where Hydra accepts launchers):

- ``gpus_per_node: null`` (the default) follows the job's ``device``: 1 for ``device=cuda[:i]``, else 0,
  so a CPU-only partition does not refuse the sweep's array for a GPU it never needed.
- An sbatch refusal is one ``error:`` line naming the launcher setting to change (exit status 2),
  not submitit's traceback.
- A job that ended without a result (``scancel``, a node failure) does not end the sweep with a
  traceback: its status stays "running", so the sweep callback marks its MLflow run KILLED and
  counts it as failed; rerunning the same command then computes only it.

Job states come from ``sacct``, or from ``squeue`` where accounting is disabled (a cluster without
slurmdbd, such as the one tests/slurm/start.sh starts); without either a cancelled job would never
look finished and the sweep would wait forever.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from typing import Any, Sequence

log = logging.getLogger(__name__)

# sbatch's refusal -> (the launcher setting to change, what to do); first match wins
_REFUSALS = (
    (r"gres|generic resource", "gpus_per_node", "this partition has no such GPUs: set it to 0 (device=cpu) "
                                               "or pick a GPU partition"),
    (r"account|qos|association", "additional_parameters", "set account/qos your user may use "
                                                          "(sacctmgr show assoc user=$USER)"),
    (r"partition", "partition", "name a partition that exists and you may use (sinfo lists them)"),
    (r"time limit|time_limit|timelimit", "timeout_min", "stay under the partition's MaxTime (sinfo -o '%P %l')"),
    (r"memory|mem ", "mem_gb", "ask for at most the nodes' memory (sinfo -o '%P %m', in MB)"),
    (r"processors|cpus|cpu count|ntasks", "cpus_per_task", "ask for at most the nodes' CPUs (sinfo -o '%P %c')"),
    (r"node configuration", "cpus_per_task, mem_gb or gpus_per_node", "no node has that much: ask for less"),
)


def gpus_for_device(device: Any) -> int:
    """GPUs one job needs: 1 when it is told to run on CUDA, else 0 (``auto`` and ``cpu`` run on any node)."""
    return 1 if str(device or "").strip().lower().startswith("cuda") else 0


def refusal_message(stderr: str, params: dict[str, Any]) -> str:
    """One line for an sbatch refusal: the setting to change, its value, sbatch's own words, the fix."""
    said = "; ".join(line.strip().removeprefix("sbatch: error:").strip()
                    for line in str(stderr).splitlines() if line.strip()) or "no message"
    for pattern, key, fix in _REFUSALS:
        if re.search(pattern, said, re.I):
            shown = key if "," in key else f"{key}: {params.get(key)}"
            return f"hydra.launcher.{shown}: sbatch refused the job ({said}); {fix}"
    return (f"hydra/launcher=slurm: sbatch refused the job ({said}); check hydra.launcher.partition, "
            f"timeout_min, cpus_per_task, gpus_per_node, mem_gb and additional_parameters")


class _JobCapture:
    """Keeps the jobs submitit's map_array returns, so each one's end can be read even when one fails."""

    def __init__(self, executor_class: Any, params: dict[str, Any]):
        self.jobs: list[Any] = []
        self.params = params
        self._class = executor_class
        self._original = executor_class.map_array

        def map_array(executor: Any, *args: Any, **kwargs: Any) -> list[Any]:
            import contextlib
            import io

            said = io.StringIO()  # submitit prints sbatch's refusal; our one line will carry its words
            with contextlib.redirect_stderr(said):
                jobs = self._original(executor, *args, **kwargs)
            sys.stderr.write(said.getvalue())
            self.jobs.extend(jobs)
            if jobs:
                refuse_if_never_runs(jobs[0].job_id.split("_")[0], self.params)
            return jobs

        executor_class.map_array = map_array

    def restore(self) -> None:
        self._class.map_array = self._original


def capture_jobs(submitit: Any, params: dict[str, Any]) -> _JobCapture:
    return _JobCapture(submitit.AutoExecutor, params)


def refuse_if_never_runs(array_id: str, params: dict[str, Any], seconds: float = 20.0) -> None:
    """sbatch accepts a request beyond the partition's limits (unless EnforcePartLimits is set) and
    the array then pends forever with reason PartitionConfig: cancel it and say which settings."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            out = subprocess.run(["squeue", "-h", "-j", array_id, "-o", "%T|%r"], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return
        states = [line.split("|", 1) for line in out.splitlines() if "|" in line]
        if not states or any(state != "PENDING" for state, _ in states):
            return
        if any(reason.strip() == "PartitionConfig" for _, reason in states):
            subprocess.run(["scancel", array_id], capture_output=True)
            shown = ", ".join(f"{k}={params.get(k)}" for k in ("cpus_per_task", "mem_gb", "timeout_min", "gpus_per_node"))
            refused(f"hydra.launcher: {shown}: the partition's limits can never run this job (SLURM job {array_id} "
                    f"pended with reason PartitionConfig; cancelled); ask for less (sinfo -o '%P %c %m %l')")
        time.sleep(1)


def refused(message: str) -> None:
    from .callbacks import end_quietly

    print(f"error: {message}", file=sys.stderr, flush=True)
    end_quietly()
    sys.exit(2)


def note_unfinished(config: Any, num: int, overrides: Sequence[str], why: str) -> None:
    """A job cancelled before it started left no status file: write one, so the sweep counts it."""
    from pathlib import Path

    from .sweep import RUNNING, SweepState

    state = SweepState(Path(str(config.hydra.sweep.dir)))
    if state.read_job(num) is None:
        state.write_job(num, status=RUNNING, overrides=list(overrides), error=why)


_SACCT_WORKS: bool | None = None


def _sacct_works() -> bool:
    global _SACCT_WORKS
    if _SACCT_WORKS is None:
        try:
            out = subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True, text=True, timeout=30)
            _SACCT_WORKS = "disabled" not in (out.stdout + out.stderr).lower()
        except (OSError, subprocess.SubprocessError):
            _SACCT_WORKS = False
    return _SACCT_WORKS


def use_squeue_without_accounting() -> None:
    """submitit asks sacct for job states; where accounting is disabled, ask squeue (which knows a
    finished job for MinJobAge seconds, 300 by default) in the same output format."""
    from submitit.slurm import slurm

    if isinstance(slurm.SlurmJob.watcher, _SqueueWatcher) or _sacct_works():
        return
    slurm.SlurmJob.watcher = _SqueueWatcher(delay_s=30)  # squeue is cheap: a cancelled job is seen in <= 30 s


try:
    from submitit.slurm.slurm import SlurmInfoWatcher as _SlurmInfoWatcher
except ImportError:  # pragma: no cover - submitit is a dependency of the launcher plugin
    _SlurmInfoWatcher = object  # type: ignore[assignment,misc]


class _SqueueWatcher(_SlurmInfoWatcher):  # type: ignore[misc,valid-type]
    def _make_command(self) -> list[str] | None:
        to_check = {x.split("_")[0] for x in self._registered - self._finished}
        if not to_check:
            return None
        return ["squeue", "-h", "--states=all", "-o", "%i|%T|%N", "-j", ",".join(sorted(to_check))]

    def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
        text = string.decode() if isinstance(string, bytes) else string
        return super().read_info("JobID|State|NodeList\n" + text)
