"""`riskml score`: records from PostgreSQL (or files) in, a grade ledger out, all or nothing.

One small market and one credit champion (trained and promoted in a module home) serve
the module; the database tests use the session PostgreSQL server on loopback.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from typer.testing import CliRunner

import riskml
from riskml.cli import app
from riskml.ledger import read_ledger

SMALL = {"n_estimators": 15}
ONE_SPLIT = {"test_dates": "last 1"}
Q3, Q4 = "2024-07-01", "2024-10-01"


@pytest.fixture(scope="module")
def clean():
    return riskml.records.validate(riskml.synth.make_market(n_entities=800, seed=4).records)


@pytest.fixture(scope="module")
def champion(clean, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RISKML_HOME", str(tmp_path_factory.mktemp("job-home")))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        riskml.train(clean, "credit", params=SMALL, backtest=ONE_SPLIT)
        assert riskml.promote("credit").promoted
        yield os.environ["RISKML_HOME"]


@pytest.fixture
def home(champion, monkeypatch):
    monkeypatch.setenv("RISKML_HOME", champion)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    return champion


def _score(records: str, ledger: str, as_of: str, *extra: str):
    return CliRunner().invoke(app, ["score", "--records", records, "--ledger", ledger, "--as-of", as_of,
                                    "--target", "credit", *extra])


def test_the_job_reads_postgres_publishes_the_quarter_and_a_rerun_adds_nothing(clean, home, database):
    riskml.records.write(clean, database)
    first = _score(database, database, Q3)
    assert first.exit_code == 0, first.output
    ledger = read_ledger(database)
    expected = riskml.predict(clean, model="champion", as_of=Q3, explain=3)
    assert len(ledger) == len(expected) and set(ledger["as_of"]) == {pd.Timestamp(Q3)}
    merged = ledger.merge(expected, on="entity_id", suffixes=("", "_p"))
    assert (merged["grade"] == merged["grade_p"].astype(str)).all()
    assert (merged["warnings"].astype(int) == merged["warnings_p"]).all()
    assert "rows added" in first.output
    again = _score(database, database, Q3)
    assert again.exit_code == 0 and f"0 rows added, {len(ledger):,} already there" in again.output
    assert len(read_ledger(database)) == len(ledger)
    nxt = _score(database, database, Q4)
    assert nxt.exit_code == 0, nxt.output
    run_id = " ".join(nxt.output.split()).split("monitoring run for credit: ")[1].split()[0]
    run = riskml.tracking.configure().client().get_run(run_id)  # logged: score PSI and migration against Q3
    assert run.info.run_name == f"monitor {Q3} -> {Q4}" and "monitor_score_psi" in run.data.metrics
    assert sorted(read_ledger(database)["as_of"].unique()) == [pd.Timestamp(Q3), pd.Timestamp(Q4)]


def test_records_from_postgres_and_from_parquet_publish_the_same_grades(clean, home, database, tmp_path):
    riskml.records.write(clean, database)
    riskml.records.write(clean, tmp_path / "records")
    for source, ledger in ((database, str(tmp_path / "from-db")), (str(tmp_path / "records"), str(tmp_path / "from-files"))):
        result = _score(source, ledger, Q4, "--no-monitor")
        assert result.exit_code == 0, result.output
    a, b = (read_ledger(tmp_path / name).drop(columns="published_at") for name in ("from-db", "from-files"))
    pd.testing.assert_frame_equal(a, b)


def test_a_missing_champion_fails_before_anything_is_published(clean, home, tmp_path):
    riskml.records.write(clean, tmp_path / "records")
    result = CliRunner().invoke(app, ["score", "--records", str(tmp_path / "records"), "--ledger",
                                      str(tmp_path / "ledger"), "--as-of", Q4])  # credit and fraud: no fraud champion
    assert result.exit_code == 1
    assert "champion failed (nothing was published)" in " ".join(result.output.split())
    assert read_ledger(tmp_path / "ledger").empty


def test_an_unreachable_records_database_fails_the_read_step_without_its_password(home, tmp_path):
    result = _score("postgresql://bureau:s3cret@127.0.0.1:1/records", str(tmp_path / "ledger"), Q4)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "read failed (nothing was published)" in text and "postgresql://bureau:***@127.0.0.1:1/records" in text
    assert "s3cret" not in result.output and not (tmp_path / "ledger").exists()


def test_invalid_records_fail_the_job_with_the_problem_named(clean, home, database):
    bad = dict(clean.tables)
    bad["penalties"] = bad["penalties"].assign(amount=-bad["penalties"]["amount"])
    riskml.records.write(riskml.records.from_frames(bad), database)
    result = _score(database, database, Q4)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "validate failed (nothing was published)" in text and "penalties" in text
    assert read_ledger(database).empty


@pytest.mark.server
def test_an_mlflow_server_on_postgres_serves_the_champion_to_the_job(clean, database, tmp_path, monkeypatch,
                                                                      start_mlflow_server):
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE DATABASE mlflow_store")
    store = database.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/mlflow_store"
    options = ["--backend-store-uri", store, "--artifacts-destination", str(tmp_path / "artifacts")]
    try:
        with start_mlflow_server(tmp_path, options) as url:
            monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
            monkeypatch.setenv("RISKML_HOME", str(tmp_path / "unused-home"))
            riskml.tracking._registry.clear_model_cache()
            riskml.train(clean, "credit", params=SMALL, backtest=ONE_SPLIT)
            assert riskml.promote("credit").promoted
            riskml.records.write(clean, database)
            result = _score(database, database, Q4, "--no-monitor")
            assert result.exit_code == 0, result.output
            ledger = read_ledger(database)
            champion = riskml.tracking.resolve_version("credit", alias="champion")
            assert set(ledger["model_version"]) == {str(champion.version)} and len(ledger) > 0
            assert not (tmp_path / "unused-home").exists()  # nothing local: the server holds the model
    finally:
        riskml.tracking._registry.clear_model_cache()
