"""Training with selective labels, a calibration slice that fits the data, and custom labels from a panel."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import yaml

import riskml
from riskml._specs import load_yaml, resolve_spec
from riskml.models import fit_model, load_backtest_spec
from riskml.models._backtest import plan_splits
from riskml.models._testing import toy_panel

BACKTEST = {"test_dates": "last 2", "min_train_dates": 2, "calibration": {"early_stopping_rounds": 0}}


def _credit(**label) -> dict:
    spec = load_yaml(resolve_spec("models", "credit"))
    spec["label"] = {**spec["label"], **label}
    spec["training"]["calibration_min_positives"] = 0
    return spec


def _observed(labels: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return labels.assign(observed=rng.uniform(size=len(labels)) < 0.5)


def test_unobserved_rows_are_excluded_from_training_and_metrics():
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    labels = _observed(labels)
    result = fit_model(panel, labels, _credit(observed_when=[{"source": "inspections"}]), backtest=BACKTEST,
                       params={"n_estimators": 20})
    key = ["entity_id", "as_of"]
    scored = result.predictions.merge(labels[[*key, "observed"]], on=key)
    assert len(scored) == len(result.predictions) and scored["observed"].all()
    # the backtest reports, per test date, rows labeled, observed and unobserved
    table = result.metric_table().set_index(["split", "population"])
    for split in result.splits.query("split != 'final'").itertuples():
        at = labels[(labels["as_of"] == split.test_as_of) & labels["complete"]]
        row = table.loc[(split.test_as_of, "all")]
        assert row["rows_observed"] == at["observed"].sum() == split.test_labeled == split.test_rows
        assert row["rows_unobserved"] == (~at["observed"]).sum() == split.test_unobserved > 0
        assert row["n"] == row["rows_labeled"]
    # the booster and its calibrator saw observed rows only
    cal_dates = pd.to_datetime(result.splits["calibration_as_of"].iloc[0].split(","))
    cal = labels[labels["as_of"].isin(cal_dates) & labels["complete"]]
    assert result.splits["calibration_rows"].iloc[0] == cal["observed"].sum()


def test_unobserved_rows_count_as_negatives_when_asked():
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    labels = _observed(labels)
    spec = _credit(observed_when=[{"source": "inspections"}], unobserved="negative")
    result = fit_model(panel, labels, spec, backtest=BACKTEST, params={"n_estimators": 20})
    test = labels[labels["as_of"].isin(result.predictions["as_of"].unique()) & labels["complete"]]
    assert len(result.predictions) == len(test) and (~test["observed"]).any()


def test_uncalibrated_and_calibrated_errors_are_both_reported():
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    result = fit_model(panel, labels, _credit(), backtest=BACKTEST, params={"n_estimators": 20})
    table = result.metric_table().query("population == 'all'")
    assert table[["calibration_error", "calibration_error_uncalibrated"]].notna().all().all()


def test_the_calibration_slice_grows_until_it_holds_the_minimum_of_positives(caplog):
    dates = pd.date_range("2020-01-01", periods=20, freq="QS")
    spec = load_backtest_spec({"test_dates": "last 1", "min_train_dates": 2})
    positives = pd.Series(20, index=dates)
    base = plan_splits(dates, dates[:16], spec, 365)
    grown = plan_splits(dates, dates[:16], spec, 365, positives=positives, min_positives=50)
    for before, after in zip(base, grown, strict=True):
        assert len(before.calibration_as_of) == 1 and len(after.calibration_as_of) == 3
        assert after.calibration_as_of[-1] == before.calibration_as_of[-1]  # grown to earlier dates
        assert positives.loc[list(after.calibration_as_of)].sum() >= 50
        assert len(after.train_as_of) >= 2 and after.train_as_of[-1] < after.calibration_as_of[0]
    with caplog.at_level(logging.WARNING, logger="riskml.models"):
        capped = plan_splits(dates, dates[:16], spec, 365, positives=positives, min_positives=10_000)
    assert all(positives.loc[list(s.train_as_of)].sum() >= positives.loc[list(s.calibration_as_of)].sum()
               for s in capped)
    assert "fewer than the 10000 asked for (training.calibration_min_positives)" in caplog.text


def test_the_calibration_slice_never_leaves_the_booster_fewer_positives_than_itself():
    # a rare target whose early dates hold no positive: growing further would starve the booster
    dates = pd.date_range("2020-01-01", periods=20, freq="QS")
    spec = load_backtest_spec({"test_dates": "last 2", "min_train_dates": 2})
    positives = pd.Series(np.where(np.arange(20) >= 3, 10, 0), index=dates)
    base = plan_splits(dates, dates[:16], spec, 365)
    grown = plan_splits(dates, dates[:16], spec, 365, positives=positives, min_positives=100)
    assert any(len(g.calibration_as_of) > len(b.calibration_as_of) for g, b in zip(grown, base, strict=True))
    for split in grown:
        held = positives.loc[list(split.calibration_as_of)].sum()
        assert positives.loc[list(split.train_as_of)].sum() >= held and held < 100


def test_a_ready_panel_trains_with_a_label_on_a_custom_source(tmp_path):
    # the label reads a custom `inspections` source with a score the built-in one lacks
    spec = _credit(horizon_days=365, positive_when=[
        {"source": "inspections", "aggregation": "mean", "column": "inspection_score", "below": 90}])
    spec.pop("overrides")
    spec["white_list"]["exclude_when_positive"] = []
    spec["name"] = "hygiene"
    path = tmp_path / "hygiene.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    result = riskml.train(panel, str(path), labels=labels, backtest=BACKTEST, params={"n_estimators": 10},
                          log=False)
    assert result.model.target == "hygiene" and len(result.fit.predictions) > 0
