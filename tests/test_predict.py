"""predict scores every as-of date of a panel, carries the white list and the rule
warnings, and says why a rare target has no champion."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import riskml
from riskml.grading._grades import white_list
from riskml.models import load_model_spec
from riskml.monitor import rule_warnings

SMALL = {"n_estimators": 20}
ONE_SPLIT = {"test_dates": "last 1"}


@pytest.fixture(scope="module")
def records():
    return riskml.records.validate(riskml.synth.make_market(n_entities=1200, seed=3).records)


@pytest.fixture(scope="module")
def trained(records):
    return riskml.train(records, "credit", params=SMALL, backtest=ONE_SPLIT, log=False)


def test_a_multi_date_panel_is_scored_at_every_date(trained):
    panel = trained.panel
    scores = riskml.predict(panel, model=trained.model, explain=0)
    assert len(scores) == len(panel.frame)
    assert sorted(scores["as_of"].unique()) == sorted(panel.frame["as_of"].unique())
    two = sorted(panel.frame["as_of"].unique())[-2:]
    picked = riskml.predict(panel, model=trained.model, explain=0, as_of=two)
    assert sorted(picked["as_of"].unique()) == two


def test_a_date_the_panel_lacks_is_refused_with_the_dates_it_has(trained):
    with pytest.raises(ValueError, match=r"no rows at \['1999-01-01'\]; its as-of dates are \['20"):
        riskml.predict(trained.panel, model=trained.model, as_of="1999-01-01")


def test_predict_carries_the_white_list_flag_and_the_rule_warning_count(trained, records):
    scores = riskml.predict(records, model=trained.model, explain=0)
    when = scores["as_of"].iloc[0]
    panel = riskml.build_panel(records, [when])
    expected = white_list(scores, panel.frame, load_model_spec("credit"))  # a model spec is a policy holder
    assert scores["white_list"].tolist() == expected.tolist()
    assert scores["white_list"].any() and not scores["white_list"].all()
    hits = rule_warnings(records, when).groupby("entity_id").size()
    counted = scores.set_index("entity_id")["warnings"]
    assert (counted[counted > 0].sort_index() == hits.reindex(counted.index).dropna().astype(int).sort_index()).all()
    assert int(counted.sum()) == len(rule_warnings(records, when).query("entity_id in @counted.index"))


def test_white_list_accepts_the_model_spec_the_model_and_the_policy(trained):
    features = pd.DataFrame({"serious_violations_on_list": [0, 0], "abnormal_list_on_list": [0, 0],
                             "judicial_open_count": [0, 1]})
    graded = pd.DataFrame({"grade": ["A", "A"]})
    for holder in (load_model_spec("credit"), trained.model, trained.model.policy, "credit"):
        assert white_list(graded, features, holder).tolist() == [True, False]


def test_fraud_without_confirmed_cases_to_train_on_says_so(records):
    with pytest.raises(ValueError, match="too few confirmed cases to train: the training rows have 0 positive"):
        riskml.train(records, "fraud", params=SMALL, backtest=ONE_SPLIT, log=False)


def test_too_few_confirmed_cases_refuse_promotion_and_prediction_with_the_reason(records, tmp_path, monkeypatch,
                                                                                  caplog):
    # the credit label on 1,200 entities leaves about one confirmed case in the random sample
    # of the last quarter, as fraud does on a 60k county; the gates read that sample here
    monkeypatch.setenv("RISKML_HOME", str(tmp_path / "home"))
    with caplog.at_level(logging.WARNING, logger="riskml._pipeline"):
        riskml.train(records, "credit", params=SMALL, backtest=ONE_SPLIT)
    assert "too few confirmed cases to evaluate on the random sample" in caplog.text
    decision = riskml.tracking.promote("credit", gates={
        "population": "random", "absolute": {"min_auc": 0.5, "max_calibration_error": 0.5},
        "relative": {"max_auc_drop": 0.01, "max_calibration_error_increase": 0.02, "max_score_psi": 0.25}})
    assert not decision.promoted
    assert decision.failed_gates == ("enough_confirmed_cases",)
    assert decision.gates[0].detail.startswith("too few confirmed cases to evaluate on the random sample: ")
    with pytest.raises(LookupError, match=r"riskml-credit has no champion: too few confirmed cases to evaluate on the "
                                          r"random sample: \d+ positives; need 10"):
        riskml.predict(records)
