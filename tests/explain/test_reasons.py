"""Reason texts: the features that lowered the score most, in Chinese and English."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskml.explain._reasons import REASON_KEYS, reasons_frame, top_reasons


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


# reasons_frame builds its texts column-wise; top_reasons words one entity at a time
# from the same helpers. The two must agree to the character on every input.

_MIXED_FEATURES = ["penalty_count_365d", "age_days", "complaint_count_90d", "capital", "industry"]


def _expected_columns(points: pd.DataFrame, values: pd.DataFrame, catalog: pd.DataFrame, k: int) -> dict:
    columns: dict[str, list] = {}
    for i in range(len(points)):
        reasons = top_reasons(points.iloc[i], values.iloc[i], catalog, k=k)
        for j in range(k):
            reason = reasons[j] if j < len(reasons) else None
            columns.setdefault(f"reason_{j + 1}_feature", []).append(reason["feature"] if reason else "")
            columns.setdefault(f"reason_{j + 1}_points", []).append(reason["points"] if reason else np.nan)
            columns.setdefault(f"reason_{j + 1}_text_zh", []).append(reason["text_zh"] if reason else "")
            columns.setdefault(f"reason_{j + 1}_text_en", []).append(reason["text_en"] if reason else "")
    return columns


def _assert_frame_equals_row_by_row(points: pd.DataFrame, values: pd.DataFrame, catalog: pd.DataFrame,
                                    k: int) -> None:
    frame = reasons_frame(points, values, catalog, k=k)
    expected = _expected_columns(points, values, catalog, k)
    assert list(frame.columns) == list(expected)
    for name, column in expected.items():
        got = frame[name].tolist()
        if name.endswith("_points"):
            np.testing.assert_array_equal(np.asarray(got, dtype=float), np.asarray(column, dtype=float))
        else:
            assert frame[name].dtype == "str"
            assert got == column, name


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_reasons_frame_texts_equal_top_reasons_on_any_values(data: st.DataObject) -> None:
    catalog = pd.DataFrame(
        {"label_zh": ["近365天行政处罚", "成立天数", "近90天投诉", "注册资本（万元）", "行业"],
         "label_en": ["Penalties in the last 365 days", "", "Complaints (90d)", "Registered capital", "Industry"],
         "aggregation": ["count", "days_since_first", "distinct", "latest", "latest"],
         "unit_zh": [None, None, None, "万元", None], "unit_en": [None, None, None, "10k CNY", None]},
        index=_MIXED_FEATURES,
    )
    n = data.draw(st.integers(1, 12))
    k = data.draw(st.integers(1, 6))
    # points on a coarse grid so ties, -0.05-style rounding edges and zeros all occur
    grid = st.sampled_from([-35.0, -12.25, -0.05, -0.04, -0.15, -0.25, -1e-9, 0.0, 3.5, -7.0])
    points = pd.DataFrame([[data.draw(grid) for _ in _MIXED_FEATURES] for _ in range(n)], columns=_MIXED_FEATURES)
    floats = st.one_of(st.sampled_from([np.nan, 0.0, 2.0, 12.345, -3.5, 1e16, 0.005]), st.floats(-1e6, 1e6))
    counts = st.one_of(st.none(), st.integers(0, 50))
    values = pd.DataFrame({
        "penalty_count_365d": pd.array([data.draw(counts) for _ in range(n)], dtype="Int64"),
        "age_days": [data.draw(floats) for _ in range(n)],
        "complaint_count_90d": [data.draw(st.booleans()) for _ in range(n)],
        "capital": np.asarray([data.draw(floats) for _ in range(n)], dtype=np.float32),
        "industry": pd.Categorical([data.draw(st.sampled_from(["I01", "I02", None])) for _ in range(n)]),
    })
    _assert_frame_equals_row_by_row(points, values, catalog, k)


def test_model_reasons_equal_top_reasons_on_a_small_market() -> None:
    import riskml
    from riskml.explain import tree_contributions
    from riskml.explain._batch import model_reasons
    from riskml.explain._points import points_from_contributions

    market = riskml.synth.make_market(n_entities=600, seed=3)
    result = riskml.train(market.records, "credit", params={"n_estimators": 20},
                          backtest={"test_dates": "last 1"}, log=False)
    model = result.model
    panel = riskml.build_panel(market.records, "quarterly")
    frame = panel.frame.loc[panel.frame["as_of"] == panel.frame["as_of"].max()].reset_index(drop=True)
    explained = getattr(model, "grading", model)  # reasons explain the grade's score
    contrib = tree_contributions(explained.booster, explained.matrix(frame))
    _, points = points_from_contributions(contrib, explained.policy, explained.calib_a, explained.calib_b)
    points = pd.DataFrame(points, columns=list(explained.features))
    values = frame[list(explained.features)]
    _assert_frame_equals_row_by_row(points, values, explained.catalog, k=3)
    reasons = model_reasons(model, frame, k=3)
    # the scoring path gives the reference's reasons, row for row, to the last bit of the points
    pd.testing.assert_frame_equal(reasons, reasons_frame(points, values, explained.catalog, k=3), check_exact=True)
    expected = _expected_columns(points, values, explained.catalog, 3)
    for name, column in expected.items():
        if name.endswith("_points"):
            np.testing.assert_array_equal(reasons[name].to_numpy(), np.asarray(column, dtype=float))
        else:
            assert reasons[name].tolist() == column, name
    assert (reasons["reason_1_text_zh"] != "").sum() > len(frame) // 2  # the market has reasons to give


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-200, 200),
    # next to half tenths and whole numbers, where rounding is decided
    st.builds(lambda k, eps: k / 20 + eps, st.integers(-4000, 4000), st.sampled_from([0.0, 1e-12, -1e-12, 1e-7, -1e-7])),
), max_size=60))
def test_points_texts_equal_format_points_on_any_float(points: list[float]) -> None:
    from riskml.explain._reasons import _format_points, _points_texts

    assert _points_texts(np.asarray(points, dtype=np.float64)).to_pylist() == [_format_points(p) for p in points]
