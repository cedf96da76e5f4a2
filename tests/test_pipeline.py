"""The verbs end to end: train -> promote -> predict with the registry's champion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import riskml
from riskml.features import Panel

SMALL = {"n_estimators": 40}
ONE_SPLIT = {"test_dates": "last 1"}


@pytest.fixture(scope="module")
def market():
    return riskml.synth.make_market(n_entities=2000, seed=11)


@pytest.fixture(scope="module")
def records(market):
    return riskml.records.validate(market.records, mode="strict")


@pytest.fixture(scope="module")
def trained(records, tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("RISKML_HOME", str(tmp_path_factory.mktemp("pipeline-home")))
    result = riskml.train(records, "credit", params=SMALL, backtest=ONE_SPLIT)
    decision = riskml.promote("credit")
    return result, decision


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_first_model_is_logged_registered_and_promoted(trained):
    result, decision = trained
    assert result.run_id
    assert decision.promoted
    assert {"auc", "calibration_error", "ks", "brier"} <= set(result.metrics.columns)


def test_the_run_logs_the_grade_models_own_backtest_and_the_ranking_it_keeps(trained, tmp_path):
    import json

    from mlflow import MlflowClient

    result, _ = trained
    assert result.fit.grade is not None  # models/credit.yaml declares grade_score
    client = MlflowClient()
    logged = {f.path for f in client.list_artifacts(result.run_id, "grade_model")}
    assert logged == {"grade_model/metrics.csv", "grade_model/ranking_kept.json"}
    kept = json.loads(open(client.download_artifacts(result.run_id, "grade_model/ranking_kept.json", str(tmp_path)),
                           encoding="utf-8").read())

    def mean_auc(metrics: pd.DataFrame) -> float:
        return float(metrics.query("metric == 'auc' and population == 'all'")["value"].mean())

    assert kept["auc_point_in_time"] == mean_auc(result.fit.metrics)
    assert kept["auc_grade"] == mean_auc(result.fit.grade.metrics)
    assert kept["auc_gap"] == kept["auc_point_in_time"] - kept["auc_grade"]
    table = pd.read_csv(client.download_artifacts(result.run_id, "grade_model/metrics.csv", str(tmp_path)))
    assert len(table) == len(result.fit.grade.metrics)


def test_the_run_logs_the_grade_models_metrics_and_promotion_gates_them(trained):
    from mlflow import MlflowClient

    result, decision = trained
    logged = MlflowClient().get_run(result.run_id).data.metrics
    grade = result.fit.grade.metrics
    for split, population, metric, value in grade.itertuples(index=False, name=None):
        assert logged[f"grade_model.{metric}.split_{pd.Timestamp(split).date()}.{population}"] == pytest.approx(
            value, nan_ok=True)
    gates = {g.name: g for g in decision.gates}
    auc = grade.query("population == 'all' and metric == 'auc'")["value"].iloc[-1]
    assert gates["grade_model_min_auc"].value == pytest.approx(auc) and gates["grade_model_min_auc"].passed
    assert "grade_model_max_calibration_error" in gates


def test_predict_scores_every_alive_entity_at_the_latest_quarter_with_reasons(trained, records):
    scores = riskml.predict(records, target="credit", explain=3)
    latest = scores["as_of"].iloc[0]
    entities = records["entities"]
    alive = ((entities["established"] < latest)
             & (entities["deregistered"].isna() | (entities["deregistered"] >= latest))).sum()
    assert len(scores) == alive == scores["entity_id"].nunique()
    assert set(scores["grade"].astype(str)) <= {"A", "B", "C", "D"}
    lowered = scores["reason_1_points"].dropna()
    assert len(lowered) and (lowered < 0).all()
    assert scores.loc[scores["reason_1_feature"] != "", "reason_1_text_en"].str.contains("points").all()


def test_predict_uses_the_champion_and_equals_the_trained_model(trained, records):
    result, _ = trained
    by_champion = riskml.predict(records, target="credit", explain=0)
    by_object = riskml.predict(records, target="credit", model=result.model, explain=0)
    pd.testing.assert_frame_equal(by_champion, by_object)


def test_predict_is_deterministic_and_thread_safe(trained, records):
    result, _ = trained
    panel = riskml.build_panel(records, "quarterly")
    reference = riskml.predict(panel, target="credit", explain=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(lambda _: riskml.predict(panel, target="credit", explain=2), range(8)))
    for out in outputs:
        pd.testing.assert_frame_equal(out, reference)


def test_predict_refuses_a_panel_whose_features_or_spec_hash_differ(trained, records):
    panel = riskml.build_panel(records, "quarterly")
    missing = Panel(frame=panel.frame.drop(columns=[panel.feature_names[0]]), catalog=panel.catalog,
                    spec_hash=panel.spec_hash)
    with pytest.raises(ValueError, match=panel.feature_names[0]):
        riskml.predict(missing, target="credit")
    other_hash = Panel(frame=panel.frame, catalog=panel.catalog, spec_hash="0" * 16)
    with pytest.raises(ValueError, match="feature spec 0000000000000000"):
        riskml.predict(other_hash, target="credit")


def test_score_is_base_points_plus_feature_points_for_every_scored_entity(trained, records):
    from riskml.explain import tree_contributions
    from riskml.explain._points import points_from_contributions

    result, _ = trained
    model = result.model
    panel = riskml.build_panel(records, "quarterly")
    latest = panel.frame.loc[panel.frame["as_of"] == panel.frame["as_of"].max()].reset_index(drop=True)
    grading = model.grading  # the score is the grade model's (through-the-cycle)
    contrib = tree_contributions(grading.booster, grading.matrix(latest))
    base, points = points_from_contributions(contrib, grading.policy, grading.calib_a, grading.calib_b)
    scores = model.score(latest)
    np.testing.assert_allclose(base + points.sum(axis=1), scores["score"].to_numpy(), atol=1e-6)


def test_explain_verb_rebuilds_the_grade_the_scores_gave(trained, records):
    scores = riskml.predict(records, target="credit", explain=0)
    worst = scores.sort_values(["score", "entity_id"]).iloc[0]
    explanation = riskml.explain(worst["entity_id"], worst["as_of"], records=records)
    assert explanation.score == pytest.approx(worst["score"], abs=1e-6)
    assert explanation.grade == worst["grade"]
    assert explanation.model_info.get("model_version") == "1"


def test_train_on_a_panel_needs_labels(records):
    panel = riskml.build_panel(records, "quarterly")
    with pytest.raises(ValueError, match="labels"):
        riskml.train(panel, "credit", log=False)
