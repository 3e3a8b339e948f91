"""Typed errors shared by every stage, so callers (and the runner) can tell bad input from bugs."""

from __future__ import annotations

import re
from typing import Any, Mapping


class DistortionReliabilityError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(DistortionReliabilityError, ValueError):
    """A setting has a value the method cannot use.

    The message always names the field and the offending value, e.g.
    ``h: 1.5: must lie in [0, 1]``.
    """

    def __init__(self, field: str, value: object, expected: str):
        self.field = field
        self.value = value
        self.expected = expected
        shown = repr(value) if isinstance(value, str) and (not value.strip() or value != value.strip()) else value
        # The entry point prints this as "error: <field>: <value>: <why>".
        super().__init__(f"{field}: {shown}: {expected}")


class UnknownNameError(DistortionReliabilityError, KeyError):
    """A name (dataset, model, distortion, sampler, method, ...) that is not registered."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]):
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        super().__init__(name)

    def __str__(self) -> str:  # KeyError would print the repr of the key only
        return f"unknown {self.kind} {self.name!r}; valid names: {', '.join(self.valid)}"


class DataNotFoundError(DistortionReliabilityError, FileNotFoundError):
    """Dataset or weights are absent locally and cannot be downloaded (offline)."""


class CannotRebalanceError(DistortionReliabilityError):
    """An imbalance method cannot work on this training set (e.g. no positives).

    The runner records such a cell as skipped with ``reason`` instead of crashing the sweep.
    """

    def __init__(self, method: str, reason: str):
        self.method = method
        self.reason = reason
        super().__init__(f"cannot rebalance with {method}: {reason}")


class CacheDirError(DistortionReliabilityError, OSError):
    """A directory the run must write to (cache_dir, tracking store) cannot take the write.

    The message names the path and the cause, e.g.
    ``cannot write to cache_dir /data/cache: no space left on device``.
    """

    def __init__(self, path: object, cause: str, what: str = "cache_dir", errno: int | None = None):
        self.path = str(path)
        self.cause = cause
        self.what = what
        super().__init__(f"cannot write to {what} {self.path}: {cause}")
        if errno is not None:
            self.errno = errno

    def __str__(self) -> str:  # OSError would print "[Errno n] ..." forms
        return f"cannot write to {self.what} {self.path}: {self.cause}"


class Preempted(KeyboardInterrupt):
    """The job was told to stop (SIGTERM, SIGUSR2: scheduler pre-emption or time limit).

    A ``KeyboardInterrupt``, so every stage saves its progress exactly as on Ctrl-C; ``signum``
    says which signal it was.
    """

    def __init__(self, signum: int):
        self.signum = int(signum)
        super().__init__(signum)


#: scikit-learn's parameter check, e.g. "The 'C' parameter of SVC must be a float in the range (0.0, inf). Got -1".
_SKLEARN_PARAM_ERROR = re.compile(r"The '(\w+)' parameter of \w+ (must be .*?)\. Got")


def sklearn_param_error(error: Exception, where: str, params: Mapping[str, Any], shown: Any) -> ConfigError:
    """scikit-learn's InvalidParameterError as ``<where>.<param>: <value>: must be ...``.

    A message not in scikit-learn's form becomes ``<where>: <shown>: must be valid (<message>)``.
    """
    match = _SKLEARN_PARAM_ERROR.search(str(error))
    if match is None:
        return ConfigError(where, shown, f"must be valid ({error})")
    param, expected = match.groups()
    return ConfigError(f"{where}.{param}", params.get(param), expected)
