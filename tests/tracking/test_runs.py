"""A training run logs params, split metrics, specs, schema, plots and the model, and nothing personal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from factory import PERSONAL_NAME, PERSONAL_PHONE
from riskml._specs import resolve_spec
from riskml.explain._artifacts import shap_artifacts
from riskml.tracking import resolve_version
from riskml.tracking._runs import log_training_run, metric_table, panel_schema


@pytest.fixture(scope="module")
def logged(tracking_home, good):
    import os

    from riskml.tracking import configure

    saved = os.environ.get("RISKML_HOME")
    os.environ["RISKML_HOME"] = str(tracking_home)
    try:
        config = configure()
        run_id = log_training_run(
            good.model, metrics=good.metrics,
            specs={"model": resolve_spec("models", "credit"), "backtest": {"gap_days": 365, "test_dates": 2}},
            panel_schema=good.frame, predictions=good.predictions, tags={"purpose": "test"},
            artifacts=shap_artifacts(good.model, good.frame))
        return config, run_id
    finally:
        if saved is not None:
            os.environ["RISKML_HOME"] = saved


def test_log_and_register_gives_the_challenger_alias_with_version_tags(store, logged, good):
    _, run_id = logged
    version = resolve_version("credit", alias="challenger")
    assert version.run_id == run_id
    assert version.tags["spec_hash"] == good.model.spec_hash
    assert version.tags["latest_split"] == "2023-01-01"
    assert json.loads(version.tags["meta.test_as_of"]) == ["2022-10-01", "2023-01-01"]
    assert float(version.tags["metric.auc.all"]) == pytest.approx(good.metrics["auc"].iloc[2], abs=1e-5)


def test_run_holds_per_split_metrics_latest_summary_and_params(store, logged, good):
    run = MlflowClient().get_run(logged[1])
    metrics = run.data.metrics
    assert metrics["auc.split_2022-10-01.all"] == pytest.approx(good.metrics["auc"].iloc[0])
    assert metrics["auc.split_2023-01-01.random"] == pytest.approx(good.metrics["auc"].iloc[3])
    assert metrics["auc.latest.all"] == metrics["auc.split_2023-01-01.all"]
    assert run.data.params["spec_hash"] == good.model.spec_hash
    assert run.data.params["lgb.num_leaves"] == "7"
    assert run.data.tags["purpose"] == "test"


def test_run_artifacts_hold_specs_schema_plots_scores_and_model(store, logged, tmp_path, good):
    client = MlflowClient()
    local = tmp_path / "run"
    local.mkdir()
    client.download_artifacts(logged[1], "", str(local))
    files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
    assert {"specs/model.yaml", "specs/backtest.yaml", "panel/schema.json", "backtest/scores.parquet",
            "plots/calibration.png", "plots/lift.png", "plots/grades.png", "plots/shap_beeswarm.png",
            "explain/mean_abs_contribution.json"} <= files
    assert (local / "specs/model.yaml").read_text(encoding="utf-8").startswith("# Credit-risk model")
    schema = json.loads((local / "panel/schema.json").read_text(encoding="utf-8"))
    assert schema["spec_hash"] == good.model.spec_hash
    assert {c["name"] for c in schema["columns"]} >= set(good.model.features)
    scores = pd.read_parquet(local / "backtest/scores.parquet")
    assert list(scores.columns) == ["as_of", "score"]
    assert len(scores) == len(good.predictions)
    for png in (local / "plots").iterdir():
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_the_mean_abs_contribution_logged_is_the_one_handed_in(store, logged, tmp_path, good):
    path = MlflowClient().download_artifacts(logged[1], "explain/mean_abs_contribution.json", str(tmp_path))
    logged_values = json.loads(Path(path).read_text(encoding="utf-8"))
    handed_in = shap_artifacts(good.model, good.frame)["explain/mean_abs_contribution.json"]
    assert list(logged_values) == list(good.model.features)
    assert logged_values == pytest.approx(handed_in, rel=0, abs=0)


def test_an_artifact_of_unknown_kind_is_refused_with_its_path(store, good):
    with pytest.raises(TypeError, match="artifact 'odd/thing.bin': expected text, bytes, a dict or a matplotlib figure"):
        log_training_run(good.model, metrics=good.metrics, specs={}, panel_schema=good.frame, plots=False,
                         register=False, artifacts={"odd/thing.bin": 42})


def test_no_personal_value_reaches_any_artifact_or_the_store(store, logged):
    needles = [PERSONAL_NAME.encode("utf-8"), PERSONAL_PHONE.encode(), "张三".encode("utf-8")]
    checked = 0
    for path in store.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            checked += 1
            for needle in needles:
                assert needle not in data, f"personal value found in {path}"
    assert checked > 10


def test_metric_table_accepts_long_form_and_rejects_frames_without_a_split():
    long = pd.DataFrame({"split": ["2024-01-01"], "metric": ["auc"], "value": [0.7]})
    assert metric_table(long).to_dict("records") == [
        {"split": "2024-01-01", "population": "all", "metric": "auc", "value": 0.7}]
    with pytest.raises(ValueError, match="split column"):
        metric_table(pd.DataFrame({"auc": [0.7]}))


def test_panel_schema_keeps_dtypes_but_never_category_levels():
    frame = pd.DataFrame({"industry": pd.Categorical(["secret-level"])})
    schema = panel_schema(frame, spec_hash="h")
    assert schema == {"spec_hash": "h", "columns": [{"name": "industry", "dtype": "category"}]}


def _calibration_points_before(p: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The hand-drawn calibration plot's points, frozen: quantile bins of p."""
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    count = np.bincount(which)
    keep = count > 0
    return np.bincount(which, weights=p)[keep] / count[keep], np.bincount(which, weights=y)[keep] / count[keep]


def test_calibration_plot_is_sklearns_display_with_the_points_drawn_before():
    from riskml.tracking._plots import calibration_curve

    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.3, 3000)
    y = (rng.uniform(size=3000) < p).astype(float)
    line = [ln for ln in calibration_curve(p, y).axes[0].get_lines() if ln.get_label() == "model"][0]
    mean_p, rate = _calibration_points_before(p, y)
    np.testing.assert_allclose(line.get_xdata(), mean_p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(line.get_ydata(), rate, rtol=0, atol=1e-12)
