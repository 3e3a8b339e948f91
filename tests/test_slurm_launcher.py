"""The SLURM launcher's additions, without a cluster: the GPU default follows ``device``, an sbatch
refusal names the launcher setting to change, and ``hydra/launcher=slurm`` composes to our class."""

from __future__ import annotations

import pytest

from distortion_reliability.tracking.slurm import gpus_for_device, refusal_message

PARAMS = {"gpus_per_node": 1, "partition": "gpu", "timeout_min": 240, "mem_gb": 16, "cpus_per_task": 4}


@pytest.mark.parametrize("device, gpus", [("auto", 0), ("cpu", 0), (None, 0), ("cuda", 1), ("cuda:1", 1)])
def test_gpus_follow_the_device(device, gpus):
    assert gpus_for_device(device) == gpus


@pytest.mark.parametrize("stderr, setting", [
    ("sbatch: error: Invalid generic resource (gres) specification", "hydra.launcher.gpus_per_node: 1"),
    ("sbatch: error: invalid partition specified: gpu", "hydra.launcher.partition: gpu"),
    ("sbatch: error: Requested time limit is invalid (missing or exceeds some limit)", "hydra.launcher.timeout_min: 240"),
    ("sbatch: error: Memory specification can not be satisfied", "hydra.launcher.mem_gb: 16"),
    ("sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
     "hydra.launcher.additional_parameters"),
])
def test_an_sbatch_refusal_names_the_setting(stderr, setting):
    line = refusal_message(stderr, PARAMS)
    assert line.startswith(setting) and "sbatch refused the job (" in line and "\n" not in line


def test_an_unknown_refusal_lists_every_setting():
    line = refusal_message("sbatch: error: something new", PARAMS)
    assert line.startswith("hydra/launcher=slurm: sbatch refused the job (something new)")
    assert "gpus_per_node" in line and "partition" in line


def test_the_launcher_config_builds_our_launcher_with_a_device_following_gpu_default():
    from distortion_reliability.config import compose_config

    cfg = compose_config(["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.distortion_reliability_slurm.SlurmLauncher"
    assert launcher.gpus_per_node is None
    from hydra.core.plugins import Plugins

    from distortion_reliability.tracking.callbacks import _register_plugins
    from hydra_plugins.distortion_reliability_slurm import SlurmLauncher

    # What Hydra does with hydra.launcher after the multirun callback ran: an editable install's
    # plugins cannot be listed, so without the callback's registration this is "Unknown plugin class".
    _register_plugins()
    assert type(Plugins.instance()._instantiate(launcher)) is SlurmLauncher


@pytest.mark.slow  # one run.py start (~10-30 s on the busy CPU)
def test_no_sbatch_on_this_machine_is_one_error_line(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    from conftest import as_a_user_runs_it

    env = as_a_user_runs_it({**os.environ, "PATH": str(Path(sys.executable).parent) + ":/usr/bin/no-such-dir",
                             "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    env.pop("SLURM_CONF", None)
    done = subprocess.run([sys.executable, str(repo / "run.py"), "-m", "seed=0", "hydra/launcher=slurm"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if not line.startswith("[")]
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert lines == ["error: hydra/launcher=slurm: sbatch not found: this machine is not a SLURM submit host "
                     "(hydra/launcher=joblib runs the sweep here)"], lines


def test_a_zero_width_domain_is_refused_naming_it():
    """It used to pass and fail later as 'level[scale]: 1.8: must lie in its domain [1.3, 1.3]'."""
    from distortion_reliability.distortions import check_domain
    from distortion_reliability.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^scale\.domain: \[1\.3, 1\.3\]: must have lower < upper$"):
        check_domain("scale", [1.3, 1.3], (0.0, 10.0))
    assert check_domain("scale", [1.2, 1.3], (0.0, 10.0)) == (1.2, 1.3)
