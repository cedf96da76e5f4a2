"""The ``riskml`` command line: the library's verbs for scheduled jobs and shells.

``riskml synth | validate | panel | train | tune | promote | predict | score | explain |
plan | warnings | white-list | blind-spots | evaluate-plan | monitor | demo``.
Every command prints a short summary with rich and shows progress on long work. Tables
take ``--format table|csv|json``: a table wider than the terminal (80 columns in a
pipe) is split into column groups that repeat the key columns, so no cell is cut;
dates print as dates.

A failure the user can act on (bad records or specs, a missing model, an unreachable
server, a missing file or optional package) prints ``Error: <what and what to do>``
and exits with code 1, never a traceback; ``RISKML_TRACEBACK=1`` shows where it failed.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import pandas as pd
import typer
import yaml
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from riskml import records as rec
from riskml._demo import run_demo
from riskml._job import ScoringJobError, score_quarter
from riskml._pipeline import latest_quarter
from riskml._pipeline import predict as _predict
from riskml._pipeline import promote as _promote
from riskml._pipeline import train as _train
from riskml._tune import tune as _tune
from riskml.explain._verb import explain as _explain
from riskml.features import build_panel, load_feature_spec
from riskml.monitor import monitor as _monitor
from riskml.monitor import rule_warnings
from riskml.ranking import blind_spots, evaluate_plan, inspection_plan
from riskml.records import neutralise_formulas
from riskml.records._boundary import as_records
from riskml.records._io import to_parquet
from riskml.records._spreadsheet import restore_formulas, write_csv
from riskml.synth import make_market
from riskml.tracking import load_model

# What a user can act on: riskml's own errors derive from these (RecordsError, SpecError,
# ModelFileError, ... are ValueErrors; TrackingUnreachableError a ConnectionError;
# ScoringJobError a RuntimeError); a missing optional package is an ImportError.
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError, OSError, RuntimeError, ImportError)


def _error_text(exc: BaseException) -> str:
    """The message of ``exc`` as a user reads it (a KeyError's argument without its quotes)."""
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return text or type(exc).__name__


class _Commands(TyperGroup):
    """The verbs, each run so that an error the user can act on is a message, not a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except USER_ERRORS as exc:
            if os.environ.get("RISKML_TRACEBACK"):
                raise
            errors.print(f"[red]Error[/red]: {escape(_error_text(exc))}\n(RISKML_TRACEBACK=1 shows where it failed)")
            raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    help="riskml: credit-risk grades, fraud warnings and inspection priorities from supervision records.",
)
console = Console()
errors = Console(stderr=True)


class OutputFormat(str, enum.Enum):
    """How a command prints its table."""

    table = "table"
    csv = "csv"
    json = "json"


FormatOption = Annotated[OutputFormat, typer.Option("--format", help="table (readable), csv or json (for pipes).")]


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


def _printable(frame):  # type: ignore[no-untyped-def]
    """Cells as text: dates without a time of day as dates, floats to 4 significant places."""
    out = {}
    for col in frame.columns:
        values = frame[col]
        if values.dtype.kind == "M":
            stamps = pd.to_datetime(values)
            midnight = stamps.dropna().eq(stamps.dropna().dt.normalize()).all()
            text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
            out[col] = text.where(stamps.notna(), "")
        elif values.dtype.kind == "f":
            out[col] = values.map(lambda v: "" if pd.isna(v) else f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}")
        elif values.dtype.kind in "iu":
            out[col] = values.map(lambda v: f"{v:,}")
        else:
            out[col] = values.astype("str").where(values.notna(), "")
    return pd.DataFrame(out, index=frame.index)


def _column_groups(widths: list[int], keys: int, room: int) -> list[list[int]]:
    """Column positions per printed table: the first ``keys`` in each, the rest packed to fit ``room``."""
    key_width = sum(widths[:keys])
    groups: list[list[int]] = []
    current: list[int] = []
    used = key_width
    for i in range(keys, len(widths)):
        if current and used + widths[i] > room:
            groups.append(current)
            current, used = [], key_width
        current.append(i)
        used += widths[i]
    if current or not groups:
        groups.append(current)
    return [list(range(keys)) + g for g in groups]


def _show(frame, title: str, fmt: OutputFormat = OutputFormat.table, keys: int = 1) -> None:  # type: ignore[no-untyped-def]
    """Print a DataFrame as readable table(s), CSV or JSON records."""
    frame = frame.reset_index(drop=True)
    if fmt is not OutputFormat.table:  # numbers stay numbers; dates print as dates
        dates = [c for c in frame.columns if frame[c].dtype.kind == "M"]
        plain = frame.assign(**{c: _printable(frame[[c]])[c] for c in dates})
        if fmt is OutputFormat.csv:
            typer.echo(neutralise_formulas(plain).to_csv(index=False), nl=False)
        else:
            typer.echo(plain.to_json(orient="records", force_ascii=False))
        return
    text = _printable(frame)

    keys = min(keys, len(text.columns))
    widths = [max([cell_len(str(c)), *(cell_len(v) for v in text[c])]) + 3 for c in text.columns]
    groups = _column_groups(widths, keys, max(console.width - 4, 20))
    for n, group in enumerate(groups):
        table = Table(title=title if n == 0 else None, title_justify="left")
        for i in group:
            col = text.columns[i]
            table.add_column(str(col), overflow="fold", justify="right" if frame[col].dtype.kind in "iuf" else "left")
        for row in text.iloc[:, group].itertuples(index=False):
            table.add_row(*row)
        console.print(table)


def _mapping(value: str | None, option: str) -> dict[str, Any] | None:
    """A JSON/YAML mapping given inline or as a file path."""
    if value is None:
        return None

    path = Path(value)
    text = path.read_text(encoding="utf-8") if path.suffix in {".yaml", ".yml", ".json"} and path.exists() else value
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise typer.BadParameter(f"{option} takes a JSON/YAML mapping or a file holding one: {exc}") from None
    if not isinstance(parsed, dict):
        raise typer.BadParameter(f"{option} takes a mapping such as '{{\"n_estimators\": 30}}'; got {value!r}")
    return parsed


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one Parquet file per source into.")],
    entities: Annotated[int, typer.Option("--entities", min=10, help="Number of market entities.")] = 60_000,
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="Years of records, ending 2024-12-31.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same market.")] = 0,
    shell_share: Annotated[float, typer.Option("--shell-share", min=0.0, max=0.5, help="Share of enterprises that are shell companies (fake invoicing).")] = 0.01,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate a synthetic market and write its records (pseudonymised) to OUT."""
    _setup_logging(verbose)

    start = f"{2025 - years}-01-01"
    t0 = time.perf_counter()
    market = make_market(n_entities=entities, start=start, end="2024-12-31", seed=seed, shell_share=shell_share,
                         show_progress=True)
    clean = rec.validate(market.records, mode="strict")
    rec.write(clean, out)
    truth_dir = out / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    to_parquet(market.truth.entity_quarters, truth_dir / "entity_quarters.parquet")
    to_parquet(market.truth.entities, truth_dir / "entities.parquet")
    _show(market.summary(), f"Synthetic market: {entities:,} entities, {years} years")
    console.print(f"wrote {clean.n_records:,} records to {out} in {time.perf_counter() - t0:.1f} s")


@app.command()
def validate(
    folder: Annotated[str, typer.Argument(help="Folder with one Parquet/CSV file per source, or a database URL.")],
    lenient: Annotated[bool, typer.Option("--lenient", help="Quarantine bad rows instead of failing.")] = False,
    sources: Annotated[Optional[Path], typer.Option("--sources", help="A custom sources.yaml.")] = None,
    quarantine: Annotated[Optional[Path], typer.Option("--quarantine", help="Write quarantined rows here (Parquet).")] = None,
) -> None:
    """Validate a folder of records; strict by default (exit code 1 on any problem)."""
    mode = "lenient" if lenient else "strict"
    try:
        clean = rec.validate(rec.read(folder, sources=sources, mode=mode), mode=mode)
    except (rec.RecordsError, rec.RecordsFileError) as exc:
        console.print(f"[red]invalid records[/red]\n{exc}")
        raise typer.Exit(code=1) from None
    _show(clean.counts.reset_index(), "Validated records")
    if len(clean.quarantine):
        console.print(f"[yellow]{len(clean.quarantine):,} rows quarantined[/yellow]")
        if quarantine is not None:
            to_parquet(clean.quarantine, quarantine)
            console.print(f"quarantine written to {quarantine}")


@app.command()
def panel(
    folder: Annotated[str, typer.Argument(help="Records folder (one Parquet/CSV file per source) or database URL.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file for the panel.")] = Path("panel.parquet"),
    as_of: Annotated[Optional[list[str]], typer.Option("--as-of", help="As-of date(s); default quarterly.")] = None,
    spec: Annotated[Optional[Path], typer.Option("--spec", help="A feature spec folder.")] = None,
) -> None:
    """Build the entity x as-of feature panel from a records folder."""
    built = build_panel(as_records(folder), as_of or "quarterly", spec, show_progress=True)
    to_parquet(built.frame, out)
    write_csv(built.catalog, out.with_suffix(".catalog.csv"))
    console.print(f"panel: {len(built.frame):,} rows x {len(built.feature_names)} features -> {out} "
                  f"(spec hash {built.spec_hash})")


@app.command()
def train(
    folder: Annotated[str, typer.Argument(help="Records folder or database URL.")],
    target: Annotated[str, typer.Option("--target", help="Model spec: credit, fraud or a YAML path.")] = "credit",
    params: Annotated[Optional[str], typer.Option("--params", help='LightGBM parameters, e.g. \'{"n_estimators": 30}\' or a YAML file.')] = None,
    backtest: Annotated[Optional[str], typer.Option("--backtest", help='Backtest overrides, e.g. \'{"test_dates": "last 1"}\' or a YAML file.')] = None,
    as_of: Annotated[Optional[list[str]], typer.Option("--as-of", help="As-of date(s) of the panel (repeatable); default quarterly.")] = None,
    fmt: FormatOption = OutputFormat.table,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Backtest and train a model, log it to MLflow and register it as challenger."""
    _setup_logging(verbose)

    result = _train(folder, target, params=_mapping(params, "--params"), backtest=_mapping(backtest, "--backtest"),
                    as_of=as_of or "quarterly", show_progress=None)
    _show(result.metrics, f"Backtest: {target}", fmt, keys=2)
    if fmt is OutputFormat.table:
        console.print(f"MLflow run {result.run_id}; registered riskml-{target} as challenger")


@app.command()
def tune(
    folder: Annotated[str, typer.Argument(help="Records folder or database URL.")],
    target: Annotated[str, typer.Option("--target")] = "credit",
    trials: Annotated[Optional[int], typer.Option("--trials", help="Number of trials.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds.")] = None,
    backtest: Annotated[Optional[str], typer.Option("--backtest", help='Backtest overrides, e.g. \'{"test_dates": "last 1"}\' or a YAML file.')] = None,
) -> None:
    """Tune LightGBM parameters with Optuna over the temporal backtest."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = _tune(folder, target, n_trials=trials, timeout=timeout, backtest=_mapping(backtest, "--backtest"),
                   show_progress=True)
    console.print(f"best backtest AUC {result.best_value:.4f} with {result.best_params}")
    console.print(f"MLflow parent run {result.parent_run_id}")


@app.command()
def promote(
    target: Annotated[str, typer.Option("--target")] = "credit",
    version: Annotated[Optional[str], typer.Option("--version", help="Registered version; default challenger.")] = None,
) -> None:
    """Promote the challenger to champion when the promotion gates pass."""
    decision = _promote(target, version=version)
    for gate in decision.gates:
        mark = "[green]pass[/green]" if gate.passed else "[red]fail[/red]"
        measured = (f"{gate.value:.4g} {gate.rule} {gate.threshold:.4g}"
                    if gate.value is not None and gate.threshold is not None else "")
        console.print(f"  {mark} {gate.name}: " + "; ".join(part for part in (measured, gate.detail) if part))
    verdict = "promoted to champion" if decision.promoted else "not promoted; champion unchanged"
    console.print(f"riskml-{target} version {decision.challenger_version}: {verdict}")
    if not decision.promoted:
        raise typer.Exit(code=1)


@app.command()
def predict(
    records: Annotated[str, typer.Option("--records", help="Records folder or database URL.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file for the scores.")] = Path("scores.parquet"),
    target: Annotated[str, typer.Option("--target")] = "credit",
    as_of: Annotated[Optional[list[str]], typer.Option("--as-of", help="As-of date(s) (repeatable); default the latest quarter.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Version number or alias; default champion.")] = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, help="Top reasons per entity.")] = 3,
    fraud: Annotated[bool, typer.Option("--fraud", help="Also score the fraud champion (fraud_* columns).")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Score every entity with the champion model: probability, score, grade, white list, warnings, reasons."""
    try:
        scores = _predict(records, target=target, as_of=as_of, model=model, explain=reasons, fraud=fraud,
                          show_progress=None)
    except LookupError as exc:
        console.print(f"[red]cannot score[/red]: {exc}")
        raise typer.Exit(code=1) from None
    to_parquet(scores, out)
    counts = scores.groupby(["as_of", "grade"], observed=True).size().rename("entities").reset_index()
    if fraud:
        fraud_counts = scores.groupby(["as_of", "fraud_grade"], observed=True).size().rename("fraud").reset_index()
        counts = counts.merge(fraud_counts.rename(columns={"fraud_grade": "grade"}), on=["as_of", "grade"], how="outer")
        counts = counts.fillna(0).astype({"entities": "int64", "fraud": "int64"})
    _show(counts, "Grades", fmt, keys=2)
    if fmt is OutputFormat.table:
        console.print(f"{len(scores):,} rows scored -> {out}")


@app.command()
def score(
    records: Annotated[str, typer.Option("--records", help="Records folder or database URL (postgresql://...).")],
    ledger: Annotated[str, typer.Option("--ledger", help="Ledger: database URL or Parquet folder.")],
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="As-of date; default the latest quarter.")] = None,
    target: Annotated[Optional[list[str]], typer.Option("--target", help="Target (repeatable); default credit and fraud.")] = None,
    table: Annotated[Optional[list[str]], typer.Option("--table", help="SOURCE=TABLE or SOURCE=QUERY for a database (repeatable).")] = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, max=3, help="Top reasons per entity in the ledger.")] = 3,
    monitor_run: Annotated[bool, typer.Option("--monitor/--no-monitor", help="Log a monitoring run per target.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """The quarterly job: read, validate, score with the champions, explain, publish to the ledger, monitor."""
    _setup_logging(verbose)

    tables = None
    if table:
        if any("=" not in t for t in table):
            raise typer.BadParameter(f"--table takes SOURCE=TABLE or SOURCE=QUERY; got {table}")
        tables = dict(t.split("=", 1) for t in table)
    try:
        done = score_quarter(records, ledger, as_of=as_of, targets=tuple(target or ("credit", "fraud")), tables=tables,
                             reasons=reasons, monitor=monitor_run)
    except (ScoringJobError, ValueError) as exc:
        console.print(f"[red]scoring job failed[/red]: {exc}")
        raise typer.Exit(code=1) from None
    for name, n in done.scored.items():
        console.print(f"riskml-{name} v{done.versions[name]}: {n:,} entities scored at {done.as_of.date()}")
    console.print(f"ledger: {done.added:,} rows added, {done.already:,} already there; {done.n_records:,} records read")
    console.print("steps (s): " + ", ".join(f"{step} {s:.1f}" for step, s in done.seconds.items()))
    for name, run in done.monitor_runs.items():
        console.print(f"monitoring run for {name}: {run}")


@app.command()
def explain(
    entity: Annotated[str, typer.Argument(help="Entity id (as in the records).")],
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date of the grade, e.g. 2024-10-01.")],
    records: Annotated[str, typer.Option("--records", help="Records folder or database URL.")],
    out: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path("report.html"),
    target: Annotated[str, typer.Option("--target")] = "credit",
    model: Annotated[Optional[str], typer.Option("--model", help="Version number or alias; default champion.")] = None,
) -> None:
    """Explain one entity's grade as a self-contained HTML appeal report."""
    explanation = _explain(entity, as_of, records=records, target=target, model=model)
    explanation.to_html(out)
    console.print(f"{entity} at {as_of}: score {explanation.score:.1f}, grade {explanation.grade}; report -> {out}")


@app.command()
def plan(
    scores: Annotated[Path, typer.Argument(help="Scores Parquet file from `riskml predict`.")],
    records: Annotated[str, typer.Option("--records", help="Records folder or database URL (for blind spots).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file for the plan.")] = Path("plan.csv"),
    rate: Annotated[Optional[list[str]], typer.Option("--rate", help="Grade rate, e.g. D=0.9 (repeatable).")] = None,
    blind: Annotated[int, typer.Option("--blind-spots", min=0, help="Top blind spots to add.")] = 0,
    inspectors: Annotated[Optional[Path], typer.Option("--inspectors", help="Text file, one inspector id a line.")] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", help="Last quarter's plan CSV.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Draw an inspection plan: a seeded random sample per grade plus the top blind spots."""
    table = pd.read_parquet(scores)
    rates = None
    if rate:
        try:
            rates = {k.strip(): float(v) for k, v in (r.split("=", 1) for r in rate)}
        except ValueError:
            raise typer.BadParameter(f"--rate takes GRADE=RATE, e.g. D=0.9; got {rate}") from None
    spots = blind_spots(table, as_records(records)) if blind else None
    pool = [ln.strip() for ln in inspectors.read_text(encoding="utf-8").splitlines() if ln.strip()] if inspectors else None
    prev = restore_formulas(pd.read_csv(previous, dtype=str)) if previous else None
    drawn = inspection_plan(table, rates, blind_spots=spots, k=blind, inspectors=pool, seed=seed, previous=prev)
    write_csv(drawn, out, index=False)
    counts = drawn.groupby("reason", observed=True).size().rename("entities").reset_index()
    _show(counts, f"Inspection plan: {len(drawn):,} inspections")
    console.print(f"plan written to {out}")


@app.command()
def warnings(
    records: Annotated[str, typer.Argument(help="Records folder or database URL.")],
    as_of: Annotated[Optional[list[str]], typer.Option("--as-of", help="As-of date(s) (repeatable); default the latest quarter.")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="A warnings YAML; default models/warnings.yaml.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Rule warnings (规则预警) at the as-of date: every hit with the record behind it."""
    clean = as_records(records)
    dates = as_of or [latest_quarter(clean, load_feature_spec())]
    hits = rule_warnings(clean, dates, rules)
    _show(hits[["entity_id", "as_of", "rule", "record_id", "date", "label_en"]], f"Rule warnings: {len(hits):,}", fmt)


@app.command("white-list")
def white_list(
    scores: Annotated[Path, typer.Argument(help="Scores Parquet file from `riskml predict`.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Entities on the loan white list (以信授贷): the white_list flag of the scores."""
    table = pd.read_parquet(scores)
    if "white_list" not in table.columns:
        console.print("[red]the scores have no white_list column[/red]: score with `riskml predict` "
                      "using a model whose spec has a white_list section")
        raise typer.Exit(code=1)
    listed = table.loc[table["white_list"].astype(bool), ["entity_id", "as_of", "score", "grade"]]
    _show(listed, f"White list: {len(listed):,} of {len(table):,} entities", fmt)


@app.command("blind-spots")
def blind_spots_command(
    scores: Annotated[Path, typer.Argument(help="Scores Parquet file from `riskml predict`.")],
    records: Annotated[str, typer.Option("--records", help="Records folder or database URL.")],
    top: Annotated[int, typer.Option("--top", min=1, help="Blind spots per as-of date.")] = 20,
    lookback: Annotated[Optional[str], typer.Option("--lookback", help="e.g. 3y or 1095d; default the spec's.")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Blind spots (监管盲区): risky entities no inspection or penalty touched, riskiest first."""
    spots = blind_spots(pd.read_parquet(scores), as_records(records), lookback=lookback, top=top)
    shown = [c for c in ("rank", "entity_id", "as_of", "probability", "score", "grade", "reason_1_feature")
             if c in spots.columns]
    _show(spots[shown], f"Blind spots: top {top}", fmt, keys=2)


@app.command("evaluate-plan")
def evaluate_plan_command(
    scores: Annotated[Path, typer.Argument(help="Scores Parquet file from `riskml predict` (one or more as-of dates).")],
    truth: Annotated[Path, typer.Option("--truth", help="entity_quarters.parquet of a synthetic market (written by `riskml synth` in _truth/).")],
    budget: Annotated[Optional[float], typer.Option("--budget", help="Inspections: a share (< 1) or a count.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Violators found by each inspection strategy at the same budget (risk-ranked, random, grade rates)."""
    table = evaluate_plan(pd.read_parquet(scores), pd.read_parquet(truth), budget=budget, seed=seed)
    _show(table, "Inspection strategies", fmt, keys=2)


@app.command()
def monitor(
    reference: Annotated[Path, typer.Argument(help="Scores Parquet of the reference quarter.")],
    current: Annotated[Path, typer.Argument(help="Scores Parquet of the current quarter.")],
    records: Annotated[Optional[str], typer.Option("--records", help="Records folder or URL (for group columns).")] = None,
    log: Annotated[bool, typer.Option("--log/--no-log", help="Log the report to the champion's MLflow run.")] = False,
    target: Annotated[str, typer.Option("--target", help="Whose champion run gets the report.")] = "credit",
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Compare two quarters: score PSI, grade migration, group metrics, threshold warnings."""
    entities = as_records(records) if records else None
    quiet = logging.getLogger("riskml.monitor")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the warnings are printed below, once
    try:
        report = _monitor(pd.read_parquet(reference), pd.read_parquet(current), entities=entities)
    finally:
        quiet.setLevel(level)
    if fmt is OutputFormat.table:
        console.print(f"score PSI {report.score_psi:.4f}")
    rows = pd.DataFrame(report.warnings, columns=["check", "subject", "value", "threshold", "message"])
    _show(rows[["check", "subject", "message"]], f"Warnings: {len(rows)}", fmt, keys=2)
    if log:
        champion_run = load_model(target, alias="champion").metadata.get("run_id")
        console.print(f"logged to the riskml-{target} champion's MLflow run {report.log_to_mlflow(champion_run)}")


@app.command()
def demo(
    entities: Annotated[int, typer.Option("--entities", min=500, help="Size of the synthetic market.")] = 60_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the whole pipeline on a synthetic county and print what a bureau would see."""
    _setup_logging(verbose)

    run_demo(console, n_entities=entities, seed=seed)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
