"""Scores, score bands, overrides, points to the next band and the white list."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from riskml._specs import bundled_dir
from riskml.grading import GradePolicy, assign_grades, proba_to_score, score_from_logit
from riskml.grading._grades import GRADED_COLUMNS, white_list

# A fixed policy: the tests do not move when the shipped credit bands are retuned.
CREDIT = GradePolicy.from_model_spec({
    **yaml.safe_load((bundled_dir("models") / "credit.yaml").read_text(encoding="utf-8")),
    "scorecard": {"base_score": 600, "base_odds": 50, "pdo": 40},
    "grades": [{"grade": "A", "min_score": 640}, {"grade": "B", "min_score": 580},
               {"grade": "C", "min_score": 520}, {"grade": "D", "min_score": None}],
})


def _clean(n: int, **columns: list[float]) -> pd.DataFrame:
    base = {"serious_violations_on_list": [0.0] * n, "abnormal_list_on_list": [0.0] * n,
            "judicial_open_count": [0.0] * n}
    base.update(columns)
    return pd.DataFrame(base)


def test_score_is_offset_plus_factor_times_log_good_bad_odds() -> None:
    p = np.array([0.001, 0.02, 0.3, 0.5, 0.9])
    expected = CREDIT.offset + CREDIT.factor * np.log((1 - p) / p)
    np.testing.assert_allclose(proba_to_score(p, CREDIT), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(score_from_logit(np.log(p / (1 - p)), CREDIT), expected, atol=1e-9)


def test_base_odds_give_the_base_score_and_pdo_doubles_the_odds() -> None:
    at_base = proba_to_score(1 / 51, CREDIT)
    assert float(at_base) == pytest.approx(600.0)
    assert float(proba_to_score(1 / 101, CREDIT)) == pytest.approx(640.0)


def test_probabilities_outside_zero_one_are_rejected() -> None:
    with pytest.raises(ValueError, match="outside"):
        proba_to_score([0.2, 1.5], CREDIT)
    with pytest.raises(ValueError, match="outside"):
        proba_to_score([np.nan], CREDIT)
    assert proba_to_score([0.0, 1.0], CREDIT).tolist() == [math.inf, -math.inf]


def test_a_score_exactly_on_min_score_gets_that_grade() -> None:
    scores = [640.0, 639.999999, 580.0, 579.9999, 520.0, 519.99, -math.inf, math.inf]
    graded = assign_grades(scores, _clean(len(scores)), CREDIT)
    assert graded["grade_by_score"].tolist() == ["A", "B", "B", "C", "C", "D", "D", "A"]
    assert graded["grade"].tolist() == graded["grade_by_score"].tolist()
    assert list(graded.columns) == list(GRADED_COLUMNS)
    assert list(graded["grade"].cat.categories) == ["A", "B", "C", "D"]


def test_points_to_next_grade_is_the_gap_to_the_next_better_band() -> None:
    graded = assign_grades([700.0, 600.0, 521.5, 300.0], _clean(4), CREDIT)
    np.testing.assert_allclose(graded["points_to_next_grade"], [np.nan, 40.0, 58.5, 220.0])


def test_override_caps_the_grade_and_is_recorded_only_when_it_changes_it() -> None:
    features = _clean(
        5,
        serious_violations_on_list=[1, 0, 1, 0, 0],
        abnormal_list_on_list=[0, 1, 0, 1, 1],
    )
    # B -> D; A -> C; already D: unchanged; already C: unchanged; B -> C
    graded = assign_grades([600.0, 700.0, 400.0, 530.0, 590.0], features, CREDIT)
    assert graded["grade_by_score"].tolist() == ["B", "A", "D", "C", "B"]
    assert graded["grade"].tolist() == ["D", "C", "D", "C", "C"]
    assert graded["override"].tolist() == ["serious_violation_list", "abnormal_list", "", "", "abnormal_list"]


def test_several_overrides_that_lower_a_grade_are_all_recorded() -> None:
    features = _clean(2, serious_violations_on_list=[1, 1], abnormal_list_on_list=[1, 1])
    graded = assign_grades([700.0, 530.0], features, CREDIT)
    assert graded["grade"].tolist() == ["D", "D"]
    # the C-cap does not change a C entity, so only the D-cap is recorded there
    assert graded["override"].tolist() == ["serious_violation_list;abnormal_list", "serious_violation_list"]


def test_override_bounds_are_inclusive_and_missing_values_never_match() -> None:
    policy = GradePolicy.from_model_spec(
        {
            "name": "toy",
            "scorecard": {"base_score": 600, "base_odds": 50, "pdo": 40},
            "grades": [{"grade": "A", "min_score": 600}, {"grade": "B", "min_score": None}],
            "overrides": [{"name": "band", "feature": "x", "min": 1, "max": 3, "grade_at_most": "B"}],
        }
    )
    features = pd.DataFrame({"x": [0.999, 1.0, 3.0, 3.001, np.nan]})
    graded = assign_grades([700.0] * 5, features, policy)
    assert graded["grade"].tolist() == ["A", "B", "B", "A", "A"]


def test_points_to_next_grade_ignores_overrides() -> None:
    features = _clean(1, serious_violations_on_list=[1])
    graded = assign_grades([600.0], features, CREDIT)
    assert graded["grade"].iloc[0] == "D"
    assert graded["points_to_next_grade"].iloc[0] == pytest.approx(40.0)


def test_grades_keep_the_index_of_a_score_series() -> None:
    scores = pd.Series([650.0, 500.0], index=["E0000001", "E0000002"])
    graded = assign_grades(scores, _clean(2), CREDIT)
    assert graded.index.tolist() == ["E0000001", "E0000002"]


def test_missing_override_feature_and_nan_scores_give_clear_errors() -> None:
    with pytest.raises(KeyError, match="serious_violations_on_list"):
        assign_grades([600.0], pd.DataFrame({"other": [0]}), CREDIT)
    with pytest.raises(ValueError, match="NaN"):
        assign_grades([np.nan], _clean(1), CREDIT)
    with pytest.raises(ValueError, match="rows"):
        assign_grades([600.0, 610.0], _clean(1), CREDIT)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1000, allow_nan=False), min_size=1, max_size=30))
def test_grade_never_improves_when_the_score_falls(scores: list[float]) -> None:
    graded = assign_grades(scores, _clean(len(scores)), CREDIT)
    order = np.argsort(scores, kind="stable")
    codes = graded["grade_by_score"].cat.codes.to_numpy()[order]
    assert np.all(np.diff(codes) <= 0)  # higher score -> same or better (lower code) grade
    gap = graded["points_to_next_grade"].to_numpy()
    has_next = codes != 0
    assert np.all(gap[order][has_next] > 0)


def test_white_list_excludes_open_negative_records_and_unknown_values() -> None:
    features = _clean(
        6,
        judicial_open_count=[0, 1, 0, 0, np.nan, 0],
        abnormal_list_on_list=[0, 0, 0, 0, 0, 0],
        serious_violations_on_list=[0, 0, 0, 0, 0, 1],
    )
    graded = assign_grades([700.0, 700.0, 600.0, 700.0, 700.0, 700.0], features, CREDIT)
    listed = white_list(graded, features, CREDIT)
    # clean A; open judicial case; B; clean A; unknown; on the serious-violation list (D)
    assert listed.tolist() == [True, False, False, True, False, False]
    assert listed.dtype == bool and listed.name == "white_list"


def test_white_list_needs_a_white_list_section() -> None:
    fraud = GradePolicy.from_model_spec("fraud")
    graded = assign_grades([700.0], None, fraud)
    with pytest.raises(ValueError, match="white_list"):
        white_list(graded, pd.DataFrame({"x": [0]}), fraud)
