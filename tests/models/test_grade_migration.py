"""Explained grade migration (riskml.monitor.migration_report) on the grade model:
exact point decomposition, no news no change, alarms on migration."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from riskml.monitor import migration_report, record_events
from riskml.monitor._migration import migration_alarms
from grade_case import grade_case

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _rows(when: str) -> pd.DataFrame:
    frame = grade_case().panel.frame
    return frame[frame["as_of"] == pd.Timestamp(when)].reset_index(drop=True)


@pytest.mark.parametrize("t1,t2", [("2024-01-01", "2024-04-01"), ("2024-04-01", "2024-07-01")])
def test_score_change_is_exactly_the_sum_of_feature_point_deltas(t1, t2):
    case = grade_case()
    m = migration_report(case.fit.model, _rows(t1), _rows(t2), records=case.records, sources=case.spec.sources)
    moved = m.entities[m.entities["changed"]].set_index("entity_id")
    assert len(moved) > 0
    sums = m.features.groupby("entity_id")["delta_points"].sum().reindex(moved.index, fill_value=0.0)
    np.testing.assert_allclose(moved["score_t2"] - moved["score_t1"], sums, rtol=0, atol=1e-9)
    # every changed entity had news: a record known, leaving a window or ending in [t1, t2)
    assert set(moved.index) <= set(m.records["entity_id"])


@pytest.mark.parametrize("t1,t2", [("2023-10-01", "2024-01-01"), ("2024-01-01", "2024-04-01"),
                                   ("2024-04-01", "2024-07-01"), ("2024-07-01", "2024-10-01")])
def test_an_entity_with_no_news_keeps_its_grade_and_its_score(t1, t2):
    case = grade_case()
    m = migration_report(case.fit.model, _rows(t1), _rows(t2), records=case.records, sources=case.spec.sources)
    quiet = m.entities[m.entities["news"] == False]  # noqa: E712
    assert len(quiet) > 5  # invoices and the filing season give most entities news each quarter
    assert not quiet["changed"].any()
    np.testing.assert_allclose(quiet["score_t1"], quiet["score_t2"], rtol=0, atol=1e-9)


def test_migration_alarm_fires_when_many_a_entities_are_downgraded():
    case = grade_case()
    model = case.fit.model
    # the small market's grade model puts few entities in A: lower its intercept so that
    # a quarter of them are (the alarm reads grades, not the calibration)
    grade = model.grade_model
    t1 = _rows("2024-04-01")
    margin = grade.calib_a * grade.raw_margin(t1) + grade.calib_b
    cut = np.quantile(margin, 0.25) - (-np.log(20) - (630 - 600) / (40 / np.log(2)))
    model = dataclasses.replace(model, grade_model=dataclasses.replace(grade, calib_b=grade.calib_b - cut))
    t2 = t1.assign(as_of=pd.Timestamp("2024-07-01"))
    calm = migration_alarms(migration_report(model, t1, t2)).set_index("check")
    assert not calm["fired"].any()
    graded = model.score(t1)
    a_rows = np.flatnonzero(graded["grade"].to_numpy() == "A")
    assert len(a_rows) >= 20
    hit = a_rows[: int(0.4 * len(a_rows))]
    # 40% of the A entities enter the abnormal-operation list in the quarter
    t2.loc[hit, "abnormal_list_on_list"] = 1.0
    for col in ("abnormal_list_count_365d", "abnormal_list_count_1095d", "abnormal_list_count_all"):
        t2.loc[hit, col] = t2.loc[hit, col] + 1
    m = migration_report(model, t1, t2)
    alarms = migration_alarms(m).set_index("check")
    assert m.summary()["a_leaving_a"] >= 0.3
    assert alarms.loc["a_leaving_a", "fired"]


def test_record_events_name_the_window_a_record_left():
    case = grade_case()
    events = record_events(case.records, case.spec.sources, "2024-01-01", "2024-04-01", windows=[365])
    left = events[events["event"] == "left_365d"]
    assert len(left) > 0
    src = case.spec.sources
    for row in left.head(20).itertuples():
        table = case.records[row.source]
        known = table.loc[table[src[row.source].record_id].astype("str") == row.record_id, src[row.source].known_at].iloc[0]
        assert pd.Timestamp("2024-01-01") <= known + pd.Timedelta(days=365) < pd.Timestamp("2024-04-01")
