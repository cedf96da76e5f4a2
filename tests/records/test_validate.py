"""Validation: every bad input gives a clear strict error and a lenient quarantine reason."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskml.records import RecordsError, from_frames, load_sources, validate
from riskml.records._coerce import coerce_column
from riskml.records._records import QUARANTINE_COLUMNS
from riskml.records._sources import ColumnSpec
from riskml.records._validate import REASONS

from records_fixtures import NOW, make_frames

CATALOG = load_sources()


def corrupt(frames: dict[str, pd.DataFrame], source: str, column: str, rows: list[int], value: object) -> dict[str, pd.DataFrame]:
    """A copy of ``frames`` with ``value`` written into ``rows`` of one column."""
    out = dict(frames)
    table = out[source].copy()
    col = table[column].astype(object)
    col.iloc[rows] = value
    table[column] = col
    out[source] = table
    return out


# (source, column, rows, bad value, reason, text that must appear in the strict message)
BAD_VALUES = [
    ("penalties", "amount", [1, 4], "abc", "wrong_type", "'abc'"),
    ("annual_reports", "employees", [2], "1.5", "wrong_type", "'1.5'"),
    ("annual_reports", "all_zero", [3], "maybe", "wrong_type", "'maybe'"),
    ("penalties", "decided", [0, 5, 6], "2024-13-45", "unparseable_date", "'2024-13-45'"),
    ("licences", "expiry", [2], "01/03/2024", "unparseable_date", "'01/03/2024'"),
    ("penalties", "entity_id", [2], None, "null_key", "record PEN0000002"),
    ("invoices", "buyer_id", [3], None, "null_key", "record INV0000003"),
    ("penalties", "severity", [7], None, "null_value", "record PEN0000007"),
    ("penalties", "entity_id", [3, 8], "E9999999", "unknown_entity", "'E9999999'"),
    ("invoices", "buyer_id", [1], "E8888888", "unknown_entity", "'E8888888'"),
    ("penalties", "severity", [4], "catastrophic", "unknown_category", "'catastrophic'"),
    ("penalties", "published", [9], pd.Timestamp("2099-01-01"), "known_at_in_future", "'2099-01-01'"),
    ("penalties", "published", [10], pd.Timestamp("2020-01-01"), "known_before_event", "'2020-01-01'"),
    ("penalties", "amount", [11], -5.0, "negative_amount", "'-5.0'"),
    ("entities", "registered_capital", [0], -1.0, "negative_amount", "'-1.0'"),
]


@pytest.mark.parametrize(("source", "column", "rows", "value", "reason", "example"), BAD_VALUES, ids=[f"{b[0]}.{b[1]}-{b[4]}" for b in BAD_VALUES])
def test_each_bad_value_gives_a_clear_strict_error_and_a_lenient_reason(frames, source, column, rows, value, reason, example):
    bad = corrupt(frames, source, column, rows, value)
    with pytest.raises(RecordsError) as info:
        validate(from_frames(bad), "strict", now=NOW)
    message = str(info.value)
    assert f"{source}.{column}: {reason} in {len(rows)} row(s)" in message
    assert example in message
    [problem] = info.value.problems
    assert (problem.source, problem.column, problem.reason, problem.n_rows) == (source, column, reason, len(rows))

    clean = validate(from_frames(bad), "lenient", now=NOW)
    assert list(clean.quarantine.columns) == list(QUARANTINE_COLUMNS)
    q = clean.quarantine.query("source == @source")
    # A quarantined registry row takes its entity's records with it.
    assert set(clean.quarantine.query("source != @source")["reason"]) <= {"entity_quarantined"}
    assert q["reason"].tolist() == [reason] * len(rows)
    assert q["column"].unique().tolist() == [column]
    assert sorted(q["row"].tolist()) == rows
    counts = clean.counts.set_index("source")
    assert counts.loc[source, "n_quarantined"] == len(rows)
    assert counts.loc[source, "n_kept"] == len(frames[source]) - len(rows)
    assert len(clean[source]) == len(frames[source]) - len(rows)


def test_duplicate_record_ids_quarantine_every_copy(frames):
    bad = corrupt(frames, "penalties", "penalty_id", [3], frames["penalties"]["penalty_id"].iloc[2])
    with pytest.raises(RecordsError, match=r"penalties\.penalty_id: duplicate_record_id in 2 row\(s\), e\.g\. 'PEN0000002'"):
        validate(from_frames(bad), now=NOW)
    q = validate(from_frames(bad), "lenient", now=NOW).quarantine
    assert sorted(q["row"].tolist()) == [2, 3]
    assert set(q["reason"]) == {"duplicate_record_id"}


def test_missing_required_column_is_reported_and_quarantines_the_whole_table(frames):
    bad = dict(frames, penalties=frames["penalties"].drop(columns="amount"))
    with pytest.raises(RecordsError, match=r"penalties\.amount: missing_column in 12 row\(s\)"):
        validate(from_frames(bad), now=NOW)
    clean = validate(from_frames(bad), "lenient", now=NOW)
    assert len(clean["penalties"]) == 0
    assert clean.quarantine["reason"].eq("missing_column").sum() == 12


def test_undeclared_source_is_an_error_in_strict_and_quarantined_in_lenient(frames):
    extra = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "premium": [1.0, 2.0]})
    raw = from_frames(dict(frames, social_security=extra))
    assert "social_security" in raw  # kept raw so that validate can report it
    with pytest.raises(RecordsError, match=r"social_security: undeclared_source in 2 row\(s\)"):
        validate(raw, now=NOW)
    clean = validate(raw, "lenient", now=NOW)
    assert "social_security" not in clean
    counts = clean.counts.set_index("source")
    assert counts.loc["social_security"].tolist() == [2, 0, 2]
    assert clean.quarantine.query("source == 'social_security'")["reason"].eq("undeclared_source").all()


def test_strict_error_lists_every_problem_at_once(frames):
    bad = corrupt(frames, "penalties", "amount", [1], -3.0)
    bad = corrupt(bad, "changes", "changed", [2], "not a date")
    bad = corrupt(bad, "inspections", "kind", [0], "surprise")
    with pytest.raises(RecordsError) as info:
        validate(from_frames(bad), now=NOW)
    reasons = {(p.source, p.reason) for p in info.value.problems}
    assert reasons == {("penalties", "negative_amount"), ("changes", "unparseable_date"), ("inspections", "unknown_category")}
    assert "3 problem(s) in 3 source(s)" in str(info.value)


def test_a_row_with_several_problems_is_quarantined_once_with_its_first_reason(frames):
    bad = corrupt(frames, "penalties", "amount", [4], -1.0)
    bad = corrupt(bad, "penalties", "severity", [4], "catastrophic")
    bad = corrupt(bad, "penalties", "entity_id", [4], "E9999999")
    with pytest.raises(RecordsError) as info:
        validate(from_frames(bad), now=NOW)
    assert len(info.value.problems) == 3  # strict mode reports every problem
    clean = validate(from_frames(bad), "lenient", now=NOW)
    assert clean.quarantine[["row", "reason"]].values.tolist() == [[4, "unknown_category"]]
    assert clean.counts.set_index("source").loc["penalties", "n_quarantined"] == 1


def test_records_of_a_quarantined_entity_are_quarantined_with_their_own_reason(frames):
    bad = corrupt(frames, "entities", "district", [0], "D99")
    clean = validate(from_frames(bad), "lenient", now=NOW)
    q = clean.quarantine
    assert q.query("source == 'entities'")["reason"].tolist() == ["unknown_category"]
    follow = q.query("source != 'entities'")
    assert set(follow["reason"]) == {"entity_quarantined"}
    assert set(follow["value"]) == {"E0000001"}
    for name, table in clean.items():
        spec = CATALOG[name]
        assert not table[spec.entity_key].eq("E0000001").any() or name == "invoices"
    # Strict mode reports the cause only.
    with pytest.raises(RecordsError) as info:
        validate(from_frames(bad), now=NOW)
    assert [p.reason for p in info.value.problems] == ["unknown_category"]


def test_missing_entity_source_makes_every_record_unknown(frames):
    bad = {k: v for k, v in frames.items() if k != "entities"}
    with pytest.raises(RecordsError, match=r"entities: missing_source"):
        validate(from_frames(bad), now=NOW)
    clean = validate(from_frames(bad), "lenient", now=NOW)
    assert clean.n_records == 0
    assert (clean.counts["n_in"] == clean.counts["n_quarantined"]).all()


def test_clean_records_validate_strictly_with_declared_dtypes(frames):
    clean = validate(from_frames(frames), now=NOW)
    assert clean.validated and clean.pseudonymised
    assert clean.quarantine.empty
    assert (clean.counts["n_in"] == clean.counts["n_kept"]).all()
    expected = {"str": "str", "int": "int64", "float": "float64", "bool": "bool", "date": "datetime64[ns]"}
    for name, table in clean.items():
        spec = CATALOG[name]
        assert list(table.columns) == list(spec.columns)
        for col, cspec in spec.columns.items():
            dtype = table[col].dtype
            if cspec.type == "category":
                assert list(dtype.categories) == list(cspec.categories), (name, col)
            elif cspec.type == "int" and cspec.nullable:
                assert dtype == "Int64", (name, col)
            else:
                assert str(dtype) == expected[cspec.type], (name, col, dtype)


def test_text_input_is_coerced_to_declared_dtypes(frames):
    as_text = {name: t.astype(object).where(t.notna(), None).astype(str).where(t.notna(), None) for name, t in frames.items()}
    clean = validate(from_frames(as_text), now=NOW)
    reference = validate(from_frames(frames), now=NOW)
    for name in reference:
        pd.testing.assert_frame_equal(clean[name], reference[name], check_exact=False)


def test_undeclared_columns_are_dropped_with_a_warning(frames, caplog):
    bad = dict(frames, penalties=frames["penalties"].assign(note="free text"))
    with caplog.at_level(logging.WARNING, logger="riskml.records"):
        clean = validate(from_frames(bad), now=NOW)
    assert "note" not in clean["penalties"].columns
    assert "note" in caplog.text


def test_known_at_equal_to_now_is_not_in_the_future(frames):
    bad = corrupt(frames, "changes", "changed", [0], NOW)
    assert len(validate(from_frames(bad), now=NOW)["changes"]) == len(frames["changes"])


def test_mode_must_be_strict_or_lenient(frames):
    with pytest.raises(ValueError, match=r"mode must be one of \('strict', 'lenient'\), got 'loose'"):
        validate(from_frames(frames), "loose")  # type: ignore[arg-type]


def test_every_reason_has_an_expectation():
    assert all(REASONS.values())


@pytest.mark.parametrize(
    ("kind", "raw", "bad"),
    [
        ("int", ["1", "2.0", "2.5", "x", None], [False, False, True, True, False]),
        ("float", ["1", "-2.5", "1e3", "nan", None], [False, False, False, True, False]),
        ("bool", ["true", "False", "1", "no", "maybe"], [False, False, False, False, True]),
        ("date", ["2024-03-01", "2024-03-01T10:30", "9999-12-31", "1 March", None], [False, False, True, True, False]),
    ],
)
def test_coerce_column_flags_exactly_the_unparseable_values(kind, raw, bad):
    coerced = coerce_column(pd.Series(raw, dtype=object), ColumnSpec(type=kind, nullable=True))
    assert coerced.bad.tolist() == bad
    assert coerced.values[np.array(bad)].isna().all()


def test_dates_with_a_time_are_kept_at_midnight():
    values = coerce_column(pd.Series(["2024-03-01T10:30"]), ColumnSpec(type="date")).values
    assert values.iloc[0] == pd.Timestamp("2024-03-01")


# Each corruption: (source, column, value); any subset, on any rows.
CORRUPTIONS = [
    ("penalties", "amount", -1.0),
    ("penalties", "amount", "x"),
    ("penalties", "severity", "bogus"),
    ("penalties", "published", "2099-01-01"),
    ("penalties", "penalty_id", "PEN0000000"),
    ("penalties", "entity_id", None),
    ("changes", "changed", "yesterday"),
    ("invoices", "buyer_id", "E7777777"),
    ("entities", "district", "D99"),
    ("entities", "entity_id", "E0000002"),
    ("annual_reports", "employees", "many"),
    ("complaints", "resolved", "2019-01-01"),
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(range(len(CORRUPTIONS))), st.lists(st.integers(0, 9), min_size=1, max_size=4)), max_size=6))
def test_counts_in_equal_kept_plus_quarantined_under_random_corruption(picks):
    frames = make_frames()
    for idx, rows in picks:
        source, column, value = CORRUPTIONS[idx]
        frames = corrupt(frames, source, column, sorted(set(rows)), value)
    raw = from_frames(frames)
    clean = validate(raw, "lenient", now=NOW)
    q = clean.quarantine
    assert not q.duplicated(["source", "row"]).any()
    for name, n_in, n_kept, n_q in clean.counts.itertuples(index=False):
        assert n_in == len(frames[name]) == n_kept + n_q
        assert n_kept == len(clean[name])
        assert n_q == (q["source"] == name).sum()
    # What lenient mode keeps is clean: strict validation passes on it.
    validate(clean, "strict", now=NOW)
    if len(q):
        with pytest.raises(RecordsError):
            validate(raw, "strict", now=NOW)
    else:
        validate(raw, "strict", now=NOW)


def test_validation_is_vectorised_on_a_few_hundred_thousand_rows():
    frames = make_frames(n=300_000, n_entities=50_000)
    big = {k: frames[k] for k in ("entities", "penalties", "invoices")}
    big = corrupt(big, "penalties", "amount", list(range(0, 300_000, 100)), -1.0)
    start = time.perf_counter()
    clean = validate(from_frames(big), "lenient", now=NOW)
    elapsed = time.perf_counter() - start
    assert clean.counts.set_index("source").loc["penalties", "n_quarantined"] == 3_000
    assert elapsed < 15, f"validation took {elapsed:.1f} s"
