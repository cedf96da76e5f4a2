"""The grade ledger is append-only, idempotent on rerun, atomic and queryable, in
PostgreSQL (a real server on loopback) and in Parquet."""

from __future__ import annotations

import itertools
import tempfile

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskml
from riskml.ledger import publish, read_ledger
from riskml.ledger._ledger import LEDGER_KEY, ledger_rows
from riskml.monitor import migration_matrix


@pytest.fixture(scope="module")
def quarters():
    """Scores of three quarters from a small trained model (not registered: version 7)."""
    records = riskml.records.validate(riskml.synth.make_market(n_entities=500, seed=2).records)
    result = riskml.train(records, "credit", params={"n_estimators": 15}, backtest={"test_dates": "last 1"},
                          log=False)
    dates = sorted(result.panel.frame["as_of"].unique())[-3:]
    scores = riskml.predict(result.panel, model=result.model, as_of=dates, explain=3)
    return result.model, [scores.loc[scores["as_of"] == d].reset_index(drop=True) for d in dates]


@pytest.fixture(params=["postgres", "parquet"])
def ledger(request, tmp_path):
    if request.param == "postgres":
        return request.getfixturevalue("database")
    return str(tmp_path / "ledger")


def _rows(model, scores, target=None):
    rows = ledger_rows(scores, model, version=7)
    return rows if target is None else rows.assign(target=target)


def test_the_ledger_is_append_only_and_a_rerun_adds_nothing(quarters, ledger):
    model, (q1, q2, _) = quarters
    first = publish(_rows(model, q1), ledger)
    assert (first.added, first.already) == (len(q1), 0)
    before = read_ledger(ledger)
    again = publish(_rows(model, q1), ledger)
    assert (again.added, again.already) == (0, len(q1))
    pd.testing.assert_frame_equal(read_ledger(ledger), before)
    publish(_rows(model, q2), ledger)
    after = read_ledger(ledger)
    assert len(after) == len(q1) + len(q2)
    old = after.loc[after["as_of"] == q1["as_of"].iloc[0]].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, before)  # published rows never change
    assert not after.duplicated(list(LEDGER_KEY)).any()


def test_ledger_rows_carry_grades_reasons_flags_and_the_model(quarters, ledger):
    model, (q1, _, _) = quarters
    publish(q1, ledger, model=model, version=7)
    got = read_ledger(ledger, target="credit").set_index("entity_id").loc[q1["entity_id"]]
    assert got["grade"].tolist() == q1["grade"].astype(str).tolist()
    assert got["score"].to_numpy() == pytest.approx(q1["score"].to_numpy())
    assert got["reason_1_feature"].tolist() == q1["reason_1_feature"].tolist()
    assert got["white_list"].astype(bool).tolist() == q1["white_list"].tolist()
    assert set(got["model_version"]) == {"7"} and got["model_digest"].str.len().eq(64).all()
    one = q1["entity_id"].iloc[0]
    assert read_ledger(ledger, entity_id=one)["entity_id"].tolist() == [one]


def test_a_failure_mid_publish_leaves_no_partial_quarter(quarters, database):
    import psycopg

    model, (q1, _, q3) = quarters
    publish(_rows(model, q1), database)
    with psycopg.connect(database, autocommit=True) as conn:  # the ledger refuses fraud rows from now on
        conn.execute("ALTER TABLE riskml_grade_ledger ADD CONSTRAINT no_fraud CHECK (target <> 'fraud')")
    with pytest.raises(Exception, match="no_fraud"):
        publish([_rows(model, q3), _rows(model, q3, target="fraud")], database)  # credit goes in first
    history = read_ledger(database)
    assert len(history) == len(q1) and set(history["as_of"]) == {q1["as_of"].iloc[0]}


def test_a_failed_parquet_publish_writes_no_file(quarters, tmp_path):
    model, (q1, _, q3) = quarters
    folder = tmp_path / "ledger"
    publish(_rows(model, q1), folder)
    files = sorted(folder.iterdir())
    bad = _rows(model, q3, target="fraud").astype({"score": "float64"})
    bad.loc[len(bad) - 1, "entity_id"] = bad.loc[0, "entity_id"]  # a repeated key, refused before any write
    with pytest.raises(ValueError, match="repeat a key"):
        publish([_rows(model, q3), bad], folder)
    assert sorted(folder.iterdir()) == files


def test_grade_migrations_come_from_the_ledger_history(quarters, ledger):
    model, (q1, q2, _) = quarters
    publish([_rows(model, q1)], ledger)
    publish([_rows(model, q2)], ledger)
    history = read_ledger(ledger, target="credit")
    dates = sorted(history["as_of"].unique())
    from_ledger = migration_matrix(history.loc[history["as_of"] == dates[0]], history.loc[history["as_of"] == dates[1]])
    direct = migration_matrix(q1, q2)
    pd.testing.assert_frame_equal(from_ledger, direct, check_dtype=False, check_names=False)


_tables = itertools.count()


@pytest.mark.parametrize("backend", ["postgres", "parquet"])
@settings(max_examples=15, deadline=None)
@given(batches=st.lists(st.sets(st.integers(0, 29)), min_size=1, max_size=4))
def test_any_sequence_of_overlapping_publishes_keeps_every_row_once(quarters, backend, batches, request):
    model, (q1, _, _) = quarters
    rows = _rows(model, q1).head(30)
    with tempfile.TemporaryDirectory() as folder:
        if backend == "postgres":
            ledger, table = request.getfixturevalue("postgres_url"), f"ledger_{next(_tables)}"
        else:
            ledger, table = folder, "unused"
        added = [publish(rows.iloc[sorted(batch)], ledger, table=table).added for batch in batches]
        union = sorted(set().union(*batches))
        assert sum(added) == len(union)
        got = read_ledger(ledger, table=table)
        expected = rows.iloc[union].sort_values(["as_of", "target", "entity_id", "model_version"], ignore_index=True)
        pd.testing.assert_frame_equal(got.drop(columns="published_at"), expected.drop(columns="published_at"),
                                      check_dtype=False)
