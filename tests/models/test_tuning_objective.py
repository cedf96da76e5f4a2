"""The tuning objective of the model layer: pure, split by split, and equal to fit_model's backtest."""

from __future__ import annotations

import pytest
from fit_settings import FAST_BACKTEST, FAST_PARAMS

from riskml.models import fit_model, load_backtest_spec, load_model_spec
from riskml.models._tune import prepare_tuning, split_scores


def test_a_trials_split_aucs_equal_the_backtest_auc_of_fit_model(toy, fitted):
    panel, labels = toy
    spec = load_model_spec("credit")
    rows = prepare_tuning(panel, labels, spec, load_backtest_spec(FAST_BACKTEST).for_target("credit"))

    scores = list(split_scores(rows, FAST_PARAMS))

    metrics = fitted.metric_table()
    every = metrics[metrics["population"] == "all"].set_index("split")["auc"]
    assert [s.name for s in scores] == [str(d.date()) for d in every.index]
    assert [s.auc for s in scores] == pytest.approx(every.to_list(), abs=1e-12)
    assert all(s.rounds >= 1 for s in scores)


def test_the_latest_objective_fits_only_the_latest_test_date(toy):
    panel, labels = toy
    spec = load_model_spec("credit")
    bt = load_backtest_spec(FAST_BACKTEST).for_target("credit")

    both = prepare_tuning(panel, labels, spec, bt)
    latest = prepare_tuning(panel, labels, spec, bt, objective="latest")

    assert [s.name for _, s in latest.splits] == [s.name for _, s in both.splits][-1:]


def test_the_splits_come_one_at_a_time_so_a_caller_can_stop_between_them(toy):
    panel, labels = toy
    rows = prepare_tuning(panel, labels, load_model_spec("credit"),
                          load_backtest_spec(FAST_BACKTEST).for_target("credit"))
    scores = split_scores(rows, FAST_PARAMS)

    first = next(scores)  # one split fitted; the verb reports it to the pruner before asking for the next

    assert first.name == rows.splits[0][1].name and len(rows.splits) == 2
    assert next(scores).name == rows.splits[1][1].name

