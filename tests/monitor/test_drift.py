"""Score and feature PSI, grade migration and grade shares against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.monitor import migration_matrix
from riskml.monitor._drift import feature_psi, grade_distribution, score_psi
from riskml.tracking import psi


def test_score_psi_matches_a_hand_computation():
    ref = pd.DataFrame({"score": [1.0, 2.0, 3.0, 4.0]})
    cur = pd.DataFrame({"score": [1.0, 4.0, 4.0, 4.0]})
    # 2 bins split at the median 2.5: ref shares (0.5, 0.5), current (0.25, 0.75)
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert score_psi(ref, cur, bins=2) == pytest.approx(expected)
    assert score_psi(ref["score"], cur["score"], bins=2) == pytest.approx(expected)


def test_feature_psi_uses_the_tracking_psi_and_compares_categories_by_label():
    ref = pd.DataFrame({"x": np.arange(100.0), "c": pd.Categorical(["a"] * 50 + ["b"] * 50)})
    cur = pd.DataFrame({"x": np.arange(100.0) + 30, "c": pd.Categorical(["b"] * 80 + ["a"] * 20, categories=["b", "a"])})
    out = feature_psi(ref, cur, bins=4)
    assert out.loc["x", "psi"] == pytest.approx(psi(ref["x"], cur["x"], bins=4))
    # categories differ in order between the panels but are matched by label: a 50/50 -> 20/80
    expected = (0.2 - 0.5) * np.log(0.2 / 0.5) + (0.8 - 0.5) * np.log(0.8 / 0.5)
    assert out.loc["c", "psi"] == pytest.approx(expected)
    assert out.index[0] == "x" or out["psi"].is_monotonic_decreasing


def test_feature_psi_reports_missing_shares_and_refuses_unknown_features():
    ref = pd.DataFrame({"x": [1.0, np.nan, 3.0, 4.0]})
    cur = pd.DataFrame({"x": [np.nan, np.nan, 3.0, 4.0]})
    out = feature_psi(ref, cur, bins=2)
    assert out.loc["x", ["missing_ref", "missing_cur"]].tolist() == [0.25, 0.5]
    with pytest.raises(ValueError, match="missing"):
        feature_psi(ref, cur, ["y"])


def test_migration_matrix_counts_continuing_entities_and_separates_new_and_exited():
    prev = pd.DataFrame({"entity_id": ["E1", "E2", "E3", "E4", "E5"], "grade": ["A", "A", "A", "B", "D"]})
    cur = pd.DataFrame({"entity_id": ["E1", "E2", "E3", "E4", "E6", "E7"], "grade": ["A", "A", "C", "B", "D", "A"]})
    m = migration_matrix(prev, cur)
    assert m.loc[("A", "A"), "count"] == 2 and m.loc[("A", "C"), "count"] == 1
    assert m.loc[("A", "A"), "row_share"] == pytest.approx(2 / 3)
    assert m.loc[("B", "B"), "row_share"] == 1.0
    assert m.loc[("D", "exited"), "count"] == 1
    assert m.loc[("new", "D"), "count"] == 1 and m.loc[("new", "A"), "count"] == 1
    assert np.isnan(m.loc[("new", "A"), "row_share"])
    # D had no continuing entity: zeros and undefined shares, all pairs present
    assert m.loc[("D", "D"), "count"] == 0 and np.isnan(m.loc[("D", "D"), "row_share"])
    continuing = m.drop(index=["new"], level=0).drop(index=["exited"], level=1)
    assert continuing["count"].sum() == 4 and len(continuing) == 16


def test_grade_distribution_counts_and_shares_per_date():
    scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 4 + ["2024-04-01"] * 2),
                           "grade": ["A", "A", "B", "D", "A", "D"]})
    out = grade_distribution(scores)
    q1 = out.loc[out["as_of"] == "2024-01-01"].set_index("grade")
    assert q1["count"].to_dict() == {"A": 2, "B": 1, "D": 1}
    assert q1["share"].sum() == pytest.approx(1.0)
    q2 = out.loc[out["as_of"] == "2024-04-01"].set_index("grade")
    assert q2.loc["B", "count"] == 0 and q2.loc["D", "share"] == 0.5
    by_dict = grade_distribution({d: f for d, f in scores.groupby("as_of")})
    pd.testing.assert_frame_equal(out, by_dict)
