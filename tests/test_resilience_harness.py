"""A small, self-contained digits oracle for the resilience tests and ``benchmarks/resilience.py``.

It depends only on the oracle (not on the data, models or distortions modules, which change
independently): scikit-learn's bundled 8x8 digits, a tiny CNN trained once per cache (seeded,
CPU, deterministic) and a six-op distortion space shaped like the paper's (scale, rotation,
translation x/y, darkness, rain).

Run as a script it is one "job": label a grid with the oracle and write a JSON summary::

    python tests/test_resilience_harness.py --cache C --out result.json [--points 3] [--h 0.5]

Exit codes: 0 done, 2 one ``error:`` line (bad input, I/O), 130 interrupted (progress saved).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from distortion_reliability.box import Box

HERE = Path(__file__).resolve().parent


class DigitsSpace:
    """scale, rotation (deg), translation x/y (fraction), darkness (gain), rain (0..1)."""

    box = Box(["scale", "rotation", "translation_x", "translation_y", "darkness", "rain"],
              [0.7, 0.0, -0.2, -0.2, 0.7, 0.0], [1.3, 90.0, 0.2, 0.2, 1.3, 1.0])

    def spec(self):
        return {"harness_digits_space": 1}

    def make_noise(self, num_images, height, width, seed, device):
        g = torch.Generator().manual_seed(int(seed) + 12345)
        return (torch.rand(num_images, 1, height, width, generator=g) < 0.15).float().to(device)

    def apply(self, images, levels, noise=None):
        lv = torch.as_tensor(levels, dtype=torch.float32, device=images.device).reshape(-1, 6)
        n_levels, (m, c, hgt, wid) = lv.shape[0], images.shape
        s, rot = lv[:, 0], lv[:, 1] * math.pi / 180
        cos, sin = torch.cos(rot) / s, torch.sin(rot) / s
        theta = torch.stack([torch.stack([cos, -sin, -2 * lv[:, 2]], 1),
                             torch.stack([sin, cos, -2 * lv[:, 3]], 1)], 1)  # [L, 2, 3]
        theta = theta.repeat_interleave(m, 0)
        x = images.unsqueeze(0).expand(n_levels, m, c, hgt, wid).reshape(n_levels * m, c, hgt, wid)
        grid = torch.nn.functional.affine_grid(theta, list(x.shape), align_corners=False)
        x = torch.nn.functional.grid_sample(x, grid, align_corners=False).reshape(n_levels, m, c, hgt, wid)
        if noise is not None:
            x = x + lv[:, 5].view(-1, 1, 1, 1, 1) * noise.unsqueeze(0)
        return (x * lv[:, 4].view(-1, 1, 1, 1, 1)).clamp(0, 1)


def tiny_cnn() -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(32 * 16, 10))


def digits_split():
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    images = torch.as_tensor(x / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    labels = torch.as_tensor(y, dtype=torch.long)
    return (images[0::2], labels[0::2]), (images[1::2], labels[1::2])  # train 899, test 898


def trained_model(path: Path) -> torch.nn.Module:
    """The tiny CNN, trained once (seeded) and saved to ``path``; later calls load it."""
    net = tiny_cnn()
    if path.is_file():
        net.load_state_dict(torch.load(path, weights_only=True))
        return net.eval()
    torch.manual_seed(0)
    (xtr, ytr), _ = digits_split()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(25):
        for idx in torch.randperm(len(xtr), generator=g).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xtr[idx]), ytr[idx]).backward()
            opt.step()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(net.state_dict(), tmp)
    os.replace(tmp, path)
    return net.eval()


def make_oracle(cache_dir, model_path, n_images=None, **kw):
    from distortion_reliability.oracle import Oracle

    _, (xte, yte) = digits_split()
    if n_images:
        xte, yte = xte[:n_images], yte[:n_images]
    kw.setdefault("progress", False)
    kw.setdefault("precision", "fp32")
    return Oracle(trained_model(Path(model_path)), xte, yte, DigitsSpace(), cache_dir=cache_dir,
                  context={"harness": "digits", "model": str(model_path)}, **kw)


def labels_digest(labels: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(labels, dtype=np.uint8).tobytes()).hexdigest()[:16]


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--cache", required=True)
    p.add_argument("--model", default=None, help="model weights (default <cache>/../model.pt)")
    p.add_argument("--out", default=None)
    p.add_argument("--points", type=int, default=3)
    p.add_argument("--h", type=float, default=0.5)
    p.add_argument("--precision", default="fp32")
    p.add_argument("--n-images", type=int, default=None, help="use the first n test images as D (default all 898)")
    p.add_argument("--flush-seconds", type=float, default=None)
    p.add_argument("--ready", default=None, help="touch this file once the oracle starts labelling")
    p.add_argument("--enospc-after", type=int, default=None,
                   help="simulate a full disk: the n-th cache write and every later one fail with ENOSPC")
    p.add_argument("--counter", default=None,
                   help="keep the number of images evaluated so far in this 8-byte file (readable after SIGKILL)")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if os.environ.get("DR_HARNESS_LOG"):
        import logging

        logging.basicConfig(level=os.environ["DR_HARNESS_LOG"], format="%(relativeCreated)d %(name)s %(message)s")
    from distortion_reliability import locks
    from distortion_reliability.artifacts import probe_writable
    from distortion_reliability.errors import DistortionReliabilityError

    model = Path(args.model) if args.model else Path(args.cache).parent / "model.pt"
    try:
        with locks.interrupt_guard():
            probe_writable(args.cache, what="cache_dir")
            if args.enospc_after is not None:
                from conftest import simulate_full_disk  # tests/ is this script's folder

                from distortion_reliability import artifacts

                simulate_full_disk(artifacts, args.enospc_after)
            kw = {} if args.flush_seconds is None else {"flush_seconds": args.flush_seconds}
            oracle = make_oracle(args.cache, model, n_images=args.n_images, precision=args.precision, **kw)
            if args.counter:
                _count_images(oracle, args.counter)
            levels = oracle.box.grid(args.points)
            if args.ready:
                Path(args.ready).touch()
            start = time.perf_counter()
            labels = oracle.label(levels, args.h)
            result = {"images_evaluated": oracle.images_evaluated, "n_levels": len(levels),
                      "seconds": time.perf_counter() - start,
                      "n_positive": int(labels.sum()), "labels": labels_digest(labels)}
            if args.out:
                Path(args.out).write_text(json.dumps(result))
            print(json.dumps(result))
    except DistortionReliabilityError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _count_images(oracle, path) -> None:
    """After every batch, store ``oracle.images_evaluated`` in a shared memory map of ``path``."""
    import mmap

    with open(path, "wb") as fh:
        fh.write(bytes(8))
    fh = open(path, "r+b")
    mem = mmap.mmap(fh.fileno(), 8)
    real = oracle._correct_counts

    def counted(*a, **k):
        out = real(*a, **k)
        mem[:8] = int(oracle.images_evaluated).to_bytes(8, "little")
        return out

    oracle._correct_counts = counted
    oracle._counter_mem = (fh, mem)


def read_counter(path) -> int:
    return int.from_bytes(Path(path).read_bytes()[:8], "little")


if __name__ == "__main__":
    sys.exit(main())
