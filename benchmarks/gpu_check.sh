#!/usr/bin/env bash
# One prepared GPU check (issue 11), for the day a CUDA device is lent. Never needed by the CPU suite.
#
#   bash benchmarks/gpu_check.sh                      # cuda: MNIST + LeNet-5, N = 6,000, the 4^6 grid at h = 0.9
#   bash benchmarks/gpu_check.sh --device cpu --n 100 --points-per-dim 2 --levels 4   # CPU smoke test of the same code
#
# Measures, on the device:
#   * the bf16 inference limit of LeNet-5 on the preloaded, undistorted verification set (best of a few
#     batch sizes, channels_last) -> gpu_bf16_limit_img_per_s=
#   * oracle.precision=auto choosing on the device (fp32 / bf16 autocast, both layouts, ONNX Runtime
#     when it has CUDA), measured once in a fresh cache -> gpu_auto_choice=, gpu_auto_decision_s=
#   * the oracle f(c) (distortions + inference, D resident on the device, the engine auto chose, levels
#     batched) on random levels -> gpu_oracle_img_per_s=
#   * labelling the paper's grid (points_per_dim^6 levels) at h = 0.9 with early stopping -> gpu_grid_label_s=
#   * the GP sampler with its GP on the device (synthetic f, budget 60) -> gpu_gp_seconds_per_iteration=
# Headline figures are printed last, one name=value per line. Expected well under 5 minutes on an H200;
# the whole script is capped by --limit seconds (default 280).
set -euo pipefail

DEVICE=cuda
N=6000
PPD=4
LEVELS=16
LIMIT=280
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${DR_DATA_DIR:-$REPO/../shared/data}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --n) N="$2"; shift 2 ;;
    --points-per-dim) PPD="$2"; shift 2 ;;
    --levels) LEVELS="$2"; shift 2 ;;
    --limit) LIMIT="$2"; shift 2 ;;
    --data-dir) DATA_DIR="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-$REPO/.venv/bin/python}"
[[ -x "$PY" ]] || PY=python3

echo "gpu_check: device=$DEVICE N=$N points_per_dim=$PPD levels=$LEVELS data_dir=$DATA_DIR"
if [[ "$DEVICE" == cuda* ]] && command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi

export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
export DEVICE N PPD LEVELS DATA_DIR
timeout --signal=INT "$LIMIT" "$PY" - <<'PYTHON'
import os
import sys
import tempfile
import time

import numpy as np
import torch

from distortion_reliability.build import build
from distortion_reliability.config import compose_config
from distortion_reliability.oracle import Oracle

device = torch.device(os.environ["DEVICE"])
n, ppd, n_levels = int(os.environ["N"]), int(os.environ["PPD"]), int(os.environ["LEVELS"])
data_dir = os.path.abspath(os.environ["DATA_DIR"])
if device.type == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_check: device cuda requested but torch.cuda.is_available() is False")
torch.set_num_threads(1)
print(f"torch {torch.__version__}, device {device}"
      + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""), flush=True)


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, *args):
    sync()
    start = time.perf_counter()
    out = fn(*args)
    sync()
    return out, time.perf_counter() - start


cfg = compose_config(["dataset=mnist", "model=lenet5", "distortion=paper", f"data_dir={data_dir}",
                      f"dataset.verification_size={n}", f"device={device.type}"])
ds = build("dataset", cfg.dataset, data_dir=data_dir)
vset = ds.verification_set(seed=0)
loaded = build("model", cfg.model)(dataset=ds, cache_dir=tempfile.mkdtemp(), device=device, progress=False)
net = loaded.module.eval()
space = build("distortion", cfg.distortion)
images, labels = vset.images, vset.labels
print(f"MNIST N={len(images)}, LeNet-5 ({loaded.name}), grid {ppd}^{space.box.d}", flush=True)

# 1. bf16 inference limit: undistorted images already on the device, best of a few batch sizes.
resident = images.to(device).contiguous(memory_format=torch.channels_last)
net = net.to(device).to(memory_format=torch.channels_last)
best = 0.0
with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16):
    for batch in (256, 1024, 4096, 16384):
        for _ in range(2):  # warm-up, then timed
            _, seconds = timed(lambda: [net(resident[i:i + batch]) for i in range(0, len(resident), batch)])
        best = max(best, len(resident) / seconds)
bf16_limit = best
print(f"bf16 limit {bf16_limit:,.0f} img/s", flush=True)

# 2. precision=auto decides on the device (measured here, in a fresh cache), then the oracle on random levels.
cache = tempfile.mkdtemp(prefix="dr-gpu-check-")
oracle, decide_s = timed(lambda: Oracle(net, images, labels, space, cache_dir=cache, precision="auto",
                                        context={"model": loaded.fingerprint}, device=device, progress=False))
print(oracle.decision.describe(), f"(decided in {decide_s:.1f} s)", flush=True)
rng = np.random.default_rng(0)
oracle.accuracy(space.box.sample_uniform(2, rng))  # warm-up
levels = space.box.sample_uniform(n_levels, rng)
f, seconds = timed(oracle.accuracy, levels)
oracle_rate = n_levels * len(images) / seconds
print(f"oracle {oracle_rate:,.0f} img/s on {n_levels} levels (f from {f.min():.3f} to {f.max():.3f})", flush=True)

# 3. The paper's grid at h = 0.9, early stopping on.
grid = space.box.grid(ppd)
labeller = Oracle(net, images, labels, space, cache_dir=cache, precision="auto",  # the stored decision: no measuring
                  context={"model": loaded.fingerprint}, device=device, progress=False)
assert labeller.decision.cached and labeller.precision == oracle.precision
grid_labels, grid_s = timed(labeller.label, grid, 0.9)
print(f"grid: {len(grid)} levels in {grid_s:.1f} s, {int(grid_labels.sum())} positive at h=0.9, "
      f"{labeller.images_evaluated / (len(grid) * len(images)):.1%} of a full evaluation", flush=True)

# 4. The GP sampler with its GP on the device (synthetic f: the cost is the GP's own).
from distortion_reliability.sampling import GPSampler  # noqa: E402
from distortion_reliability.sampling.synthetic import PAPER_BOX, SYNTHETIC_H, synthetic_accuracy  # noqa: E402

sampler = GPSampler(budget=60, device=str(device), progress=False)
result = sampler.sample(synthetic_accuracy, PAPER_BOX, SYNTHETIC_H, seed=0)
gp_per_it = float(np.mean(result.step_seconds))
again = GPSampler(budget=60, device=str(device), progress=False).sample(synthetic_accuracy, PAPER_BOX, SYNTHETIC_H, 0)
print(f"gp sampler on {device}: {gp_per_it:.4f} s per iteration, {result.n_positive} positives, "
      f"same levels run twice: {bool(np.array_equal(result.levels, again.levels))}", flush=True)

print(f"gpu_device={device}")
print(f"gpu_auto_choice={oracle.precision}")
print(f"gpu_auto_decision_s={decide_s:.1f}")
print(f"gpu_gp_seconds_per_iteration={gp_per_it:.4f}")
print(f"gpu_oracle_img_per_s={oracle_rate:.0f}")
print(f"gpu_bf16_limit_img_per_s={bf16_limit:.0f}")
print(f"gpu_grid_label_s={grid_s:.1f}")
PYTHON
