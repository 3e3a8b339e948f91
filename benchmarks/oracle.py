"""Oracle throughput on MNIST + LeNet-5 (../shared/data) with ``oracle.precision=auto``. Not a test: it prints figures.

Compares, in one run on the same levels:
  limits  pure inference of T on undistorted, preloaded images: torch fp32, torch bf16 autocast (best of
          two batch sizes and both memory layouts) and ONNX Runtime (T exported on the fly); the best
          of the three is the bar
  naive   a plain per-level pipeline: torchvision v2 transforms per image in a Dataset + DataLoader, fp32
          (geometry + darkness; rain is left out of it, and of the levels, so they compare like with like)
  auto    distortion_reliability's f(c) with precision=auto: the engine it picks here (measured once,
          in a fresh cache, and that time reported), levels x images batched
and checks that auto's f equals torch fp32's on the same levels (within the flips the rule allows).
Sized to finish in under 5 minutes on a 2-core AVX2-only CPU (N = 3,000, 6 levels; the limits on
1,024 images). Headline figures are printed last, one ``name=value`` per line; they are also written
to ``--out`` (a temporary folder by default), never into the repository.

    python benchmarks/oracle.py [--data-dir ../shared/data] [--threads 1] [--n 3000] [--levels 6]
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python benchmarks/oracle.py   # an AVX2-only CPU
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from distortion_reliability.allocator import keep_freed_memory
from distortion_reliability.config import compose_config
from distortion_reliability.models.engines import onnx_engine
from distortion_reliability.oracle import Oracle
from distortion_reliability.build import build
from distortion_reliability.precision import machine_kind, summarise


class NaiveDistorted(Dataset):
    """One distortion level applied image by image with torchvision v2, as a typical script would."""

    def __init__(self, images, labels, level, names):
        self.images, self.labels = images, labels
        lv = dict(zip(names, level.tolist()))
        h, w = images.shape[-2:]
        # torchvision affine rotates clockwise for positive angles; our rotation is counter-clockwise.
        self.affine = dict(angle=-lv["rotation"], translate=[lv["translation_x"] * w, lv["translation_y"] * h],
                           scale=lv["scale"], shear=[0.0, 0.0])
        self.gain = lv["darkness"]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = F.affine(self.images[i], **self.affine, interpolation=v2.InterpolationMode.BILINEAR)
        x = (x * self.gain).clamp(0, 1)
        return x, self.labels[i]


def naive_accuracy(model, images, labels, level, names, batch_size=256):
    loader = DataLoader(NaiveDistorted(images, labels, level, names), batch_size=batch_size, num_workers=0)
    correct = 0
    with torch.inference_mode():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())
    return correct / len(images)


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def best_rate(run, images, batch):
    """img/s of ``run`` over ``images`` in batches: warm-up at the batch shape, then best of three passes
    (one when a pass takes over 2 s: emulated bf16 would otherwise dominate the benchmark's time).
    ``len(images)`` is a multiple of ``batch`` (no odd last batch whose shape was never warmed up)."""
    run(images[:batch])
    best = float("inf")
    for _ in range(3):
        _, seconds = timed(lambda: [run(images[s : s + batch]).argmax(1) for s in range(0, len(images), batch)])
        best = min(best, seconds)
        if seconds > 2.0:
            break
    return len(images) / best


def torch_limit(model, images, bf16):
    """Best img/s of pure inference over batch sizes 256 / 1,024 and both memory layouts."""
    best = 0.0
    for layout in (torch.channels_last, torch.contiguous_format):
        model = model.to(memory_format=layout)
        x = images.contiguous(memory_format=layout)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            best = max([best] + [best_rate(model, x, batch) for batch in (256, 1024)])
    return best


def onnx_limit(model, images, folder):
    engine = onnx_engine(model, "cpu", images, folder, "lenet5")
    return 0.0 if engine is None else max(best_rate(engine, images, batch) for batch in (256, 1024))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("DR_DATA_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--levels", type=int, default=6, help="levels for the oracle's throughput")
    ap.add_argument("--naive-levels", type=int, default=2, help="levels timed through the naive pipeline")
    ap.add_argument("--limit-images", type=int, default=1024, help="images for the inference limits (x 1,024)")
    ap.add_argument("--out", default=None, help="folder for figures.json (default: a temporary folder)")
    args = ap.parse_args()
    begin = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # for every pipeline measured here, naive included: like with like
    data_dir = str(Path(args.data_dir).expanduser().resolve())
    cfg = compose_config(["dataset=mnist", "model=lenet5", "distortion=paper", f"data_dir={data_dir}",
                          f"dataset.verification_size={args.n}"])
    work = Path(tempfile.mkdtemp(prefix="dr-bench-oracle-"))
    try:
        ds = build("dataset", cfg.dataset, data_dir=data_dir)
        vset = ds.verification_set(seed=0)
        model = build("model", cfg.model)(dataset=ds, cache_dir=str(work), device="cpu", progress=False)
    except FileNotFoundError as err:
        print(f"skipped: MNIST / LeNet-5 not found ({err})")
        return 0
    net = model.module.eval()
    space = build("distortion", cfg.distortion)
    levels = space.box.sample_uniform(args.levels, np.random.default_rng(0))
    levels[:, space.names.index("rain")] = 0.0  # the naive pipeline has no rain
    images, labels = vset.images, vset.labels
    n = len(images)
    kind = machine_kind("cpu")
    print(f"MNIST N={n}, LeNet-5, {args.threads} thread(s), {args.levels} levels; CPU capability "
          f"{kind['capability']}, flags {' '.join(kind['flags'])}, ONEDNN_MAX_CPU_ISA={kind['onednn_max_isa'] or '-'}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)

    count = max(1024, args.limit_images // 1024 * 1024)  # a multiple of both batch sizes
    limit_images = images.repeat(-(-count // n), 1, 1, 1)[:count]
    limits = {"fp32": torch_limit(net, limit_images, bf16=False), "bf16": torch_limit(net, limit_images, bf16=True),
              "onnxruntime": onnx_limit(net, limit_images, work / "onnx")}
    print("limits: " + ", ".join(f"{k} {v:,.0f} img/s" for k, v in limits.items()), flush=True)
    net = net.to(memory_format=torch.contiguous_format)  # the naive pipeline gets the model as loaded

    naive_levels = levels[: args.naive_levels]
    _, naive_s = timed(lambda: [naive_accuracy(net, images, labels, lv, space.names) for lv in naive_levels])
    naive_rate = len(naive_levels) * n / naive_s
    print(f"naive {naive_rate:,.0f} img/s", flush=True)

    # precision=auto in a fresh cache: the decision is measured here, once, and its time reported.
    auto, decide_s = timed(Oracle, net, images, labels, space, cache_dir=work / "cache", precision="auto",
                           context={"model": model.fingerprint}, progress=False)
    print(f"auto decided in {decide_s:.1f} s: {summarise(list(auto.decision.measurements), auto.decision)}", flush=True)
    auto.accuracy(levels[:1])  # warm-up at the oracle's batch shape
    f_auto, auto_s = timed(auto.accuracy, levels)
    auto_rate = len(levels) * n / auto_s
    f_fp32 = Oracle(net, images, labels, space, cache_dir=None, precision="fp32", progress=False).accuracy(levels)
    diff = float(np.max(np.abs(f_auto - f_fp32)))
    print(f"auto ({auto.precision}) {auto_rate:,.0f} img/s; max |f_auto - f_fp32| over {len(levels)} levels = "
          f"{diff:.5f} ({diff * n:.0f} image(s) of {n})", flush=True)

    best = max(limits.values())
    figures = {
        "cpu_capability": kind["capability"], "load_average": round(os.getloadavg()[0], 2),
        "naive_img_per_s": round(naive_rate), "fp32_limit_img_per_s": round(limits["fp32"]),
        "bf16_limit_img_per_s": round(limits["bf16"]), "onnxruntime_limit_img_per_s": round(limits["onnxruntime"]),
        "best_limit_img_per_s": round(best), "oracle_auto_img_per_s": round(auto_rate), "auto_choice": auto.precision,
        "auto_decision_s": round(decide_s, 1), "max_abs_f_diff_vs_fp32": round(diff, 5),
        "fraction_of_best_limit": round(auto_rate / best, 3), "speedup_vs_naive": round(auto_rate / naive_rate, 2),
        "benchmark_s": round(time.perf_counter() - begin, 1),
    }
    out = Path(args.out) if args.out else work
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(json.dumps(figures, indent=1))
    print(f"figures: {out / 'figures.json'}")
    for key, value in figures.items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
