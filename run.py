"""Hydra entry point (thin): compose the config, run one tracked job of the pipeline.

    python run.py                                        # embedded default: digits + small CNN, offline
    python run.py dataset=mnist data_dir=../shared/data
    python run.py -m study=table3 dataset=mnist hydra/launcher=joblib    # a paper table, jobs in parallel
    python run.py -m study=table3 dataset=mnist hydra/launcher=slurm     # the same on a SLURM cluster
    python run.py tracking=none                          # no MLflow; files in the job's output folder

Every job is an MLflow run (make ui to look); a multirun is one parent run with its jobs nested, and
a job whose exact config already has a FINISHED run prints ``already done: <run id>`` instead of
recomputing (rerun=true forces it). The last line of every job is
``summary: f1_mean=… grid_positive=… n_positive_sampled=… oracle_images_evaluated=… wall_seconds=…``.
See src/distortion_reliability/tracking/runner.py for what happens on errors.
"""

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from distortion_reliability.tracking.runner import run_job

    return run_job(cfg)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as stop:
        # Ctrl-C (or SIGTERM, as Preempted) on a sweep reaches its main process inside the launcher.
        # What ran and what did not is the sweep's summary, printed on the way out; a single job said
        # "interrupted; progress saved" and exited itself. A traceback would say nothing more.
        sys.exit(128 + getattr(stop, "signum", 2))
