"""The grade model is gated at promotion too: the model entities are graded by.

Real models: a small synthetic market, ``models/credit.yaml`` (whose ``grade_score``
section trains a through-the-cycle grade model beside the point-in-time one) and two
variants of it, one whose grade model sees a single registry attribute and one
without a grade model. All three share the panel, labels and LightGBM parameters, so
their point-in-time models are the same and only the grade model differs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient
from typer.testing import CliRunner

import riskml
from riskml._pipeline import backtest_scores
from riskml._specs import load_yaml, resolve_spec
from riskml.tracking import promote
from riskml.tracking._runs import log_training_run

PARAMS = {"n_estimators": 30}
ONE_SPLIT = {"test_dates": "last 1"}
GATES = {
    "absolute": {"min_auc": 0.6, "max_calibration_error": 0.1},
    "relative": {"max_auc_drop": 0.01, "max_calibration_error_increase": 0.02, "max_score_psi": 0.25},
}
GRADE_GATES = ["grade_model_min_auc", "grade_model_max_calibration_error", "grade_model_max_auc_drop",
               "grade_model_max_calibration_error_increase"]


@pytest.fixture(scope="module")
def panel_and_labels():
    market = riskml.synth.make_market(n_entities=800, seed=0)
    records = riskml.records.validate(market.records, mode="strict")
    panel = riskml.build_panel(records, "quarterly", show_progress=False)
    return panel, riskml.make_labels(records, panel, "credit")


def _spec(folder: Path, name: str, grade_score: dict | None) -> Path:
    spec = load_yaml(resolve_spec("models", "credit"))
    if grade_score is None:
        spec.pop("grade_score")
    else:
        spec["grade_score"] = grade_score
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _fit(panel_and_labels, spec: str | Path) -> riskml.models.FitResult:
    panel, labels = panel_and_labels
    return riskml.train(panel, spec, labels=labels, params=PARAMS, backtest=ONE_SPLIT, log=False,
                        show_progress=False).fit


@pytest.fixture(scope="module")
def shipped(panel_and_labels):
    return _fit(panel_and_labels, "credit")


@pytest.fixture(scope="module")
def weak_grade(panel_and_labels, tmp_path_factory):
    # the grade model sees one registry attribute and no conduct at all
    folder = tmp_path_factory.mktemp("grade-specs")
    return _fit(panel_and_labels, _spec(folder, "weak", {"kinds": [], "attributes": ["entity_type"]}))


@pytest.fixture(scope="module")
def no_grade(panel_and_labels, tmp_path_factory):
    folder = tmp_path_factory.mktemp("grade-specs")
    return _fit(panel_and_labels, _spec(folder, "pit_only", None))


def _log(fit: riskml.models.FitResult, target: str) -> str:
    renamed = dataclasses.replace(fit, model=dataclasses.replace(fit.model, target=target))
    return log_training_run(renamed, metrics=fit.metrics, specs={}, panel_schema=fit.predictions[["as_of"]],
                            predictions=fit.predictions.assign(score=backtest_scores(fit)), plots=False)


def _grade(fit: riskml.models.FitResult, metric: str) -> float:
    rows = fit.grade.metrics.query("population == 'all' and metric == @metric")
    return float(rows["value"].iloc[-1])


def _gates(decision) -> dict:
    return {g.name: g for g in decision.gates}


def test_the_variants_differ_only_in_their_grade_model(shipped, weak_grade, no_grade):
    pd.testing.assert_frame_equal(shipped.metrics, weak_grade.metrics)
    pd.testing.assert_frame_equal(shipped.metrics, no_grade.metrics)
    assert no_grade.grade is None
    assert weak_grade.model.grade_model.features == ("entity_type",)
    assert _grade(weak_grade, "auc") < _grade(shipped, "auc")


def test_a_run_logs_the_grade_models_backtest_as_metrics_beside_the_point_in_time_ones(store, shipped, no_grade):
    run = MlflowClient().get_run(_log(shipped, "grade_logged")).data.metrics
    for split, population, metric, value in shipped.grade.metrics.itertuples(index=False, name=None):
        key = f"grade_model.{metric}.split_{pd.Timestamp(split).date()}.{population}"
        assert run[key] == pytest.approx(value, nan_ok=True), key
    for split, population, metric, value in shipped.metrics.itertuples(index=False, name=None):
        assert run[f"{metric}.split_{pd.Timestamp(split).date()}.{population}"] == pytest.approx(value, nan_ok=True)
    without = MlflowClient().get_run(_log(no_grade, "grade_none")).data.metrics
    assert without and not any(k.startswith("grade_model.") for k in without)


def test_a_challenger_whose_grade_model_ranks_worse_is_refused_naming_the_grade_gate(store, shipped, weak_grade):
    _log(shipped, "grade_worse")
    assert promote("grade_worse", gates=GATES).promoted
    _log(weak_grade, "grade_worse")
    decision = promote("grade_worse", gates=GATES)
    gates = _gates(decision)
    assert not decision.promoted
    assert "grade_model_max_auc_drop" in decision.failed_gates
    assert set(decision.failed_gates) <= set(GRADE_GATES)
    # the point-in-time model is the champion's own: each of its gates passes
    assert all(gates[n].passed for n in ("min_auc", "max_calibration_error", "max_auc_drop",
                                          "max_calibration_error_increase", "max_score_psi"))
    drop = gates["grade_model_max_auc_drop"]
    assert drop.value == pytest.approx(_grade(shipped, "auc") - _grade(weak_grade, "auc"))
    assert str(riskml.tracking.resolve_version("grade_worse", alias="champion").version) == "1"
    tags = MlflowClient().get_model_version("riskml-grade_worse", "2").tags
    assert "grade_model_max_auc_drop" in tags["promotion"]


def test_promote_prints_which_model_failed(store, shipped, weak_grade, monkeypatch):
    from riskml.cli import app

    _log(shipped, "grade_cli")
    assert promote("grade_cli").promoted  # the bundled gates
    _log(weak_grade, "grade_cli")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["promote", "--target", "grade_cli"])
    assert result.exit_code == 1
    assert "fail grade_model_max_auc_drop" in result.stdout
    assert "pass max_auc_drop" in result.stdout and "not promoted" in result.stdout


def test_a_first_model_whose_grade_model_fails_an_absolute_gate_is_refused(store, weak_grade):
    pit_auc = float(weak_grade.metrics.query("population == 'all' and metric == 'auc'")["value"].iloc[-1])
    grade_auc = _grade(weak_grade, "auc")
    assert grade_auc < pit_auc
    between = {**GATES, "absolute": {**GATES["absolute"], "min_auc": (grade_auc + pit_auc) / 2}}
    _log(weak_grade, "grade_first")
    decision = promote("grade_first", gates=between)
    assert not decision.promoted
    assert decision.failed_gates == ("grade_model_min_auc",)
    assert _gates(decision)["min_auc"].passed
    assert [g.name for g in decision.gates] == ["min_auc", "max_calibration_error", "grade_model_min_auc",
                                                "grade_model_max_calibration_error"]


def test_a_challenger_passing_both_models_gates_is_promoted(store, shipped):
    _log(shipped, "grade_both")
    promote("grade_both", gates=GATES)
    _log(shipped, "grade_both")
    decision = promote("grade_both", gates=GATES)
    gates = _gates(decision)
    assert decision.promoted, decision.gates
    assert all(gates[n].passed and gates[n].value is not None for n in GRADE_GATES)
    assert gates["grade_model_min_auc"].value == pytest.approx(_grade(shipped, "auc"))
    assert gates["grade_model_max_calibration_error"].value == pytest.approx(_grade(shipped, "calibration_error"))
    assert gates["grade_model_max_auc_drop"].value == 0


def test_against_a_champion_without_grade_model_the_relative_grade_gates_are_skipped_and_recorded(
        store, shipped, no_grade):
    import json

    _log(no_grade, "grade_new")
    assert promote("grade_new", gates=GATES).promoted
    run_id = _log(shipped, "grade_new")
    decision = promote("grade_new", gates=GATES)
    gates = _gates(decision)
    assert decision.promoted, decision.gates
    assert gates["grade_model_min_auc"].value == pytest.approx(_grade(shipped, "auc"))
    for name in ("grade_model_max_auc_drop", "grade_model_max_calibration_error_increase"):
        assert gates[name].value is None and gates[name].passed
        assert gates[name].detail.startswith("skipped: champion version 1 has no grade model")
    recorded = json.loads(MlflowClient().get_run(run_id).data.tags["riskml.promotion"])["gates"]
    assert recorded["grade_model_max_auc_drop"][0] is None and recorded["grade_model_max_auc_drop"][2] is True


def test_the_grade_model_gates_can_be_switched_off(store, shipped, weak_grade):
    _log(shipped, "grade_off")
    promote("grade_off", gates=GATES)
    _log(weak_grade, "grade_off")
    decision = promote("grade_off", gates={**GATES, "grade_model": False})
    assert decision.promoted
    assert not any(g.name.startswith("grade_model_") for g in decision.gates)


def test_a_challenger_without_grade_model_gets_no_grade_gates_against_a_champion_with_one(store, shipped, no_grade):
    _log(shipped, "grade_dropped")
    promote("grade_dropped", gates=GATES)
    _log(no_grade, "grade_dropped")
    decision = promote("grade_dropped", gates=GATES)
    assert decision.promoted, decision.gates
    assert not any(g.name.startswith("grade_model_") for g in decision.gates)


def test_grade_model_metrics_on_another_test_date_refuse_naming_it(store, shipped):
    fit = dataclasses.replace(shipped, model=dataclasses.replace(shipped.model, target="grade_elsewhere"))
    elsewhere = shipped.grade.metrics.assign(split=pd.Timestamp("2020-01-01"))
    log_training_run(fit, metrics=shipped.metrics, specs={}, panel_schema=shipped.predictions[["as_of"]],
                     predictions=shipped.predictions.assign(score=backtest_scores(shipped)), plots=False,
                     grade_metrics=elsewhere)
    decision = promote("grade_elsewhere", gates=GATES)
    assert not decision.promoted
    assert decision.failed_gates == ("grade_model_backtest",)
    latest = pd.Timestamp(shipped.metrics["split"].max()).date()
    assert f"not for the compared test date {latest}" in decision.gates[-1].detail
