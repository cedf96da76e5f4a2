"""How long riskml takes to give up on a dead MLflow tracking server, with its default budget.

Two real servers on loopback: a closed port (connection refused) and a socket that
accepts connections and never answers. For each, ``riskml.tracking.configure()`` with
``MLFLOW_TRACKING_URI`` pointing at it is timed until it raises
``TrackingUnreachableError``; riskml's default HTTP budget applies (10 s per request,
2 retries), unless the MLflow variables are already set in the environment.

Run: ``python -m benchmarks.dead_server`` (about 40 s).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time


def _silent_server() -> tuple[str, socket.socket]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", listener


def _closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def main() -> None:
    import mlflow  # noqa: F401  (imported before timing: the import is not waiting)

    from riskml.tracking import TrackingUnreachableError, configure
    from riskml.tracking._health import HTTP_DEFAULTS

    os.environ["RISKML_HOME"] = tempfile.mkdtemp(prefix="riskml-dead-server-")
    silent, listener = _silent_server()
    budget = {k: os.environ.get(k, v) for k, v in HTTP_DEFAULTS.items()}
    print("budget:", ", ".join(f"{k}={v}" for k, v in budget.items()))
    for kind, uri in (("refused", _closed_port()), ("never answers", silent)):
        os.environ["MLFLOW_TRACKING_URI"] = uri
        started = time.monotonic()
        try:
            configure()
        except TrackingUnreachableError as exc:
            print(f"{kind:>14}: TrackingUnreachableError after {time.monotonic() - started:.1f} s: {str(exc)[:90]}...")
        else:
            print(f"{kind:>14}: no error")
    listener.close()


if __name__ == "__main__":
    main()
