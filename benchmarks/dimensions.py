"""Signal per indicator group: ``python -m benchmarks.dimensions [--dimensions dezhou]``.

For each indicator group of the loaded dimension file (default SAMR's five; ``dezhou``
or a path to a bureau's own file), a LightGBM trained
on that dimension's features alone, with the credit model's temporal backtest, scored
out of time on the latest complete as-of date. Every dimension should beat AUC 0.5.
Prints a table and writes the ``## Signal per indicator group`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from benchmarks._doc import machine_line, write_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--dimensions", default=None, help="dimension file: samr (default), dezhou or a path")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")

    import riskml
    from riskml.models import fit_model

    market = riskml.synth.make_market(n_entities=args.entities, seed=0)
    records = riskml.records.validate(market.records)
    spec = riskml.features.load_feature_spec(dimensions=args.dimensions)
    panel = riskml.build_panel(records, "quarterly", spec=spec)
    labels = riskml.make_labels(records, panel, "credit")
    catalog = panel.catalog
    rows = []
    groups = [("all features", list(catalog.index))]
    ordered = catalog.sort_values("dimension_rank", kind="stable").drop_duplicates("dimension")
    groups += [(f"{zh} {dim}", list(catalog.index[catalog["dimension"] == dim]))
               for dim, zh in zip(ordered["dimension"], ordered["dimension_zh"], strict=True)]
    for name, features in groups:
        started = time.perf_counter()
        fit = fit_model(panel, labels, "credit", features=features, backtest={"test_dates": "last 1"},
                        params={"n_estimators": 150})
        table = fit.metric_table()
        latest = table.loc[(table["split"] == table["split"].max()) & (table["population"] == "all")].iloc[0]
        rows.append((name, len(features), float(latest["auc"]), time.perf_counter() - started))
        print(f"{name:>24}: {len(features):3d} features, AUC {latest['auc']:.3f}", flush=True)

    command = f".venv/bin/python -m benchmarks.dimensions --entities {args.entities}"
    command += f" --dimensions {args.dimensions}" if args.dimensions else ""
    lines = [f"Run: `{command}` (indicator groups of the loaded dimension file; default SAMR's five).", "",
             machine_line(), "",
             f"Credit label, synthetic market of {args.entities:,} entities, out-of-time test date "
             f"{str(table['split'].max())[:10]}; LightGBM (150 trees) on one indicator group at a time.", "",
             "| features | count | AUC | seconds |", "|---|---:|---:|---:|"]
    lines += [f"| {n} | {c} | {a:.3f} | {s:.0f} |" for n, c, a, s in rows]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Signal per indicator group", text)
    weak = [n for n, _, a, _ in rows if not a > 0.5]
    if weak:
        print(f"dimensions without signal: {weak}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
