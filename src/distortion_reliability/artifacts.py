"""Content-addressed, atomic artifact store.

Every stage output is keyed by the hash of exactly the configuration that determines it, so a
sweep computes each expensive artifact once and a killed sweep resumes. Writes go to a temporary
file in the same directory and are renamed into place (``os.replace`` is atomic on POSIX), so
concurrent multirun jobs never read half an artifact. Each file carries a SHA-256 of its payload:
a truncated or corrupted file is detected on read, treated as absent and recomputed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import numpy as np

from .errors import CacheDirError

log = logging.getLogger(__name__)
T = TypeVar("T")
_HOST = socket.gethostname()

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


_CAUSES = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EISDIR: "is a directory",
    errno.ENOENT: "no such file or directory",
    errno.EFBIG: "file too large",
    errno.EIO: "input/output error",
}


def describe_os_error(err: OSError) -> str:
    """A short human cause for an OSError (``no space left on device``, ``read-only file system``...)."""
    return _CAUSES.get(err.errno, err.strerror or str(err))


def _temp_name(path: Path) -> Path:
    # host and pid in the name let a later run remove what a SIGKILLed writer left (sweep_temp_files)
    return path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` with a checksum header to ``path`` atomically.

    An OSError (full disk, read-only or unwritable directory) raises :class:`CacheDirError` naming
    the file and the cause; the previous content of ``path``, if any, is left as it was and no
    temporary file remains.
    """
    path = Path(path)
    digest = hashlib.sha256(payload).hexdigest().encode()
    tmp = _temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as fh:
            fh.write(_MAGIC + digest + b"\n" + payload)
        os.replace(tmp, path)
    except BaseException as err:
        # Never leave a half-written temp file behind, even on KeyboardInterrupt.
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, CacheDirError):
            raise CacheDirError(path, describe_os_error(err), what="cache file", errno=err.errno) from err
        raise


