"""The ways the oracle can run T (engines), and measuring them on a probe for ``oracle.precision=auto``.

An engine is a name, a module and how batches go through it:

``fp32`` / ``bf16``
    torch, channels_last (oneDNN's fast layout on CPU, and GPUs'), bf16 as autocast.
``fp32-nchw`` / ``bf16-nchw``
    The same in the contiguous layout (faster for some models on some CPUs).
``onnxruntime``
    T exported to ONNX on the fly (stored next to the precision measurements) and run by ONNX Runtime
    in fp32; the distortions stay in torch.

The engine's name is the oracle's effective precision: it keys the oracle's cache. Each name is also
a value of ``oracle.precision``, which runs that engine as asked (no measuring).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ..precision import Measurement, Probe
from .runtimes import OnnxModule

log = logging.getLogger(__name__)

TORCH_ENGINES = {"fp32": (False, True), "bf16": (True, True), "fp32-nchw": (False, False), "bf16-nchw": (True, False)}
ONNX = "onnxruntime"


class Engine:
    """One way to run T: ``engine(batch) -> logits`` inside ``with engine.inference():``."""

    def __init__(self, name: str, module: nn.Module, device: torch.device, bf16: bool = False,
                 channels_last: bool = True):
        self.name, self.module, self.device = name, module, torch.device(device)
        self.bf16, self.layout = bf16, torch.channels_last if channels_last else torch.contiguous_format

    def prepare(self) -> "Engine":
        """Put the (shared) torch module in this engine's layout; call before using it."""
        if not isinstance(self.module, OnnxModule):
            self.module = self.module.to(self.device, memory_format=self.layout).eval()
        return self

    def inference(self) -> contextlib.ExitStack:
        stack = contextlib.ExitStack()
        stack.enter_context(torch.inference_mode())
        if self.bf16:
            stack.enter_context(torch.autocast(self.device.type, dtype=torch.bfloat16))
        return stack

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return self.module(batch.contiguous(memory_format=self.layout))


def torch_engine(name: str, module: nn.Module, device: Any) -> Engine:
    bf16, channels_last = TORCH_ENGINES[name]
    return Engine(name, module, device, bf16, channels_last).prepare()


def _runs_onnx(module: nn.Module) -> bool:
    return any(isinstance(m, OnnxModule) for m in module.modules())


def onnx_engine(module: nn.Module, device: Any, example: torch.Tensor, folder: str | Path | None,
                name: str) -> Engine | None:
    """T exported to ``<folder>/<name>.onnx`` (reused when there) and run by ONNX Runtime; None if it cannot be.

    Exported by torch's TorchScript-based exporter (under a second for LeNet-5; the torch.export one
    took 20 s here), falling back to the torch.export one.
    """
    device = torch.device(device)
    if _runs_onnx(module):
        return None
    if device.type == "cuda":
        import onnxruntime as ort

        if "CUDAExecutionProvider" not in ort.get_available_providers():
            return None  # ORT on the CPU is no candidate for a GPU oracle
    folder = Path(folder) if folder is not None else _scratch()
    path = folder / f"{name}.onnx"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")  # two jobs exporting at once never share a file
        cpu = module.to("cpu", memory_format=torch.contiguous_format).eval()
        sample = example[:2].detach().to("cpu", torch.float32).contiguous()
        for dynamo in (False, True):
            try:
                with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
                    warnings.simplefilter("ignore")
                    if dynamo:
                        torch.onnx.export(cpu, (sample,), str(tmp), input_names=["images"], dynamo=True,
                                          dynamic_shapes=({0: torch.export.Dim("batch", min=1)},), verbose=False)
                    else:
                        torch.onnx.export(cpu, (sample,), str(tmp), input_names=["images"], dynamo=False,
                                          dynamic_axes={"images": {0: "batch"}})
                tmp.replace(path)
                break
            except Exception as exc:  # noqa: BLE001 - a model ONNX cannot express is simply no candidate
                log.debug("ONNX export (dynamo=%s) failed: %s", dynamo, exc)
        module.to(device)
        if not path.is_file():
            return None
    try:
        return Engine(ONNX, OnnxModule(path, device=device), device, channels_last=False)
    except Exception as exc:  # noqa: BLE001 - e.g. a truncated file: exported again next time
        log.debug("ONNX Runtime cannot load the exported model: %s", exc)
        path.unlink(missing_ok=True)
        return None


