"""The same log / register / promote / load cycle against a real ``mlflow server`` on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from riskml.tracking import configure, load_model, promote, resolve_version
from riskml.tracking._registry import clear_model_cache
from riskml.tracking._runs import log_training_run

pytestmark = pytest.mark.server

GATES = {
    "absolute": {"min_auc": 0.65, "max_calibration_error": 0.1},
    "relative": {"max_auc_drop": 0.01, "max_calibration_error_increase": 0.02, "max_score_psi": 0.25},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    port = _free_port()
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--default-artifact-root", str(tmp_path / "art"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not become healthy:\n"
                                   + (tmp_path / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        yield url, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        clear_model_cache()
        configure()


def test_log_register_promote_and_load_through_a_tracking_server(mlflow_server, good, tmp_path):
    url, server_dir = mlflow_server
    config = configure(tmp_path / "client-home")
    assert config.tracking_uri == url and not config.embedded
    run_id = log_training_run(good.model, metrics=good.metrics, specs={}, panel_schema=good.frame,
                              predictions=good.predictions, plots=False)
    assert resolve_version("credit", alias="challenger").run_id == run_id
    decision = promote("credit", gates=GATES)
    assert decision.promoted
    clear_model_cache()
    model = load_model("credit")
    frame = good.frame.head(50)
    assert model.score(frame)["score"].tolist() == pytest.approx(good.model.score(frame)["score"].tolist())
    # the server decided where artifacts live; the client home stays empty
    assert any((server_dir / "art").rglob("booster.txt"))
    assert not (tmp_path / "client-home").exists()
