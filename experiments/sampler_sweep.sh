#!/usr/bin/env bash
# Random vs the paper's GP sampler (and gp_sqrt) x 3 seeds on one paper setting (section 4.2).
#   experiments/sampler_sweep.sh mnist|cifar10 [extra Hydra overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: $0 mnist|cifar10 [overrides...]}"; shift
exec .venv/bin/python run.py -m "experiment=paper_${dataset}" sampler=random,gp,gp_sqrt seed=0,1,2 threads=1 \
  "data_dir=${DR_DATA_DIR:-../shared/data}" progress=false "$@"
