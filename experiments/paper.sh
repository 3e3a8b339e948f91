#!/usr/bin/env bash
# Every paper result for one dataset: Tables 3-4, Figure 6, the ablations (Figures 7-9) and ours,
# then their reports under results/<dataset>/. Shared grids and training sets are computed once.
#   experiments/paper.sh mnist           (the paper runs the ablations on cifar10)
#   LAUNCHER=slurm experiments/paper.sh cifar10 hydra.launcher.partition=gpu
set -uo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: $0 DATASET [overrides...]}"; shift
status=0
for study in sampling table3 table4 ablation_v ablation_budget ablation_h ours; do
  experiments/study.sh "$study" "$dataset" "$@" || status=1   # a failed job does not stop the others
  .venv/bin/python -m distortion_reliability.report "study=${study}" "dataset=${dataset}" || status=1
done
exit $status
