"""Every way a single run ends on bad input or a full disk: one ``error:`` line (stderr), nothing on
stdout saying it again, exit status 2, and what was computed before it kept."""

from __future__ import annotations

import os
from pathlib import Path

from test_tracking import client_for, conf, env_for, fake_pipeline, run_py, runs_of, template_db, work  # noqa: F401

THIS = Path(__file__).resolve()


def bad_input_pipeline(cfg, output_dir):
    from distortion_reliability.errors import ConfigError

    raise ConfigError("sampler.budget", 3, "must be at least the number of initial levels (10)")


def full_disk_pipeline(cfg, output_dir):
    """The fake job's result, with the disk full from the moment the predictors are written."""
    import skops.io._persist as writer  # what mlflow.sklearn's skops format writes through
    from conftest import simulate_full_disk

    simulate_full_disk(writer)
    return fake_pipeline(cfg, output_dir)


def env_with(work, pipeline: str) -> dict:
    """The fake pipeline's environment; tests/ on the path (this module imports its neighbours)."""
    env = env_for(work, DR_PIPELINE=f"{THIS}:{pipeline}")
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(THIS.parent)])
    return env


def one_error_line(done) -> str:
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert len(errors) == 1 and errors[0].startswith("error: "), errors
    assert errors[0] in done.stderr
    return errors[0]


def test_a_pipeline_error_is_printed_once(work, conf):
    done = run_py(work, conf, env=env_with(work, "bad_input_pipeline"))
    assert one_error_line(done) == "error: sampler.budget: 3: must be at least the number of initial levels (10)"
    (run,) = runs_of(work)
    assert run.info.status == "FAILED"


def test_a_full_disk_while_writing_the_predictors_is_one_error_line_and_keeps_the_metrics(work, conf):
    line = one_error_line(run_py(work, conf, env=env_with(work, "full_disk_pipeline")))
    assert line.startswith("error: cannot write to predictor file ") and line.endswith(": no space left on device")
    (run,) = runs_of(work)
    assert run.info.status == "FAILED" and run.data.metrics["f1_mean"] == 0.5  # computed, and kept
