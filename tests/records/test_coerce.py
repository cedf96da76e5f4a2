"""Records are coerced once on the way in: validation takes the reader's coerced columns as they are."""

from __future__ import annotations

import tempfile

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from riskml.records import from_frames, validate
from riskml.records._io import to_parquet
from riskml.records._sources import ColumnSpec
from riskml.records._coerce import coerced_or_parse

from records_fixtures import NOW, make_frames


def test_the_reader_marks_the_columns_it_coerced_and_validation_takes_them_as_they_are():
    raw = from_frames(make_frames())
    table = raw["changes"]
    assert table["changed"].dtype == "datetime64[ns]"
    taken = coerced_or_parse(table, "changed", ColumnSpec(type="date"))
    # taken as it is: the very same data, no parse (a parse names its reason)
    assert np.shares_memory(taken.values.to_numpy(), table["changed"].to_numpy())
    assert taken.reason is None and not taken.bad.any()
    unmarked = table.copy()
    unmarked.attrs = {}
    assert coerced_or_parse(unmarked, "changed", ColumnSpec(type="date")).reason == "unparseable_date"


def test_a_column_the_reader_could_not_parse_is_parsed_and_reported_by_validation():
    frames = make_frames()
    changes = frames["changes"].astype({"changed": object})
    changes.loc[0, "changed"] = "1 March"
    frames["changes"] = changes
    raw = from_frames(frames)
    assert raw["changes"]["changed"].dtype == object  # kept as given
    clean = validate(raw, mode="lenient", now=NOW, key="a-test-key-of-enough-length-0123")
    reasons = clean.quarantine.query("source == 'changes'")["reason"].tolist()
    assert reasons == ["unparseable_date"]


def test_a_column_replaced_after_reading_is_parsed_again():
    raw = from_frames(make_frames())
    changes = raw["changes"]
    changes["changed"] = pd.Series(["1 March"] * len(changes), dtype=object)  # keeps the table's mark
    clean = validate(raw, mode="lenient", now=NOW, key="a-test-key-of-enough-length-0123")
    counts = clean.counts.set_index("source").loc["changes"]
    assert counts["n_kept"] == 0 and counts["n_quarantined"] == len(changes)


def test_a_blank_text_edited_in_after_reading_is_still_a_missing_value():
    raw = from_frames(make_frames())
    changes = raw["changes"]
    text = next(c for c in changes.columns if changes[c].dtype == "str" and changes[c].notna().all())
    changes.loc[changes.index[0], text] = "  "  # in place: the dtype and the mark stay
    taken = coerced_or_parse(changes, text, ColumnSpec(type="str"))
    assert pd.isna(taken.values.iloc[0]) and taken.values.iloc[1:].notna().all()


def test_the_mark_is_not_written_to_parquet():
    raw = from_frames(make_frames())
    assert raw["changes"].attrs
    with tempfile.TemporaryDirectory() as folder:
        to_parquet(raw["changes"], f"{folder}/changes.parquet")
        metadata = pq.read_schema(f"{folder}/changes.parquet").metadata or {}
        assert b"riskml.coerced" not in b"".join(metadata.values())
