"""The ``riskml`` command line: the library's verbs for scheduled jobs and shells.

``riskml synth | validate | panel | train | tune | promote | predict | explain | plan |
monitor | demo``.
Every command prints a short summary with rich and shows progress on long work.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="riskml: credit-risk grades, fraud warnings and inspection priorities from supervision records.",
)
console = Console()


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )


def _summary_table(title: str, frame) -> Table:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "iuf" else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    return table


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one Parquet file per source into.")],
    entities: Annotated[int, typer.Option("--entities", min=10, help="Number of market entities.")] = 60_000,
    years: Annotated[int, typer.Option("--years", min=1, max=30, help="Years of records, ending 2024-12-31.")] = 6,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same market.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Generate a synthetic market and write its records (pseudonymised) to OUT."""
    _setup_logging(verbose)
    from riskml import records as rec
    from riskml.synth import make_market

    start = f"{2025 - years}-01-01"
    t0 = time.perf_counter()
    market = make_market(n_entities=entities, start=start, end="2024-12-31", seed=seed, show_progress=True)
    clean = rec.validate(market.records, mode="strict")
    rec.write(clean, out)
    truth_dir = out / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    rec.to_parquet(market.truth.entity_quarters, truth_dir / "entity_quarters.parquet")
    rec.to_parquet(market.truth.entities, truth_dir / "entities.parquet")
    console.print(_summary_table(f"Synthetic market: {entities:,} entities, {years} years", market.summary()))
    console.print(f"wrote {clean.n_records:,} records to {out} in {time.perf_counter() - t0:.1f} s")


@app.command()
def validate(
    folder: Annotated[Path, typer.Argument(help="Folder with one Parquet/CSV file per source.")],
    lenient: Annotated[bool, typer.Option("--lenient", help="Quarantine bad rows instead of failing.")] = False,
    sources: Annotated[Optional[Path], typer.Option("--sources", help="A custom sources.yaml.")] = None,
    quarantine: Annotated[Optional[Path], typer.Option("--quarantine", help="Write quarantined rows here (Parquet).")] = None,
) -> None:
    """Validate a folder of records; strict by default (exit code 1 on any problem)."""
    from riskml import records as rec

    raw = rec.read(folder, sources=sources)
    try:
        clean = rec.validate(raw, mode="lenient" if lenient else "strict")
    except rec.RecordsError as exc:
        console.print(f"[red]invalid records[/red]\n{exc}")
        raise typer.Exit(code=1) from None
    console.print(_summary_table("Validated records", clean.counts.reset_index()))
    if len(clean.quarantine):
        console.print(f"[yellow]{len(clean.quarantine):,} rows quarantined[/yellow]")
        if quarantine is not None:
            rec.to_parquet(clean.quarantine, quarantine)
            console.print(f"quarantine written to {quarantine}")