def onnx_unavailable(module: nn.Module, device: Any) -> str:
    """Why :func:`onnx_engine` gave no engine (for ``oracle.precision=onnxruntime``, which cannot fall back)."""
    if _runs_onnx(module):
        return "T is an ONNX model already and runs in ONNX Runtime in fp32: use precision fp32 (or auto)"
    if torch.device(device).type == "cuda":
        return "this onnxruntime has no CUDAExecutionProvider for a GPU oracle: use auto, fp32 or bf16"
    return "T could not be exported to ONNX (torch.onnx.export failed): use auto, fp32 or bf16"


@functools.lru_cache(maxsize=1)
def _scratch() -> Path:
    """Where exports go without a cache: one temporary folder per process."""
    return Path(tempfile.mkdtemp(prefix="dr-onnx-"))


def candidate_names(module: nn.Module, device: Any) -> list[str]:
    """Engines worth measuring for ``module``: one when it already runs in ONNX Runtime (always fp32)."""
    if _runs_onnx(module):
        return ["fp32"]
    return [*TORCH_ENGINES, ONNX]


def build_engine(name: str, module: nn.Module, device: Any, example: torch.Tensor, folder: str | Path | None,
                 key: str) -> Engine | None:
    if name == ONNX:
        return onnx_engine(module, device, example, folder, key)
    return torch_engine(name, module, device)


# ----------------------------------------------------------------------------- measuring on the probe


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(engine: Engine, batch: torch.Tensor) -> tuple[torch.Tensor, float]:
    _sync(engine.device)
    start = time.perf_counter()
    with engine.inference():
        predicted = engine(batch).argmax(1)
    _sync(engine.device)
    return predicted, time.perf_counter() - start


def measure(build: Callable[[str], Engine | None], names: list[str], probe: torch.Tensor, labels: torch.Tensor,
            rounds: int = 3, screen: float = 3.0) -> tuple[dict[str, Measurement], Probe]:
    """Speed and fp32 agreement of each engine on ``probe`` ``[P levels, m images, C, H, W]`` (``labels`` ``[m]``).

    Each engine first runs 32 images (warm-up) and is timed on 64; one more than ``screen`` times slower
    than the best so far is recorded at that speed and not probed further (bf16 emulated on a CPU
    without native bf16 would spend seconds per batch). The others predict the whole probe (warm-up at
    the full batch shape, and their predictions), then are timed on it in ``rounds`` round-robin
    rounds, best of each: a burst of load on a shared machine then slows every engine alike instead
    of the one being timed.
    """
    levels, m = probe.shape[:2]
    batch = probe.reshape(levels * m, *probe.shape[2:])
    results: dict[str, Measurement] = {}
    engines: dict[str, Engine] = {}
    predictions: dict[str, torch.Tensor] = {}
    quick_best = 0.0
    for name in names:  # fp32 first: it is the reference
        engine = build(name)
        if engine is None:
            continue
        _timed(engine, batch[:32])
        _, seconds = _timed(engine, batch[:64])
        quick = min(64, len(batch)) / max(seconds, 1e-9)
        quick_best = max(quick_best, quick)
        if quick * screen < quick_best:
            results[name] = Measurement(quick, None)
            continue
        engines[name] = engine
        predictions[name] = _timed(engine, batch)[0].cpu().reshape(levels, m)
    best = dict.fromkeys(engines, float("inf"))
    for _ in range(rounds):
        for name, engine in engines.items():
            engine.prepare()  # the torch engines share one module: put it back in this one's layout
            best[name] = min(best[name], _timed(engine, batch)[1])
    reference = predictions[names[0]]
    for name in engines:
        results[name] = Measurement(len(batch) / best[name], int((predictions[name] != reference).sum()))
    accuracy = tuple(float(a) for a in (reference == labels.cpu()).float().mean(1))
    return {name: results[name] for name in names if name in results}, Probe(accuracy, int(m))
