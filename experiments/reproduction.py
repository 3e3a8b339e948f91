"""Write results/REPRODUCTION.md from the studies' exported runs (results/<dataset>/<study>_runs.csv).

No number in the write-up is typed by hand: every one is computed from the runs that the report
command exported from MLflow (``python -m distortion_reliability.report study=<s> dataset=<d>``),
each run counted once, differences judged by their 95 % intervals (distortion_reliability.reproduction).

    .venv/bin/python experiments/reproduction.py [--results results]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from distortion_reliability.reproduction.document import write

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "results"))
    args = parser.parse_args()
    print(f"wrote {write(Path(args.results))}")


if __name__ == "__main__":
    main()
