"""Reason texts: the features that lowered the score most, in Chinese and English."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.explain import REASON_KEYS, reasons_frame, top_reasons


@pytest.fixture
def catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label_zh": ["近365天行政处罚", "成立天数", "近90天投诉", "注册资本（万元）", "行业"],
            "label_en": ["Penalties in the last 365 days", "Days since establishment", "Complaints (90d)",
                         "Registered capital (10k CNY)", "Industry"],
            "aggregation": ["count", "days_since_first", "count", "latest", "latest"],
            "dimension": ["penalties", "registration", "complaints", "registration", "registration"],
        },
        index=["penalty_count_365d", "age_days", "complaint_count_90d", "capital", "industry"],
    )


def test_reasons_are_the_most_negative_features_first(catalog: pd.DataFrame) -> None:
    points = pd.Series({"penalty_count_365d": -35.0, "age_days": -4.25, "complaint_count_90d": -12.0,
                        "capital": 8.0, "industry": 0.0})
    values = pd.Series({"penalty_count_365d": 2.0, "age_days": 120.0, "complaint_count_90d": 1.0,
                        "capital": 50.5, "industry": "I03"})
    reasons = top_reasons(points, values, catalog, k=2)
    assert [r["feature"] for r in reasons] == ["penalty_count_365d", "complaint_count_90d"]
    assert set(reasons[0]) == set(REASON_KEYS)
    assert reasons[0]["text_zh"] == "近365天行政处罚 2 次（-35分）"
    assert reasons[0]["text_en"] == "Penalties in the last 365 days: 2 (-35 points)"
    assert reasons[0]["points"] == -35.0 and reasons[0]["value"] == 2.0
    third = top_reasons(points, values, catalog, k=3)[2]
    assert third["text_zh"] == "成立天数 120 天（-4.2分）" or third["text_zh"] == "成立天数 120 天（-4.3分）"
    assert third["text_en"].startswith("Days since establishment: 120 days (-4.")


def test_features_that_raised_the_score_are_never_reasons(catalog: pd.DataFrame) -> None:
    points = pd.Series({"capital": 8.0, "industry": 0.0, "age_days": 3.0})
    values = pd.Series({"capital": 50.0, "industry": "I03", "age_days": 900.0})
    assert top_reasons(points, values, catalog) == []


def test_values_are_written_plainly(catalog: pd.DataFrame) -> None:
    points = pd.Series({"capital": -3.0, "industry": -2.0, "age_days": -1.0})
    values = pd.Series({"capital": 12.345, "industry": "I03", "age_days": np.nan}, dtype=object)
    texts = [r["text_zh"] for r in top_reasons(points, values, catalog)]
    assert texts == ["注册资本（万元） 12.35（-3分）", "行业 I03（-2分）", "成立天数 无（-1分）"]


def test_reasons_frame_matches_top_reasons_row_by_row(catalog: pd.DataFrame) -> None:
    rng = np.random.default_rng(0)
    features = ["penalty_count_365d", "age_days", "complaint_count_90d", "capital"]
    points = pd.DataFrame(rng.normal(scale=10, size=(40, 4)).round(1), columns=features)
    points.iloc[0] = [1.0, 2.0, 3.0, 4.0]  # nothing lowered this one
    values = pd.DataFrame(rng.integers(0, 5, size=(40, 4)).astype(float), columns=features)
    frame = reasons_frame(points, values, catalog, k=3)
    assert frame.loc[0, "reason_1_text_zh"] == "" and np.isnan(frame.loc[0, "reason_1_points"])
    for i in range(40):
        expected = top_reasons(points.iloc[i], values.iloc[i], catalog, k=3)
        got = [frame.loc[i, f"reason_{j}_text_en"] for j in (1, 2, 3)]
        assert got[: len(expected)] == [r["text_en"] for r in expected]
        assert all(text == "" for text in got[len(expected):])


def test_bad_k_and_unknown_features_are_rejected(catalog: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="k must"):
        top_reasons(pd.Series({"capital": -1.0}), pd.Series({"capital": 1.0}), catalog, k=0)
    with pytest.raises(KeyError, match="unknown"):
        top_reasons(pd.Series({"unknown": -1.0}), pd.Series({"unknown": 1.0}), catalog)
