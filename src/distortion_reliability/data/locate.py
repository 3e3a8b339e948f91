"""Where a dataset's files are, and the one error of each kind when they are not there or not right.

``data_dir`` is explicit, else ``$DR_DATA_DIR``, else ``./data``. Downloads run only on request and
with a socket timeout, so an offline machine fails in seconds with :class:`DataNotFoundError`.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from typing import Iterator, Sequence

from ..errors import DataNotFoundError, DistortionReliabilityError

DATA_DIR_ENV = "DR_DATA_DIR"
# Downloads must fail fast offline instead of hanging on a dead connection.
DOWNLOAD_SOCKET_TIMEOUT_S = 20.0


class DataFormatError(DistortionReliabilityError, ValueError):
    """A data file is there but cannot be read: truncated, corrupt, or not in the expected format.

    The message names the file and what is wrong with it; ``path`` holds the file.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"data file {path}: {problem}")


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data folder: ``data_dir`` if given, else ``$DR_DATA_DIR``, else ``./data``.

    Parameters
    ----------
    data_dir : str or Path or None
        Explicit folder; ``None`` or ``""`` falls back to the environment variable, then ``./data``.

    Returns
    -------
    Path
        The folder, with ``~`` expanded (it need not exist).
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or "data"
    return Path(data_dir).expanduser()


def not_found(name: str, looked: Sequence[Path], layout: str, download_hint: bool = True) -> DataNotFoundError:
    """The one error for absent data: which dataset, where it looked, which layout it expected."""
    where = ", ".join(str(p) for p in looked)
    hint = (
        f"Put the files there, or point data_dir (or the {DATA_DIR_ENV} environment variable) at the "
        "folder that holds them"
    )
    if download_hint:
        hint += ", or set dataset.download=true (download=True in Python) on a machine with internet access"
    return DataNotFoundError(f"dataset {name!r} not found: looked at {where}; expected layout: {layout}. {hint}.")


@contextlib.contextmanager
def download_timeout(seconds: float = DOWNLOAD_SOCKET_TIMEOUT_S) -> Iterator[None]:
    """Temporarily give sockets a timeout, so a download without network fails instead of hanging."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextlib.contextmanager
def download_guard(name: str, looked: Sequence[Path], layout: str) -> Iterator[None]:
    """Run torchvision's download code with a socket timeout; any failure becomes one clear error."""
    try:
        with download_timeout():
            yield
    except (DataNotFoundError, DataFormatError):
        raise
    except Exception as exc:  # URLError, RuntimeError("Error downloading ..."), OSError, ...
        err = not_found(name, looked, layout, download_hint=False)
        raise DataNotFoundError(f"{err} Download failed: {type(exc).__name__}: {str(exc)[:300]}") from exc
