"""Synthetic-market benchmark: generate a county (60k entities, six years) once.

Run from the repository root::

    .venv/bin/python -m benchmarks.synth [--entities 60000] [--seed 0]

Prints the records per source, the generation time and the peak resident memory of
the process (``ru_maxrss``, so it includes the imports), a few rates of the market
and the best possible AUC of the one-year credit label (the truth's oracle score
against the labels ``riskml.labels.make_labels`` derives from the records), and
writes the same into the ``## Synthetic market`` section of ``docs/benchmarks.md``
(other sections of that file are left as they are).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from benchmarks._doc import write_section

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Synthetic market"


def _oracle_auc(market) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """AUC of the truth's oracle score for the one-year credit label, and the label rate."""
    from sklearn.metrics import roc_auc_score

    from riskml.labels import make_labels

    eq = market.truth.entity_quarters
    index = eq[["entity_id", "quarter_start"]].rename(columns={"quarter_start": "as_of"})
    labels = make_labels(market.records, index, "credit")
    full = labels["complete"].to_numpy()
    y = labels["label"].to_numpy()[full]
    return float(roc_auc_score(y, market.truth.oracle_score().to_numpy()[full])), float(y.mean())


def _rates(market) -> dict[str, float]:  # type: ignore[no-untyped-def]
    eq = market.truth.entity_quarters
    alive = eq.groupby(eq["quarter_start"].dt.year)["entity_id"].nunique()
    out = {}
    for name, col in [("penalties", "published"), ("abnormal_list", "entered")]:
        table = market.records[name]
        out[f"{name} / alive entities / year"] = float((table.groupby(table[col].dt.year)["entity_id"].nunique() / alive).mean())
    violated = eq["violated"]
    out["violations observed"] = float(eq.loc[violated, "observed"].mean())
    out["violators per year"] = float(eq.groupby([eq["quarter_start"].dt.year, "entity_id"])["violated"].any().mean())
    return out


def _section(args: argparse.Namespace, market, seconds: float, peak_mb: float, auc: float, label_rate: float) -> str:  # type: ignore[no-untyped-def]
    summary = market.summary()
    years = (market.end.year - market.start.year) + 1
    lines = [
        SECTION,
        "",
        f"`benchmarks/synth.py` (run: `.venv/bin/python -m benchmarks.synth`): `riskml.synth.make_market(n_entities={args.entities:,}, "
        f"start='{market.start:%Y-%m-%d}', end='{market.end:%Y-%m-%d}', seed={args.seed})`, generated once in this process. "
        "Seconds: wall time of `make_market`. Peak: the process's peak RSS (`ru_maxrss`, imports included).",
        "",
        "| entities | years | records | seconds | peak RSS MB |",
        "|---:|---:|---:|---:|---:|",
        f"| {args.entities:,} | {years} | {market.records.n_records:,} | {seconds:.1f} | {peak_mb:,.0f} |",
        "",
        "| source | records | entities | known from | known to |",
        "|---|---:|---:|---|---|",
    ]
    for row in summary.itertuples(index=False):
        lo = "" if pd.isna(row.known_from) else f"{row.known_from:%Y-%m-%d}"
        hi = "" if pd.isna(row.known_to) else f"{row.known_to:%Y-%m-%d}"
        lines.append(f"| {row.source} | {row.rows:,} | {row.entities:,} | {lo} | {hi} |")
    lines += ["", "Market rates (means over the years of the window):", ""]
    for key, value in _rates(market).items():
        lines.append(f"* {key}: {100 * value:.1f}%")
    lines += [
        f"* one-year credit label (models/credit.yaml) at quarter starts with a full horizon: {100 * label_rate:.1f}% positive;"
        f" best possible AUC (truth's `oracle_score`): {auc:.3f}",
        "",
        f"Machine: {os.cpu_count()} cores (`nproc`), Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}; measured {dt.date.today():%Y-%m-%d}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    from riskml.synth import make_market

    t0 = time.perf_counter()
    market = make_market(n_entities=args.entities, start="2019-01-01", end="2024-12-31", seed=args.seed)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    auc, label_rate = _oracle_auc(market)
    section = _section(args, market, seconds, peak_mb, auc, label_rate)
    print(section)
    if not args.no_doc:
        write_section(SECTION.removeprefix("## "), section)
        print(f"wrote the {SECTION!r} section of {DOC}")


if __name__ == "__main__":
    main()
