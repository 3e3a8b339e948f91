"""What a multirun would run, without running it: the jobs of a study (conf/study/*.yaml).

    python -m distortion_reliability.tracking.studies study=table3 dataset=mnist     # lists 84 jobs

A study's sweep is ``hydra.sweeper.params`` (Hydra's basic sweeper: the cartesian product of every
swept key, command-line sweeps included, later keys winning). The jobs are listed in that product
order; a multirun launches them interleaved by training set (tracking/job_order.py) and links the
ones already finished without launching them (tracking/sweeper.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from ..config import compose_config, conf_dir


def study_names(config_dir: str | Path | None = None) -> list[str]:
    """The studies there are: one per ``conf/study/<name>.yaml``."""
    return sorted(p.stem for p in (Path(config_dir or conf_dir()) / "study").glob("*.yaml"))


def sweep_jobs(overrides: Sequence[str] = (), config_dir: str | Path | None = None) -> list[list[str]]:
    """Each job's overrides, as ``python run.py -m <overrides>`` would launch them (composes, runs nothing)."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parser = OverridesParser.create()
    parsed = parser.parse_overrides(list(overrides))
    plain = [o.input_line for o in parsed if not o.is_sweep_override()]
    cfg = compose_config(plain, config_dir, return_hydra_config=True)
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
