"""Content-addressed, atomic artifact store.

Every stage output is keyed by the hash of exactly the configuration that determines it, so a
sweep computes each expensive artifact once and a killed sweep resumes. Writes go to a temporary
file in the same directory and are renamed into place (``os.replace`` is atomic on POSIX), so
concurrent multirun jobs never read half an artifact. Each file carries a SHA-256 of its payload:
a truncated or corrupted file is detected on read, treated as absent and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

_MAGIC = b"DRA1"  # file format marker + version: "DRA1" <64 hex sha256> "\n" <payload>


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, numpy scalars/arrays as plain lists, floats at full precision."""

    def default(o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, Path):
            return str(o)
        if isinstance(o, (set, frozenset)):
            return sorted(o)
        # OmegaConf containers and other mappings/sequences
        if isinstance(o, Mapping):
            return dict(o)
        if hasattr(o, "__iter__"):
            return list(o)
        raise TypeError(f"cannot hash object of type {type(o).__name__}")

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=default)


def stable_hash(obj: Any, length: int = 16) -> str:
    """Short hex digest of ``canonical_json(obj)``; the key of every cached artifact."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:length]


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` with a checksum header to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(payload).hexdigest().encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + digest + b"\n" + payload)
        os.replace(tmp, path)
    except BaseException:
        # Never leave a half-written temp file behind, even on KeyboardInterrupt.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_verified_bytes(path: Path) -> bytes | None:
    """Payload of a file written by :func:`atomic_write_bytes`, or None if absent or corrupted."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    head = len(_MAGIC) + 64 + 1
    if len(raw) < head or raw[: len(_MAGIC)] != _MAGIC or raw[head - 1 : head] != b"\n":
        return None
    payload = raw[head:]
    if hashlib.sha256(payload).hexdigest().encode() != raw[len(_MAGIC) : head - 1]:
        return None
    return payload


class ArtifactStore:
    """A directory of checksummed artifacts, addressed by ``(kind, key)``.

    Parameters
    ----------
    root : path
        Directory holding the artifacts; created on first write.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, kind: str, key: str, ext: str) -> Path:
        return self.root / kind / f"{key}.{ext}"

    def put_json(self, kind: str, key: str, obj: Any) -> Path:
        path = self.path(kind, key, "json")
        atomic_write_bytes(path, canonical_json(obj).encode())
        return path

    def get_json(self, kind: str, key: str) -> Any | None:
        payload = read_verified_bytes(self.path(kind, key, "json"))
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            return None

    def put_arrays(self, kind: str, key: str, meta: Mapping[str, Any] | None = None, **arrays: np.ndarray) -> Path:
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(canonical_json(dict(meta or {}))), **arrays)
        path = self.path(kind, key, "npz")
        atomic_write_bytes(path, buf.getvalue())
        return path

    def get_arrays(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        payload = read_verified_bytes(self.path(kind, key, "npz"))
        if payload is None:
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != "__meta__"}
                meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
        except Exception:  # a payload that passed the checksum but is not an npz: treat as absent
            return None
        return arrays, meta
