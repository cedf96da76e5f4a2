"""Every verb on an 80-column terminal: tables stay readable (no cut cell), dates print
as dates, ``--format csv|json`` pipes cleanly, and each monitor warning prints once."""

from __future__ import annotations

import io
import itertools
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from riskml.cli import app

runner = CliRunner()
WIDTH = 80


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout  # progress bars go to stderr


def _readable(output: str) -> None:
    assert "…" not in output
    long = [line for line in output.splitlines() if len(line) > WIDTH]
    assert not long, long
    assert "00:00:00" not in output


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-verbs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RISKML_HOME", str(folder / "home"))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(folder)
        # a fifth of the enterprises are shells, so the small market holds fraud cases to train on
        printed = {"synth": _ok("synth", "--entities", "1200", "--years", "6", "--seed", "3", "--shell-share", "0.2",
                                "--out", "records")}
        train = _ok("train", "records", "--params", '{"n_estimators": 20}', "--backtest", '{"test_dates": "last 2"}')
        printed["promote"] = _ok("promote")
        printed["predict"] = _ok("predict", "--records", "records", "--out", "scores.parquet", "--as-of", "2024-07-01",
                                 "--as-of", "2024-10-01")
        yield folder, train, printed


def test_train_takes_params_backtest_and_prints_its_table_at_80_columns(work):
    _, output, _ = work
    _readable(output)
    assert "2023-10-01" in output and "2024-01-01" in output  # the two test dates, as dates
    assert "auc" in output and "registered riskml-credit as challenger" in " ".join(output.split())


