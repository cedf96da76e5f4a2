"""Where MLflow runs, models and artifacts live: the riskml home and the tracking store.

riskml never relies on MLflow's defaults, which are relative to the current directory
(``sqlite:///mlflow.db`` and ``./mlruns``). The embedded default is one folder, the
riskml home (argument, else ``RISKML_HOME``, else ``./.riskml`` made absolute), holding

* ``mlflow.db``: the SQLite tracking and registry store;
* ``artifacts/riskml-<target>/``: the artifact location of each experiment.

When ``MLFLOW_TRACKING_URI`` is set, riskml uses that shared server for tracking and
registry and leaves artifact locations to the server.

A fresh SQLite store is created once, under a file lock, because several processes
running MLflow's migrations on the same new file at once corrupt it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskml.tracking._health import apply_http_defaults, check_server, fail_orphaned_runs, reaching

__all__ = [
    "TrackingConfig",
    "configure",
    "ensure_experiment",
    "experiment_name",
    "registered_model_name",
]

logger = logging.getLogger(__name__)

HOME_ENV = "RISKML_HOME"
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"
_READY_MARKER = ".mlflow-db-ready"
_LOCK_TIMEOUT_S = 300.0

_init_lock = threading.Lock()
_initialised: set[str] = set()
# MLflow's set_tracking_uri exports MLFLOW_TRACKING_URI; URIs riskml set itself are not
# a user's choice of server and must not switch later calls to server mode.
_set_by_riskml: set[str] = set()


def experiment_name(target: str) -> str:
    """Name of the MLflow experiment holding the training runs of ``target``.

    Examples
    --------
    >>> experiment_name("credit")
    'riskml-credit'
    """
    return f"riskml-{target}"


def registered_model_name(target: str) -> str:
    """Name of the registered model holding the versions of ``target``.

    Examples
    --------
    >>> registered_model_name("fraud")
    'riskml-fraud'
    """
    return f"riskml-{target}"


@dataclass(frozen=True)
class TrackingConfig:
    """The resolved tracking set-up of this process.

    Attributes
    ----------
    home : pathlib.Path
        Absolute riskml home folder.
    tracking_uri : str
        MLflow tracking URI (also used as registry URI).
    artifact_root : pathlib.Path or None
        Folder under which each experiment gets its artifact location; ``None`` when a
        tracking server decides where artifacts go.

    Examples
    --------
    >>> import tempfile
    >>> cfg = TrackingConfig(home=Path(tempfile.gettempdir()).resolve(), tracking_uri="http://127.0.0.1:5000",
    ...                      artifact_root=None)
    >>> cfg.embedded
    False
    """

    home: Path
    tracking_uri: str
    artifact_root: Path | None

    @property
    def embedded(self) -> bool:
        """Whether the store is the local SQLite file under the home (no server)."""
        return self.artifact_root is not None

    @property
    def registry_uri(self) -> str:
        """MLflow model registry URI (the tracking URI)."""
        return self.tracking_uri

    def artifact_location(self, target: str) -> str | None:
        """Explicit artifact location (a ``file://`` URI) for ``target``'s experiment."""
        if self.artifact_root is None:
            return None
        return (self.artifact_root / experiment_name(target)).as_uri()

    def client(self) -> Any:
        """An ``mlflow.MlflowClient`` on this store's tracking and registry URIs."""
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """Absolute riskml home: ``home``, else ``$RISKML_HOME``, else ``./.riskml``.

    Examples
    --------
    >>> resolve_home("/tmp/riskml-example").is_absolute()
    True
    """
    if home is None:
        home = os.environ.get(HOME_ENV) or ".riskml"
    return Path(home).expanduser().resolve()


def configure(home: str | os.PathLike[str] | None = None) -> TrackingConfig:
    """Point MLflow at riskml's store and return the resolved set-up.

    Sets MLflow's process-wide tracking and registry URIs. With no
    ``MLFLOW_TRACKING_URI`` in the environment, the store is
    ``sqlite:///<home>/mlflow.db`` with artifacts under ``<home>/artifacts``; the
    database is created (migrated) once, under a file lock. Calling ``configure``
    again is cheap.

    Parameters
    ----------
    home : str or path-like, optional
        riskml home folder; default ``$RISKML_HOME``, else ``./.riskml``. Always
        resolved to an absolute path, so the store does not move with the working
        directory.

    Returns
    -------
    TrackingConfig

    Raises
    ------
    TrackingUnreachableError
        When ``MLFLOW_TRACKING_URI`` names a server that does not answer within the
        HTTP budget (riskml's defaults: 10 s per request, 2 retries; MLflow's
        ``MLFLOW_HTTP_REQUEST_TIMEOUT`` and ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` change
        it). The message names the URI and how to change it.

    Examples
    --------
    >>> import tempfile, os
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> cfg = configure(tempfile.mkdtemp())
    >>> cfg.tracking_uri.startswith("sqlite:////"), cfg.embedded
    (True, True)
    >>> (cfg.home / "mlflow.db").is_file()
    True
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    # Artifact transfers are small and many: MLflow's per-download progress bars
    # would drown riskml's own progress output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    apply_http_defaults()
    import mlflow

    root = resolve_home(home)
    embedded_uri = f"sqlite:///{root / DB_FILE}"
    server_uri = os.environ.get(TRACKING_URI_ENV)
    if server_uri in _set_by_riskml or server_uri == embedded_uri:
        server_uri = None
    if server_uri:
        config = TrackingConfig(home=root, tracking_uri=server_uri, artifact_root=None)
    else:
        root.mkdir(parents=True, exist_ok=True)
        artifact_root = root / ARTIFACTS_DIR
        artifact_root.mkdir(exist_ok=True)
        config = TrackingConfig(home=root, tracking_uri=embedded_uri, artifact_root=artifact_root)
        _create_store_once(config)
        _set_by_riskml.add(embedded_uri)
    mlflow.set_tracking_uri(config.tracking_uri)
    mlflow.set_registry_uri(config.registry_uri)
    check_server(config.tracking_uri)
    return config


def ensure_experiment(target: str, config: TrackingConfig | None = None) -> str:
    """Id of experiment ``riskml-<target>``, created with its explicit artifact location.

    Runs of the experiment left RUNNING by a process of this host that no longer
    exists (killed) are marked FAILED (see :func:`fail_orphaned_runs`).

    Safe when several processes create it at once (the loser reads the winner's).

    Examples
    --------
    >>> import tempfile, os
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> cfg = configure(tempfile.mkdtemp())
    >>> ensure_experiment("credit", cfg) == ensure_experiment("credit", cfg)
    True
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    from mlflow.exceptions import MlflowException

    config = config or configure()
    client = config.client()
    name = experiment_name(target)
    with reaching(config.tracking_uri):
        found = client.get_experiment_by_name(name)
    if found is not None:
        # Every riskml run starts here: a run left RUNNING by a killed process of this
        # host is marked FAILED first, so the run list tells the truth.
        fail_orphaned_runs(client, found.experiment_id)
        expected = config.artifact_location(target)
        if expected is not None and found.artifact_location.rstrip("/") != expected.rstrip("/"):
            logger.warning("experiment %s stores artifacts at %s, not under this home (%s)",
                           name, found.artifact_location, expected)
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=config.artifact_location(target))
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def _create_store_once(config: TrackingConfig) -> None:
    """Create and migrate the SQLite store once per home, across threads and processes."""
    key = config.tracking_uri
    if key in _initialised:
        return
    with _init_lock:
        if key in _initialised:
            return
        db = config.home / DB_FILE
        marker = config.home / _READY_MARKER
        if not (db.is_file() and marker.is_file()):
            with file_lock(config.home / f"{DB_FILE}.lock"):
                if not (db.is_file() and marker.is_file()):
                    start = time.perf_counter()
                    _migrate(config)
                    marker.write_text("ready\n", encoding="utf-8")
                    logger.info("created MLflow store %s in %.1f s", config.tracking_uri, time.perf_counter() - start)
        _initialised.add(key)


def _migrate(config: TrackingConfig) -> None:
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

    assert config.artifact_root is not None
    # An explicit artifact root keeps MLflow's Default experiment out of ./mlruns.
    tracking = TrackingStore(config.tracking_uri, config.artifact_root.as_uri())
    registry = RegistryStore(config.registry_uri)
    for store in (tracking, registry):
        engine = getattr(store, "engine", None)
        if engine is not None:
            engine.dispose()


@contextmanager
def file_lock(path: Path, timeout: float = _LOCK_TIMEOUT_S) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` across processes, waiting at most ``timeout`` s.

    Examples
    --------
    >>> import tempfile
    >>> with file_lock(Path(tempfile.mkdtemp()) / "x.lock"):
    ...     pass
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with open(path, "a+b") as handle:
        while True:
            try:
                _lock(handle)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"could not lock {path} within {timeout:.0f} s; "
                                       "another process holds it (remove the file if no process does)") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            _unlock(handle)


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle) -> None:  # type: ignore[no-untyped-def]
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:  # type: ignore[no-untyped-def]
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle) -> None:  # type: ignore[no-untyped-def]
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:  # type: ignore[no-untyped-def]
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