@app.command()
def panel(
    folder: Annotated[Path, typer.Argument(help="Records folder (one Parquet/CSV file per source).")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file for the panel.")] = Path("panel.parquet"),
    as_of: Annotated[Optional[list[str]], typer.Option("--as-of", help="As-of date(s); default quarterly.")] = None,
    spec: Annotated[Optional[Path], typer.Option("--spec", help="A feature spec folder.")] = None,
) -> None:
    """Build the entity x as-of feature panel from a records folder."""
    from riskml._pipeline import _as_records
    from riskml.features import build_panel
    from riskml.records import to_parquet

    built = build_panel(_as_records(folder), as_of or "quarterly", spec, show_progress=True)
    to_parquet(built.frame, out)
    built.catalog.to_csv(out.with_suffix(".catalog.csv"))
    console.print(f"panel: {len(built.frame):,} rows x {len(built.feature_names)} features -> {out} "
                  f"(spec hash {built.spec_hash})")


@app.command()
def train(
    folder: Annotated[Path, typer.Argument(help="Records folder.")],
    target: Annotated[str, typer.Option("--target", help="Model spec: credit, fraud or a YAML path.")] = "credit",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Backtest and train a model, log it to MLflow and register it as challenger."""
    _setup_logging(verbose)
    from riskml._pipeline import train as _train

    result = _train(folder, target, show_progress=True)
    metrics = result.metrics
    metrics = metrics.assign(split=metrics["split"].astype(str).str[:10], **metrics.select_dtypes("number").round(4))
    console.print(_summary_table(f"Backtest: {target}", metrics))
    console.print(f"MLflow run {result.run_id}; registered riskml-{target} as challenger")


@app.command()
def tune(
    folder: Annotated[Path, typer.Argument(help="Records folder.")],
    target: Annotated[str, typer.Option("--target")] = "credit",
    trials: Annotated[Optional[int], typer.Option("--trials", help="Number of trials.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds.")] = None,
) -> None:
    """Tune LightGBM parameters with Optuna over the temporal backtest."""
    import optuna

    from riskml.models import tune as _tune

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    result = _tune(folder, target, n_trials=trials, timeout=timeout, show_progress=True)
    console.print(f"best backtest AUC {result.best_value:.4f} with {result.best_params}")
    console.print(f"MLflow parent run {result.parent_run_id}")


@app.command()
def promote(
    target: Annotated[str, typer.Option("--target")] = "credit",
    version: Annotated[Optional[str], typer.Option("--version", help="Registered version; default challenger.")] = None,
) -> None:
    """Promote the challenger to champion when the promotion gates pass."""
    from riskml._pipeline import promote as _promote

    decision = _promote(target, version=version)
    for gate in decision.gates:
        mark = "[green]pass[/green]" if gate.passed else "[red]fail[/red]"
        console.print(f"  {mark} {gate.name}: {gate.value} {gate.rule} {gate.threshold} {gate.detail}")
    verdict = "promoted to champion" if decision.promoted else "not promoted; champion unchanged"
    console.print(f"riskml-{target} version {decision.challenger_version}: {verdict}")
    if not decision.promoted:
        raise typer.Exit(code=1)


@app.command()
def predict(
    records: Annotated[Path, typer.Option("--records", help="Records folder.")],
    out: Annotated[Path, typer.Option("--out", help="Parquet file for the scores.")] = Path("scores.parquet"),
    target: Annotated[str, typer.Option("--target")] = "credit",
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="Default: the latest quarter.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Version number or alias; default champion.")] = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, help="Top reasons per entity.")] = 3,
) -> None:
    """Score every entity with the champion model: probability, score, grade, reasons."""
    from riskml._pipeline import predict as _predict
    from riskml.records import to_parquet

    scores = _predict(records, target=target, as_of=as_of, model=model, explain=reasons, show_progress=True)
    to_parquet(scores, out)
    console.print(_summary_table("Grades", scores["grade"].value_counts().sort_index().rename_axis("grade").reset_index()))
    console.print(f"{len(scores):,} entities scored -> {out}")


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
    from riskml._job import ScoringJobError, score_quarter

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
    for name, run in done.monitor_runs.items():
        console.print(f"monitoring run for {name}: {run}")


@app.command()
def explain(
    entity: Annotated[str, typer.Argument(help="Entity id (as in the records).")],
    as_of: Annotated[str, typer.Option("--as-of", help="As-of date of the grade, e.g. 2024-10-01.")],
    records: Annotated[Path, typer.Option("--records", help="Records folder.")],
    out: Annotated[Path, typer.Option("--out", help="HTML report to write.")] = Path("report.html"),
    target: Annotated[str, typer.Option("--target")] = "credit",
    model: Annotated[Optional[str], typer.Option("--model", help="Version number or alias; default champion.")] = None,
) -> None:
    """Explain one entity's grade as a self-contained HTML appeal report."""
    from riskml._pipeline import explain as _explain

    explanation = _explain(entity, as_of, records=records, target=target, model=model)
    explanation.to_html(out)
    console.print(f"{entity} at {as_of}: score {explanation.score:.1f}, grade {explanation.grade}; report -> {out}")


@app.command()
def plan(
    scores: Annotated[Path, typer.Argument(help="Scores Parquet file from `riskml predict`.")],
    records: Annotated[Path, typer.Option("--records", help="Records folder (for blind spots).")],
    out: Annotated[Path, typer.Option("--out", help="CSV file for the plan.")] = Path("plan.csv"),
    rate: Annotated[Optional[list[str]], typer.Option("--rate", help="Grade rate, e.g. D=0.9 (repeatable).")] = None,
    blind: Annotated[int, typer.Option("--blind-spots", min=0, help="Top blind spots to add.")] = 0,
    inspectors: Annotated[Optional[Path], typer.Option("--inspectors", help="Text file, one inspector id a line.")] = None,
    previous: Annotated[Optional[Path], typer.Option("--previous", help="Last quarter's plan CSV.")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Draw an inspection plan: a seeded random sample per grade plus the top blind spots."""
    import pandas as pd

    from riskml._pipeline import _as_records
    from riskml.ranking import blind_spots, inspection_plan

    table = pd.read_parquet(scores)
    rates = None
    if rate:
        try:
            rates = {k.strip(): float(v) for k, v in (r.split("=", 1) for r in rate)}
        except ValueError:
            raise typer.BadParameter(f"--rate takes GRADE=RATE, e.g. D=0.9; got {rate}") from None
    spots = blind_spots(table, _as_records(records)) if blind else None
    pool = [ln.strip() for ln in inspectors.read_text(encoding="utf-8").splitlines() if ln.strip()] if inspectors else None
    prev = pd.read_csv(previous, dtype=str) if previous else None
    drawn = inspection_plan(table, rates, blind_spots=spots, k=blind, inspectors=pool, seed=seed, previous=prev)
    drawn.to_csv(out, index=False)
    counts = drawn.groupby("reason", observed=True).size().rename("entities").reset_index()
    console.print(_summary_table(f"Inspection plan: {len(drawn):,} inspections", counts))
    console.print(f"plan written to {out}")


@app.command()
def monitor(
    reference: Annotated[Path, typer.Argument(help="Scores Parquet of the reference quarter.")],
    current: Annotated[Path, typer.Argument(help="Scores Parquet of the current quarter.")],
    records: Annotated[Optional[Path], typer.Option("--records", help="Records folder (for group columns).")] = None,
    log: Annotated[bool, typer.Option("--log/--no-log", help="Log the report to the champion's MLflow run.")] = False,
    target: Annotated[str, typer.Option("--target", help="Whose champion run gets the report.")] = "credit",
) -> None:
    """Compare two quarters: score PSI, grade migration, group metrics, threshold warnings."""
    import pandas as pd

    from riskml._pipeline import _as_records
    from riskml.monitor import monitor as _monitor

    entities = _as_records(records) if records else None
    report = _monitor(pd.read_parquet(reference), pd.read_parquet(current), entities=entities)
    console.print(f"score PSI {report.score_psi:.4f}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {warning['check']} {warning['subject']}: {warning['message']}")
    if log:
        from riskml.tracking import load_model

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
    from riskml._demo import run_demo

    run_demo(console, n_entities=entities, seed=seed)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
