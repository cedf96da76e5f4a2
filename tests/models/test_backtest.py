"""The temporal split: no training label reaches the test period; specs validate."""

from __future__ import annotations

import pandas as pd
import pytest

from riskml import SpecError
from riskml.models import load_backtest_spec
from riskml.models._backtest import plan_splits

DATES = pd.date_range("2019-01-01", periods=24, freq="QS")
COMPLETE = DATES[:20]


def test_bundled_backtest_spec_loads_with_documented_defaults():
    spec = load_backtest_spec()
    assert spec.n_last == 4 and spec.gap_days is None
    assert spec.calibration.dates == 1 and spec.top_k == [100, 500, 0.05]


@pytest.mark.parametrize("gap", [None, 180, 400])
def test_split_never_trains_or_calibrates_on_a_row_whose_label_horizon_reaches_the_test_date(gap):
    horizon = 365
    spec = load_backtest_spec({"test_dates": "last 4", "gap_days": gap, "min_train_dates": 2})
    splits = plan_splits(DATES, COMPLETE, spec, horizon)
    effective_gap = pd.Timedelta(days=horizon if gap is None else gap)
    for split in splits[:-1]:
        for d in (*split.train_as_of, *split.calibration_as_of):
            assert d + effective_gap <= split.test_as_of
            assert d in COMPLETE
    if gap is None:
        for split in splits[:-1]:
            assert all(d + pd.Timedelta(days=horizon) <= split.test_as_of for d in split.train_as_of)


def test_calibration_dates_are_held_out_of_the_booster_fit_with_a_gap():
    spec = load_backtest_spec({"test_dates": "last 4", "calibration": {"dates": 2}})
    for split in plan_splits(DATES, COMPLETE, spec, 365):
        assert not set(split.train_as_of) & set(split.calibration_as_of)
        assert max(split.train_as_of) + pd.Timedelta(days=365) <= min(split.calibration_as_of)


def test_at_calibration_gap_zero_the_slice_is_still_held_out_of_the_booster():
    spec = load_backtest_spec({"test_dates": "last 4", "calibration": {"dates": 2, "gap_days": 0}})
    for split in plan_splits(DATES, COMPLETE, spec, 365):
        assert not set(split.train_as_of) & set(split.calibration_as_of)
        before = DATES[DATES < min(split.calibration_as_of)]
        assert max(split.train_as_of) == before.max()
        # every label window of the fit ends before the test date
        if split.test_as_of is not None:
            assert max(split.calibration_as_of) + pd.Timedelta(days=365) <= split.test_as_of


def test_last_n_tests_the_latest_complete_dates_and_the_final_model_calibrates_on_the_latest():
    splits = plan_splits(DATES, COMPLETE, load_backtest_spec(), 365)
    assert [s.test_as_of for s in splits[:-1]] == list(COMPLETE[-4:])
    assert splits[-1].name == "final" and splits[-1].test_as_of is None
    assert splits[-1].calibration_as_of == (COMPLETE[-1],)


def test_explicit_test_date_without_complete_horizon_is_refused():
    spec = load_backtest_spec({"test_dates": [str(DATES[-1].date())]})
    with pytest.raises(ValueError, match="no complete label horizon"):
        plan_splits(DATES, COMPLETE, spec, 365)


def test_too_short_panel_error_says_what_is_needed():
    spec = load_backtest_spec({"test_dates": "last 1", "min_train_dates": 4})
    with pytest.raises(ValueError, match=r"2 eligible training date.*need 1 for calibration \+ 4 for training"):
        plan_splits(DATES[:10], DATES[:6], spec, 365)


def test_bad_backtest_key_error_names_the_key():
    with pytest.raises(SpecError, match="top_k"):
        load_backtest_spec({"top_k": [0]})
    with pytest.raises(SpecError, match="unknown_key"):
        load_backtest_spec({"unknown_key": 1})


def test_a_mapping_overrides_the_bundled_spec_and_keeps_per_target_settings():
    spec = load_backtest_spec({"test_dates": "last 1", "calibration": {"early_stopping_rounds": 10}})
    assert spec.n_last == 1 and spec.calibration.early_stopping_rounds == 10
    assert spec.calibration.dates == 1  # kept from the bundled calibration mapping
    fraud = spec.for_target("fraud")
    assert fraud.calibration.dates == 4 and fraud.n_last == 1
