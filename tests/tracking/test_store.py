"""The embedded MLflow store lives under the riskml home, never in the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskml.tracking import configure, resolve_version
from riskml.tracking._runs import log_training_run
from riskml.tracking._store import ensure_experiment
from riskml.tracking._store import resolve_home


def test_store_and_artifacts_land_under_riskml_home_regardless_of_cwd(tmp_path, monkeypatch, good):
    home = tmp_path / "home"
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("RISKML_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = configure()
    assert config.tracking_uri == f"sqlite:///{home.resolve()}/mlflow.db"
    run_id = log_training_run(good.model, metrics=good.metrics, specs={}, panel_schema=good.frame,
                              predictions=good.predictions)
    assert list(cwd.iterdir()) == []
    artifacts = list((home / "artifacts" / "riskml-credit").rglob("*"))
    assert any(p.name == "scores.parquet" and run_id in str(p) for p in artifacts)
    assert any(p.name == "booster.txt" or p.name == "MLmodel" for p in artifacts)
    version = resolve_version("credit", alias="challenger")
    assert version.source.startswith("models:/") or str(home.resolve()) in version.source


def test_relative_home_resolves_to_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKML_HOME", raising=False)
    assert resolve_home() == (tmp_path / ".riskml").resolve()
    assert resolve_home("rel") == (tmp_path / "rel").resolve()


def test_tracking_server_uri_in_environment_wins_and_creates_no_local_store(tmp_path, monkeypatch):
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):  # answers configure()'s probe
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    uri = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        config = configure(tmp_path / "home")
        assert not config.embedded
        assert config.tracking_uri == uri
        assert config.artifact_location("credit") is None
        assert not (tmp_path / "home").exists()
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    configure()


def test_parallel_processes_create_one_fresh_store_without_corrupting_it(tmp_path):
    home = tmp_path / "shared-home"
    code = ("import sys; from riskml.tracking import configure; from riskml.tracking._store import ensure_experiment;"
            "c = configure(sys.argv[1]); print(ensure_experiment('credit', c))")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(home)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-2000:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared-home"]


def test_experiment_is_created_with_explicit_artifact_location(store):
    from mlflow import MlflowClient

    experiment_id = ensure_experiment("store_check", store)
    location = MlflowClient().get_experiment(experiment_id).artifact_location
    assert location == (store.home / "artifacts" / "riskml-store_check").as_uri()
