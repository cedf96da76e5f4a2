"""The same log / register / promote / load cycle against a real ``mlflow server`` on loopback."""

from __future__ import annotations

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


@pytest.fixture
def mlflow_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_mlflow_server):
    store = ["--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
             "--default-artifact-root", str(tmp_path / "art")]
    try:
        with start_mlflow_server(tmp_path, store, timeout=90) as url:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
            yield url, tmp_path
    finally:
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
