"""Promotion moves champion only when every gate passes, and records each decision."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient

from factory import train
from riskml import SpecError
from riskml.tracking import promote, resolve_version
from riskml.tracking._promotion import load_gates
from riskml.tracking._runs import log_training_run

GATES = {
    "absolute": {"min_auc": 0.65, "max_calibration_error": 0.1},
    "relative": {"max_auc_drop": 0.01, "max_calibration_error_increase": 0.02, "max_score_psi": 0.25},
}


def _log(trained, target: str) -> str:
    model = trained.model.__class__(**{**trained.model.__dict__, "target": target})
    return log_training_run(model, metrics=trained.metrics, specs={}, panel_schema=trained.frame,
                            predictions=trained.predictions, plots=False)


def _alias(target: str, alias: str) -> str | None:
    try:
        return str(resolve_version(target, alias=alias).version)
    except LookupError:
        return None


def test_first_model_is_promoted_when_absolute_gates_pass(store, good):
    _log(good, "promo_first")
    decision = promote("promo_first", gates=GATES)
    assert decision.promoted
    assert decision.champion_version is None
    assert [g.name for g in decision.gates] == ["min_auc", "max_calibration_error"]
    assert _alias("promo_first", "champion") == "1"
    assert _alias("promo_first", "challenger") is None


def test_first_model_failing_an_absolute_gate_is_refused(store, bad):
    _log(bad, "promo_weak")
    decision = promote("promo_weak", gates=GATES)
    assert not decision.promoted
    assert "min_auc" in decision.failed_gates
    assert _alias("promo_weak", "champion") is None
    assert _alias("promo_weak", "challenger") == "1"


def test_worse_challenger_is_refused_champion_stays_and_decision_is_recorded(store, good, bad, tmp_path):
    _log(good, "promo_refuse")
    assert promote("promo_refuse", gates=GATES).promoted
    run_id = _log(bad, "promo_refuse")
    decision = promote("promo_refuse", gates=GATES)
    assert not decision.promoted
    assert {"min_auc", "max_auc_drop"} <= set(decision.failed_gates)
    assert decision.champion_version == "1" and decision.challenger_version == "2"
    assert decision.split == "2023-01-01"
    assert _alias("promo_refuse", "champion") == "1"
    assert _alias("promo_refuse", "challenger") == "2"
    assert _alias("promo_refuse", "previous_champion") is None

    client = MlflowClient()
    tag = json.loads(client.get_run(run_id).data.tags["riskml.promotion"])
    assert tag["promoted"] is False
    value, threshold, passed = tag["gates"]["max_auc_drop"]
    assert value > threshold and passed is False
    files = [f.path for f in client.list_artifacts(run_id, "promotion")]
    assert len(files) == 1
    with open(client.download_artifacts(run_id, files[0], str(tmp_path)), encoding="utf-8") as fh:
        recorded = json.load(fh)
    assert recorded["promoted"] is False
    assert {g["name"] for g in recorded["gates"]} >= {"max_score_psi", "max_calibration_error_increase"}
    assert client.get_model_version("riskml-promo_refuse", "2").tags["promotion"].startswith("refused")


def test_equally_good_challenger_is_promoted_and_old_champion_kept_as_previous(store, good, also_good):
    _log(good, "promo_replace")
    promote("promo_replace", gates=GATES)
    _log(also_good, "promo_replace")
    decision = promote("promo_replace", gates=GATES)
    assert decision.promoted, decision.gates
    psi_gate = next(g for g in decision.gates if g.name == "max_score_psi")
    assert 0 <= psi_gate.value < 0.25
    assert _alias("promo_replace", "champion") == "2"
    assert _alias("promo_replace", "previous_champion") == "1"


def test_promoting_the_champion_again_is_refused(store, good):
    _log(good, "promo_again")
    promote("promo_again", gates=GATES)
    decision = promote("promo_again", version=1, gates=GATES)
    assert not decision.promoted
    assert decision.failed_gates == ("not_already_champion",)


def test_promote_without_a_challenger_names_the_model(store):
    with pytest.raises(LookupError, match="riskml-nothing_here"):
        promote("nothing_here", gates=GATES)


def test_bundled_promotion_spec_loads_and_bad_gates_name_the_key():
    gates = load_gates()
    assert 0.5 < gates.absolute.min_auc < 1
    assert gates.relative.max_score_psi > 0
    with pytest.raises(SpecError, match="absolute.min_auc"):
        load_gates({"absolute": {"min_auc": 2, "max_calibration_error": 0.1}, "relative": GATES["relative"]})


def test_the_decision_records_the_digests_of_champion_and_challenger_files(store, good, also_good):
    from riskml.models._integrity import DIGEST_TAG, digest_of

    _log(good, "promo_digest")
    first = promote("promo_digest", gates=GATES)
    run_id = _log(also_good, "promo_digest")
    decision = promote("promo_digest", gates=GATES)
    client = MlflowClient()

    def recorded(version: str) -> str:
        return digest_of(json.loads(client.get_model_version("riskml-promo_digest", version).tags[DIGEST_TAG]))

    assert first.champion_digest is None and first.challenger_digest == recorded("1")
    assert decision.champion_digest == recorded("1") and decision.challenger_digest == recorded("2")
    assert decision.champion_digest != decision.challenger_digest
    tag = json.loads(client.get_run(run_id).data.tags["riskml.promotion"])
    assert (tag["champion_digest"], tag["challenger_digest"]) == (recorded("1"), recorded("2"))
