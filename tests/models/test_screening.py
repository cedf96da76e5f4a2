"""Feature screening (IV, KS, missing share per test date) and dropping weak features by spec."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from riskml._specs import load_yaml, resolve_spec
from riskml.models import fit_model, screen_features
from riskml.models._testing import toy_panel


@pytest.fixture(scope="module")
def toy():
    return toy_panel(n_entities=1_500, n_dates=6, seed=2)


def test_screening_ranks_informative_features_above_noise_per_date(toy):
    panel, labels = toy
    screen = screen_features(panel, labels)
    complete = labels.loc[labels["complete"], "as_of"].unique()
    assert sorted(screen["as_of"].unique()) == sorted(complete)
    for _, part in screen.groupby("as_of"):
        iv = part.set_index("feature")["iv"]
        assert iv["penalties_count_365d"] > max(0.1, 2 * iv["noise"])


def test_screening_missing_share_and_ks_are_the_plain_statistics(toy):
    panel, labels = toy
    frame = panel.frame.copy()
    frame.loc[frame.index % 4 == 0, "registered_capital"] = np.nan
    screen = screen_features(frame, labels, features=["registered_capital", "industry"])
    date = screen["as_of"].iloc[0]
    rows = frame.merge(labels, on=["entity_id", "as_of"]).query("as_of == @date and complete")
    got = screen[(screen["as_of"] == date)].set_index("feature")
    assert got.loc["registered_capital", "missing_share"] == pytest.approx(rows["registered_capital"].isna().mean())
    x, y = rows["registered_capital"], rows["label"] == 1
    expected = ks_2samp(x[y].dropna(), x[~y].dropna()).statistic
    assert got.loc["registered_capital", "ks"] == pytest.approx(expected)
    assert np.isnan(got.loc["industry", "ks"]) and got.loc["industry", "iv"] > 0


def test_drop_features_in_the_model_spec_removes_them_and_names_unknown_ones():
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    spec = {**load_yaml(resolve_spec("models", "credit")), "model": {"drop_features": ["noise", "industry"]}}
    model = fit_model(panel, labels, spec, backtest={"test_dates": "last 1", "min_train_dates": 2},
                      params={"n_estimators": 10}).model
    assert "noise" not in model.features and "industry" not in model.features
    spec["model"]["drop_features"] = ["no_such_feature"]
    with pytest.raises(ValueError, match="no_such_feature"):
        fit_model(panel, labels, spec, backtest={"test_dates": "last 1", "min_train_dates": 2})
    # a feature of the bundled library that this panel's spec does not compute is nothing to drop
    assert "annual_reports_overdue_open_count" not in panel.frame.columns
    spec["model"]["drop_features"] = ["noise", "annual_reports_overdue_open_count"]
    model = fit_model(panel, labels, spec, backtest={"test_dates": "last 1", "min_train_dates": 2},
                      params={"n_estimators": 10}).model
    assert "noise" not in model.features
    spec["model"]["drop_features"] = ["annual_reports_overdue_open_count", "annual_reports_overdue_opencount"]
    with pytest.raises(ValueError, match=r"\['annual_reports_overdue_opencount'\]"):
        fit_model(panel, labels, spec, backtest={"test_dates": "last 1", "min_train_dates": 2})


def test_screen_features_names_missing_label_columns(toy):
    panel, labels = toy
    with pytest.raises(ValueError, match="label"):
        screen_features(panel, labels.drop(columns="label"))


def test_iv_is_the_information_value_of_the_hand_counted_bins(toy):
    panel, labels = toy
    screen = screen_features(panel, labels, features=["industry"])
    date = screen["as_of"].iloc[0]
    rows = panel.frame.merge(labels, on=["entity_id", "as_of"]).query("as_of == @date and complete")
    counts = pd.crosstab(rows["industry"], rows["label"]) + 0.5  # half a row in every bin
    good, bad = counts[0] / counts[0].sum(), counts[1] / counts[1].sum()
    expected = float(((good - bad) * np.log(good / bad)).sum())
    assert screen.set_index("as_of").loc[date, "iv"] == pytest.approx(expected, rel=1e-12)


def test_a_training_run_logs_the_screening_of_its_test_dates():
    import io

    from riskml._pipeline import run_tables

    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    fit = fit_model(panel, labels, "credit", backtest={"test_dates": "last 2", "min_train_dates": 2},
                    params={"n_estimators": 10})
    tables = run_tables(fit, panel)
    logged = pd.read_csv(io.StringIO(tables["screening/features.csv"]), parse_dates=["as_of"])
    assert sorted(logged["as_of"].unique()) == sorted(pd.to_datetime(fit.predictions["as_of"]).unique())
    assert set(logged["feature"]) == set(fit.model.features)
    expected = screen_features(panel, fit.predictions, features=list(fit.model.features))
    pd.testing.assert_frame_equal(logged, expected, check_dtype=False)
    assert not any(name.startswith("scorecard/") for name in tables)  # a LightGBM run has no points table


def test_screening_needs_no_optional_dependency_and_a_scorecard_names_its_extra(toy, monkeypatch):
    """Every training run screens its features; only the scorecard kind needs optbinning."""
    from riskml.models._scorecard import fit_woe_regression
    from riskml.models._spec import ModelKindSpec

    panel, labels = toy
    expected = screen_features(panel, labels, features=["industry", "penalties_count_365d"])
    for name in ["optbinning", *(m for m in list(sys.modules) if m.startswith("optbinning."))]:
        monkeypatch.setitem(sys.modules, name, None)  # as if riskml[scorecard] were not installed
    pd.testing.assert_frame_equal(screen_features(panel, labels, features=["industry", "penalties_count_365d"]),
                                  expected)
    with pytest.raises(ImportError, match=r"riskml\[scorecard\]"):
        fit_woe_regression(panel.frame[["penalties_count_365d"]], labels["label"], panel.catalog, [],
                           ModelKindSpec(kind="scorecard"))


def test_the_documented_drop_features_example_names_features_of_the_bundled_library():
    import re
    from pathlib import Path

    import yaml

    from riskml.features import load_feature_spec

    page = (Path(__file__).resolve().parents[2] / "docs" / "concepts.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", page, flags=re.S) if "drop_features" in b]
    assert blocks, "docs/concepts.md shows no drop_features example"
    names = [n for block in blocks for n in block["model"]["drop_features"]]
    library = set(load_feature_spec(None).catalog().index)
    assert names and set(names) <= library, sorted(set(names) - library)
