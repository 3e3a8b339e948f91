"""Signal handling that lets progress be saved (used by the CLIs, the oracle and the samplers).

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
import logging
import os
import signal
import sys
import threading
from typing import Any, Iterator

from .errors import Preempted

log = logging.getLogger(__name__)

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
