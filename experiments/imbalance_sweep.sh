#!/usr/bin/env bash
# Every imbalance method x 3 seeds on one paper setting (Tables 3-4 rows).
#   experiments/imbalance_sweep.sh mnist|cifar10 [extra Hydra overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:?usage: $0 mnist|cifar10 [overrides...]}"; shift
methods="none,reweight,random_under,nearmiss,random_over,smote,adasyn,spe,mesa,gan,vae,ctgan,tvae"
methods="$methods,smote_borderline,smote_svm,smote_enn,smote_tomek,smote_wb,smote_gp"
exec .venv/bin/python run.py -m "experiment=paper_${dataset}" "imbalance=${methods}" seed=0,1,2 threads=1 \
  "data_dir=${DR_DATA_DIR:-../shared/data}" progress=false "$@"
