"""The MLflow store: where it is, creating it once, and riding out SQLite's "database is locked".

Default store: ``sqlite:///<root>/mlflow.db`` with artifacts in ``<root>/mlartifacts/<experiment>``
(``root`` = the project root = the working directory of the run). ``MLFLOW_TRACKING_URI`` (or
``tracking.uri``) points elsewhere, e.g. at ``make mlflow-server`` for jobs on other nodes.

Parallel jobs against a fresh SQLite file would race on MLflow's schema creation (tables created
twice, or a half-migrated schema seen as "out of date"): :func:`open_client` creates/migrates the
store under a file lock (``mlflow.db-lock``) once per process, and the sweep callback does it once
before any job starts. Every later call retries briefly when SQLite reports "database is locked".
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

from ..errors import DistortionReliabilityError

log = logging.getLogger(__name__)

DB_NAME = "mlflow.db"
ARTIFACTS_NAME = "mlartifacts"
_READY: dict[str, Any] = {}  # uri -> client, per process


class TrackingError(DistortionReliabilityError):
    """The tracking store cannot be used (unwritable file, unreachable server): bad setup, not a bug."""


def project_root(root: str | Path | None = None) -> Path:
    """``tracking.root`` when set, else the working directory of the run (Hydra's chdir is off)."""
    return Path(root).expanduser().resolve() if root else Path.cwd().resolve()


def resolve_uri(uri: str | None, root: str | Path | None = None) -> str:
    """``uri`` as given (``MLFLOW_TRACKING_URI`` is its default), else the project's SQLite file."""
    if uri:
        uri = str(uri)
        if "://" not in uri and not uri.startswith("sqlite:"):  # a plain folder or file path
            path = Path(uri).expanduser()
            if path.suffix == ".db":
                return f"sqlite:///{path.resolve()}"
            raise TrackingError(f"tracking.uri {uri!r} is not a URI (use sqlite:///path/to/mlflow.db "
                                "or http://host:port)")
        return uri
    return f"sqlite:///{project_root(root) / DB_NAME}"


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores or in-memory SQLite)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):]
    if not path or path == ":memory:":
        return None
    return Path(path)


def artifact_base(uri: str, root: str | Path | None = None, artifact_root: str | None = None) -> str | None:
    """``artifact_root``, else ``<root>/mlartifacts`` beside a local SQLite store; None lets a server decide."""
    if artifact_root:
        base = artifact_root if "://" in artifact_root else Path(artifact_root).expanduser().resolve().as_uri()
        return base.rstrip("/")
    db = sqlite_path(uri)
    if db is None:
        return None
    base = project_root(root) if root else db.expanduser().resolve().parent
    return (base / ARTIFACTS_NAME).as_uri()


def default_artifact_location(uri: str, experiment: str, root: str | Path | None = None,
                              artifact_root: str | None = None) -> str | None:
    """``<artifact base>/<experiment>`` (e.g. ``<root>/mlartifacts/table3-mnist``), or None for a server."""
    base = artifact_base(uri, root, artifact_root)
    return None if base is None else f"{base}/{_folder_name(experiment)}"


def _folder_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "experiment"


def is_locked_error(err: BaseException) -> bool:
    text = str(err).lower()
    return "database is locked" in text or "database table is locked" in text


