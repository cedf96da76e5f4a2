"""The command line, verb by verb, on a small synthetic market written to disk."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from riskml.cli import app

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RISKML_HOME", str(folder / "home"))
        patch.chdir(folder)
        yield folder


@pytest.fixture(scope="module")
def records_dir(workdir):
    out = workdir / "records"
    output = _ok("synth", "--entities", "1500", "--years", "6", "--seed", "2", "--out", str(out))
    assert "penalties" in output
    return out


def test_synth_writes_one_file_per_source_and_nothing_personal(records_dir):
    files = {p.stem for p in records_dir.glob("*.parquet")}
    assert {"entities", "penalties", "invoices", "tax_cases"} <= files
    entities = pd.read_parquet(records_dir / "entities.parquet")
    assert entities["legal_rep_id"].str.startswith("p_").all()


def test_validate_reports_counts_and_fails_on_bad_records(records_dir, tmp_path):
    assert "n_kept" in _ok("validate", str(records_dir))
    bad = tmp_path / "bad"
    bad.mkdir()
    for path in records_dir.glob("*.parquet"):
        (bad / path.name).write_bytes(path.read_bytes())
    penalties = pd.read_parquet(bad / "penalties.parquet")
    penalties.loc[0, "amount"] = -5.0
    penalties.to_parquet(bad / "penalties.parquet", index=False)
    strict = runner.invoke(app, ["validate", str(bad)])
    assert strict.exit_code == 1 and "amount" in strict.output
    lenient = _ok("validate", str(bad), "--lenient", "--quarantine", str(tmp_path / "q.parquet"))
    assert "1 rows quarantined" in lenient
    assert len(pd.read_parquet(tmp_path / "q.parquet")) == 1


def test_panel_train_promote_predict_explain_plan_monitor(records_dir, workdir):
    _ok("panel", str(records_dir), "--out", str(workdir / "panel.parquet"))
    assert len(pd.read_parquet(workdir / "panel.parquet")) > 1500
    # few trees and two test dates: the verbs' flow, not the model's quality, is under test
    assert "challenger" in _ok("train", str(records_dir), "--target", "credit", "--params", '{"n_estimators": 20}',
                               "--backtest", '{"test_dates": "last 2"}')
    assert "promoted to champion" in _ok("promote", "--target", "credit")

    _ok("predict", "--records", str(records_dir), "--out", str(workdir / "scores.parquet"))
    scores = pd.read_parquet(workdir / "scores.parquet")
    assert set(scores["grade"].astype(str)) <= {"A", "B", "C", "D"}

    worst = scores.sort_values(["score", "entity_id"]).iloc[0]
    as_of = str(pd.Timestamp(worst["as_of"]).date())
    report = workdir / "report.html"
    assert "grade" in _ok("explain", worst["entity_id"], "--as-of", as_of, "--records", str(records_dir),
                          "--out", str(report))
    assert worst["entity_id"] in report.read_text(encoding="utf-8")

    pool = workdir / "inspectors.txt"
    pool.write_text("\n".join(f"I{i:02d}" for i in range(10)), encoding="utf-8")
    _ok("plan", str(workdir / "scores.parquet"), "--records", str(records_dir), "--rate", "D=0.9", "--rate", "C=0.3",
        "--rate", "B=0.1", "--rate", "A=0.03", "--blind-spots", "5", "--inspectors", str(pool),
        "--out", str(workdir / "plan.csv"))
    plan = pd.read_csv(workdir / "plan.csv")
    assert (plan["reason"] == "blind_spot").sum() == 5 and plan["inspector"].notna().all()

    previous = scores.assign(as_of=pd.Timestamp(worst["as_of"]) - pd.DateOffset(months=3))
    previous.to_parquet(workdir / "previous.parquet", index=False)
    assert "score PSI" in _ok("monitor", str(workdir / "previous.parquet"), str(workdir / "scores.parquet"),
                              "--log", "--target", "credit")


def test_an_error_the_user_can_act_on_is_a_message_and_exit_code_1(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RISKML_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RISKML_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("RISKML_TRACEBACK", raising=False)
    no_key = runner.invoke(app, ["synth", "--out", str(tmp_path / "market"), "--entities", "30"])
    assert no_key.exit_code == 1
    assert "Error: personal data needs a pseudonymisation key" in no_key.output
    assert "RISKML_PSEUDONYM_KEY" in no_key.output and "Traceback" not in no_key.output
    assert isinstance(no_key.exception, SystemExit)  # a clean exit, not an exception escaping

    missing = runner.invoke(app, ["train", str(tmp_path / "no-such-folder")])
    assert missing.exit_code == 1
    assert "Error:" in missing.output and "no-such-folder" in missing.output


def test_riskml_traceback_lets_the_error_through(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RISKML_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RISKML_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("RISKML_TRACEBACK", "1")
    result = runner.invoke(app, ["synth", "--out", str(tmp_path / "market"), "--entities", "30"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError) and "pseudonymisation key" in str(result.exception)
