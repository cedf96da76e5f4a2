"""Inspection plans: seeded per-grade draws, blind spots, inspector assignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ranking_data import graded_scores

from riskml.ranking import inspection_plan
from riskml.ranking._plan import assign_inspectors

RATES = {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.9}
POOL = [f"inspector_{i:02d}" for i in range(12)]


def test_the_same_seed_gives_the_same_plan_and_another_seed_a_different_one():
    scores = graded_scores(3000)
    first = inspection_plan(scores, RATES, inspectors=POOL, seed=7)
    again = inspection_plan(scores, RATES, inspectors=POOL, seed=7)
    pd.testing.assert_frame_equal(first, again)
    other = inspection_plan(scores, RATES, inspectors=POOL, seed=8)
    assert set(first["entity_id"]) != set(other["entity_id"])


def test_the_plan_does_not_depend_on_the_row_order_of_the_scores():
    scores = graded_scores(1000)
    shuffled = scores.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pd.testing.assert_frame_equal(inspection_plan(scores, RATES, seed=1), inspection_plan(shuffled, RATES, seed=1))


def test_each_grade_is_drawn_at_its_rate_rounded_half_up():
    scores = graded_scores(3000)
    plan = inspection_plan(scores, RATES, seed=0)
    sizes = scores["grade"].value_counts()
    drawn = plan["grade"].value_counts()
    for grade, rate in RATES.items():
        assert drawn.get(grade, 0) == int(np.floor(rate * sizes[grade] + 0.5)), grade
    assert not plan["entity_id"].duplicated().any()
    assert (plan["reason"] == "random_" + plan["grade"]).all()
    # 0.5 rounds up: 3 entities at rate 0.5 -> 2
    small = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "grade": ["A"] * 3})
    assert len(inspection_plan(small, {"A": 0.5})) == 2


def test_top_blind_spots_not_already_drawn_are_added():
    scores = graded_scores(500)
    drawn = inspection_plan(scores, RATES, seed=0)
    already = drawn["entity_id"].iloc[0]
    fresh = scores.loc[~scores["entity_id"].isin(drawn["entity_id"]), "entity_id"].tolist()[:5]
    spots = pd.DataFrame({"rank": range(1, 7), "entity_id": [already, *fresh]})
    plan = inspection_plan(scores, RATES, seed=0, blind_spots=spots, k=3)
    extra = plan.loc[plan["reason"] == "blind_spot"]
    assert extra["entity_id"].tolist() == fresh[:3]
    assert extra["grade"].notna().all()
    assert len(plan) == len(drawn) + 3


def test_inspector_loads_are_balanced():
    plan = inspection_plan(graded_scores(2000), RATES, inspectors=POOL, seed=0)
    loads = plan["inspector"].value_counts()
    assert set(loads.index) == set(POOL)
    assert loads.max() - loads.min() <= 1


def test_no_inspector_gets_the_same_entity_as_in_the_previous_plan():
    scores = graded_scores(2000)
    pool = POOL[:3]
    previous = inspection_plan(scores, {"A": 0.5, "B": 0.5, "C": 0.9, "D": 1.0}, inspectors=pool, seed=1)
    for seed in range(5):
        plan = inspection_plan(scores, RATES, inspectors=pool, seed=seed, previous=previous)
        both = plan.merge(previous, on="entity_id", suffixes=("", "_prev"))
        assert len(both) > 100
        assert (both["inspector"] != both["inspector_prev"]).all()
        loads = plan["inspector"].value_counts()
        assert loads.max() - loads.min() <= 1


def test_assign_inspectors_is_random_across_seeds():
    entities = pd.Series([f"E{i:07d}" for i in range(60)])
    a = assign_inspectors(entities, POOL, np.random.default_rng(0))
    b = assign_inspectors(entities, POOL, np.random.default_rng(1))
    assert (a != b).any()


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.9, "E": 0.5}, "unknown grade"),
        ({"A": 0.03, "B": 0.1, "C": 0.3, "D": 1.5}, r"\[0, 1\]"),
        ({"A": -0.1, "B": 0.1, "C": 0.3, "D": 0.9}, r"\[0, 1\]"),
        ({"A": 0.03, "B": 0.1, "C": 0.3}, "no rate"),
    ],
)
def test_bad_rates_are_refused_with_a_clear_error(rates, message):
    with pytest.raises(ValueError, match=message):
        inspection_plan(graded_scores(500), rates)


def test_an_empty_pool_is_refused_when_the_plan_needs_inspectors():
    with pytest.raises(ValueError, match="pool is empty"):
        inspection_plan(graded_scores(500), RATES, inspectors=[])


def test_a_pool_too_small_for_the_previous_constraint_is_refused():
    scores = pd.DataFrame({"entity_id": ["E1", "E2"], "grade": ["D", "D"]})
    previous = pd.DataFrame({"entity_id": ["E1", "E2"], "inspector": ["x", "x"]})
    with pytest.raises(ValueError, match="too small"):
        inspection_plan(scores, {"D": 1.0}, inspectors=["x"], previous=previous)
    with pytest.raises(ValueError, match="too small"):
        # two entities, two inspectors, both entities had x: one of them must get x
        inspection_plan(scores, {"D": 1.0}, inspectors=["x", "y"], previous=previous)


def test_blind_spots_are_required_when_k_is_positive():
    with pytest.raises(ValueError, match="blind_spots"):
        inspection_plan(graded_scores(100), RATES, k=5)