def test_train_as_of_builds_the_panel_on_the_given_dates_only(work, tmp_path):
    out = _ok("train", "records", "--params", '{"n_estimators": 5}', "--backtest", '{"test_dates": "last 1"}',
              *[arg for d in [*pd.date_range("2020-01-01", "2022-10-01", freq="QS").strftime("%Y-%m-%d"), "2023-10-01"]
                for arg in ("--as-of", d)], "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert set(table["split"]) == {"2023-10-01"}


def test_predict_scores_every_asked_date_and_prints_grades_per_date(work):
    folder, _, _ = work
    scores = pd.read_parquet(folder / "scores.parquet")
    assert sorted(scores["as_of"].dt.strftime("%Y-%m-%d").unique()) == ["2024-07-01", "2024-10-01"]
    assert {"white_list", "warnings"} <= set(scores.columns)
    out = _ok("predict", "--records", "records", "--out", "again.parquet", "--format", "json")
    rows = json.loads(out)
    assert {r["as_of"] for r in rows} == {"2025-01-01"} and {"grade", "entities"} <= set(rows[0])


def test_predict_fraud_without_a_fraud_champion_fails_with_a_message(work):
    result = runner.invoke(app, ["predict", "--records", "records", "--fraud"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 1
    assert "cannot score" in result.output and "riskml-fraud" in " ".join(result.output.split())


def test_warnings_lists_rule_hits_with_dates(work):
    out = _ok("warnings", "records", "--as-of", "2024-10-01")
    _readable(out)
    assert "Rule warnings:" in out and "2024-10-01" in out
    csv = pd.read_csv(io.StringIO(_ok("warnings", "records", "--as-of", "2024-10-01", "--format", "csv")))
    assert list(csv.columns) == ["entity_id", "as_of", "rule", "record_id", "date", "label_en"]
    assert len(csv) == int(out.split("Rule warnings: ")[1].split()[0].replace(",", ""))


def test_white_list_prints_the_listed_entities(work):
    folder, _, _ = work
    scores = pd.read_parquet(folder / "scores.parquet")
    out = _ok("white-list", "scores.parquet", "--format", "csv")
    listed = pd.read_csv(io.StringIO(out))
    assert len(listed) == int(scores["white_list"].sum()) > 0
    _readable(_ok("white-list", "scores.parquet"))


def test_blind_spots_ranks_untouched_risky_entities(work):
    out = _ok("blind-spots", "scores.parquet", "--records", "records", "--top", "5")
    _readable(out)
    rows = json.loads(_ok("blind-spots", "scores.parquet", "--records", "records", "--top", "5", "--format", "json"))
    assert 0 < len(rows) <= 10 and {r["rank"] for r in rows} <= {1, 2, 3, 4, 5}


def test_evaluate_plan_compares_strategies_at_the_same_budget(work):
    out = _ok("evaluate-plan", "scores.parquet", "--truth", "records/_truth/entity_quarters.parquet")
    _readable(out)
    rows = pd.read_csv(io.StringIO(_ok("evaluate-plan", "scores.parquet", "--truth",
                                       "records/_truth/entity_quarters.parquet", "--format", "csv")))
    assert set(rows["strategy"]) == {"risk_ranked", "random", "grade_rate"}
    assert rows.groupby("as_of")["inspections"].nunique().eq(1).all()


def test_monitor_prints_each_warning_once(work):
    folder, _, _ = work
    scores = pd.read_parquet(folder / "scores.parquet")
    for when in ("2024-07-01", "2024-10-01"):
        scores.loc[scores["as_of"] == when].to_parquet(folder / f"q-{when}.parquet")
    shifted = scores.loc[scores["as_of"] == "2024-10-01"].assign(score=lambda f: f["score"] - 80)
    shifted.to_parquet(folder / "shifted.parquet")
    result = runner.invoke(app, ["monitor", "q-2024-07-01.parquet", "shifted.parquet"], env={"COLUMNS": str(WIDTH)})
    assert result.exit_code == 0, result.output
    _readable(result.stdout)
    csv = pd.read_csv(io.StringIO(_ok("monitor", "q-2024-07-01.parquet", "shifted.parquet", "--format", "csv")))
    assert len(csv) > 0
    for message in csv["message"]:
        assert " ".join(result.output.split()).count(" ".join(message.split()[:6])) == 1


def test_tables_wider_than_the_terminal_split_into_column_groups_without_cutting_cells():
    from riskml.cli import _column_groups

    groups = _column_groups([10, 30, 30, 30, 5], keys=1, room=75)
    assert groups == [[0, 1, 2], [0, 3, 4]]
    assert all(sum([10, 30, 30, 30, 5][i] for i in g) <= 75 for g in groups)


@settings(max_examples=200, deadline=None)
@given(widths=st.lists(st.integers(1, 60), min_size=1, max_size=25), keys=st.integers(0, 3),
       room=st.integers(20, 200))
def test_column_groups_show_every_column_once_behind_the_keys_within_the_room(widths, keys, room):
    from riskml.cli import _column_groups

    keys = min(keys, len(widths))
    groups = _column_groups(widths, keys, room)
    assert all(g[:keys] == list(range(keys)) for g in groups)
    shown = [i for g in groups for i in g[keys:]]
    assert shown == list(range(keys, len(widths)))  # each column once, in order
    for g in groups:  # a group overflows only when a single column does not fit beside the keys
        assert sum(widths[i] for i in g) <= room or len(g) - keys <= 1
    assert len(groups) == 1 or all(g[keys:] for g in groups)
    # packed greedily: the next group's first column would not have fitted in this one
    assert all(sum(widths[i] for i in (*g, h[keys])) > room for g, h in itertools.pairwise(groups))


def test_the_other_verbs_stay_readable_at_80_columns(work):
    folder, _, _ = work
    _readable(_ok("validate", "records"))
    _readable(_ok("panel", "records", "--as-of", "2024-10-01", "--out", "panel.parquet"))
    scores = pd.read_parquet(folder / "scores.parquet")
    scores.loc[scores["as_of"] == "2024-10-01"].to_parquet(folder / "latest.parquet")
    _readable(_ok("plan", "latest.parquet", "--records", "records", "--blind-spots", "3", "--out", "plan.csv"))
    worst = scores.sort_values("score").iloc[0]
    out = _ok("explain", worst["entity_id"], "--as-of", str(worst["as_of"].date()), "--records", "records",
              "--out", "report.html")
    _readable(out)
    assert (folder / "report.html").exists()


def test_synth_promote_and_predict_print_readably_at_80_columns(work):
    _, _, printed = work
    for output in printed.values():
        _readable(output)
    assert "tax_cases" in printed["synth"] and "promoted to champion" in printed["promote"]
    assert "2024-07-01" in printed["predict"] and "2024-10-01" in printed["predict"]


def test_score_publishes_the_quarter_and_prints_readably_at_80_columns(work):
    folder, _, _ = work
    out = _ok("score", "--records", "records", "--ledger", "ledger", "--as-of", "2024-10-01", "--target", "credit")
    _readable(out)
    ledger = pd.read_parquet(folder / "ledger")
    scores = pd.read_parquet(folder / "scores.parquet")
    scores = scores.loc[scores["as_of"] == pd.Timestamp("2024-10-01")]
    assert len(ledger) == len(scores) and set(ledger["target"]) == {"credit"}
    text = " ".join(out.split())
    assert f"{len(scores):,} entities scored at 2024-10-01" in text and "steps (s): read" in text
    again = " ".join(_ok("score", "--records", "records", "--ledger", "ledger", "--as-of", "2024-10-01",
                         "--target", "credit").split())
    assert f"ledger: 0 rows added, {len(scores):,} already there" in again


@pytest.fixture(scope="module")
def fraud_champion(work):
    """A fraud model made champion by hand: on 1,200 entities the promotion gate refuses it."""
    import riskml

    _ok("train", "records", "--target", "fraud", "--params", '{"n_estimators": 20}',
        "--backtest", '{"test_dates": "last 1"}')
    refused = runner.invoke(app, ["promote", "--target", "fraud"], env={"COLUMNS": str(WIDTH)})
    unscored = runner.invoke(app, ["predict", "--records", "records", "--fraud"], env={"COLUMNS": str(WIDTH)})
    version = riskml.tracking.resolve_version("fraud", alias="challenger").version
    riskml.tracking.configure().client().set_registered_model_alias("riskml-fraud", "champion", version)
    return refused, unscored


def test_promotion_and_prediction_say_a_fraud_model_has_too_few_confirmed_cases(fraud_champion):
    refused, unscored = fraud_champion
    assert refused.exit_code == 1 and unscored.exit_code == 1
    _readable(refused.stdout)
    text = " ".join(refused.stdout.split())
    assert "fail enough_confirmed_cases: too few confirmed cases to evaluate on all entities: " in text
    assert "None" not in text and "not promoted" in text
    _readable(unscored.stdout)
    said = " ".join(unscored.stdout.split())
    assert "riskml-fraud has no champion: too few confirmed cases to evaluate on " in said and "; need 10" in said


def test_predict_fraud_adds_the_fraud_champions_scores(work, fraud_champion):
    import riskml

    out = _ok("predict", "--records", "records", "--fraud", "--as-of", "2024-10-01", "--out", "both.parquet")
    _readable(out)
    assert "fraud" in out.splitlines()[2]  # the grade table's header names the fraud column
    folder, _, _ = work
    both = pd.read_parquet(folder / "both.parquet")
    fraud = riskml.predict(riskml.records.read(folder / "records"), target="fraud", as_of="2024-10-01", explain=0)
    merged = both.merge(fraud, on="entity_id", suffixes=("", "_f"))
    assert len(merged) == len(both) == len(fraud)
    assert merged["fraud_probability"].to_numpy() == pytest.approx(merged["probability_f"].to_numpy())
    assert (merged["fraud_grade"].astype(str) == merged["grade_f"].astype(str)).all()
    rows = pd.read_csv(io.StringIO(_ok("predict", "--records", "records", "--fraud", "--as-of", "2024-10-01",
                                       "--out", "both.parquet", "--format", "csv")))
    counted = rows.set_index("grade")["fraud"]
    assert counted.to_dict() == both["fraud_grade"].astype(str).value_counts().reindex(counted.index).to_dict()


def test_score_publishes_both_targets_with_their_champions(work, fraud_champion):
    folder, _, _ = work
    out = _ok("score", "--records", "records", "--ledger", "ledger-both", "--as-of", "2024-10-01", "--no-monitor")
    _readable(out)
    ledger = pd.read_parquet(folder / "ledger-both")
    both = pd.read_parquet(folder / "both.parquet")
    assert ledger.groupby("target").size().to_dict() == {"credit": len(both), "fraud": len(both)}
    fraud = ledger.loc[ledger["target"] == "fraud"].merge(both, on="entity_id")
    assert fraud["probability_x"].to_numpy() == pytest.approx(fraud["fraud_probability"].to_numpy())


def test_the_demo_table_folds_a_long_cell_instead_of_cutting_it():
    from rich.console import Console

    from riskml._demo import _table

    frame = pd.DataFrame({"entity_id": ["E0000001"], "top reason": ["x" * 150], "when": [pd.Timestamp("2024-10-01")]})
    console = Console(width=WIDTH, record=True, file=io.StringIO())
    console.print(_table("Blind spots", frame))
    text = console.export_text()
    _readable(text)
    assert "".join(line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 4) == "x" * 150


@pytest.mark.slow
def test_demo_prints_readably_at_80_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKML_HOME", str(tmp_path / "home"))
    out = _ok("demo", "--entities", "500", "--seed", "1")
    _readable(out)
    assert "Top 10 blind spots" in out and "Inspection plan" in out


def test_tune_takes_a_backtest_and_prints_readably_at_80_columns(work):
    out = _ok("tune", "records", "--trials", "1", "--backtest", '{"test_dates": "last 1"}')
    _readable(out)
    assert "best backtest AUC" in out and "MLflow parent run" in out


def test_every_parquet_file_the_verbs_wrote_has_microsecond_timestamps(work):
    import pyarrow.parquet as pq

    folder, _, _ = work
    written = sorted(folder.glob("*.parquet")) + sorted(folder.glob("ledger*/*.parquet"))
    names = {p.name for p in written} | {p.parent.name for p in written}
    assert {"scores.parquet", "both.parquet", "panel.parquet", "ledger", "ledger-both"} <= names
    stamps = {(p.name, f.name): str(f.type) for p in written for f in pq.read_schema(p)
              if str(f.type).startswith("timestamp")}
    assert stamps and all(t.startswith("timestamp[us") for t in stamps.values()), stamps  # Spark refuses NANOS
