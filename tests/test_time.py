"""One rule for as-of dates, day numbers and "alive at t", the same on every path."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskml
from riskml._time import NS_PER_DAY, as_of_date, as_of_dates, day_number, from_day_number, in_force
from riskml.explain import explain_entity, path_to_next_grade
from riskml.explain._evidence import evidence_for
from riskml.explain._explanation import _tiny_case
from riskml.features import build_panel, load_feature_spec
from riskml.features._kernels import NEVER, to_days
from riskml.monitor import rule_warnings
from riskml.ranking._window import alive_at

DATES = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2200, 12, 31))
# A time of day strictly inside the day, in microseconds (what every form of a date-time can hold).
TIMES_OF_DAY = st.integers(min_value=1, max_value=NS_PER_DAY // 1000 - 1).map(lambda us: pd.Timedelta(us, unit="us"))
ZONES = st.sampled_from(["UTC", "Asia/Shanghai", "America/New_York", "Etc/GMT+12"])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def not_a_calendar_date(draw: st.DrawFn) -> object:
    """A value that names an instant rather than a calendar day: a time of day or a timezone."""
    day = pd.Timestamp(draw(DATES))
    if draw(st.booleans()):
        stamp = day + draw(TIMES_OF_DAY)
        return draw(st.sampled_from([stamp, stamp.isoformat(), stamp.to_datetime64(), stamp.to_pydatetime()]))
    stamp = day.tz_localize(draw(ZONES))  # midnight, but of a zone
    return draw(st.sampled_from([stamp, stamp.isoformat(), stamp.to_pydatetime()]))


def _forms(day: datetime.date) -> list[object]:
    stamp = pd.Timestamp(day)
    return [day, day.isoformat(), stamp, stamp.to_pydatetime(), np.datetime64(day, "D"), stamp.to_datetime64()]


# ----------------------------------------------------------------------------- the rule


@given(DATES)
def test_every_form_of_a_calendar_date_is_the_same_midnight(day):
    expected = pd.Timestamp(day)
    for value in _forms(day):
        stamp = as_of_date(value)
        assert stamp == expected and stamp.tz is None and stamp == stamp.normalize()
    assert list(as_of_dates(_forms(day))) == [expected] * len(_forms(day))


@given(DATES)
def test_midnight_dates_round_trip_through_day_numbers(day):
    n = day_number(day.isoformat())
    assert n == (day - datetime.date(1970, 1, 1)).days
    assert from_day_number(n) == pd.Timestamp(day)
    assert to_days(np.array([pd.Timestamp(day).to_datetime64()], dtype="datetime64[ns]"))[0] == n


@given(st.lists(st.integers(min_value=-25_567, max_value=84_000), min_size=1, max_size=20))
def test_day_numbers_round_trip_through_midnights(days):
    assert day_number(from_day_number(np.array(days))).tolist() == days
    assert [day_number(from_day_number(d)) for d in days] == days


@given(not_a_calendar_date())
def test_a_time_of_day_or_a_timezone_is_refused_naming_the_value_and_the_fix(value):
    with pytest.raises(ValueError, match="must be a calendar date") as caught:
        as_of_date(value)
    message = str(caught.value)
    assert repr(value) in message
    assert ("has the time of day" in message) != ("carries the timezone" in message)
    assert "give the" in message  # says what to pass instead
    for entry in (as_of_dates, day_number, lambda v: as_of_dates([pd.Timestamp("2024-01-01"), v])):
        with pytest.raises(ValueError, match="must be a calendar date"):
            entry(value)


@pytest.mark.parametrize("value", [None, pd.NaT, float("nan"), 19723, "not a date", [], ()])
def test_missing_values_numbers_and_empty_lists_are_not_dates(value):
    with pytest.raises(ValueError, match="calendar date|is empty"):
        as_of_dates(value)


@pytest.mark.parametrize("value", [pd.Timestamp("2024-01-01") + pd.Timedelta(1, "ns"), "2024-01-01 23:59:59.999999999"])
def test_one_nanosecond_off_midnight_is_refused(value):
    with pytest.raises(ValueError, match="has the time of day"):
        as_of_date(value)


def test_the_error_names_the_argument():
    with pytest.raises(ValueError, match=r"^scores\['as_of'\] must be"):
        as_of_dates(pd.Series(pd.to_datetime(["2024-01-01 08:00"])), what="scores['as_of']")


@given(st.integers(-5, 30), st.one_of(st.none(), st.integers(-5, 30)), st.integers(0, 25))
def test_in_force_is_started_before_t_and_not_ended_before_t(start, end, t):
    end_day = NEVER if end is None else end
    assert bool(in_force(start, end_day, t)) == (start < t and (end is None or t <= end))
    # vectorised and scalar agree
    assert in_force(np.array([start]), np.array([end_day]), t).tolist() == [bool(in_force(start, end_day, t))]


# ----------------------------------------------------------------------------- every path


@pytest.fixture(scope="module")
def tiny():
    records, model = _tiny_case()
    spec = load_feature_spec()
    panel = build_panel(records, ["2024-01-01"], spec)
    return records, model, spec, panel


def _entries(tiny):
    records, model, spec, panel = tiny
    return {
        "build_panel": lambda t: build_panel(records, [t], spec),
        "predict": lambda t: riskml.predict(panel, model=model, as_of=t),
        "explain_entity": lambda t: explain_entity("E0000001", t, records=records, model=model, k=1),
        "evidence_for": lambda t: evidence_for(records, "E0000001", t, "penalties_count_365d"),
        "path_to_next_grade": lambda t: path_to_next_grade(records, "E0000001", t, model, spec),
        "rule_warnings": lambda t: rule_warnings(records, t),
    }


@FAST
@given(value=not_a_calendar_date(), entry=st.sampled_from(
    ["build_panel", "predict", "explain_entity", "evidence_for", "path_to_next_grade", "rule_warnings"]))
def test_every_public_entry_refuses_what_the_rule_refuses(tiny, value, entry):
    with pytest.raises(ValueError, match="must be a calendar date"):
        _entries(tiny)[entry](value)


def test_every_public_entry_gives_the_same_answer_for_every_form_of_a_calendar_date(tiny):
    records, model, spec, panel = tiny
    day = datetime.date(2024, 1, 1)
    scores = riskml.predict(panel, model=model, as_of="2024-01-01", explain=0)
    warnings = rule_warnings(records, "2024-01-01")
    for value in _forms(day):
        assert build_panel(records, [value], spec).frame.equals(panel.frame)
        assert riskml.predict(panel, model=model, as_of=value, explain=0).equals(scores)
        assert rule_warnings(records, value).equals(warnings)


def test_the_explanations_give_the_same_answer_for_a_date_and_its_text(tiny):
    records, model, _, _ = tiny
    day = datetime.date(2024, 1, 1)
    evidence = evidence_for(records, "E0000001", "2024-01-01", "penalties_count_365d")
    assert len(evidence) and evidence_for(records, "E0000001", day, "penalties_count_365d").equals(evidence)
    explained = explain_entity("E0000001", day, records=records, model=model, k=1)
    assert explained.as_of == pd.Timestamp(day) and explained.entity_id == "E0000001"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    established=st.lists(st.integers(0, 40), min_size=3, max_size=6),
    ends=st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=6, max_size=6),
    t=st.integers(1, 41),
)
def test_the_panel_and_the_registry_filter_keep_exactly_the_entities_in_force(tiny, established, ends, t):
    records, _, spec, _ = tiny
    base = day_number("2023-01-01")
    n = len(established)
    entities = pd.concat([records["entities"].iloc[[0]]] * n, ignore_index=True)
    entities["entity_id"] = pd.array([f"E{i:07d}" for i in range(1, n + 1)], dtype="str")
    entities["established"] = from_day_number(np.array(established) + base)
    entities["deregistered"] = pd.to_datetime([None if e is None else from_day_number(e + base) for e in ends[:n]])
    tables = {**records, "entities": entities}
    start = np.array(established) + base
    end = np.array([NEVER if e is None else e + base for e in ends[:n]])
    expected = set(entities["entity_id"][in_force(start, end, t + base)])
    panel = build_panel(tables, [from_day_number(t + base)], spec.subset(["penalties_count_365d"]))
    assert set(panel.frame["entity_id"]) == expected
    kept = alive_at(tables, entities["entity_id"], np.full(n, t + base))
    assert set(entities["entity_id"][kept]) == expected
