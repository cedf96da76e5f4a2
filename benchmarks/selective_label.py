"""Selective label vs today's label on the synthetic county, judged on the truth.

Run from the repository root::

    .venv/bin/python -m benchmarks.selective_label [--entities 60000] [--seed 0] [--test-dates 2] [--no-doc]

On the synthetic county (``riskml.synth.make_market``) a violation is mostly observed
where someone inspected. Two credit models are trained on the same panel:

* **today's label** (``models/credit.yaml``): a row is positive when a listing or a
  qualifying penalty becomes known within a year, and negative otherwise, whether or
  not anyone looked;
* **selective label**: the same rule, with ``observed_when: [{source: inspections}]``:
  a row nobody inspected within the year is unlabeled, and left out of training.

For each test date ``T`` (the latest ``--test-dates`` quarter starts whose year of
truth is complete) each model is trained on the as-of dates whose label year ended
before ``T`` (its final model: booster, calibration slice and all), then scores every
entity alive at ``T``. Judged on the truth: a *true violator* violated in at least one
of the four quarters from ``T`` on, found or not. The table gives the share of true
violators among the top 5% of each ranking (and the share of all true violators it
catches), and writes the ``## Selective labels on the synthetic county`` section of
docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._doc import write_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
HEADING = "Selective labels on the synthetic county"
TOP = 0.05


def true_violators(truth, when: pd.Timestamp) -> pd.Series:
    """Entities that violated in at least one of the four quarters from ``when`` on."""
    eq = truth.entity_quarters
    quarter = pd.to_datetime(eq["quarter_start"])
    window = eq[(quarter >= when) & (quarter < when + pd.DateOffset(years=1))]
    return window.groupby(window["entity_id"].astype(str))["violated"].any()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-dates", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    import riskml
    from riskml._specs import load_yaml, resolve_spec
    from riskml.models import fit_model

    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=args.seed)
    records = market.records
    panel = riskml.build_panel(records, as_of="quarterly")
    today = load_yaml(resolve_spec("models", "credit"))
    selective = {**today, "label": {**today["label"], "observed_when": [{"source": "inspections"}]}}
    labels = {"today": riskml.make_labels(records, panel, riskml.models.load_model_spec(today).label),
              "selective": riskml.make_labels(records, panel, riskml.models.load_model_spec(selective).label)}
    specs = {"today": today, "selective": selective}
    complete = labels["today"].loc[labels["today"]["complete"], "as_of"].unique()
    tests = sorted(pd.to_datetime(complete))[-args.test_dates:]
    rows = []
    for when in tests:
        truth = true_violators(market.truth, when)
        at = panel.frame["as_of"] == when
        scored = riskml.features.Panel(frame=panel.frame.loc[at].reset_index(drop=True), catalog=panel.catalog,
                                       spec_hash=panel.spec_hash)
        violator = truth.reindex(scored.frame["entity_id"].astype(str)).fillna(False).to_numpy(bool)
        n_top = int(np.ceil(TOP * len(violator)))
        row = {"test as-of": str(when.date()), "entities": len(violator), "true violators": int(violator.sum())}
        for name, lab in labels.items():
            # train only on label years that ended before the test date
            lab = lab.assign(complete=lab["complete"] & (lab["as_of"] <= when - pd.DateOffset(years=1)))
            fit = fit_model(panel, lab, specs[name], backtest={"test_dates": "last 1"})
            p = fit.model.score(scored)["probability"].to_numpy()
            top = np.argsort(-p, kind="stable")[:n_top]
            used = lab["complete"] & lab["in_population"] & (lab["observed"] if name == "selective" else True)
            row[f"{name}: training rows"] = int(used.sum())
            row[f"{name}: violators in top 5%"] = violator[top].mean()
            row[f"{name}: share of violators caught"] = violator[top].sum() / max(violator.sum(), 1)
        rows.append(row)
        print(row, flush=True)
    table = pd.DataFrame(rows)
    seconds = time.perf_counter() - started
    pd.set_option("display.width", 200)
    print(table.round(4).to_string(index=False))
    if not args.no_doc:
        write_section(HEADING, render(table, args, seconds), doc=DOC)
    return 0


def render(table: pd.DataFrame, args, seconds: float) -> str:
    command = "python -m benchmarks.selective_label"
    if (args.entities, args.seed, args.test_dates) != (60_000, 0, 2):
        command += f" --entities {args.entities} --seed {args.seed} --test-dates {args.test_dates}"
    lines = [
        f"Command: `{command}` ({seconds / 60:.0f} min).",
        "",
        f"The synthetic county of {args.entities:,} entities (seed {args.seed}). Today's credit label counts an "
        "entity nobody inspected in the year as a negative; the selective label (`observed_when: [{source: "
        "inspections}]`) leaves it unlabeled and out of training. Each model is trained on the label years that "
        "ended before the test date and ranks every entity alive then; a true violator violated in at least one "
        "of the next four quarters, found or not.",
        "",
        "| test as-of | entities | true violators | training rows, today | training rows, selective "
        "| true violators in the top 5%, today | in the top 5%, selective | share caught, today "
        "| share caught, selective |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['test as-of']} | {r['entities']:,} | {r['true violators']:,} | {r['today: training rows']:,} | "
            f"{r['selective: training rows']:,} | {r['today: violators in top 5%']:.3f} | "
            f"{r['selective: violators in top 5%']:.3f} | {r['today: share of violators caught']:.3f} | "
            f"{r['selective: share of violators caught']:.3f} |")
    t, s = table["today: violators in top 5%"].mean(), table["selective: violators in top 5%"].mean()
    better = "the selective label" if s > t else "today's label"
    n_top = int(np.ceil(TOP * table["entities"].mean()))
    se = float(np.sqrt(max(s, t) * (1 - max(s, t)) / n_top))
    lines += ["", f"Averaged over the test dates, {better} ranks true violators better: {max(s, t):.3f} vs "
              f"{min(s, t):.3f} of the top 5% are true violators; each share has a binomial standard error of "
              f"about {se:.3f} ({n_top:,} entities in a top 5%)"
              + (", so a difference this small is not a finding." if abs(s - t) < 2 * se else ".")]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
