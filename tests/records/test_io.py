"""Reading and writing records folders: round trips, undeclared files, refusals."""

from __future__ import annotations

import pandas as pd
import pytest
from records_fixtures import NOW

from riskml.records import PrivacyError, from_frames, load_sources, read, validate, write

CATALOG = load_sources()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_then_read_round_trip_preserves_values_and_dtypes(frames, tmp_path, fmt):
    clean = validate(from_frames(frames), now=NOW)
    written = write(clean, tmp_path, format=fmt)
    assert sorted(p.name for p in written) == sorted(f"{name}.{fmt}" for name in clean)
    back = read(tmp_path)
    assert back.pseudonymised and not back.validated
    for name in clean:
        pd.testing.assert_frame_equal(back[name], clean[name])
    # Validating again is stable: pseudonyms are not hashed twice.
    again = validate(back, now=NOW)
    for name in clean:
        pd.testing.assert_frame_equal(again[name], clean[name])


def test_read_keeps_unparseable_values_as_given_for_validate_to_report(frames, tmp_path):
    clean = validate(from_frames(frames), now=NOW)
    write(clean, tmp_path, format="csv")
    text = (tmp_path / "penalties.csv").read_text(encoding="utf-8").splitlines()
    head = text[0].split(",")
    row = text[1].split(",")
    row[head.index("amount")] = "twelve"
    (tmp_path / "penalties.csv").write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n", encoding="utf-8")
    raw = read(tmp_path)
    assert raw["penalties"]["amount"].iloc[0] == "twelve"
    assert str(raw["penalties"]["decided"].dtype) == "datetime64[ns]"  # parseable columns are coerced
    lenient = validate(raw, "lenient", now=NOW)
    assert lenient.quarantine[["source", "column", "reason", "value"]].values.tolist() == [["penalties", "amount", "wrong_type", "twelve"]]


def test_a_file_for_an_undeclared_source_is_kept_for_validate(frames, tmp_path):
    write(validate(from_frames(frames), now=NOW), tmp_path)
    pd.DataFrame({"entity_id": ["E0000001"], "x": [1]}).to_csv(tmp_path / "gossip.csv", index=False)
    (tmp_path / "README.txt").write_text("not a source")
    (tmp_path / "_notes.csv").write_text("a,b\n1,2\n")
    raw = read(tmp_path)
    assert "gossip" in raw and "README" not in raw and "_notes" not in raw
    with pytest.raises(ValueError, match="gossip: undeclared_source in 1 row"):
        validate(raw, now=NOW)


def test_two_files_for_one_source_are_refused(tmp_path, frames):
    frames["changes"].to_csv(tmp_path / "changes.csv", index=False)
    frames["changes"].to_parquet(tmp_path / "changes.parquet")
    with pytest.raises(ValueError, match="source 'changes' has two files"):
        read(tmp_path)


def test_reading_a_missing_or_empty_folder_says_what_was_given(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="no <source>.parquet or <source>.csv files"):
        read(tmp_path)


def test_read_accepts_a_mapping_of_frames(frames):
    assert sorted(read(frames)) == sorted(frames)


def test_from_frames_coerces_declared_dtypes_and_leaves_inputs_alone(frames):
    text = frames["changes"].astype(str)
    raw = from_frames({"changes": text})
    assert str(raw["changes"]["changed"].dtype) == "datetime64[ns]"
    assert list(raw["changes"]["change_type"].cat.categories) == list(CATALOG["changes"].columns["change_type"].categories)
    assert text["changed"].dtype == "str"


def test_write_refuses_undeclared_sources_and_columns(frames, tmp_path):
    raw = from_frames({"gossip": pd.DataFrame({"who": ["someone"]})})
    with pytest.raises(PrivacyError, match=r"undeclared source\(s\) \['gossip'\]"):
        write(raw, tmp_path)
    raw = from_frames({"changes": frames["changes"].assign(note="x")})
    with pytest.raises(PrivacyError, match=r"undeclared column\(s\) \{'changes': \['note'\]\}"):
        write(raw, tmp_path)


def test_write_rejects_an_unknown_format(frames, tmp_path):
    with pytest.raises(ValueError, match=r"format must be one of \('parquet', 'csv'\), got 'xlsx'"):
        write(validate(from_frames(frames), now=NOW), tmp_path, format="xlsx")  # type: ignore[arg-type]
