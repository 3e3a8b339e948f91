"""What a multirun would run, without running it: the jobs of a study (conf/study/*.yaml).

    python -m distortion_reliability.tracking.studies study=table3 dataset=mnist     # lists 84 jobs

A study's sweep is ``hydra.sweeper.params`` (Hydra's basic sweeper: the cartesian product of every
swept key, command-line sweeps included, later keys winning).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

#: The paper's studies and their documented job counts (one dataset).
STUDY_JOBS = {"table3": 84, "table4": 42, "sampling": 15, "ablation_v": 21, "ablation_budget": 30,
              "ablation_h": 30, "ours": 24, "matched": 6}


def conf_dir() -> Path:
    try:
        from ..config import conf_dir as main_conf_dir

        return main_conf_dir()
    except ImportError:  # pragma: no cover - before config.py
        return Path(__file__).resolve().parents[3] / "conf"


def sweep_jobs(overrides: Sequence[str] = (), config_dir: str | Path | None = None) -> list[list[str]]:
    """Each job's overrides, as ``python run.py -m <overrides>`` would launch them (composes, runs nothing)."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parser = OverridesParser.create()
    parsed = parser.parse_overrides(list(overrides))
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(Path(config_dir or conf_dir()).resolve()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=plain, return_hydra_config=True)
    params = OmegaConf.to_container(cfg.hydra.sweeper.get("params") or {}, resolve=True)
    lines = [f"{k}={v}" for k, v in params.items()] + list(overrides)  # as BasicSweeper.sweep orders them
    return [list(job) for job in BasicSweeper.split_arguments(parser.parse_overrides(lines), None)[0]]


def main(argv: Sequence[str] | None = None) -> int:
    jobs = sweep_jobs(sys.argv[1:] if argv is None else argv)
    for i, job in enumerate(jobs):
        print(f"#{i}: {' '.join(job)}")
    print(f"jobs={len(jobs)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
