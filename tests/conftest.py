"""A real PostgreSQL server on loopback for the database tests, started once per session.

The server is the system's (``/usr/lib/postgresql/<version>/bin``, installed by
``scripts/system-deps.sh``): ``initdb`` into a fresh folder, ``pg_ctl start`` on
127.0.0.1 with a free port, ``pg_ctl stop`` at the end. PostgreSQL refuses to run as
root, so under root the folder belongs to the ``postgres`` user and the binaries run
through ``runuser``. Tests that need it skip, with the reason, only when the binaries
(or the ``postgres`` user under root) are missing.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SUPERUSER = "riskml"
# --doctest-modules would import every folder's conftest.py as a module named
# "conftest": with two folders in one call the names clash (none of them has doctests)
collect_ignore_glob = ["*/conftest.py"]
_counter = itertools.count(1)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql://riskml@127.0.0.1:<port>/postgres`` of a throwaway server."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
                    "(run scripts/system-deps.sh as root, or apt-get install postgresql)")
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
    prefix: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="riskml-pg-"))
    data = base / "data"
    if as_root:
        shutil.chown(base, "postgres", "postgres")
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER, "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
        "-o", f"-p {port} -k {base} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off", "start")
    try:
        yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True, timeout=120)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session server, dropped afterwards."""
    import psycopg

    name = f"t_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')



@contextlib.contextmanager
def _mlflow_server(folder: Path, store: list[str], timeout: float = 120) -> Iterator[str]:
    """A real ``mlflow server`` on a free loopback port with the given store options; yields its URL.

    Started from this interpreter's environment without ``MLFLOW_TRACKING_URI``, its
    output in ``folder/server.log``; waits for ``/health`` (failing with the log's
    tail), terminates the server at the end (killed if it does not stop).
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    log_path = folder / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "mlflow"), "server", *store, "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"], cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("mlflow server did not become healthy:\n"
                                       + log_path.read_text(errors="replace")[-3000:])
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def start_mlflow_server() -> Callable[..., contextlib.AbstractContextManager[str]]:
    """:func:`_mlflow_server`: ``with start_mlflow_server(folder, store_options) as url``."""
    return _mlflow_server
