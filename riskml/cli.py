"""The ``riskml`` command line: the library's verbs for scheduled jobs and shells.

``riskml synth | validate | panel | demo`` (more verbs join as the library grows).
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
    market.truth.entity_quarters.to_parquet(truth_dir / "entity_quarters.parquet", index=False)
    market.truth.entities.to_parquet(truth_dir / "entities.parquet", index=False)
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
            clean.quarantine.to_parquet(quarantine, index=False)
            console.print(f"quarantine written to {quarantine}")


@app.command()
def demo(
    entities: Annotated[int, typer.Option("--entities", min=100, help="Size of the synthetic market.")] = 60_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the whole pipeline on a synthetic county and print what a bureau would see."""
    _setup_logging(verbose)
    from riskml import records as rec
    from riskml.synth import make_market

    t0 = time.perf_counter()
    console.rule("1. Synthetic market (one county)")
    market = make_market(n_entities=entities, start="2019-01-01", end="2024-12-31", seed=seed, show_progress=True)
    console.rule("2. Validation and pseudonymisation")
    clean = rec.validate(market.records, mode="strict")
    console.print(_summary_table("Records per source", market.summary()))
    console.print(f"{clean.n_records:,} records validated, {len(clean.quarantine):,} quarantined")
    console.print(f"done in {time.perf_counter() - t0:.1f} s")


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
