"""Threshold warnings and the monitoring report, logged to the embedded MLflow store."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from riskml.monitor import monitor
from riskml.monitor._drift import feature_psi
from riskml.monitor._groups import group_metrics
from riskml.monitor._report import check_thresholds
from riskml.monitor._spec import load_monitor_spec
from riskml.tracking import configure


def quarter_scores(shift: float, n: int = 2000, seed: int = 0, as_of: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.normal(600 + shift, 40, n)
    return pd.DataFrame({
        "entity_id": [f"E{i:07d}" for i in range(n)], "as_of": pd.Timestamp(as_of), "score": score,
        "probability": 1 / (1 + np.exp((score - 560) / 20)),
        "grade": np.select([score >= 640, score >= 580, score >= 520], ["A", "B", "C"], "D"),
        "district": np.where(np.arange(n) % 4 == 0, "D02", "D01"),
    })


def test_thresholds_from_the_spec_raise_warnings_exactly_when_crossed():
    limits = load_monitor_spec().thresholds
    assert check_thresholds({"score_psi": limits.score_psi}) == []
    over = check_thresholds({"score_psi": limits.score_psi + 0.01})
    assert [w["check"] for w in over] == ["score_psi"] and over[0]["threshold"] == 0.25
    fpsi = pd.DataFrame({"psi": [0.4, 0.1]}, index=pd.Index(["a", "b"], name="feature"))
    assert [w["subject"] for w in check_thresholds({"feature_psi": fpsi})] == ["a"]


def test_group_ratios_outside_the_band_warn_only_for_groups_large_enough():
    scores = quarter_scores(0)
    flagged = scores["grade"] == "D"
    scores.loc[(scores["district"] == "D02") & ~flagged, "grade"] = np.where(
        np.arange(int(((scores["district"] == "D02") & ~flagged).sum())) % 3 == 0, "D", "B")
    table = group_metrics(scores, None, "district")
    ratio = table.loc["D02", "flag_rate_ratio"]
    assert ratio > 1.25
    warnings = check_thresholds({"group_metrics": {"district": table}})
    assert [(w["check"], w["subject"]) for w in warnings] == [("group_flag_rate_ratio", "district=D02")]
    assert check_thresholds({"group_metrics": {"district": table}}, {"min_group_size": 10_000}) == []
    assert check_thresholds({"group_metrics": {"district": table}}, {"group_ratio": [0.5, ratio + 1]}) == []


def test_grade_share_changes_beyond_the_threshold_warn():
    dist = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 2 + ["2024-04-01"] * 2), "grade": ["A", "D"] * 2,
                         "count": [80, 20, 60, 40], "share": [0.8, 0.2, 0.6, 0.4]})
    warnings = check_thresholds({"grade_distribution": dist})
    assert sorted(w["subject"] for w in warnings) == ["A", "D"]
    assert check_thresholds({"grade_distribution": dist}, {"grade_share_change": 0.25}) == []


def test_monitor_ties_drift_migration_and_groups_together():
    ref, cur = quarter_scores(0), quarter_scores(50, seed=1, as_of="2024-04-01")
    panel_ref = ref[["entity_id", "as_of"]].assign(x=np.arange(len(ref), dtype=float))
    panel_cur = cur[["entity_id", "as_of"]].assign(x=np.arange(len(cur), dtype=float) * 2)
    report = monitor(ref, cur, panel_ref=panel_ref, panel_cur=panel_cur, groups=["district"])
    assert report.as_of_ref == pd.Timestamp("2024-01-01") and report.as_of_cur == pd.Timestamp("2024-04-01")
    assert report.score_psi > 0.25
    pd.testing.assert_frame_equal(report.feature_psi, feature_psi(panel_ref, panel_cur))
    assert report.migration["count"].sum() == len(ref)
    assert set(report.group_metrics) == {"district"}
    checks = {w["check"] for w in report.warnings}
    assert {"score_psi", "feature_psi", "grade_share_change"} <= checks
    assert report.warnings == check_thresholds(report)


def test_monitor_skips_groups_it_cannot_find_and_refuses_several_dates():
    ref = quarter_scores(0).drop(columns="district")
    report = monitor(ref, ref)
    assert report.group_metrics == {} and report.score_psi == 0.0
    with pytest.raises(ValueError, match="one date per frame"):
        monitor(pd.concat([ref, ref.assign(as_of=pd.Timestamp("2024-04-01"))]), ref)


def test_report_logs_tables_warnings_and_plots_to_mlflow():
    report = monitor(quarter_scores(0), quarter_scores(60, seed=1, as_of="2024-04-01"), groups=["district"])
    run_id = report.log_to_mlflow()
    config = configure()
    client = MlflowClient(tracking_uri=config.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.metrics["monitor_score_psi"] == pytest.approx(report.score_psi)
    assert run.data.metrics["monitor_n_warnings"] == len(report.warnings)
    names = {a.path.removeprefix("monitor/") for a in client.list_artifacts(run_id, "monitor")}
    assert {"migration.csv", "migration.json", "grade_distribution.csv", "group_district.json", "warnings.json",
            "summary.json", "grade_distribution.png", "migration.png"} <= names
    local = client.download_artifacts(run_id, "monitor/warnings.json")
    with open(local, encoding="utf-8") as handle:
        assert json.load(handle)[0]["check"] == report.warnings[0]["check"]
    # logging to an existing run adds to it
    again = report.log_to_mlflow(run_id)
    assert again == run_id


def test_a_monitor_run_carries_its_process_and_ends_failed_when_logging_fails():
    """Killed, its run is found by the process tag; an error ends it FAILED, never RUNNING."""
    import dataclasses

    from riskml.tracking._health import PROCESS_TAG

    report = monitor(quarter_scores(0), quarter_scores(60, seed=1, as_of="2024-04-01"), groups=["district"])
    client = MlflowClient(tracking_uri=configure().tracking_uri)
    run = client.get_run(report.log_to_mlflow())
    assert run.info.status == "FINISHED" and run.data.tags[PROCESS_TAG]

    table = report.group_metrics["district"]
    broken = dataclasses.replace(report, group_metrics={"district": pd.concat([table, table], axis=1)})
    before = {r.info.run_id for r in client.search_runs([run.info.experiment_id])}
    with pytest.raises(ValueError, match="columns must be unique"):
        broken.log_to_mlflow()
    [opened] = [r for r in client.search_runs([run.info.experiment_id]) if r.info.run_id not in before]
    assert opened.info.status == "FAILED"
