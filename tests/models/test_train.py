"""Training: out-of-time calibration, monotone constraints, determinism, honest imbalance."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from fit_settings import FAST_BACKTEST, FAST_PARAMS
from lgbm_threads import lightgbm_thread_counts

from riskml.models import fit_model
from riskml.models._metrics import auc, expected_calibration_error
from riskml.models._train import fit_platt
from riskml.models._bundle import _sigmoid


def test_platt_calibration_brings_ece_down_on_a_miscalibrated_model():
    rng = np.random.default_rng(0)
    true_logit = rng.normal(-2.5, 1.2, size=50_000)
    y = (rng.uniform(size=true_logit.size) < _sigmoid(true_logit)).astype(int)
    margin = 2.5 * true_logit + 3.0  # over-confident and shifted, e.g. after subsampling
    before = expected_calibration_error(y, _sigmoid(margin))
    a, b = fit_platt(margin, y)
    after = expected_calibration_error(y, _sigmoid(a * margin + b))
    assert before > 0.05 and after < 0.01 and after < before / 10
    assert a == pytest.approx(0.4, abs=0.03) and b == pytest.approx(-1.2, abs=0.1)


def test_fit_platt_needs_both_outcomes():
    with pytest.raises(ValueError, match="both outcomes"):
        fit_platt(np.zeros(5), np.zeros(5))


def test_backtest_predictions_are_out_of_time_and_calibrated(fitted, toy):
    _, labels = toy
    assert set(fitted.metrics["population"]) == {"all", "random"}
    table = fitted.metrics.set_index(["split", "population", "metric"])["value"]
    for split in fitted.splits["test_as_of"].dropna():
        assert table[(split, "all", "auc")] > 0.7
        assert table[(split, "all", "calibration_error")] < 0.03
    info = fitted.splits.set_index("split")
    for _, row in info.drop(index="final").iterrows():
        assert row["train_to"] + pd.Timedelta(days=365) <= row["test_as_of"]
    assert set(fitted.predictions["split"]) == set(fitted.splits["test_as_of"].dropna())


def test_negative_subsampling_is_undone_by_the_out_of_time_calibrator(toy):
    panel, labels = toy
    sampled = fit_model(panel, labels, "credit", backtest={**FAST_BACKTEST, "max_train_rows": 1_000},
                        params=FAST_PARAMS)
    info = sampled.splits.set_index("split")
    assert (info["negative_rate"] < 0.5).all()
    pred = sampled.predictions
    # the sample raises the booster's margin; calibrated probabilities match the base rate again
    assert _sigmoid(pred["raw_margin"].to_numpy()).mean() > 2 * pred["label"].mean()
    assert pred["probability"].mean() == pytest.approx(pred["label"].mean(), rel=0.2)
    assert expected_calibration_error(pred["label"], pred["probability"]) < 0.03


def test_model_output_respects_monotone_constraints_from_the_catalog(fitted, toy):
    panel, _ = toy
    model = fitted.model
    rows = panel.frame.sample(200, random_state=0).reset_index(drop=True)
    grid = np.arange(0.0, 12.0)
    for feature, sign in (("penalties_count_365d", 1), ("complaints_count_365d", 1), ("entity_age_years", -1)):
        values = grid if feature != "entity_age_years" else grid * 2
        margins = np.column_stack([model.raw_margin(rows.assign(**{feature: v})) for v in values])
        steps = np.diff(margins, axis=1) * sign
        assert (steps >= -1e-12).all(), feature
        assert (steps > 0).any(), f"{feature} has no effect at all"


def test_two_fits_are_identical(toy):
    panel, labels = toy
    small = {**FAST_PARAMS, "n_estimators": 25}
    first = fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params=small)
    second = fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params=small)
    assert first.model.booster.model_to_string() == second.model.booster.model_to_string()
    np.testing.assert_array_equal(first.predictions["probability"], second.predictions["probability"])
    assert (first.model.calib_a, first.model.calib_b) == (second.model.calib_a, second.model.calib_b)


def test_labels_in_any_row_order_give_the_same_model(toy):
    panel, labels = toy
    small = {**FAST_PARAMS, "n_estimators": 10}
    shuffled = labels.sample(frac=1.0, random_state=3)
    a = fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params=small)
    b = fit_model(panel, shuffled, "credit", backtest=FAST_BACKTEST, params=small)
    assert a.model.booster.model_to_string() == b.model.booster.model_to_string()


def test_class_reweighting_params_are_refused(toy):
    panel, labels = toy
    with pytest.raises(ValueError, match="scale_pos_weight"):
        fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params={"scale_pos_weight": 10})


def test_rows_outside_the_population_or_without_complete_horizon_are_not_used(toy):
    panel, labels = toy
    outside = labels.assign(in_population=labels["entity_id"] > "E0000750")
    result = fit_model(panel, outside, "fraud", backtest=FAST_BACKTEST, params={**FAST_PARAMS, "n_estimators": 10})
    assert (result.predictions["entity_id"] > "E0000750").all()
    assert result.splits["train_rows"].max() <= outside["in_population"].sum()


def test_oracle_auc_is_reported_beside_the_model_auc(toy):
    panel, labels = toy
    # the toy risk is constant over a quarter: a one-quarter truth table reproduces it
    p_quarter = 1 - (1 - labels["risk"]) ** 0.25
    truth = pd.DataFrame({"entity_id": labels["entity_id"], "quarter_start": labels["as_of"],
                          "p_violation": p_quarter})
    result = fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params=FAST_PARAMS, truth=truth)
    table = result.metrics.set_index(["split", "population", "metric"])["value"]
    for split in result.splits["test_as_of"].dropna():
        test = labels[labels["as_of"] == split]
        # one quarter's truth only covers the first quarter of the horizon
        assert table[(split, "all", "oracle_auc")] > 0.5
        assert table[(split, "all", "auc")] <= auc(test["label"], test["risk"]) + 0.02


def test_backtest_models_are_the_same_for_any_number_of_workers(toy):
    panel, labels = toy
    serial = fit_model(panel, labels, "credit", backtest={**FAST_BACKTEST, "workers": 1}, params=FAST_PARAMS)
    parallel = fit_model(panel, labels, "credit", backtest={**FAST_BACKTEST, "workers": 2}, params=FAST_PARAMS)
    assert serial.model.booster.model_to_string() == parallel.model.booster.model_to_string()
    assert (serial.model.calib_a, serial.model.calib_b) == (parallel.model.calib_a, parallel.model.calib_b)
    pd.testing.assert_frame_equal(serial.predictions, parallel.predictions, check_exact=True)
    pd.testing.assert_frame_equal(serial.metrics, parallel.metrics, check_exact=True)
    assert len(serial.predictions["split"].unique()) == 2
    timing_free = ["seconds"]
    pd.testing.assert_frame_equal(serial.splits.drop(columns=timing_free), parallel.splits.drop(columns=timing_free))


def test_threaded_fits_never_change_lightgbms_process_wide_thread_count(toy):
    """Every LightGBM call sets one process-wide thread count (0 resets it to the core count).

    A prediction sizes its buffers by that count and then runs with it re-read, so if another
    thread changes it in between the prediction writes past its buffers and the process dies
    (a SIGFPE or SIGSEGV, no exception). Every call of a fit must therefore carry the fit's
    own ``num_threads``: watched here from a third thread for the whole threaded backtest.
    """
    panel, labels = toy
    with lightgbm_thread_counts() as seen:
        fit_model(panel, labels, "credit", backtest={**FAST_BACKTEST, "workers": 2, "num_threads": 1},
                  params=FAST_PARAMS)
    assert seen == {1}


def test_a_split_fitted_from_the_training_matrix_equals_lightgbm_fed_the_frame(toy):
    import lightgbm as lgb

    from riskml.models import load_backtest_spec, load_model_spec
    from riskml.models._train import TrainingMatrix, fit_split, lightgbm_params, prepare_rows

    panel, labels = toy
    spec = load_model_spec("credit")
    bt = load_backtest_spec(FAST_BACKTEST).for_target("credit")
    prep = prepare_rows(panel, labels, spec, bt, None)
    assert prep.categorical  # the conversion of category columns is exercised
    params, rounds = lightgbm_params(spec, FAST_PARAMS, bt, prep.monotone)
    split = prep.splits[0]
    booster, a, b, _ = fit_split(split, TrainingMatrix.from_frame(prep.X), prep.y, prep.usable, prep.as_of, params,
                                 rounds, bt, seed=0)
    # the same fit as LightGBM builds it from the DataFrame
    def rows(dates):
        return np.flatnonzero(prep.usable & np.isin(prep.as_of, np.array(dates, dtype="datetime64[ns]")))

    train, cal = rows(split.train_as_of), rows(split.calibration_as_of)
    dtrain = lgb.Dataset(prep.X.iloc[train], prep.y[train], params={"verbose": -1})
    dvalid = lgb.Dataset(prep.X.iloc[cal], prep.y[cal], reference=dtrain)
    stop = lgb.early_stopping(bt.calibration.early_stopping_rounds, first_metric_only=True, verbose=False)
    reference = lgb.train(params, dtrain, num_boost_round=rounds, valid_sets=[dvalid], callbacks=[stop])
    expected = reference.model_to_string(num_iteration=reference.best_iteration)
    assert booster.model_to_string() == lgb.Booster(model_str=expected).model_to_string()
    assert "pandas_categorical:[[" in booster.model_to_string()
    margin = reference.predict(prep.X.iloc[cal], raw_score=True, num_iteration=reference.best_iteration)
    assert (a, b) == fit_platt(margin, prep.y[cal])


@settings(max_examples=60, deadline=None)
@given(n_train=st.integers(1, 400), n_cal=st.integers(1, 400), rate=st.floats(0.05, 1.0), seed=st.integers(0, 10**6))
def test_a_refit_keeps_every_training_row_and_subsamples_only_calibration_negatives(n_train, n_cal, rate, seed):
    """The training rows were subsampled once already: a second draw would weigh their negatives by rate squared."""
    from riskml.models._train import refit_rows

    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n_train + n_cal) < 0.2).astype(np.int8)
    train, cal = np.arange(n_train), np.arange(n_train, n_train + n_cal)
    rows = refit_rows(train, cal, y, rate, seed)
    assert set(train) <= set(rows)  # every training row, as the booster was fitted
    assert set(cal[y[cal] == 1]) <= set(rows)  # every calibration positive
    kept_cal_neg = np.setdiff1d(rows, train)
    assert (y[kept_cal_neg] == 0).sum() <= (y[cal] == 0).sum()
    if rate == 1.0:
        assert len(rows) == n_train + n_cal


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_distinct=st.integers(1, 40), workers=st.sampled_from([1, 2, 3]))
def test_margins_of_repeated_rows_equal_predicting_every_row(seed, n_distinct, workers):
    """The long-run calibration predicts each distinct row once (in blocks across the fit
    threads): the margins are exactly those of predicting every row, NaNs included."""
    from concurrent.futures import ThreadPoolExecutor

    from riskml.models import load_backtest_spec
    from riskml.models._train import _predict_margin

    booster = _small_booster()
    rng = np.random.default_rng(seed)
    distinct = rng.normal(size=(n_distinct, 3))
    distinct[rng.uniform(size=distinct.shape) < 0.2] = np.nan
    x = np.asfortranarray(distinct[rng.integers(0, n_distinct, size=200)])
    expected = booster.predict(np.ascontiguousarray(x), raw_score=True, num_threads=1)
    bt = load_backtest_spec({"workers": workers, "num_threads": 1})
    with ThreadPoolExecutor(max_workers=workers) as pool:
        got = _predict_margin(booster, x, bt, pool if workers > 1 else None)
    assert np.array_equal(got, expected)


@functools.cache
def _small_booster():
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3))
    x[rng.uniform(size=x.shape) < 0.2] = np.nan
    y = (np.nan_to_num(x[:, 0]) + rng.normal(size=500) > 0).astype(float)
    return lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 7}, lgb.Dataset(x, y),
                     num_boost_round=20)
