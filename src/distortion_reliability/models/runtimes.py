"""Deployed-model formats as ``nn.Module``s: TorchScript, ``torch.export`` (.pt2) and ONNX (onnxruntime).

The oracle moves its model with ``.to(device, memory_format=channels_last)``, calls ``.eval()`` and
feeds float batches, possibly channels_last and under bf16 autocast; each wrapper here accepts all of
that. Archives with a fixed batch size are fed in chunks of that size (the last one zero-padded).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .loading import CheckpointError, existing_file

log = logging.getLogger(__name__)


def _run_fixed_batch(run: Callable, x, batch: int | None, pad: Callable):
    """``run`` on ``x`` in chunks of exactly ``batch`` items (all at once when ``batch`` is None)."""
    n = x.shape[0]
    if batch is None or n == batch:
        return [run(x)]
    outs = []
    for start in range(0, n, batch):
        chunk = x[start : start + batch]
        m = chunk.shape[0]
        outs.append(run(pad(chunk, batch - m) if m < batch else chunk)[:m])
    return outs


# --------------------------------------------------------------------------------------------- TorchScript


def load_torchscript(path: str | Path) -> nn.Module:
    """A ``torch.jit`` archive, on CPU."""
    p = existing_file(path, "TorchScript archive")
    try:
        with warnings.catch_warnings():
            # torch 2.14 deprecates TorchScript; loading deployed archives is the point of this kind.
            warnings.simplefilter("ignore", FutureWarning)
            return torch.jit.load(str(p), map_location="cpu")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"TorchScript archive {p} cannot be loaded (not a torch.jit.save archive, or "
                              f"truncated; a plain state_dict needs model=custom or an architecture kind): {first}") from None


# --------------------------------------------------------------------------------------------- torch.export


class ExportedModule(nn.Module):
    """The module of a ``torch.export`` program (``torch.export.load`` of a ``.pt2`` file).

    Exported graphs fix train/eval behaviour when they are exported (export in eval mode) and refuse
    ``.train()``/``.eval()``, so this wrapper does not pass those calls on.
    """

    def __init__(self, program: "torch.export.ExportedProgram"):
        super().__init__()
        self.input_shape = _exported_input_shape(program)
        self.program = program.module()

    def train(self, mode: bool = True) -> "ExportedModule":
        self.training = bool(mode)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = lambda c, k: torch.cat([c, c.new_zeros((k, *c.shape[1:]))])  # noqa: E731
        return torch.cat(_run_fixed_batch(self.program, x, self.input_shape[0], pad))


def _exported_input_shape(program) -> tuple[int | None, ...]:
    """Static sizes of the one user input (None where the dimension is dynamic)."""
    users = list(program.graph_signature.user_inputs)
    if len(users) != 1:
        raise CheckpointError(f"torch.export program takes {len(users)} inputs ({users}); an image classifier takes one")
    node = next(n for n in program.graph.nodes if n.op == "placeholder" and n.name == users[0])
    val = node.meta.get("val")
    if val is None:
        return (None, None, None, None)
    return tuple(d if isinstance(d, int) else None for d in val.shape)


def load_exported(path: str | Path) -> ExportedModule:
    """A ``torch.export.save`` archive (``.pt2``), on CPU."""
    p = existing_file(path, "torch.export archive")
    try:
        program = torch.export.load(str(p))
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"torch.export archive {p} cannot be loaded (not a torch.export.save .pt2 file, or "
                              f"truncated): {type(exc).__name__}: {first}") from None
    return ExportedModule(program)


# --------------------------------------------------------------------------------------------- ONNX


class OnnxModule(nn.Module):
    """An ONNX model run by onnxruntime, callable like a torch module.

    The distortions stay in torch; each batch is copied to a float32 contiguous NCHW numpy array
    (whatever its layout or autocast dtype), run by the session, and the logits come back as a float32
    tensor on the input's device. So ``precision=bf16`` changes nothing here: ONNX runs in fp32
    (or in the float16 the graph itself declares).

    Parameters
    ----------
    path : path
        The ``.onnx`` file (one image input ``[B, C, H, W]``, logits as its first output).
    device : str or torch.device
        ``cuda`` uses onnxruntime's CUDAExecutionProvider when the installed build has it (else CPU,
        with a warning).
    threads : int or None
        Intra-op threads of the session; None: ``torch.get_num_threads()``.
    """

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", threads: int | None = None):
        super().__init__()
        import onnxruntime as ort

        p = existing_file(path, "ONNX model")
        available = ort.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if torch.device(device).type == "cuda":
            if "CUDAExecutionProvider" in available:
                providers.insert(0, "CUDAExecutionProvider")
            else:
                log.warning("onnxruntime has no CUDAExecutionProvider (installed providers: %s): the ONNX model runs "
                            "on the CPU", ", ".join(available))
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or torch.get_num_threads())
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: ORT's warnings would flood a sweep's logs
        try:
            self.session = ort.InferenceSession(str(p), sess_options=options, providers=providers)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(f"ONNX model {p} cannot be loaded by onnxruntime (not an ONNX file, truncated, "
                                  f"or operators this onnxruntime lacks): {first}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise CheckpointError(f"ONNX model {p} takes {len(inputs)} inputs ({[i.name for i in inputs]}); "
                                  "an image classifier takes one")
        self.input_name = inputs[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.input_dtype = {"tensor(float)": np.float32, "tensor(float16)": np.float16}.get(inputs[0].type)
        if self.input_dtype is None:
            raise CheckpointError(f"ONNX model {p} takes {inputs[0].type} input; images need float or float16")
        self.input_shape = tuple(d if isinstance(d, int) and d > 0 else None for d in inputs[0].shape)
        self.providers = self.session.get_providers()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy().astype(self.input_dtype, copy=False)

        def run(a: np.ndarray) -> np.ndarray:
            return self.session.run([self.output_name], {self.input_name: a})[0]

        def pad(a: np.ndarray, k: int) -> np.ndarray:
            return np.concatenate([a, np.zeros((k, *a.shape[1:]), a.dtype)])

        out = np.concatenate(_run_fixed_batch(run, arr, self.input_shape[0] if self.input_shape else None, pad))
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(x.device)

