"""Blind spots and inspection plans on the synthetic market, where the truth is known.

Builds a synthetic market, its quarterly panel and credit labels, trains two credit
models with :func:`riskml.models.fit_model`:

* ``naive``: every complete row, every feature;
* ``selection-aware``: only rows whose label was observed (an inspection known in the
  label horizon), without inspection-driven features
  (:func:`riskml.ranking.selection_aware_sample`, ``how="inspected"``);
* ``weighted``: the same rows and features, each weighted by the inverse of its
  estimated chance of being inspected (``how="weighted"``, ``fit_model(weights=...)``);

then, at the first as-of date after training (2024-01-01 by default), ranks the blind
spots (no inspection or penalty in 3 years) with each model and measures, among the
top-N, the share that truly violated in the next four quarters and their mean true
violation probability. Finally it replays a year of quarterly plans
(:func:`riskml.ranking.evaluate_plan`) at a 5% budget with the naive model's scores.

Run: ``.venv/bin/python benchmarks/plan.py --n-entities 60000`` (prints markdown).
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

import riskml
from riskml.models import fit_model
from riskml.ranking import blind_spots, evaluate_plan, selection_aware_sample


def _truth_next_year(market: riskml.synth.Market, as_of: pd.Timestamp) -> pd.DataFrame:
    tq = market.truth.entity_quarters
    year = tq.loc[(tq["quarter_start"] >= as_of) & (tq["quarter_start"] < as_of + pd.DateOffset(years=1))]
    return year.groupby("entity_id").agg(violated=("violated", "any"), p_violation=("p_violation", "mean"))


def _markdown(frame: pd.DataFrame, index: bool = False, digits: int = 3) -> str:
    """A pipe table (no tabulate dependency)."""
    frame = frame.reset_index() if index else frame
    def cell(v: object) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:.{digits}f}"
        if isinstance(v, pd.Timestamp):
            return str(v.date())
        return str(v)
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", default="2024-01-01")
    parser.add_argument("--top", type=int, nargs="+", default=[100, 500, 1000])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    as_of = pd.Timestamp(args.as_of)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.n_entities, seed=args.seed)
    records = market.records
    timings["market"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    panel = riskml.build_panel(records, as_of="quarterly")
    labels = riskml.make_labels(records, panel, "credit")
    timings["panel+labels"] = time.perf_counter() - t0

    train_rows = (panel.frame["as_of"] < as_of).to_numpy()
    train_panel = riskml.Panel(panel.frame.loc[train_rows].reset_index(drop=True), panel.catalog, panel.spec_hash)
    train_labels = labels.loc[train_rows].reset_index(drop=True)
    backtest = {"test_dates": "last 1"}

    t0 = time.perf_counter()
    naive = fit_model(train_panel, train_labels, "credit", backtest=backtest)
    timings["fit naive"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample = selection_aware_sample(train_panel, train_labels, records, how="inspected")
    aware = fit_model(sample.panel, sample.labels, "credit", backtest=backtest)
    timings["fit selection-aware"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample_w = selection_aware_sample(train_panel, train_labels, records, how="weighted")
    weighted = fit_model(sample_w.panel, sample_w.labels, "credit", backtest=backtest, weights=sample_w.weights)
    timings["fit weighted"] = time.perf_counter() - t0

    at = panel.frame.loc[panel.frame["as_of"] == as_of].reset_index(drop=True)
    truth = _truth_next_year(market, as_of)
    rows = []
    for name, result in (("naive", naive), ("selection-aware", aware), ("weighted", weighted)):
        scores = result.model.score(at)
        spots = blind_spots(scores, records)
        joined = spots.join(truth, on="entity_id")
        for n in args.top:
            top = joined.head(n)
            rows.append({"model": name, "blind_spots": len(spots), "top_n": n,
                         "violated_share": top["violated"].mean(), "mean_true_p": top["p_violation"].mean(),
                         "base_violated_share": joined["violated"].mean()})
    selection = pd.DataFrame(rows)

    dates = [d for d in panel.as_of_dates if as_of <= d < as_of + pd.DateOffset(years=1)]
    frames = {d: naive.model.score(panel.frame.loc[panel.frame["as_of"] == d]) for d in dates}
    plans = evaluate_plan(frames, market, budget=0.05, seed=args.seed)
    totals = plans.groupby("strategy")[["inspections", "violators_found", "compliant_disturbed", "violators_total"]].sum()
    totals["hit_rate"] = totals["violators_found"] / totals["inspections"]
    totals["found_vs_random"] = totals["violators_found"] / totals.loc["random", "violators_found"]

    metrics = naive.metric_table()
    print(f"## {args.n_entities:,} entities, seed {args.seed}, as of {as_of.date()}\n")
    print(f"observed-label share of training rows: {sample.observed_share:.3f}; dropped {list(sample.dropped)}\n")
    print("### Backtest (naive model)\n")
    print(_markdown(metrics), "\n")
    print("### Top-N blind spots: share truly violating in the next 4 quarters\n")
    print(_markdown(selection, digits=4), "\n")
    print("### A year of quarterly plans at a 5% budget (naive model)\n")
    print(_markdown(plans), "\n")
    print(_markdown(totals, index=True), "\n")
    print("### Seconds\n")
    print(_markdown(pd.Series(timings).to_frame("seconds"), index=True, digits=1))


if __name__ == "__main__":
    main()
