"""Safe checkpoint reading: tensors only, never arbitrary pickled code.

``.pt``/``.pth``/``.th`` files go through ``torch.load(weights_only=True)``, which refuses pickled
globals (a crafted checkpoint cannot run code while it is read); ``.safetensors`` files go through
safetensors. Every failure (missing, empty, text, truncated, needs full pickle, keys that do not fit
the network) is one :class:`CheckpointError` (or :class:`DataNotFoundError`) whose message says what
to do.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from ..errors import DataNotFoundError, DistortionReliabilityError

# Containers that training scripts commonly wrap a state_dict in.
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")
# Prefixes added by DataParallel / DistributedDataParallel, torch.compile, and our own Classifier wrapper.
_PREFIXES = ("module.", "_orig_mod.", "net.")


class CheckpointError(DistortionReliabilityError, ValueError):
    """A checkpoint file cannot be used: unreadable, unsafe to unpickle, or not fitting the network."""


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def state_sha256(state: Mapping[str, torch.Tensor], extra: Any = None) -> str:
    """sha256 of a state_dict's names, shapes and bytes (and of ``extra``, JSON-encoded)."""
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def existing_file(path: str | Path, what: str = "checkpoint") -> Path:
    """``path`` as a Path, or :class:`DataNotFoundError` naming it (a folder or empty file: :class:`CheckpointError`)."""
    p = Path(str(path)).expanduser()
    if not p.exists():
        raise DataNotFoundError(f"{what} not found: {p} (set model.checkpoint=<path to the file>, "
                                "or point data_dir at the folder that holds weights/)")
    if not p.is_file():
        raise CheckpointError(f"{what} {p} is not a file")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{what} {p} is empty (an interrupted download or copy?)")
    return p


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head[:-4].decode("utf-8") if len(head) > 8 else head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return sum(c.isprintable() or c in "\r\n\t" for c in text) >= 0.95 * max(len(text), 1)


def _looks_like_safetensors(head: bytes) -> bool:
    # safetensors: little-endian u64 header length, then a JSON header starting with '{'.
    return len(head) > 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < (1 << 28)


