"""Records from a PostgreSQL database equal the same records from Parquet, and an
incremental read brings only the records known since the last run."""

from __future__ import annotations

import pandas as pd
import pytest

import riskml
from riskml.records import read, validate, write


@pytest.fixture(scope="module")
def clean():
    return validate(riskml.synth.make_market(n_entities=300, seed=5).records)


def _same(left, right) -> None:
    assert sorted(left.tables) == sorted(right.tables)
    for name in left.tables:
        key = left.catalog[name].record_id if name in left.catalog and left.catalog[name].record_id else None
        a, b = left[name], right[name]
        if key:
            a = a.sort_values(key, ignore_index=True)
            b = b.sort_values(key, ignore_index=True)
        pd.testing.assert_frame_equal(a, b, check_like=False, obj=name)


def test_records_from_tables_equal_the_same_records_from_parquet(clean, database, tmp_path):
    write(clean, tmp_path)
    write(clean, database)
    from_files = validate(read(tmp_path))
    from_db = validate(read(database))
    _same(from_files, from_db)
    by_source = [c.set_index("source").sort_index() for c in (from_db.counts, from_files.counts)]
    pd.testing.assert_frame_equal(*by_source)


def test_a_query_can_stand_for_a_table_and_its_bad_rows_are_quarantined_as_from_files(clean, database):
    write(clean, database)
    penalties = clean["penalties"]
    doubled = "SELECT * FROM penalties UNION ALL (SELECT * FROM penalties ORDER BY penalty_id LIMIT 1)"
    raw = read(database, tables={"penalties": doubled, "entities": "entities"})
    assert sorted(raw.tables) == ["entities", "penalties"]
    same = riskml.records.from_frames({
        "penalties": pd.concat([penalties, penalties.sort_values("penalty_id").head(1)]), "entities": clean["entities"]})
    from_db, from_frames = validate(raw, mode="lenient"), validate(same, mode="lenient")
    assert len(from_db.quarantine) == len(from_frames.quarantine) > 0
    assert sorted(from_db.quarantine["reason"]) == sorted(from_frames.quarantine["reason"])
    assert int(from_db.counts["n_kept"].sum()) + len(from_db.quarantine) == raw.n_records


def test_an_incremental_read_brings_only_records_known_since_the_last_run(clean, database):
    cut = pd.Timestamp("2024-01-01")
    before = {name: t.loc[t[clean.catalog[name].known_at] < cut] for name, t in clean.tables.items()}
    write(riskml.records.from_frames(before), database)
    first = validate(read(database))
    assert first.n_records == sum(map(len, before.values()))
    new = {name: t.loc[t[clean.catalog[name].known_at] >= cut] for name, t in clean.tables.items()}
    from riskml.records._database import write_database

    write_database(database, {n: t for n, t in new.items() if len(t)}, mode="append")
    increment = read(database, since=cut)
    assert increment.n_records == sum(map(len, new.values())) > 0
    for name, table in increment.tables.items():
        assert (table[clean.catalog[name].known_at] >= cut).all()
    assert set(increment["penalties"]["penalty_id"]) == set(new["penalties"]["penalty_id"])


def test_an_unreachable_database_is_named_without_its_password():
    with pytest.raises(ConnectionError, match=r"cannot connect to postgresql://bureau:\*\*\*@127.0.0.1:1/records"):
        read("postgresql://bureau:s3cret@127.0.0.1:1/records")
