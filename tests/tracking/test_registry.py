"""Registered models load back: in a fresh process through MLflow, and cached in-process."""

from __future__ import annotations

import subprocess
import sys
import threading

import pandas as pd
import pytest

from factory import TEST_DATES, subprocess_env
from riskml.tracking import load_model, promote, resolve_version
from riskml.tracking._registry import clear_model_cache
from riskml.tracking._runs import log_training_run
from riskml.models._pyfunc import pyfunc_input
from riskml.tracking import _registry

GATES = {
    "absolute": {"min_auc": 0.65, "max_calibration_error": 0.1},
    "relative": {"max_auc_drop": 0.01, "max_calibration_error_increase": 0.02, "max_score_psi": 0.25},
}


@pytest.fixture(scope="module")
def champion(tracking_home, good):
    """``good`` registered as riskml-credit and promoted to champion."""
    import os

    from riskml.tracking import configure

    saved = os.environ.get("RISKML_HOME")
    os.environ["RISKML_HOME"] = str(tracking_home)
    try:
        configure()
        log_training_run(good.model, metrics=good.metrics, specs={}, panel_schema=good.frame,
                         predictions=good.predictions, plots=False)
        version = resolve_version("credit", alias="challenger").version
        decision = promote("credit", version=version, gates=GATES)
        assert decision.promoted, decision.gates
        return str(version)
    finally:
        if saved is not None:
            os.environ["RISKML_HOME"] = saved


def _scoring_frame(good) -> pd.DataFrame:
    rows = good.frame[good.frame["as_of"] == TEST_DATES[-1]]
    return rows[["entity_id", "as_of", *good.model.features]].reset_index(drop=True)


def test_fresh_process_loads_champion_by_alias_and_predicts_the_same(store, champion, good, tmp_path):
    frame = _scoring_frame(good)
    pyfunc_input(frame).to_parquet(tmp_path / "in.parquet")
    code = (
        "import sys, mlflow.pyfunc, pandas as pd;"
        "m = mlflow.pyfunc.load_model('models:/riskml-credit@champion');"
        "m.predict(pd.read_parquet(sys.argv[1])).to_parquet(sys.argv[2])"
    )
    env = subprocess_env(store.home)
    env["MLFLOW_TRACKING_URI"] = store.tracking_uri
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = pd.read_parquet(tmp_path / "out.parquet")
    expected = good.model.score(frame)
    assert list(out.columns) == ["probability", "score", "grade_by_score", "grade", "override", "points_to_next_grade"]
    pd.testing.assert_series_equal(out["score"], expected["score"], check_exact=False, rtol=1e-12)
    assert out["grade"].tolist() == expected["grade"].tolist()
    assert out["override"].tolist() == expected["override"].tolist()


def test_load_model_returns_the_champion_as_a_risk_model(store, champion, good):
    clear_model_cache()
    model = load_model("credit")
    frame = _scoring_frame(good)
    assert model.features == good.model.features
    assert model.spec_hash == good.model.spec_hash
    pd.testing.assert_frame_equal(model.score(frame), good.model.score(frame))
    assert load_model("credit", version=champion) is model


def test_load_model_cache_is_thread_safe_and_loads_once(store, champion, monkeypatch):
    clear_model_cache()
    calls: list[tuple[str, str]] = []
    real = _registry._load_version

    def counting(name: str, version: str):
        calls.append((name, version))
        return real(name, version)

    monkeypatch.setattr(_registry, "_load_version", counting)
    start = threading.Barrier(6)
    results: list[object] = []

    def worker() -> None:
        start.wait()
        results.append(load_model("credit"))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 6
    assert len({id(r) for r in results}) == 1
    assert calls == [("riskml-credit", champion)]
    assert load_model("credit") is results[0]


def test_load_model_names_the_missing_alias(store):
    with pytest.raises(LookupError, match="riskml-credit.*'nonexistent'"):
        load_model("credit", alias="nonexistent")
