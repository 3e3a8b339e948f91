"""Which h puts a given share of the grid test set in the reliable class (the paper's Appendix A: 2-6 %)?

Reads the oracle's cached per-level counts of a grid already labelled at some h (any run or study on
the same dataset, model, N and distortions leaves them) and prints, per h, the estimated share of the
grid reliable with its certain bounds; no new oracle work. The h whose share is nearest ``--share`` is
printed last. Used to choose each dataset's "Appendix-A h" in results/REPRODUCTION.md:

    .venv/bin/python experiments/grid_share.py --share 0.052 dataset=cifar10 data_dir=../shared/data \
        dataset.verification_size=2000
"""

from __future__ import annotations

import argparse

import numpy as np

from distortion_reliability.advice import share_by_h
from distortion_reliability.config import compose_config
from distortion_reliability.stages import Job, OracleStage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--share", type=float, required=True, help="target share of the grid reliable")
    parser.add_argument("--lowest", type=float, default=0.5, help="lowest h to print")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the run whose grid was labelled")
    args = parser.parse_args()
    job = Job.from_config(compose_config(args.overrides))
    OracleStage(job).run()
    bundle, cfg = job.bundle, job.cfg
    oracle = bundle.oracle
    levels = bundle.box.grid(int(cfg.grid.points_per_dim))
    counts = [oracle.cache.get(level, oracle.n) if oracle.cache is not None else None for level in levels]
    missing = sum(c is None for c in counts)
    if missing:
        raise SystemExit(f"error: {missing} of {len(levels)} grid levels have no cached counts: label the grid first "
                         "(any run of this dataset, model, N and distortions does)")
    seen = np.array([c.n_evaluated for c in counts])
    correct = np.array([c.n_correct for c in counts])
    print(f"{len(levels)} grid levels, N = {oracle.n}; images evaluated per level: median {np.median(seen):.0f}, "
          f"min {seen.min()}")
    rows = share_by_h(correct, seen, oracle.n, np.round(np.arange(args.lowest, 1.0, 0.01), 2))
    for row in rows:
        print(f"h = {row['h']:.2f}: share {row['estimate']:.4f} (certain >= {row['certain']:.4f}, "
              f"at most {row['at_most']:.4f})")
    best = min(rows, key=lambda r: (abs(r["estimate"] - args.share), -r["h"]))
    print(f"nearest share {args.share:g}: h = {best['h']:.2f} (estimated share {best['estimate']:.4f})")


if __name__ == "__main__":
    main()
