"""Rule warnings fire exactly on hand-built records, point in time."""

from __future__ import annotations

import pandas as pd
import pytest

from riskml import SpecError
from riskml.monitor import rule_warnings
from riskml.monitor._warnings import load_warning_rules

AS_OF = pd.Timestamp("2024-01-01")


@pytest.fixture
def records() -> dict[str, pd.DataFrame]:
    ids = [f"E{i:07d}" for i in range(1, 7)]
    entities = pd.DataFrame({
        "entity_id": pd.Series(ids, dtype="str"),
        "established": pd.to_datetime(["2015-01-01"] * 6),
        "deregistered": pd.to_datetime([None] * 5 + ["2023-01-01"]),
    })
    reports = pd.DataFrame({
        "report_id": ["R1", "R2", "R3", "R4", "R5"],
        "entity_id": ["E0000001", "E0000002", "E0000003", "E0000004", "E0000006"],
        "filed": pd.to_datetime(["2023-05-01", "2023-05-01", "2022-05-01", "2024-01-01", "2022-12-01"]),
        "all_zero": [True, False, True, True, True],
    })  # R1 fires; R2 is not all-zero; R3 is too old; R4 is known on as_of; E6 is deregistered
    abnormal = pd.DataFrame({
        "listing_id": ["A1", "A2", "A3", "A4"],
        "entity_id": ["E0000001", "E0000002", "E0000003", "E0000004"],
        "entered": pd.to_datetime(["2023-03-01", "2022-03-01", "2023-03-01", "2024-02-01"]),
        "exited": pd.to_datetime([None, "2023-06-01", "2024-01-01", None]),
    })  # A1 open; A2 exited; A3 exits on as_of (still open that day); A4 entered later
    licences = pd.DataFrame({
        "licence_id": ["L1", "L2", "L3", "L4", "L5"],
        "entity_id": ["E0000001", "E0000002", "E0000003", "E0000004", "E0000005"],
        "issued": pd.to_datetime(["2021-01-01"] * 5),
        "expiry": pd.to_datetime(["2024-01-01", "2024-01-30", "2024-01-31", "2024-03-30", "2023-12-31"]),
        "revoked": pd.to_datetime([None, None, None, None, None]),
    })  # L1 day 0 and L2 day 29: 30d; L3 day 30 and L4 day 89: 90d; L5 already expired
    licences.loc[1, "revoked"] = pd.Timestamp("2023-11-01")  # L2 revoked: no warning
    return {"entities": entities, "annual_reports": reports, "abnormal_list": abnormal,
            "serious_violations": abnormal.iloc[:0], "licences": licences}


def test_rule_warnings_fire_exactly_on_the_matching_records(records):
    out = rule_warnings(records, AS_OF)
    hits = set(zip(out["rule"], out["record_id"], strict=True))
    assert hits == {
        ("all_zero_annual_report", "R1"),
        ("abnormal_list", "A1"),
        ("abnormal_list", "A3"),
        ("licence_expiring_30d", "L1"),
        ("licence_expiring_90d", "L3"),
        ("licence_expiring_90d", "L4"),
    }
    row = out.loc[out["record_id"] == "L4"].iloc[0]
    assert row["entity_id"] == "E0000004" and row["source"] == "licences"
    assert row["date"] == pd.Timestamp("2024-03-30") and row["label_zh"] == "许可证30至90日内到期"
    assert (out["as_of"] == AS_OF).all()


def test_rule_warnings_are_point_in_time_across_dates(records):
    out = rule_warnings(records, ["2024-01-01", "2024-03-01"])
    later = out.loc[out["as_of"] == "2024-03-01"]
    # by March A4 is known and open, A3 has exited, R4 is known
    assert {"A1", "A4", "R4", "R1"} <= set(later["record_id"])
    assert "A3" not in set(later["record_id"])


def test_custom_rules_are_validated_against_the_sources(records):
    out = rule_warnings(records, AS_OF, {"rules": [{"name": "recent_report", "source": "annual_reports",
                                                    "known_within_days": 300}]})
    assert set(out["record_id"]) == {"R1", "R2"}
    with pytest.raises(SpecError, match="declared source"):
        load_warning_rules({"rules": [{"name": "x", "source": "visits"}]})
    with pytest.raises(SpecError, match="date column"):
        load_warning_rules({"rules": [{"name": "x", "source": "licences", "date": {"column": "licence_type", "max_days": 3}}]})
    with pytest.raises(SpecError, match="valid_to"):
        load_warning_rules({"rules": [{"name": "x", "source": "penalties", "open": True}]})


def test_no_hits_give_an_empty_frame_with_the_documented_columns(records):
    out = rule_warnings(records, "2010-01-01")
    assert len(out) == 0 and list(out.columns) == ["entity_id", "as_of", "rule", "source", "record_id", "date",
                                                    "label_zh", "label_en"]
