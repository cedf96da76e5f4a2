"""Score points from contributions add up to the score; sums by indicator group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from riskml.explain import tree_contributions
from riskml.explain._points import points_by_dimension, points_from_contributions
from riskml.grading import GradePolicy, assign_grades, proba_to_score, score_from_logit


@pytest.fixture(scope="module")
def scored(make_market, make_booster):  # type: ignore[no-untyped-def]
    X, y = make_market(4000, 11)
    booster = make_booster(X.iloc[:3000], y[:3000], 11)
    # Platt scaling on the raw margin, fitted on later rows (out of time)
    margin = booster.predict(X.iloc[3000:], raw_score=True)
    platt = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), y[3000:])
    calib_a, calib_b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    test, _ = make_market(2500, 12)
    return booster, test, calib_a, calib_b


def test_score_equals_base_points_plus_feature_points_for_every_row(scored) -> None:  # type: ignore[no-untyped-def]
    booster, X, calib_a, calib_b = scored
    policy = GradePolicy.from_model_spec("credit")
    contrib = tree_contributions(booster, X, min_rows=0)
    base_points, points = points_from_contributions(contrib, policy, calib_a, calib_b)
    margin = booster.predict(X, raw_score=True)
    score = score_from_logit(calib_a * margin + calib_b, policy)
    assert points.shape == (len(X), X.shape[1])
    np.testing.assert_allclose(base_points + points.sum(axis=1), score, rtol=0, atol=1e-6)
    probability = 1 / (1 + np.exp(-(calib_a * margin + calib_b)))
    np.testing.assert_allclose(proba_to_score(probability, policy), score, rtol=0, atol=1e-6)
    assert np.ptp(base_points) == 0  # the base is the same for every entity


def test_points_have_the_sign_of_the_score_effect(scored) -> None:  # type: ignore[no-untyped-def]
    booster, X, calib_a, calib_b = scored
    policy = GradePolicy.from_model_spec("credit")
    contrib = tree_contributions(booster, X, min_rows=0)
    _, points = points_from_contributions(contrib, policy, calib_a, calib_b)
    assert calib_a > 0
    # a feature that raises the bad-outcome log-odds lowers the score
    np.testing.assert_array_equal(np.sign(points), -np.sign(contrib[:, :-1]))


def test_points_by_dimension_sum_the_features_of_each_group(scored, panel_catalog) -> None:  # type: ignore[no-untyped-def]
    booster, X, calib_a, calib_b = scored
    policy = GradePolicy.from_model_spec("credit")
    _, points = points_from_contributions(tree_contributions(booster, X, min_rows=0), policy, calib_a, calib_b)
    frame = pd.DataFrame(points, columns=X.columns, index=pd.Index([f"E{i:07d}" for i in range(len(X))]))
    by_dim = points_by_dimension(frame, list(X.columns), panel_catalog)
    assert list(by_dim.columns) == list(dict.fromkeys(panel_catalog["dimension"]))  # no rank: catalog order
    assert by_dim.index.equals(frame.index)
    np.testing.assert_allclose(by_dim.sum(axis=1), points.sum(axis=1), atol=1e-9)
    penalties = [f for f in X.columns if panel_catalog.loc[f, "dimension"] == "penalties"]
    np.testing.assert_allclose(by_dim["penalties"], frame[penalties].sum(axis=1), atol=1e-9)


def test_groups_follow_the_dimension_files_rank_and_unranked_ones_follow() -> None:
    catalog = pd.DataFrame({"dimension": ["my_group", "supervision", "basic"], "dimension_rank": [5, 2, 0]},
                           index=["a", "b", "c"])
    out = points_by_dimension(np.array([[1.0, 2.0, 3.0]]), ["a", "b", "c"], catalog)
    assert list(out.columns) == ["basic", "supervision", "my_group"]


def test_bad_shapes_and_unknown_features_are_named() -> None:
    policy = GradePolicy.from_model_spec("credit")
    with pytest.raises(ValueError, match="shape"):
        points_from_contributions(np.zeros(3), policy, 1.0, 0.0)
    catalog = pd.DataFrame({"dimension": ["penalties"]}, index=["a"])
    with pytest.raises(KeyError, match="'b'"):
        points_by_dimension(np.zeros((1, 2)), ["a", "b"], catalog)
    with pytest.raises(ValueError, match="expected"):
        points_by_dimension(np.zeros((1, 3)), ["a"], catalog)


def test_graded_points_to_next_grade_matches_the_points(scored) -> None:  # type: ignore[no-untyped-def]
    booster, X, calib_a, calib_b = scored
    policy = GradePolicy.from_model_spec("fraud")
    base_points, points = points_from_contributions(tree_contributions(booster, X), policy, calib_a, calib_b)
    graded = assign_grades(base_points + points.sum(axis=1), None, policy)
    lifted = assign_grades(graded["score"] + graded["points_to_next_grade"].fillna(0), None, policy)
    moved = graded["grade_by_score"] != "A"
    assert (lifted["grade_by_score"].cat.codes[moved] == graded["grade_by_score"].cat.codes[moved] - 1).all()
