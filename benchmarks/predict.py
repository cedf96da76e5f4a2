"""Scoring throughput and training time: ``python benchmarks/predict.py``.

On a synthetic market (default the 60,000-entity county): the time to build the panel
and to train the credit model (temporal backtest of four dates plus the final model),
then entities scored per second by ``riskml.predict`` on a ready panel of the latest
quarter, without reasons and with three reasons per entity (exact TreeSHAP in score
points). Prints a table and writes the ``## Scoring`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _doc import machine_line, write_section  # noqa: E402


def _best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")

    import riskml
    from riskml.features import Panel

    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=0)
    records = riskml.records.validate(market.records)
    t_data = time.perf_counter() - started

    started = time.perf_counter()
    panel = riskml.build_panel(records, "quarterly")
    t_panel = time.perf_counter() - started

    started = time.perf_counter()
    result = riskml.train(panel, "credit", labels=riskml.make_labels(records, panel, "credit"), log=False)
    t_train = time.perf_counter() - started

    latest = panel.frame.loc[panel.frame["as_of"] == panel.frame["as_of"].max()].reset_index(drop=True)
    scoring = Panel(frame=latest, catalog=panel.catalog, spec_hash=panel.spec_hash)
    n = len(latest)
    model = result.model
    rows = []
    for label, k in (("scores and grades", 0), ("with 3 reasons (exact TreeSHAP points)", 3)):
        riskml.predict(scoring, model=model, explain=k)  # warm: compiled kernels, cached tables
        seconds = _best_of(lambda k=k: riskml.predict(scoring, model=model, explain=k), args.repeat)
        rows.append((label, n, seconds, n / seconds))

    lines = [
        machine_line(),
        "",
        f"Synthetic market of {args.entities:,} entities x 6 years ({records.n_records:,} records); "
        f"the credit model has {len(model.features)} features and {model.booster.num_trees()} trees.",
        "",
        "| step | rows | seconds | rows per second |",
        "|---|---:|---:|---:|",
        f"| generate + validate records | {records.n_records:,} | {t_data:.1f} | {records.n_records / t_data:,.0f} |",
        f"| build the quarterly panel | {len(panel.frame):,} | {t_panel:.1f} | {len(panel.frame) / t_panel:,.0f} |",
        f"| train credit (4-date backtest + final model) | {len(panel.frame):,} | {t_train:.1f} | "
        f"{len(panel.frame) / t_train:,.0f} |",
    ]
    for label, count, seconds, rate in rows:
        lines.append(f"| predict, {label} | {count:,} | {seconds:.2f} | {rate:,.0f} |")
    lines += ["", f"Explaining costs {rows[1][2] / rows[0][2]:.1f}x the time of scoring alone (best of "
              f"{args.repeat} runs, model already loaded)."]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Scoring", text)


if __name__ == "__main__":
    main()
