"""Fairness with outcomes on the synthetic county: which groups warn, before and now.

Run from the repository root::

    nice -n 10 .venv/bin/python -m benchmarks.fairness [--entities 60000] [--seed 0] [--no-doc]

Builds the county's panel and credit labels, runs the credit model's temporal backtest
(``experiments/backtest.yaml``), grades the out-of-time predictions of every test date
with the model spec's bands and overrides, and audits every district, industry and
entity type of the market (20 groups in ``make_market``: 8 districts, 10 industries,
2 entity types) three ways:

* before, flag rate only (the monitor's view of a quarter): flag-rate ratio to the
  largest group outside [0.8, 1.25], on the latest test date;
* before, with labels: the old rule, any of flag rate, precision or false positive
  rate ratio outside [0.8, 1.25], no intervals, on all test dates;
* now: :func:`riskml.monitor.fairness_audit` on all test dates (false negative, false
  positive and false discovery rate ratios with 95% bootstrap intervals over
  entities), warning only when an interval lies wholly outside [0.8, 1.25].

A group counts as warned when any of its checks warns (reference groups cannot warn).
Prints the tables and writes the ``## Fairness`` section of docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._doc import machine_line, write_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
GROUPS = ("district", "industry", "entity_type")
BAND = (0.8, 1.25)
MIN_GROUP = 50


def _old_rule(table: pd.DataFrame, ratios: tuple[str, ...]) -> set[str]:
    """The group audit's rule before outcomes: any ratio outside the band, no interval."""
    big = table.loc[table["n"] >= MIN_GROUP]
    hit = np.zeros(len(big), dtype=bool)
    for ratio in ratios:
        v = big[ratio].to_numpy(dtype=np.float64)
        hit |= (v < BAND[0]) | (v > BAND[1])
    return {str(g) for g in big.index[hit]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=500)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")

    import riskml
    from riskml.grading import assign_grades, proba_to_score
    from riskml.models import fit_model
    from riskml.monitor import fairness_audit
    from riskml.monitor._fairness import fairness_warnings
    from riskml.monitor._groups import group_metrics

    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=args.seed)
    records = riskml.records.validate(market.records)
    panel = riskml.build_panel(records, "quarterly")
    labels = riskml.make_labels(records, panel, "credit")
    fit = fit_model(panel, labels, "credit")
    policy = fit.model.policy
    preds = fit.predictions[["entity_id", "as_of", "probability", "label"]]
    rows = preds.merge(panel.frame, on=["entity_id", "as_of"], how="left", validate="one_to_one")
    graded = assign_grades(proba_to_score(rows["probability"].to_numpy(), policy), rows, policy)
    rows = rows.assign(grade=graded["grade"].astype(str).to_numpy())
    for by in GROUPS:
        rows[by] = rows[by].astype(str)
    latest = rows.loc[rows["as_of"] == rows["as_of"].max()]
    print(f"backtest: {len(rows):,} rows over {rows['as_of'].nunique()} test dates "
          f"({time.perf_counter() - started:.0f} s)", flush=True)

    lines = []
    counts = {"flag": 0, "labels": 0, "now": 0, "groups": 0}
    for by in GROUPS:
        flag_view = group_metrics(latest, None, by)
        with_labels = group_metrics(rows, rows[["entity_id", "as_of", "label"]], by)
        audit = fairness_audit(rows, None, by, n_boot=args.n_boot, seed=args.seed)
        before_flag = _old_rule(flag_view, ("flag_rate_ratio",))
        before_labels = _old_rule(with_labels, ("flag_rate_ratio", "precision_ratio", "false_positive_rate_ratio"))
        warned = fairness_warnings(audit, BAND, MIN_GROUP)
        now = {w["subject"].split("=", 1)[1] for w in warned}
        counts["groups"] += len(audit)
        counts["flag"] += len(before_flag)
        counts["labels"] += len(before_labels)
        counts["now"] += len(now)
        for group in audit.index:
            a = audit.loc[group]
            cells = [f"{a[m + '_ratio']:.2f} [{a[m + '_ratio_low']:.2f}, {a[m + '_ratio_high']:.2f}]"
                     for m in ("false_negative_rate", "false_positive_rate", "false_discovery_rate")]
            ref = " (ref)" if group == audit.attrs["reference"] else ""
            lines.append(f"| {by}={group}{ref} | {int(a['n']):,} | {a['flag_rate_ratio']:.2f} | "
                         f"{' | '.join(cells)} | {'yes' if group in before_flag else ''} | "
                         f"{'yes' if group in before_labels else ''} | {'yes' if group in now else ''} |")
        for w in warned:
            print("now:", w["message"])

    summary = (f"Groups that warn, of {counts['groups']}: before, flag rate only (latest test date) "
               f"**{counts['flag']}**; before, with labels (flag rate, precision, FPR ratios, no intervals) "
               f"**{counts['labels']}**; now (error-rate ratios whose 95% interval excludes [0.8, 1.25]) "
               f"**{counts['now']}**.")
    header = [
        machine_line(), "",
        f"Synthetic county of {args.entities:,} entities (seed {args.seed}), credit model as shipped, temporal "
        f"backtest of `experiments/backtest.yaml`: {len(rows):,} out-of-time rows with labels over "
        f"{rows['as_of'].nunique()} test dates ({str(rows['as_of'].min())[:10]} to {str(rows['as_of'].max())[:10]}); "
        f"flagged = grade D (bands and overrides of `models/credit.yaml`); {args.n_boot} bootstrap replicates "
        "over entities; ratios to the largest group of each kind.", "",
        summary, "",
        "| group | rows | flag rate ratio | FNR ratio [95%] | FPR ratio [95%] | FDR ratio [95%] "
        "| warned before (flag rate) | warned before (labels) | warns now |",
        "|---|---:|---:|---:|---:|---:|:-:|:-:|:-:|",
    ]
    text = "\n".join(header + lines)
    print(text)
    if not args.no_doc:
        intro = (
            "Run: `nice -n 10 .venv/bin/python -m benchmarks.fairness` (`--entities 60000 --seed 0`).\n\n"
            "A flag rate that differs between groups may only mean that one group holds more risk. Where "
            "outcomes are known (the backtest's test dates), `riskml.monitor.fairness_audit(predictions, "
            "by=...)` measures per group the flag rate, the false negative rate (violators not flagged), "
            "the false positive rate (compliant entities flagged) and the false discovery rate (flags that "
            "hit compliant entities), each as a ratio to a reference group with a bootstrap interval over "
            "entities, through fairlearn's `MetricFrame`; `fairness_warnings` warns only when an error-rate "
            "ratio's whole interval lies outside the parity band `group_ratio` of `experiments/monitor.yaml`. "
            "`riskml.monitor.monitor(..., outcomes=rows)` adds the audit to a report, with `rows` the "
            "backtest's predictions (`fit.predictions`) graded by the model's policy and joined to their "
            "group columns, as this benchmark does. A ratio below the band warns as well as one above it. The "
            "flag-rate view of the current quarter (`group_metrics` without labels) stays, and its warnings "
            "say that it cannot tell bias from risk.\n\n"
        )
        write_section("Fairness", intro + text, doc=DOC)


if __name__ == "__main__":
    main()
