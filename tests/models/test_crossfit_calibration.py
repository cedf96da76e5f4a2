"""Cross-fitted Platt calibration: ``calibration: {method: cross_fit, folds: K}`` of the backtest spec."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskml._specs import SpecError, load_yaml, resolve_spec
from riskml.models import fit_model, load_backtest_spec, load_model_spec
from riskml.models._crossfit import entity_folds, out_of_fold_margins
from riskml.models._scorecard import fit_woe_regression
from riskml.models._testing import toy_panel
from riskml.models._train import fit_platt, fit_split, lightgbm_params, prepare_rows, refit_rows
from riskml.models._tune import prepare_tuning, split_scores

BACKTEST = {"test_dates": "last 1", "min_train_dates": 2, "gap_days": 90}
#: optbinning fits take a while: the scorecard tests bin three features
CARD_FEATURES = ["penalties_count_365d", "entity_age_years", "industry"]
CROSS_FIT = {**BACKTEST, "calibration": {"method": "cross_fit", "folds": 3}}
PARAMS = {"n_estimators": 20}

entity_ids = st.lists(st.sampled_from([f"E{i}" for i in range(40)]), min_size=1, max_size=200)


@settings(max_examples=60, deadline=None)
@given(ids=entity_ids, folds=st.integers(2, 6), seed=st.integers(0, 2**32 - 1), perm_seed=st.integers(0, 1000))
def test_entity_folds_keep_an_entity_in_one_fold_deal_evenly_and_ignore_row_order(ids, folds, seed, perm_seed):
    ids = np.array(ids, dtype=object)
    n_entities = len(set(ids))
    if n_entities < folds:
        with pytest.raises(ValueError, match="lower calibration.folds"):
            entity_folds(ids, folds, seed)
        return
    fold = entity_folds(ids, folds, seed)
    per_entity = pd.Series(fold).groupby(ids).nunique()
    assert (per_entity == 1).all()
    entities_per_fold = np.bincount(pd.Series(fold).groupby(ids).first().to_numpy(), minlength=folds)
    assert entities_per_fold.max() - entities_per_fold.min() <= 1 and entities_per_fold.min() >= 1
    order = np.random.default_rng(perm_seed).permutation(len(ids))
    assert np.array_equal(entity_folds(ids[order], folds, seed), fold[order])


@settings(max_examples=60, deadline=None)
@given(ids=entity_ids, folds=st.integers(2, 5), seed=st.integers(0, 1000), data=st.data())
def test_no_out_of_fold_margin_comes_from_a_model_that_saw_its_fold(ids, folds, seed, data):
    ids = np.array(ids, dtype=object)
    if len(set(ids)) < folds:
        return
    fold = entity_folds(ids, folds, seed)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, len(ids) - 1), min_size=1))))
    calls = []

    def fit_margins(fit_on, predict):
        calls.append((fit_on, predict))
        return predict.astype(float)  # a margin that names its row

    margin = out_of_fold_margins(rows, fold, fit_margins)
    assert np.array_equal(margin, rows)  # each row's own margin, in the rows' order
    predicted = np.concatenate([p for _, p in calls])
    assert np.array_equal(np.sort(predicted), rows)  # every pooled row predicted exactly once
    for fit_on, predict in calls:
        assert len(set(fold[predict])) == 1
        assert not set(fold[fit_on]) & set(fold[predict])  # never a row of the predicted fold
        assert not set(ids[fit_on]) & set(ids[predict])  # nor any row of the same entity
        assert np.array_equal(np.sort(np.concatenate([fit_on, predict])), rows)  # and every other pooled row


def test_the_option_is_off_by_default_and_validated():
    cal = load_backtest_spec().calibration
    assert (cal.method, cal.folds) == ("holdout", 5)
    with pytest.raises(SpecError, match="folds"):
        load_backtest_spec({"calibration": {"method": "cross_fit", "folds": 1}})
    with pytest.raises(SpecError, match="method"):
        load_backtest_spec({"calibration": {"method": "isotonic"}})


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_holdout_ignores_folds_and_cross_fit_changes_the_model(kind):
    panel, labels = toy_panel(n_entities=300, n_dates=10, seed=0)
    spec = _spec(kind)
    params, features = (PARAMS, None) if kind == "lightgbm" else (None, CARD_FEATURES)
    default = fit_model(panel, labels, spec, backtest=BACKTEST, params=params, features=features)
    holdout = fit_model(panel, labels, spec, backtest={**BACKTEST, "calibration": {"method": "holdout", "folds": 3}},
                        params=params, features=features)
    crossed = fit_model(panel, labels, spec, backtest=CROSS_FIT, params=params, features=features)
    assert default.predictions.equals(holdout.predictions)
    assert default.model.booster.model_to_string() == holdout.model.booster.model_to_string()
    assert (default.model.calib_a, default.model.calib_b) == (holdout.model.calib_a, holdout.model.calib_b)
    assert default.splits["rounds"].tolist() == crossed.splits["rounds"].tolist()  # early stopping as before
    assert not np.allclose(default.predictions["probability"], crossed.predictions["probability"])


def test_the_cross_fitted_scorecard_is_fitted_on_all_pooled_rows_and_calibrated_out_of_fold():
    panel, labels = toy_panel(n_entities=300, n_dates=10, seed=1)
    spec, bt = _spec("scorecard"), load_backtest_spec(CROSS_FIT)
    model_spec = load_model_spec(spec, check_sources=False)
    result = fit_model(panel, labels, spec, backtest=CROSS_FIT, features=CARD_FEATURES)
    prep = prepare_rows(panel, labels, model_spec, bt.for_target(model_spec.name), CARD_FEATURES)
    final = prep.splits[-1]
    train = np.flatnonzero(prep.usable & np.isin(prep.as_of, np.array(final.train_as_of, dtype="datetime64[ns]")))
    cal = np.flatnonzero(prep.usable & np.isin(prep.as_of, np.array(final.calibration_as_of, dtype="datetime64[ns]")))
    rows = refit_rows(train, cal, prep.y, 1.0, 0)

    def fit(on):
        return fit_woe_regression(prep.X.iloc[on], prep.y[on], prep.catalog, prep.categorical, model_spec.model)

    seen = []

    def fit_margins(fit_on, predict):
        seen.append((fit_on, predict))
        return fit(fit_on).logit(prep.X.iloc[predict])

    margin = out_of_fold_margins(rows, prep.folds, fit_margins)
    ids = prep.frame["entity_id"].to_numpy()
    assert len(seen) == 3 and all(not set(ids[f]) & set(ids[p]) for f, p in seen)
    a, b = fit_platt(margin, prep.y[rows])
    from riskml.models._policy import policy_from_spec

    expected = fit(rows).points_table(policy_from_spec(model_spec.raw), a, b, model_spec.model.points_decimals)
    assert result.model.booster.model_to_string() == expected.model_to_string()


def test_a_cross_fit_split_without_entity_folds_says_what_it_needs():
    panel, labels = toy_panel(n_entities=200, n_dates=10, seed=0)
    spec, bt = load_model_spec("credit"), load_backtest_spec(CROSS_FIT).for_target("credit")
    prep = prepare_rows(panel, labels, spec, bt, None)
    params, rounds = lightgbm_params(spec, PARAMS, bt, prep.monotone)
    with pytest.raises(ValueError, match="entity fold"):
        fit_split(prep.splits[0], prep.X, prep.y, prep.usable, prep.as_of, params, rounds, bt, 0)


def test_a_tuning_trial_scores_a_cross_fitted_split_as_fit_model_does():
    panel, labels = toy_panel(n_entities=300, n_dates=10, seed=0)
    spec, bt = load_model_spec("credit"), load_backtest_spec(CROSS_FIT).for_target("credit")
    fitted = fit_model(panel, labels, "credit", backtest=CROSS_FIT, params=PARAMS)
    aucs = fitted.metric_table().query("population == 'all'")["auc"].to_numpy()
    trial = [s.auc for s in split_scores(prepare_tuning(panel, labels, spec, bt), PARAMS)]
    np.testing.assert_allclose(trial, aucs, rtol=0, atol=1e-12)


def test_the_booster_refit_on_the_calibration_slice_runs_and_keeps_the_calibrator():
    panel, labels = toy_panel(n_entities=300, n_dates=10, seed=0)
    plain = fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS)
    refit = fit_model(panel, labels, "credit", backtest={**BACKTEST, "calibration": {"refit": True}}, params=PARAMS)
    assert refit.splits["calib_a"].tolist() == plain.splits["calib_a"].tolist()
    assert refit.model.booster.model_to_string() != plain.model.booster.model_to_string()


def _spec(kind: str) -> dict:
    spec = load_yaml(resolve_spec("models", "credit"))
    spec["model"] = {"kind": kind}
    return spec
