"""Inspection policies, blind spots and fraud on the synthetic market, replayed without look-ahead.

Builds a synthetic market (seed 0 by default) and its quarterly panel, then replays the
supervision cycle with :func:`riskml.ranking.replay` and the policies of
``experiments/replay.yaml``: for each quarter of the period the credit model (and the
fraud model) is fitted only on what was known before the quarter, every policy draws its
plan, and the truth says what the inspections found. Prints, per policy, the violators
found, compliant businesses disturbed, the ratio to random inspection of the same size,
the share of the truth-ranked limit reached and how many days earlier than the baseline
policy violators are found; per quarter the same; the fraud model per quarter on the
truth's shell companies and on observed cases.

``--loop`` adds the selective-labels loop: the same replay with ``labels: replayed`` (each
policy learns only what its own inspections found), trained on every row, on the
selection-aware sample, and weighted, and reports blind-spot precision quarter by quarter.

``--look-ahead`` runs the earlier evaluation instead (kept to measure what it
overstated): one model trained on every as-of date before ``--as-of`` with labels from
*all* records (so outcomes known during the evaluated year leak into training),
:func:`riskml.ranking.evaluate_plan` over the following four quarters, and the top-N
blind spots of a naive, a selection-aware and a weighted model.

Run: ``.venv/bin/python -m benchmarks.plan --n-entities 60000`` (prints markdown).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

import riskml
from riskml.models import fit_model
from riskml.ranking import Replay, blind_spots, evaluate_plan, load_replay_spec, replay, selection_aware_sample


def _markdown(frame: pd.DataFrame, index: bool = False, digits: int = 3) -> str:
    """A pipe table (no tabulate dependency)."""
    frame = frame.reset_index() if index else frame
    def cell(v: object) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        if isinstance(v, pd.Timestamp):
            return str(v.date())
        return str(v)
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


SUMMARY_COLUMNS = ["inspections", "violators_found", "compliant_disturbed", "hit_rate", "vs_random", "limit_found",
                   "share_of_limit", "expected_share_of_limit", "blind_spot_inspections", "blind_spot_precision",
                   "blind_spot_share_of_limit"]


def _summary(out: Replay, year: int | None = None) -> pd.DataFrame:
    if year is not None:
        q = out.quarters.loc[out.quarters["as_of"].dt.year == year]
        out = Replay(out.spec, q, out.inspections.loc[out.inspections["as_of"].dt.year == year], out.fits, out.fraud)
    table = out.summary()[SUMMARY_COLUMNS]
    days = out.days_earlier()
    table["days_earlier_mean"] = days["mean_days_earlier"]
    table["baseline_found_first_by_policy"] = days["found_earlier"] / days["found_by_baseline"].replace(0, np.nan)
    return table


def _replay_report(market: riskml.synth.Market, panel: riskml.Panel, args: argparse.Namespace,
                   timings: dict[str, float]) -> dict[str, object]:
    training = {"retrain_every": args.retrain_every, "params": {"n_estimators": args.n_estimators}}
    spec = load_replay_spec(args.spec, start=args.start, end=args.end, training=training, seed=args.seed,
                            fraud=not args.no_fraud)
    t0 = time.perf_counter()
    out = replay(market.records, market, spec, panel=panel)
    timings["replay (records labels)"] = time.perf_counter() - t0
    years = sorted(out.quarters["as_of"].dt.year.unique())
    print(f"### Policies, {args.start} .. {args.end}, replayed without look-ahead\n")
    print(f"Credit model refitted every {args.retrain_every} quarter(s), {args.n_estimators} trees at most; "
          f"baseline for days earlier: `{spec.baseline}`.\n")
    labels = {p.name: p.label_en for p in spec.policies}
    whole = _summary(out)
    print(_markdown(whole.rename(index=labels), index=True), "\n")
    for year in years:
        print(f"#### {year}\n")
        print(_markdown(_summary(out, int(year)).rename(index=labels), index=True), "\n")
    print("#### Days earlier than the baseline\n")
    print(_markdown(out.days_earlier(), index=True, digits=1), "\n")
    print("#### Per quarter\n")
    cols = ["as_of", "policy", "n_alive", "inspections", "violators_total", "violators_found", "vs_random", "limit_found",
            "share_of_limit", "blind_spot_inspections", "blind_spot_found", "blind_spot_limit_found"]
    print(_markdown(out.quarters[cols]), "\n")
    if len(out.fraud):
        print("#### Fraud model per quarter (judged on the truth's shells and on observed cases)\n")
        print(_markdown(out.fraud), "\n")
    print("#### Fits\n")
    print(_markdown(out.fits), "\n")
    return {"summary": whole.reset_index().to_dict("records"), "days_earlier": out.days_earlier().reset_index().to_dict("records"),
            "fraud": out.fraud.to_dict("records"), "fits": out.fits.to_dict("records"),
            "quarters": out.quarters.to_dict("records")}


def _loop_report(market: riskml.synth.Market, panel: riskml.Panel, args: argparse.Namespace,
                 timings: dict[str, float]) -> dict[str, object]:
    base = load_replay_spec(args.spec)
    policies = [p.model_dump() for p in base.policies if p.name in ("risk_ranked", "grades_blind_spots", "random")]
    rows, per_quarter = [], []
    for sample in ("all", "inspected", "weighted"):
        training = {"retrain_every": args.retrain_every, "params": {"n_estimators": args.n_estimators}, "sample": sample}
        spec = load_replay_spec(args.spec, start=args.start, end=args.end, training=training, seed=args.seed,
                                labels="replayed", fraud=False, policies=policies, baseline="random")
        t0 = time.perf_counter()
        out = replay(market.records, market, spec, panel=panel)
        timings[f"replay loop ({sample})"] = time.perf_counter() - t0
        summary = out.summary()
        for policy, r in summary.iterrows():
            rows.append({"training": sample, "policy": policy, "violators_found": r["violators_found"],
                         "vs_random": r["vs_random"], "share_of_limit": r["share_of_limit"],
                         "blind_spot_inspections": r["blind_spot_inspections"],
                         "blind_spot_precision": r["blind_spot_precision"],
                         "blind_spot_share_of_limit": r["blind_spot_share_of_limit"]})
        q = out.quarters.loc[out.quarters["policy"] == "grades_blind_spots"]
        q = q.assign(training=sample, precision=q["blind_spot_found"] / q["blind_spot_inspections"].replace(0, np.nan))
        per_quarter.append(q[["training", "as_of", "blind_spot_inspections", "blind_spot_found", "precision",
                              "blind_spot_limit_found", "blind_spot_share_of_limit"]])
    table = pd.DataFrame(rows)
    quarters = pd.concat(per_quarter, ignore_index=True)
    print("### Selective labels in the loop (each policy learns only what its own inspections found)\n")
    print(_markdown(table), "\n")
    print("#### Blind spots of the grades + blind spots policy, quarter by quarter\n")
    print(_markdown(quarters), "\n")
    return {"loop": table.to_dict("records"), "loop_quarters": quarters.to_dict("records")}


def _truth_next_year(market: riskml.synth.Market, as_of: pd.Timestamp) -> pd.DataFrame:
    tq = market.truth.entity_quarters
    year = tq.loc[(tq["quarter_start"] >= as_of) & (tq["quarter_start"] < as_of + pd.DateOffset(years=1))]
    return year.groupby("entity_id").agg(violated=("violated", "any"), p_violation=("p_violation", "mean"))


def _look_ahead_report(market: riskml.synth.Market, panel: riskml.Panel, args: argparse.Namespace,
                       timings: dict[str, float]) -> dict[str, object]:
    """The earlier evaluation: labels from all records, one fit, evaluate_plan on the next year."""
    records = market.records
    as_of = pd.Timestamp(args.as_of)
    labels = riskml.make_labels(records, panel, "credit")
    train_rows = (panel.frame["as_of"] < as_of).to_numpy()
    train_panel = riskml.Panel(panel.frame.loc[train_rows].reset_index(drop=True), panel.catalog, panel.spec_hash)
    train_labels = labels.loc[train_rows].reset_index(drop=True)
    backtest = {"test_dates": "last 1"}
    t0 = time.perf_counter()
    naive = fit_model(train_panel, train_labels, "credit", backtest=backtest)
    sample = selection_aware_sample(train_panel, train_labels, records, how="inspected")
    aware = fit_model(sample.panel, sample.labels, "credit", backtest=backtest)
    sample_w = selection_aware_sample(train_panel, train_labels, records, how="weighted")
    weighted = fit_model(sample_w.panel, sample_w.labels, "credit", backtest=backtest, weights=sample_w.weights)
    timings["look-ahead fits"] = time.perf_counter() - t0
    at = panel.frame.loc[panel.frame["as_of"] == as_of].reset_index(drop=True)
    truth = _truth_next_year(market, as_of)
    rows = []
    for name, result in (("naive", naive), ("selection-aware", aware), ("weighted", weighted)):
        spots = blind_spots(result.model.score(at), records).join(truth, on="entity_id")
        for n in args.top:
            top = spots.head(n)
            rows.append({"model": name, "blind_spots": len(spots), "top_n": n, "violated_share": top["violated"].mean(),
                         "mean_true_p": top["p_violation"].mean(), "base_violated_share": spots["violated"].mean()})
    selection = pd.DataFrame(rows)
    dates = [d for d in panel.as_of_dates if as_of <= d < as_of + pd.DateOffset(years=1)]
    frames = {d: naive.model.score(panel.frame.loc[panel.frame["as_of"] == d]) for d in dates}
    plans = evaluate_plan(frames, market, budget=0.05, seed=args.seed)
    totals = plans.groupby("strategy")[["inspections", "violators_found", "compliant_disturbed", "violators_total"]].sum()
    totals["hit_rate"] = totals["violators_found"] / totals["inspections"]
    totals["found_vs_random"] = totals["violators_found"] / totals.loc["random", "violators_found"]
    print(f"### Look-ahead evaluation (labels from all records), as of {as_of.date()}\n")
    print(_markdown(naive.metric_table()), "\n")
    print(_markdown(selection, digits=4), "\n")
    print(_markdown(plans), "\n")
    print(_markdown(totals, index=True), "\n")
    return {"look_ahead_plans": plans.to_dict("records"), "look_ahead_blind_spots": selection.to_dict("records")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--spec", default="replay", help="replay spec (name or YAML path)")
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument("--retrain-every", type=int, default=4, help="quarters between refits")
    parser.add_argument("--n-estimators", type=int, default=300, help="trees at most per fit (early stopping applies)")
    parser.add_argument("--loop", action="store_true", help="also replay with labels from the replayed inspections")
    parser.add_argument("--no-policies", action="store_true", help="skip the records-label replay")
    parser.add_argument("--no-fraud", action="store_true", help="do not refit and judge the fraud model")
    parser.add_argument("--look-ahead", action="store_true", help="also run the earlier look-ahead evaluation")
    parser.add_argument("--as-of", default="2024-01-01", help="look-ahead: first evaluated as-of date")
    parser.add_argument("--top", type=int, nargs="+", default=[100, 500, 1000], help="look-ahead: top-N blind spots")
    parser.add_argument("--json", type=Path, help="also write the tables as JSON here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.n_entities, seed=args.seed)
    timings["market"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    panel = riskml.build_panel(market.records, as_of="quarterly")
    timings["panel"] = time.perf_counter() - t0

    print(f"## {args.n_entities:,} entities, seed {args.seed}\n")
    results: dict[str, object] = {"n_entities": args.n_entities, "seed": args.seed}
    if not args.no_policies:
        results.update(_replay_report(market, panel, args, timings))
    if args.loop:
        results.update(_loop_report(market, panel, args, timings))
    if args.look_ahead:
        results.update(_look_ahead_report(market, panel, args, timings))
    print("### Seconds\n")
    print(_markdown(pd.Series(timings).to_frame("seconds"), index=True, digits=1))
    if args.json:
        args.json.write_text(json.dumps(results, default=str, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
