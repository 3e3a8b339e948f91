#!/usr/bin/env bash
# One paper study (conf/study/<study>.yaml) on one dataset, jobs in parallel, every job an MLflow run.
#   experiments/study.sh table3 mnist                        # Table 3 on MNIST (84 jobs)
#   experiments/study.sh sampling cifar10 seed=0             # extra Hydra overrides narrow or change it
#   LAUNCHER=slurm experiments/study.sh table3 cifar10 hydra.launcher.partition=gpu   # on a cluster
# Studies: table3 table4 sampling ablation_v ablation_budget ablation_h ours.
# Rerunning a study computes only its missing jobs (the others print "already done").
set -euo pipefail
cd "$(dirname "$0")/.."
study="${1:?usage: $0 STUDY DATASET [overrides...]}"; dataset="${2:?usage: $0 STUDY DATASET [overrides...]}"; shift 2
.venv/bin/python run.py -m "study=${study}" "dataset=${dataset}" "hydra/launcher=${LAUNCHER:-joblib}" \
  "data_dir=${DR_DATA_DIR:-../shared/data}" progress=false "$@"
echo "report: .venv/bin/python -m distortion_reliability.report study=${study} dataset=${dataset}"