def sweep_temp_files(directory: Path, max_age: float = 3600.0) -> int:
    """Remove temporary files a killed writer left in ``directory`` (not recursive).

    A temp file goes when its writer (pid in its name) no longer runs on this host, or when it is
    older than ``max_age`` seconds. Returns how many were removed.
    """
    from .locks import pid_alive

    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        parts = name[:-4].rsplit(".", 3)  # .<name>.<host>.<pid>.<token>
        try:
            dead = len(parts) == 4 and parts[1] == _HOST and not pid_alive(int(parts[2]))
            old = now - entry.stat().st_mtime > max_age
        except (ValueError, OSError):
            continue
        if dead or old:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def probe_writable(path: str | os.PathLike, what: str = "cache_dir", min_free_bytes: int = 1 << 20) -> Path:
    """Check that ``path`` is (or can be made) a writable directory with free space; return it.

    Run before any expensive stage, so that a bad ``cache_dir`` (or tracking store) fails in a
    second with one :class:`CacheDirError` naming the path and the cause: not a directory, missing
    parent directory, permission denied, read-only file system, no space left on device. The
    directory itself is created when its parent exists; a missing parent is an error (a typo in
    the path should not silently create a tree elsewhere).
    """
    path = Path(path).expanduser()
    shown = str(path)
    if path.exists() and not path.is_dir():
        raise CacheDirError(shown, "not a directory", what=what, errno=errno.ENOTDIR)
    if not path.exists():
        parent = path.absolute().parent
        if not parent.exists():
            raise CacheDirError(shown, f"parent directory {parent} does not exist", what=what, errno=errno.ENOENT)
        if not parent.is_dir():
            raise CacheDirError(shown, f"{parent} is not a directory", what=what, errno=errno.ENOTDIR)
        try:
            path.mkdir(exist_ok=True)
        except OSError as err:
            raise CacheDirError(shown, describe_os_error(err), what=what, errno=err.errno) from None
    probe = path / f".probe.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        with open(probe, "xb") as fh:
            fh.write(b"\0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())  # a full disk may only refuse the data when it is flushed
    except OSError as err:
        raise CacheDirError(shown, describe_os_error(err), what=what, errno=err.errno) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
    try:
        st = os.statvfs(path)
        free = st.f_bavail * st.f_frsize
    except (OSError, AttributeError):
        free = None
    if free is not None and free < min_free_bytes:
        raise CacheDirError(shown, f"no space left on device ({free:,} bytes free)", what=what, errno=errno.ENOSPC)
    return path


def read_verified_bytes(path: Path) -> bytes | None:
    """Payload of a file written by :func:`atomic_write_bytes`, or None if absent or corrupted."""
    try:
        raw = Path(path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
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

    def lock(self, kind: str, key: str, **kwargs: Any):
        """The cross-process claim on artifact ``(kind, key)`` (a :class:`~distortion_reliability.locks.LockFile`)."""
        from .locks import LockFile

        return LockFile(self.root / kind / f"{key}.lock", **kwargs)

    def compute_once(self, kind: str, key: str, compute: Callable[[], T], load: Callable[[], T | None],
                     *, timeout: float | None = None) -> T:
        """``load()`` if the artifact exists, else ``compute()`` it under a claim shared by all jobs.

        ``load()`` returns the stored artifact or None (absent or corrupted); ``compute()`` computes,
        stores (e.g. with :meth:`put_arrays`) and returns it. While another live job holds the claim
        on ``(kind, key)`` this waits (logging once who holds it) and then returns that job's result
        through ``load()``; a claim whose holder died is taken over (see :mod:`.locks`). A job that
        waits more than ``timeout`` seconds (None: no limit) computes the artifact itself.
        """
        from .locks import describe_holder

        found = load()
        if found is not None:
            return found
        claim = self.lock(kind, key)

        def tell(info: dict) -> None:
            log.info("waiting for %s %s: %s is computing it", kind, key, describe_holder(info))

        try:
            claim.acquire(timeout=timeout, on_wait=tell)
        except OSError as err:
            raise CacheDirError(claim.path, describe_os_error(err), what="cache file", errno=err.errno) from err
        try:
            found = load()  # the job we waited for has stored it
            if found is not None:
                return found
            sweep_temp_files(self.root / kind)
            return compute()
        finally:
            claim.release()

    def put_json(self, kind: str, key: str, obj: Any) -> Path:
        path = self.path(kind, key, "json")
        atomic_write_bytes(path, canonical_json(obj).encode())
        return path

    def get_json(self, kind: str, key: str) -> Any | None:
        path = self.path(kind, key, "json")
        payload = read_verified_bytes(path)
        if payload is None:
            _damaged(kind, path)
            return None
        try:
            return json.loads(payload)
        except ValueError:
            _damaged(kind, path, parsed=False)
            return None

    def put_arrays(self, kind: str, key: str, meta: Mapping[str, Any] | None = None, **arrays: np.ndarray) -> Path:
        buf = io.BytesIO()
        np.savez(buf, __meta__=np.array(canonical_json(dict(meta or {}))), **arrays)
        path = self.path(kind, key, "npz")
        atomic_write_bytes(path, buf.getvalue())
        return path

    def get_arrays(self, kind: str, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        path = self.path(kind, key, "npz")
        payload = read_verified_bytes(path)
        if payload is None:
            _damaged(kind, path)
            return None
        try:
            with np.load(io.BytesIO(payload), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files if k != "__meta__"}
                meta = json.loads(str(z["__meta__"])) if "__meta__" in z.files else {}
        except Exception:  # a payload that passed the checksum but is not an npz: treat as absent
            _damaged(kind, path, parsed=False)
            return None
        return arrays, meta


_REPORTED: set[str] = set()


def _damaged(kind: str, path: Path, parsed: bool = True) -> bool:
    """Say once per file that a present cache entry is damaged and will be recomputed; False when
    the file is simply absent (nothing to say)."""
    if parsed and not path.is_file():
        return False
    if str(path) not in _REPORTED:
        _REPORTED.add(str(path))
        log.warning("%s: the cached entry %s is damaged (truncated or altered); recomputing it", kind, path)
    return True
