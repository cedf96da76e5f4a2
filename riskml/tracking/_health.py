"""Tracking that tells the truth when things fail: a bounded wait for the server, no ghost runs.

Two failures that used to look like something else:

* **An unreachable tracking server.** MLflow's HTTP client retries for minutes by
  default (7 retries with exponential backoff, 120 s per request), and a failure then
  surfaces as a misleading lookup error ("has no alias 'champion'"). riskml sets
  shorter defaults for MLflow's own settings (only where the user has not set them),
  probes the server once per process before any work, and turns every connection
  failure into :class:`TrackingUnreachableError`, which names the URI and how to change
  it. Worst case: ``(retries + 1) * timeout`` plus a few seconds of backoff.
* **A process killed in the middle of a run.** MLflow marks a run FAILED when its
  Python code raises, but a killed process (SIGKILL, OOM killer, a closed notebook
  kernel) leaves it RUNNING forever. Every run riskml opens carries a tag naming its
  host and process; the next riskml run on the same host marks runs whose process is
  gone as FAILED (:func:`fail_orphaned_runs`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["HTTP_DEFAULTS", "TrackingUnreachableError", "check_server", "fail_orphaned_runs", "process_tags",
           "reaching"]

logger = logging.getLogger(__name__)

#: MLflow's HTTP settings as riskml defaults them (a value set in the environment wins):
#: 10 s per request (connect and read), 2 retries, 1 s backoff factor: under 40 s in all.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
}
PROCESS_TAG = "riskml.process"
_reachable: set[str] = set()


class TrackingUnreachableError(ConnectionError):
    """The MLflow tracking server cannot be reached within riskml's time budget.

    Examples
    --------
    >>> from riskml.tracking import TrackingUnreachableError
    >>> issubclass(TrackingUnreachableError, ConnectionError)
    True
    """


def apply_http_defaults() -> None:
    """Set riskml's bounded defaults for MLflow's HTTP client where the user has not."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _budget() -> tuple[float, int, float]:
    timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_TIMEOUT"]))
    retries = int(os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES", HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]))
    factor = float(os.environ.get("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"]))
    return timeout, retries, factor


def unreachable(uri: str, reason: str, elapsed: float | None = None) -> TrackingUnreachableError:
    """The error for a tracking server at ``uri`` that did not answer."""
    timeout, retries, _ = _budget()
    waited = f" after {elapsed:.1f} s" if elapsed is not None else ""
    return TrackingUnreachableError(
        f"the MLflow tracking server at {uri} cannot be reached{waited} ({reason}). Start the server, or point "
        "MLFLOW_TRACKING_URI at a reachable one (unset it to use riskml's embedded store under RISKML_HOME). "
        f"Each request waits MLFLOW_HTTP_REQUEST_TIMEOUT={timeout:g} s and is retried "
        f"MLFLOW_HTTP_REQUEST_MAX_RETRIES={retries} time(s); set them to wait longer"
    )


def check_server(uri: str) -> None:
    """Probe an HTTP tracking server once per process; raise :class:`TrackingUnreachableError`.

    Non-HTTP URIs (the embedded SQLite store) are not probed.

    Examples
    --------
    >>> check_server("sqlite:////tmp/mlflow.db")  # nothing to probe
    """
    if not uri.startswith(("http://", "https://")) or uri in _reachable:
        return
    import requests

    timeout, retries, factor = _budget()
    started = time.monotonic()
    reason = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(min(factor * 2 ** (attempt - 1), timeout))
        try:
            response = requests.get(f"{uri.rstrip('/')}/health", timeout=(timeout, timeout))
        except requests.RequestException as exc:
            reason = f"{type(exc).__name__}: {_short(exc)}"
            continue
        if response.status_code < 500:
            _reachable.add(uri)
            return
        reason = f"HTTP {response.status_code}"
    raise unreachable(uri, reason, time.monotonic() - started)


def is_connection_failure(exc: BaseException) -> bool:
    """Whether an MLflow exception means the server did not answer (not a missing entity)."""
    text = str(getattr(exc, "message", exc))
    return text.startswith("API request to") and "failed with" in text


def process_tags() -> dict[str, str]:
    """Run tags naming this host and process, for :func:`fail_orphaned_runs`.

    Examples
    --------
    >>> list(process_tags())
    ['riskml.process']
    """
    return {PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}:{_start_ticks(os.getpid())}"}


def fail_orphaned_runs(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark RUNNING runs of this host whose process is gone as FAILED; their ids.

    Only runs tagged by :func:`process_tags` on this host are judged: a run of
    another machine, or one without the tag, is left alone. Called by
    :func:`~riskml.tracking._store.ensure_experiment`, so every riskml run starts with it.

    Examples
    --------
    >>> import os, tempfile
    >>> from riskml.tracking import configure, fail_orphaned_runs
    >>> from riskml.tracking._store import ensure_experiment
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> cfg = configure(tempfile.mkdtemp())
    >>> fail_orphaned_runs(cfg.client(), ensure_experiment("credit", cfg))
    []
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    host = socket.gethostname()
    runs = client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000)
    failed = []
    for run in runs:
        tag = run.data.tags.get(PROCESS_TAG, "")
        parts = tag.rsplit(":", 2)
        if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
            continue
        pid, ticks = int(parts[1]), parts[2]
        if _alive(pid, ticks):
            continue
        client.set_tag(run.info.run_id, "riskml.failure",
                       f"process {pid} on {host} ended without finishing the run (found by a later riskml run)")
        client.set_terminated(run.info.run_id, status="FAILED")
        failed.append(run.info.run_id)
    if failed:
        logger.warning("marked %d run(s) FAILED whose process was killed: %s", len(failed), failed)
    return failed


def _alive(pid: int, ticks: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A live pid may be a new process that reused the number: compare start times.
    return not ticks or _start_ticks(pid) == ticks


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), else ''."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            stat = fh.read()
    except OSError:
        return ""
    return stat.rpartition(")")[2].split()[19]


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."


@contextmanager
def reaching(uri: str) -> Iterator[None]:
    """Turn an MLflow connection failure inside the block into :class:`TrackingUnreachableError`."""
    from mlflow.exceptions import MlflowException

    started = time.monotonic()
    try:
        yield
    except MlflowException as exc:
        if not is_connection_failure(exc):
            raise
        raise unreachable(uri, _short(exc), time.monotonic() - started) from None