def with_retry(fn: Callable[..., Any], seconds: float = 60.0) -> Callable[..., Any]:
    """``fn`` retried with jittered backoff while SQLite says "database is locked" (up to ``seconds``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + seconds
        delay = 0.05
        while True:
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # MlflowException or sqlalchemy's OperationalError
                if not is_locked_error(err) or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    return wrapper


class RetryingClient:
    """An ``MlflowClient`` whose every method retries on "database is locked"."""

    def __init__(self, client: Any, retry_seconds: float = 60.0):
        self._client = client
        self._seconds = retry_seconds
        self.tracking_uri = client.tracking_uri

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        return with_retry(attr, self._seconds) if callable(attr) else attr


def _quiet_mlflow_logs() -> None:
    for name in ("alembic", "alembic.runtime.migration", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """An HTTP tracking server must answer ``/health`` (fails fast instead of MLflow's minutes of retries)."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            if response.status >= 400:
                raise TrackingError(f"tracking server {uri} answered HTTP {response.status}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise TrackingError(f"tracking server {uri} is unreachable ({getattr(err, 'reason', err)}); "
                            "start it (make mlflow-server) or unset MLFLOW_TRACKING_URI") from None


def check_writable(uri: str, artifact_location: str | None) -> None:
    """A local SQLite store and artifact folder must be writable."""
    db = sqlite_path(uri)
    if db is not None:
        folder = db.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise TrackingError(f"tracking store {uri}: cannot create {folder} ({err.strerror})") from None
        if not os.access(folder, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
            raise TrackingError(f"tracking store {uri} is not writable (set tracking.uri or MLFLOW_TRACKING_URI "
                                "to a writable location)")
    if artifact_location and artifact_location.startswith("file:"):
        from urllib.parse import unquote, urlparse

        folder = Path(unquote(urlparse(artifact_location).path))
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise TrackingError(f"artifact folder {folder} cannot be created ({err.strerror})") from None
        if not os.access(folder, os.W_OK):
            raise TrackingError(f"artifact folder {folder} is not writable")


def open_client(uri: str, retry_seconds: float = 60.0, artifact_root: str | None = None) -> RetryingClient:
    """A client for ``uri`` with the store created/migrated (once per process, under a file lock for SQLite).

    ``artifact_root``: where a fresh SQLite store puts the artifacts of MLflow's built-in
    ``Default`` experiment (``<artifact_root>/0``; MLflow's own default is ``./mlruns/0``).
    """
    if uri in _READY:
        return _READY[uri]
    check_reachable(uri)
    check_writable(uri, None)
    _quiet_mlflow_logs()
    from filelock import FileLock
    from mlflow import MlflowClient

    db = sqlite_path(uri)
    try:
        if db is not None:
            fresh = not db.exists() or db.stat().st_size == 0
            with FileLock(str(db) + "-lock", timeout=600):
                # the client, its tracking store and its registry store all create/migrate the schema
                with _default_artifact_root(artifact_root if fresh else None):
                    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
                    with_retry(client.search_experiments, retry_seconds)(max_results=1)
                    with_retry(client.search_registered_models, retry_seconds)(max_results=1)
                if fresh:
                    _enable_wal(db)
                    log.info("created the MLflow store %s", uri)
        else:
            client = MlflowClient(tracking_uri=uri)
            with_retry(client.search_experiments, retry_seconds)(max_results=1)
    except TrackingError:
        raise
    except Exception as err:  # sqlite3/sqlalchemy/mlflow errors: unusable store
        if is_locked_error(err):
            raise
        raise TrackingError(f"tracking store {uri} cannot be opened: {_first_line(err)}") from err
    _READY[uri] = RetryingClient(client, retry_seconds)
    return _READY[uri]


@contextlib.contextmanager
def _default_artifact_root(artifact_root: str | None):
    """While a fresh store is created: the artifact root MLflow gives its ``Default`` experiment.

    MLflow reads it from the variable ``mlflow server`` exports to its workers; it is set only for
    the store's creation (it also marks a process as a server, which a job is not).
    """
    name = "_MLFLOW_SERVER_ARTIFACT_ROOT"
    if not artifact_root or name in os.environ:
        yield
        return
    os.environ[name] = artifact_root
    try:
        yield
    finally:
        os.environ.pop(name, None)


def _enable_wal(db: Path) -> None:
    """Write-ahead logging: readers never block the writer, so parallel jobs lock each other less."""
    try:
        with sqlite3.connect(str(db), timeout=30) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as err:  # e.g. a file system without shared memory: keep the default journal
        log.debug("WAL not enabled on %s: %s", db, err)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def get_or_create_experiment(client: Any, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (with its artifact folder) when absent; safe when raced."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    check_writable(client.tracking_uri, artifact_location)
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException as err:  # created by a parallel job in between
        found = client.get_experiment_by_name(name)
        if found is None:
            raise TrackingError(f"cannot create MLflow experiment {name!r}: {_first_line(err)}") from err
        return found.experiment_id
