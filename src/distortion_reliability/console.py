"""One way to show progress: a tqdm bar on a terminal, a periodic one-line log status elsewhere.

Piped to a file or a SLURM log, tqdm writes a cursor-control line per refresh (hundreds of lines
per run). :func:`progress_bar` returns a real bar only when stderr is a terminal; otherwise a
:class:`StatusLine` with the same small interface (``update``, ``set_postfix``, ``close``) that
logs ``desc: n/total unit (postfix)`` through :mod:`logging` at most every ``interval`` seconds
and once at the end, so Hydra's ``run.log`` holds the story too.

Totals must be stable: count what is actually done (levels decided, images evaluated) against a
total known up front, never shrink the total as work is skipped.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, Mapping

log = logging.getLogger("distortion_reliability")

#: Seconds between status lines when stderr is not a terminal (env DR_STATUS_INTERVAL overrides).
DEFAULT_INTERVAL = 30.0


def is_terminal(stream: Any = None) -> bool:
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def format_count(value: Any) -> str:
    """Counts print as integers (``162``, not ``162.0000``); other floats with 4 significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class StatusLine:
    """tqdm-like progress that logs one line every ``interval`` seconds (and at close)."""

    def __init__(self, total: int | None, desc: str, unit: str = "it", interval: float | None = None,
                 logger: logging.Logger | None = None, enabled: bool = True):
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = 0
        self.enabled = enabled
        self.interval = float(os.environ.get("DR_STATUS_INTERVAL", DEFAULT_INTERVAL)) if interval is None else interval
        self._log = logger or log
        self._postfix: dict[str, Any] = {}
        self._start = time.perf_counter()
        self._last = self._start
        self._closed = False

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.perf_counter()
        if self.enabled and now - self._last >= self.interval:
            self._last = now
            self._emit()

    def set_postfix(self, postfix: Mapping[str, Any] | None = None, refresh: bool = True, **kwargs: Any) -> None:
        self._postfix = {**dict(postfix or {}), **kwargs}

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def refresh(self) -> None:  # tqdm compatibility
        pass

    def _emit(self) -> None:
        elapsed = time.perf_counter() - self._start
        total = f"/{format_count(self.total)}" if self.total else ""
        extra = ", ".join(f"{k}={format_count(v)}" for k, v in self._postfix.items())
        self._log.info("%s: %s%s %s, %.0f s%s", self.desc, format_count(self.n), total, self.unit, elapsed,
                       f" ({extra})" if extra else "")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # One final line only when the stage was long enough to have been worth reporting.
        if self.enabled and time.perf_counter() - self._start >= self.interval:
            self._emit()

    def __enter__(self) -> "StatusLine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def progress_bar(total: int | None, desc: str, unit: str = "it", enabled: bool = True, leave: bool = False,
                 interval: float | None = None, **tqdm_kwargs: Any):
    """A tqdm bar on a terminal, else a :class:`StatusLine`; ``enabled=False`` shows nothing at all."""
    if enabled and is_terminal():
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=leave, dynamic_ncols=True, **tqdm_kwargs)
    return StatusLine(total, desc, unit=unit, interval=interval, enabled=enabled)


class ConsoleFormatter(logging.Formatter):
    """Plain messages for INFO; ``warning: …`` / ``error: …`` prefixes above it."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


def quiet_third_party_warnings() -> None:
    """Filter deprecation noise raised by dependencies at import time (not ours to fix)."""
    import warnings

    # torch.jit.script's deprecation, raised when gpytorch's linear_operator is imported.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*TorchScript.*deprecated.*", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(botorch|gpytorch|linear_operator)\b.*")
    warnings.filterwarnings("ignore", message=r".*_validate_data. is deprecated", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".force_all_finite. was renamed", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r".*use `_get_tags` and `_more_tags`", category=FutureWarning)
    warnings.filterwarnings("ignore", message=r"scipy.optimize. The `disp` and `iprint` options",
                            category=DeprecationWarning)
