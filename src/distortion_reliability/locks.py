"""Cross-process claims on shared cache entries (signal handling: :mod:`.signals`).

Claims (:class:`LockFile`)
--------------------------
A claim is a small file created atomically next to what it protects (``<name>.lock``). Its content
names the holder (pid, hostname, a random token, time) and a heartbeat thread refreshes its mtime
while the holder lives. Another process that finds the claim waits for it to disappear and then
reuses the holder's result; it takes the claim over when the holder is gone:

* same host, holder pid no longer running -> stale at once (a SIGKILLed or OOM-killed job);
* any host, mtime older than ``stale_after`` seconds (default 60, env ``DR_LOCK_STALE_SECONDS``)
  -> stale (the holder's machine died, or its process hangs without its heartbeat thread).

Assumptions on shared storage (NFS and the like): creation uses ``link(2)`` of a fully written
temporary file onto the claim name, which is atomic on NFSv2/v3/v4 and local filesystems (the
classic NFS-safe lock-file recipe; ``O_EXCL`` is used only where hard links are unsupported).
``flock``/``fcntl`` locks are not used: they are not honoured across clients by every NFS setup
(or by Lustre mounted without ``flock``). Clocks of the hosts sharing the cache must agree to
within a fraction of ``stale_after`` (mtime is set by the file server). Hostnames must differ
between machines (containers sharing a hostname but not a pid namespace may see a live holder as
dead: the cost is duplicated work, never a wrong result).

Correctness never depends on a claim: every artifact is written atomically with a checksum and two
jobs computing the same thing write the same content. Claims only keep jobs from doing the same
work twice.

Signals
-------
:func:`interrupt_guard` and :func:`deferred_signals` (progress saved on Ctrl-C and pre-emption)
live in :mod:`.signals` and are re-exported here.

"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import socket
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = 60.0  # seconds without heartbeat after which a claim is taken over
DEFAULT_HEARTBEAT = 10.0  # seconds between heartbeats (refreshing the claim's mtime)
HOSTNAME = socket.gethostname()


def stale_after_default() -> float:
    try:
        return float(os.environ.get("DR_LOCK_STALE_SECONDS", DEFAULT_STALE_AFTER))
    except ValueError:
        return DEFAULT_STALE_AFTER


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    try:  # a killed child that its parent has not reaped yet still has a pid
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


# ---------------------------------------------------------------------------------- heartbeat
class _Heartbeat:
    """One daemon thread per process refreshing the mtime of every claim it holds."""

    def __init__(self) -> None:
        self._held: "weakref.WeakSet[LockFile]" = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._wake = threading.Event()

    def add(self, lock: "LockFile") -> None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread does not exist here
                self._held, self._thread, self._pid = weakref.WeakSet(), None, os.getpid()
            self._held.add(lock)
            self._wake.set()  # a shorter heartbeat than the current sleep takes effect now
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dr-lock-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, lock: "LockFile") -> None:
        with self._lock:
            self._held.discard(lock)

    def _run(self) -> None:
        while True:
            with self._lock:
                held = list(self._held)
            now = time.monotonic()
            for lk in held:  # each claim at its own pace, however often others come and go
                if now - lk.touched >= lk.heartbeat:
                    lk.touch()
            due = min((lk.touched + lk.heartbeat for lk in held), default=now + DEFAULT_HEARTBEAT)
            self._wake.wait(max(0.01, due - time.monotonic()))
            self._wake.clear()


_HEARTBEAT = _Heartbeat()


# ---------------------------------------------------------------------------------- claims
class LockFile:
    """An exclusive claim on ``path`` shared by processes on one or several hosts.

    Parameters
    ----------
    path : path
        The claim file (created with its parent directories).
    stale_after : float or None
        Seconds without heartbeat after which another process takes the claim over
        (default ``DR_LOCK_STALE_SECONDS`` or 60).
    heartbeat : float
        Seconds between refreshes of the claim's mtime while held (must be well below ``stale_after``).
    poll : float
        Seconds between checks while waiting in :meth:`acquire`.

    ``with LockFile(p): ...`` waits for the claim; :meth:`try_acquire` does not wait.
    """

    def __init__(self, path: str | os.PathLike, *, stale_after: float | None = None,
                 heartbeat: float | None = None, poll: float = 0.2):
        self.path = Path(path)
        self.stale_after = stale_after_default() if stale_after is None else float(stale_after)
        self.heartbeat = float(heartbeat) if heartbeat is not None else min(DEFAULT_HEARTBEAT, self.stale_after / 4)
        self.poll = float(poll)
        self.token: str | None = None
        self._owner = os.getpid()
        self.touched = time.monotonic()

    # -------------------------------------------------------------- state
    @property
    def held(self) -> bool:
        return self.token is not None

    def holder(self) -> dict[str, Any] | None:
        """The claim's content (pid, host, token, time), or None when nobody holds it."""
        try:
            raw = self.path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            info = json.loads(raw)
            return info if isinstance(info, dict) else {}
        except ValueError:
            return {}  # being written by a process using the O_EXCL fallback, or damaged

    def _age(self) -> float | None:
        try:
            return time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None

    def is_stale(self, info: dict[str, Any] | None = None) -> bool:
        """Whether the current claim belongs to a holder that is gone."""
        info = self.holder() if info is None else info
        if info is None:
            return False
        age = self._age()
        if age is None:
            return False
        if age > self.stale_after:
            return True
        if info.get("host") == HOSTNAME and isinstance(info.get("pid"), int):
            return not pid_alive(info["pid"])
        return False

    # -------------------------------------------------------------- acquire / release
    def try_acquire(self) -> bool:
        """Take the claim if it is free (or stale); never waits."""
        if self.held:
            raise RuntimeError(f"{self.path} is already held by this LockFile")
        for _ in range(3):
            token = secrets.token_hex(8)
            if self._create(token):
                self.token = token
                self._owner = os.getpid()
                self.touched = time.monotonic()
                _HEARTBEAT.add(self)
                return True
            info = self.holder()
            if info is None:  # released in the meantime: try again
                continue
            if not self.is_stale(info) or not self._break(info):
                return False
        return False

    def acquire(self, timeout: float | None = None, on_wait: Callable[[dict], None] | None = None) -> bool:
        """Wait until the claim is ours (True) or ``timeout`` seconds passed (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while not self.try_acquire():
            if not told and on_wait is not None:
                on_wait(self.holder() or {})
                told = True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)
        return True

    def wait_released(self, timeout: float | None = None) -> bool:
        """Wait (without claiming) until nobody holds the claim or the holder is gone."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            info = self.holder()
            if info is None or self.is_stale(info):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(self.poll)

    def release(self) -> None:
        if self.token is None:
            return
        _HEARTBEAT.discard(self)
        token, self.token = self.token, None
        if self._owner != os.getpid():  # a forked child's copy: the claim is its parent's
            return
        info = self.holder()
        if info is not None and info.get("token") == token:  # never remove a claim someone took over
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def touch(self) -> None:
        self.touched = time.monotonic()
        if self.token is None or self._owner != os.getpid():
            return
        with contextlib.suppress(OSError):
            os.utime(self.path)

    def __enter__(self) -> "LockFile":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:  # a claim object dropped without release (should not happen)
        with contextlib.suppress(Exception):
            self.release()

    # -------------------------------------------------------------- internals
    def _content(self, token: str) -> bytes:
        return json.dumps({"pid": os.getpid(), "host": HOSTNAME, "token": token, "time": time.time()}).encode()

    def _create(self, token: str) -> bool:
        """Atomically create the claim file with full content; False if it exists."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{HOSTNAME}.{os.getpid()}.{token}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(self._content(token))
            try:
                os.link(tmp, self.path)
                return True
            except FileExistsError:
                return False
            except OSError as err:
                if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
                    raise
            # No hard links here (some FUSE/SMB mounts): O_EXCL create, then write.
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._content(token))
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _break(self, seen: dict[str, Any]) -> bool:
        """Remove a stale claim; exactly one of several concurrent breakers succeeds."""
        breaker = LockFile(self.path.with_name(self.path.name + ".break"), stale_after=10.0, heartbeat=5.0)
        if not breaker._create(secrets.token_hex(8)):
            if breaker.is_stale():  # a breaker that died within these few milliseconds
                with contextlib.suppress(FileNotFoundError):
                    breaker.path.unlink()
            return False
        try:
            info = self.holder()
            if info is None:
                return True
            if info.get("token") != seen.get("token") or not self.is_stale(info):
                return False  # someone took it over and is alive
            log.info("taking over stale claim %s (holder pid %s on %s)", self.path, info.get("pid"), info.get("host"))
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                breaker.path.unlink()


def describe_holder(info: dict[str, Any]) -> str:
    if not info:
        return "another job"
    return f"pid {info.get('pid')} on {info.get('host')}"


# The signal helpers live in signals.py; imported here for the callers that know them as locks.*
from .signals import deferred_signals, install_signal_handlers, interrupt_guard  # noqa: E402,F401
