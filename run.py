"""Hydra entry point (thin): compose the config, run one job of the pipeline.

    python run.py                                   # embedded default: digits + small CNN, offline
    python run.py dataset=mnist data_dir=../shared/data
    python run.py -m dataset=cifar10 imbalance=smote,smote_gp seed=0,1,2
"""

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from distortion_reliability.errors import DistortionReliabilityError
    from distortion_reliability.pipeline import run

    try:
        summary = run(cfg, output_dir=HydraConfig.get().runtime.output_dir)
    except DistortionReliabilityError as err:
        # Bad input, not a bug: one line that names the field or path, no traceback.
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    return summary.get("f1_mean")  # lets Hydra sweepers optimise over it


if __name__ == "__main__":
    main()
