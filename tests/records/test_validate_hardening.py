"""Bad input found by attack: each case is a named strict error and a lenient quarantine reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.records import RecordsError, from_frames, read, validate, write
from records_fixtures import NOW

# (source, column, rows, bad value, reason)
BAD_VALUES = [
    ("penalties", "amount", [1], np.inf, "non_finite"),
    ("penalties", "amount", [2, 3], -np.inf, "non_finite"),
    ("penalties", "amount", [4], "inf", "non_finite"),
    ("penalties", "amount", [5], 1e300, "out_of_range"),
    ("annual_reports", "employees", [2], 10**18, "out_of_range"),
    ("entities", "registered_capital", [0], np.inf, "non_finite"),
    ("invoices", "amount", [3], 1e16, "out_of_range"),
    ("penalties", "amount", [6], np.nan, "null_value"),
    ("penalties", "penalty_id", [7], "", "null_key"),
    ("penalties", "entity_id", [8], "  ", "null_key"),
    ("abnormal_list", "exited", [2], pd.Timestamp("2000-01-01"), "ends_before_known"),
    ("licences", "expiry", [1], pd.Timestamp("2000-01-01"), "ends_before_known"),
]


def _corrupt(frames, source, column, rows, value):
    table = frames[source].copy()
    col = table[column].astype(object)
    col.iloc[rows] = value
    table[column] = col
    return dict(frames, **{source: table})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(("source", "column", "rows", "value", "reason"), BAD_VALUES, ids=[f"{b[0]}.{b[1]}-{b[4]}-{b[3]!r}" for b in BAD_VALUES])
def test_bad_value_is_a_named_strict_error_and_a_lenient_reason(frames, source, column, rows, value, reason):
    bad = _corrupt(frames, source, column, rows, value)
    with pytest.raises(RecordsError) as info:
        validate(from_frames(bad), "strict", now=NOW)
    assert f"{source}.{column}: {reason} in {len(rows)} row(s)" in str(info.value)

    clean = validate(from_frames(bad), "lenient", now=NOW)
    q = clean.quarantine.query("source == @source")
    assert q["reason"].tolist() == [reason] * len(rows)
    assert sorted(q["row"].tolist()) == rows
    counts = clean.counts
    assert (counts["n_in"] == counts["n_kept"] + counts["n_quarantined"]).all()
    assert counts.set_index("source").loc[source, "n_quarantined"] == len(rows)


def test_timezone_aware_dates_keep_their_written_calendar_date_and_fail_no_batch(frames):
    known = frames["penalties"]["published"].dt.strftime("%Y-%m-%d").astype(object)
    known.iloc[0] = "2023-03-01T23:30:00+08:00"
    known.iloc[1] = "2023-03-02T01:00:00Z"
    known.iloc[2] = "2023-03-03T10:15:00-05:00"
    bad = dict(frames, penalties=frames["penalties"].assign(published=known, decided=pd.Timestamp("2020-01-01")))
    for mode in ("strict", "lenient"):
        clean = validate(from_frames(bad), mode, now=NOW)
        assert len(clean["penalties"]) == len(frames["penalties"])
        assert clean["penalties"]["published"].iloc[:3].dt.strftime("%Y-%m-%d").tolist() == [
            "2023-03-01", "2023-03-02", "2023-03-03"
        ]


def test_duplicate_column_names_are_a_named_error(frames):
    pens = frames["penalties"]
    bad = dict(frames, penalties=pd.concat([pens, pens[["amount"]]], axis=1))
    with pytest.raises(RecordsError, match=r"penalties\.amount: duplicate_column in 12 row\(s\).*repeated: \['amount'\]"):
        validate(from_frames(bad), now=NOW)
    clean = validate(from_frames(bad), "lenient", now=NOW)
    assert len(clean["penalties"]) == 0
    assert set(clean.quarantine.query("source == 'penalties'")["reason"]) == {"duplicate_column"}
    assert (clean.counts["n_in"] == clean.counts["n_kept"] + clean.counts["n_quarantined"]).all()


def test_validated_records_survive_a_csv_round_trip(frames, tmp_path):
    bad = _corrupt(frames, "penalties", "penalty_id", [7], "")
    bad = _corrupt(bad, "complaints", "complaint_id", [2], "   ")
    clean = validate(from_frames(bad), "lenient", now=NOW)
    write(clean, tmp_path, format="csv")
    again = validate(read(tmp_path), "strict", now=NOW)
    assert dict(zip(again.counts["source"], again.counts["n_in"], strict=True)) == {
        n: len(t) for n, t in clean.tables.items()
    }
    for name, table in clean.tables.items():
        pd.testing.assert_frame_equal(again[name], table, check_dtype=False, check_categorical=False)


BAD_FILES = {
    "empty": b"",
    "not_utf8": "change_id,entity_id,change_type,changed\nC1,E0000001,name,2023-06-01 \u6539\n".encode("gbk"),
    "garbage": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_an_unreadable_file_is_named_and_in_lenient_mode_does_not_stop_the_others(frames, tmp_path, kind):
    from riskml.records import RecordsFileError

    clean = validate(from_frames(frames), "strict", now=NOW)
    write(clean, tmp_path, format="csv")
    (tmp_path / "changes.csv").write_bytes(BAD_FILES[kind])
    with pytest.raises(RecordsFileError, match=r"changes\.csv"):
        read(tmp_path)
    kept = read(tmp_path, mode="lenient")
    assert "changes" not in kept.tables
    assert set(kept.tables) == set(clean.tables) - {"changes"}
    assert len(validate(kept, "strict", now=NOW)["penalties"]) == len(clean["penalties"])
