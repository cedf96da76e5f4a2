"""Replaying inspection strategies against the synthetic market's truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskml
from riskml.ranking import evaluate_plan
from riskml.ranking._evaluate import scaled_grade_counts


@pytest.fixture(scope="module")
def market():
    return riskml.synth.make_market(n_entities=6000, seed=3)


def noisy_truth_scores(market, as_of_dates, seed=0) -> pd.DataFrame:
    """A stand-in model: the true violation probability times lognormal noise, graded."""
    rng = np.random.default_rng(seed)
    tq = market.truth.entity_quarters
    rows = tq.loc[tq["quarter_start"].isin(as_of_dates), ["entity_id", "quarter_start", "p_violation"]]
    p = np.clip(rows["p_violation"].to_numpy() * rng.lognormal(0.0, 0.5, len(rows)), 0, 1)
    grade = np.select([p < np.quantile(p, 0.6), p < np.quantile(p, 0.85), p < np.quantile(p, 0.95)], ["A", "B", "C"], "D")
    return pd.DataFrame({"entity_id": rows["entity_id"].to_numpy(), "as_of": rows["quarter_start"].to_numpy(),
                         "probability": p, "grade": grade})


def test_scaled_grade_counts_spend_exactly_the_budget_and_never_exceed_a_grade():
    sizes = {"A": 5000, "B": 3000, "C": 1500, "D": 500}
    rates = {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.9}
    for budget in (1, 37, 500, 2000, 9000):
        counts = scaled_grade_counts(sizes, rates, budget)
        assert sum(counts.values()) == budget
        assert all(counts[g] <= sizes[g] for g in sizes)
    # at 500 the D share (450 of 1,500 weighted draws) stays the largest per entity
    counts = scaled_grade_counts(sizes, rates, 500)
    assert counts["D"] / sizes["D"] > counts["C"] / sizes["C"] > counts["A"] / sizes["A"]


def test_risk_ranked_inspections_find_more_violators_than_random_on_the_synthetic_market(market):
    dates = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01"])
    out = evaluate_plan(noisy_truth_scores(market, dates), market, budget=0.05, seed=0)
    assert set(out["strategy"]) == {"risk_ranked", "random", "grade_rate"}
    assert len(out) == 12
    per_date = out.groupby("as_of")["inspections"].nunique()
    assert (per_date == 1).all()  # every strategy gets the same budget
    assert (out["violators_found"] + out["compliant_disturbed"] == out["inspections"]).all()
    found = out.groupby("strategy")["violators_found"].sum()
    assert found["risk_ranked"] >= 2 * found["random"]
    assert found["grade_rate"] > found["random"]
    tq = market.truth.entity_quarters
    truth_total = tq.loc[tq["quarter_start"].isin(dates)].groupby("quarter_start")["violated"].sum()
    assert out.loc[out["strategy"] == "random", "violators_total"].tolist() == truth_total.tolist()


def test_evaluation_is_reproducible_and_accepts_one_frame_per_date(market):
    dates = pd.to_datetime(["2024-01-01", "2024-04-01"])
    scores = noisy_truth_scores(market, dates)
    by_date = {t: f.drop(columns="as_of") for t, f in scores.groupby("as_of")}
    a = evaluate_plan(scores, market.truth, seed=5)
    b = evaluate_plan(by_date, market.truth.entity_quarters, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = evaluate_plan(scores, market.truth, seed=6)
    assert not a.equals(c)


def test_evaluation_refuses_unknown_strategies_and_dates_without_truth(market):
    scores = noisy_truth_scores(market, pd.to_datetime(["2024-01-01"]))
    with pytest.raises(ValueError, match="unknown strategies"):
        evaluate_plan(scores, market, strategies=["psychic"])
    with pytest.raises(ValueError, match="no truth rows"):
        evaluate_plan(scores.assign(as_of=pd.Timestamp("2030-01-01")), market)
