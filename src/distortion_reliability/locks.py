"""Cross-process claims on shared cache entries, and signal handling that lets progress be saved.

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
:func:`interrupt_guard` wraps a CLI entry point: Ctrl-C (and, with ``preemption=True``, SIGTERM
and SIGUSR2) stops the work with an exception, every stage saves its progress on the way out, later
signals are ignored while that happens, and the process prints one line
``interrupted; progress saved`` and exits 130 (143 after SIGTERM) without a traceback.
:func:`deferred_signals` is the critical section the savers use: a signal arriving inside it is
held until the section ends.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import Preempted

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


# ---------------------------------------------------------------------------------- signals
_PREEMPT_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR2", None)) if s)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def deferred_signals(signals: tuple[int, ...] | None = None, redeliver: bool = True) -> Iterator[None]:
    """Hold SIGINT (and the pre-emption signals) until the block ends: a critical section for saves.

    A signal that arrives inside the block is delivered (its previous handler runs) right after
    the block when ``redeliver`` and the block ended normally; otherwise it is dropped (use
    ``redeliver=False`` in a save that runs because the process is already stopping). Outside the
    main thread, where Python delivers no signals, this does nothing.
    """
    if not _in_main_thread():
        yield
        return
    sigs = (signal.SIGINT, *_PREEMPT_SIGNALS) if signals is None else signals
    pending: list[int] = []
    previous = {}
    for s in sigs:
        try:
            previous[s] = signal.signal(s, lambda signum, frame: pending.append(signum))
        except (ValueError, OSError):
            pass
    ok = False
    try:
        yield
        ok = True
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            log.info("signal %s held until progress was saved", signal.Signals(pending[0]).name)
        if ok and pending and redeliver:
            signum = pending[0]
            handler = previous.get(signum)
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL and signum == signal.SIGINT:
                raise KeyboardInterrupt
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), signum)


def _raise_preempted(signum: int, frame: Any) -> None:
    raise Preempted(signum)


def install_signal_handlers(signals: tuple[int, ...] = _PREEMPT_SIGNALS) -> dict[int, Any]:
    """Turn SIGTERM/SIGUSR2 into a :class:`~distortion_reliability.errors.Preempted` exception.

    ``Preempted`` is a ``KeyboardInterrupt``, so every stage saves its progress exactly as on
    Ctrl-C. Returns the previous handlers. Do not call it under submitit: its own SIGUSR2 handler
    requeues the job and exits with ``SystemExit``, on which the stages save progress as well.
    """
    previous = {}
    if not _in_main_thread():
        return previous
    for s in signals:
        previous[s] = signal.signal(s, _raise_preempted)
    return previous


@contextlib.contextmanager
def interrupt_guard(preemption: bool = True, exit: bool = True, stream: Any = None) -> Iterator[None]:
    """Wrap a CLI's work: one interruption stops it cleanly, later ones cannot spoil the save.

    The first SIGINT raises ``KeyboardInterrupt`` (SIGTERM/SIGUSR2 raise ``Preempted`` when
    ``preemption``); from then on those signals are ignored (for the rest of the process once an
    interruption left the block), so a second Ctrl-C during the savers' ``finally``/``except``
    blocks or the interpreter's shutdown does nothing. On the way out it prints
    ``interrupted; progress saved`` (one line, no traceback) to ``stream`` (default stderr) and
    raises ``SystemExit(130)`` (``143`` after SIGTERM, ``128+n`` in general); ``exit=False``
    re-raises the interruption instead (for callers that requeue or checkpoint themselves).
    """
    if not _in_main_thread():
        yield
        return
    sigs = (signal.SIGINT, *(_PREEMPT_SIGNALS if preemption else ()))
    state = {"signum": None}

    def handler(signum: int, frame: Any) -> None:
        if state["signum"] is not None:
            log.info("already stopping (%s); saving progress", signal.Signals(signum).name)
            return
        state["signum"] = signum
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Preempted(signum)

    previous = {s: signal.signal(s, handler) for s in sigs}
    restore = True
    try:
        yield
    except KeyboardInterrupt as err:  # Preempted included
        signum = state["signum"] or getattr(err, "signum", None) or signal.SIGINT
        state["signum"] = signum
        # The process is stopping: later signals stay ignored, also during interpreter shutdown
        # (which resets Python-level handlers to the default, SIG_IGN excepted).
        restore = False
        for s in sigs:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(s, signal.SIG_IGN)
        if not exit:
            raise
        out = sys.stderr if stream is None else stream
        print("interrupted; progress saved", file=out, flush=True)
        raise SystemExit(128 + int(signum)) from None
    finally:
        if restore:
            for s, h in previous.items():
                with contextlib.suppress(ValueError, OSError):
                    signal.signal(s, h)