def _zip_kind(path: Path) -> str | None:
    """'torchscript' or 'export' for those archive formats, else None."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if any("/code/" in n for n in names):
        return "torchscript"
    if any(n.endswith("archive_format") or "/models/" in n for n in names):
        return "export"
    return None


def _convert_hint(path: Path) -> str:
    return (
        "If you trust the file, convert it once to a plain state_dict in your own Python session: "
        f"obj = torch.load('{path}', weights_only=False); "
        "torch.save(obj.state_dict() if hasattr(obj, 'state_dict') else obj['state_dict'], 'weights.pt') "
        "(or safetensors.torch.save_file(state_dict, 'weights.safetensors')), then pass model.checkpoint=weights.pt"
    )


def read_checkpoint(path: str | Path, what: str = "checkpoint") -> Any:
    """The object stored in a checkpoint file, read without executing pickled code.

    Returns a mapping of tensors for safetensors, else whatever ``torch.load(weights_only=True)``
    gives (a state_dict, or a dict holding one plus plain metadata).
    """
    p = existing_file(path, what)
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if _looks_like_safetensors(head) or p.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(p), device="cpu")
        except Exception as exc:
            raise CheckpointError(f"{what} {p} is not a readable safetensors file (truncated or corrupt?): "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    kind = _zip_kind(p) if head[:4] == b"PK\x03\x04" else None
    if kind is not None:  # torch.load would hand a TorchScript archive to torch.jit.load
        raise _explain_load_failure(p, head, RuntimeError(kind), what)
    try:
        with warnings.catch_warnings():
            # A plain pickle.dump file triggers a protocol warning before it is refused below.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            # map_location: checkpoints saved on a GPU must load on a CPU-only machine.
            return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _explain_load_failure(p, head, exc, what) from None


def _explain_load_failure(p: Path, head: bytes, exc: Exception, what: str) -> CheckpointError:
    message = str(exc)
    if _looks_like_text(head):
        start = head[:60].decode("utf-8", "replace").splitlines()[0] if head.strip() else ""
        hint = " It is a Git LFS pointer: run `git lfs pull` to fetch the real file." if start.startswith(
            "version https://git-lfs") else ""
        return CheckpointError(f"{what} {p} is a text file, not a checkpoint (it starts with {start!r}).{hint}")
    kind = _zip_kind(p) if head[:4] == b"PK\x03\x04" else None
    if kind == "torchscript" or "TorchScript archives" in message:
        return CheckpointError(f"{what} {p} is a TorchScript archive, not a state_dict: use model=torchscript "
                               f"model.checkpoint={p}")
    if kind == "export":
        return CheckpointError(f"{what} {p} is a torch.export archive, not a state_dict: use model=export "
                               f"model.checkpoint={p}")
    if "Weights only load failed" in message:
        found = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\. Please use|\n\n|$)", message, re.S)
        reason = " ".join(found.group(1).split()) if found else "it holds more than tensors and plain containers"
        return CheckpointError(
            f"{what} {p} was refused: it needs full pickle loading ({reason}), which can run arbitrary code, "
            f"so it is never done here. {_convert_hint(p)}")
    truncated = ("central directory", "zip archive", "EOF", "corrupt", "unexpected end")
    if isinstance(exc, (EOFError, pickle.UnpicklingError)) or any(t in message for t in truncated):
        return CheckpointError(f"{what} {p} is truncated or corrupt ({p.stat().st_size:,} bytes; "
                               f"{type(exc).__name__}: {message.splitlines()[0][:120] if message else 'unexpected end'}); "
                               "copy or download it again")
    return CheckpointError(f"{what} {p} cannot be read as a PyTorch or safetensors checkpoint: "
                           f"{type(exc).__name__}: {message.splitlines()[0][:200] if message else ''}")


def extract_state_dict(obj: Any, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The tensors of a state_dict, unwrapped from ``{"state_dict": ...}``-style containers."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, Mapping):
        for key in _STATE_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    state = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)} if isinstance(obj, Mapping) else {}
    if not state:
        raise CheckpointError(f"{what} holds no state_dict (a mapping of parameter names to tensors); "
                              f"found {type(obj).__name__}")
    return state


def _strip(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor] | None:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return None


def load_state_into(net: nn.Module, state: Mapping[str, torch.Tensor], model: str, source: str | Path) -> None:
    """Copy ``state`` into ``net``; keys or shapes that do not fit raise one error listing the first mismatches.

    Common wrapper prefixes (``module.``, ``_orig_mod.``, ``net.``) are removed when that makes the
    keys fit; BatchNorm's ``num_batches_tracked`` (absent before PyTorch 0.4.1, unused at inference)
    may be missing.
    """
    expected = net.state_dict()
    candidates = [dict(state)]
    for prefix in _PREFIXES:
        for cand in list(candidates):
            stripped = _strip(cand, prefix)
            if stripped is not None:
                candidates.append(stripped)

    def problems(cand: Mapping[str, torch.Tensor]) -> tuple[list, list, list]:
        cand_keys = set(cand) | {k for k in expected if k.endswith("num_batches_tracked")}
        missing = sorted(set(expected) - cand_keys)
        unexpected = sorted(set(cand) - set(expected))
        shapes = sorted(k for k in set(expected) & set(cand) if tuple(expected[k].shape) != tuple(cand[k].shape))
        return missing, unexpected, shapes

    scored = [(sum(map(len, problems(c))), i, c) for i, c in enumerate(candidates)]
    _, _, best = min(scored, key=lambda t: (t[0], -t[1]))
    missing, unexpected, shapes = problems(best)
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing: {', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected: {', '.join(unexpected[:5])}{', ...' if len(unexpected) > 5 else ''}")
        if shapes:
            shown = "; ".join(f"{k}: checkpoint {tuple(best[k].shape)} vs model {tuple(expected[k].shape)}"
                              for k in shapes[:5])
            parts.append(f"{len(shapes)} of another shape: {shown}{'; ...' if len(shapes) > 5 else ''}")
        hint = ""
        if shapes and not missing and not unexpected:
            hint = (" (a checkpoint trained for another number of classes or image size: set model.num_classes"
                    " / model.input_size to what it was trained with)")
        raise CheckpointError(f"checkpoint {source} does not fit model {model!r}: {'; '.join(parts)}{hint}")
    filled = {**{k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}, **best}
    net.load_state_dict(filled, strict=True)


def load_weights(net: nn.Module, path: str | Path, model: str) -> str:
    """Read ``path`` safely into ``net``; returns the file's sha256."""
    p = existing_file(path)
    load_state_into(net, extract_state_dict(read_checkpoint(p), f"checkpoint {p}"), model, p)
    return file_sha256(p)
