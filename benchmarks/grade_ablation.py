"""Where the grade model's ranking goes: a feature-group ablation of the credit backtest.

The through-the-cycle grade model (``grade_score:`` in ``models/credit.yaml``) ranks
less well than the point-in-time (PIT) model. This benchmark says how much of the gap
comes from the features the grade may not read (they move with the calendar or against
a compliant act) and how much from the monotone constraints, on the same panel, labels
and backtest (``experiments/backtest.yaml``) as ``benchmarks.grade_stability``:

* the PIT model, then the PIT model with one feature group removed at a time;
* the grade model's features with each group added back (monotone where the catalog
  declares a direction, as the PIT model is);
* the grade model's features without the missed filing deadlines (the overdue state);
* the grade model's features with the monotone constraints off;
* the grade model itself (its long-run calibration moves the intercept only, which
  leaves the AUC unchanged).

Every row is the backtest AUC on the one-year label, all rows, mean over the test
quarters and per test quarter. With ``--doc`` the table replaces the ``### Where the ranking goes``
subsection of ``docs/evaluation.md``.

Usage::

    nice -n 10 python -m benchmarks.grade_ablation --entities 20000 --seed 0
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

import riskml
from riskml._pipeline import panel_and_labels
from riskml.features import load_feature_spec
from riskml.models import fit_model
from riskml.models._grade_model import grade_features, grade_score_spec
from riskml.models._spec import load_model_spec
from riskml.records._boundary import as_records

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
SUBSECTION = "### Where the ranking goes"

#: Feature groups the grade model leaves out, as predicates on the catalog (name, row). A
#: feature belongs to the first group it matches, so the groups do not overlap.
GROUPS: dict[str, tuple[str, Callable[[str, pd.Series], bool]]] = {
    "annual": ("season-sensitive annual-report features (days since the last report, the latest report's values, "
               "the 730-day count, late and zero shares)",
               lambda n, r: r["source"] == "annual_reports"),
    "recency": ("other recency and time left (`days_since_*`, `days_to_expiry`)",
                lambda n, r: str(r["aggregation"]).startswith("days_")),
    "age": ("the entity's age (`entity_age_years`)", lambda n, r: r["aggregation"] == "age"),
    "shares": ("other shares, means and maxima",
               lambda n, r: r["aggregation"] in ("share", "mean", "max", "min", "latest")),
    "inspections": ("inspection counts (the bureau's act)", lambda n, r: r["source"] == "inspections"),
    "other": ("cross-entity (network) features, features without a direction of conduct, counts of ended records",
              lambda n, r: True),
}


def group_members(catalog: pd.DataFrame, group: str, among: list[str], grade: list[str]) -> list[str]:
    """The features of ``among``, not in the grade model, whose first matching group is ``group``."""
    def first(name: str) -> str:
        return next(g for g, (_, test) in GROUPS.items() if test(name, catalog.loc[name]))
    return [n for n in among if n not in grade and first(n) == group]


def quarter_auc(metrics: pd.DataFrame) -> pd.Series:
    """Backtest AUC on all rows per test quarter (index: the test as-of date)."""
    rows = metrics[(metrics["metric"] == "auc") & (metrics["population"] == "all")]
    return pd.Series(rows["value"].to_numpy(), index=[str(pd.Timestamp(d).date()) for d in rows["split"]])


def _pit_spec(raw: dict, monotone: bool = True) -> dict:
    """The credit spec without its grade model (and optionally without monotone constraints).

    Every variant reads exactly the features it names: the shipped spec's
    ``model.drop_features`` (the filing-deadline features the point-in-time model leaves
    out) do not apply to the ablation.
    """
    training = {**raw["training"], "monotone_from_catalog": monotone}
    return {**_every_feature(raw), "grade_score": {"basis": "point_in_time"}, "training": training}


def _every_feature(raw: dict) -> dict:
    """The spec with ``model.drop_features`` cleared: a fit reads exactly the features it is given."""
    return {**raw, "model": {**raw.get("model", {}), "drop_features": []}}


def run(n_entities: int, seed: int) -> tuple[pd.DataFrame, dict]:
    """The ablation table (variant, features, AUC, difference to the PIT model) and run facts."""
    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=n_entities, seed=seed)
    records = as_records(market.records)
    spec = load_model_spec("credit", sources=records.catalog)
    panel, labels = panel_and_labels(records, spec, labels=None, as_of="quarterly", feature_spec=None,
                                     show_progress=False)
    catalog = panel.catalog
    every = [c for c in panel.frame.columns if c not in ("entity_id", "as_of")]
    grade = grade_features(catalog, grade_score_spec(spec.raw), available=every)
    rows: list[dict] = []

    def add(variant: str, names: list[str], metrics: pd.DataFrame) -> None:
        by_quarter = quarter_auc(metrics)
        rows.append({"variant": variant, "features": len(names), "auc": float(by_quarter.mean()), **by_quarter})
        print(f"{variant}: {len(names)} features, AUC {by_quarter.mean():.4f} {by_quarter.round(4).tolist()} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)

    # the PIT model on every feature (the shipped spec's drop_features cleared) and the grade model
    full = fit_model(panel, labels, _every_feature(spec.raw), features=every)
    add("point-in-time model (all features, monotone where declared)", every, full.metrics)
    pit = _pit_spec(spec.raw)
    for group, (label, _) in GROUPS.items():
        drop = set(group_members(catalog, group, every, grade))
        names = [n for n in every if n not in drop]
        add(f"point-in-time without {label}", names, fit_model(panel, labels, pit, features=names).metrics)
    for group, (label, _) in GROUPS.items():
        names = grade + group_members(catalog, group, every, grade)
        add(f"grade features + {label}", names, fit_model(panel, labels, pit, features=names).metrics)
    missed = {f.name for f in load_feature_spec().features if f.missed_deadlines}
    if missed & set(grade):
        names = [n for n in grade if n not in missed]
        add("grade features without the missed filing deadlines (`annual_reports_overdue_open_count`)", names,
            fit_model(panel, labels, pit, features=names).metrics)
    free = fit_model(panel, labels, _pit_spec(spec.raw, monotone=False), features=grade)
    add("grade features, monotone constraints off, ordinary calibration", grade, free.metrics)
    add("grade model (grade features, monotone, long-run calibration)", grade, full.grade.metrics)
    table = pd.DataFrame(rows)
    table.insert(3, "vs_pit", table["auc"] - table["auc"].iloc[0])
    facts = {"entities": n_entities, "seed": seed, "rows": len(panel.frame), "grade_features": len(grade),
             "all_features": len(every), "seconds": time.perf_counter() - started,
             "test_dates": sorted({str(pd.Timestamp(d).date()) for d in full.metrics["split"]})}
    return table, facts


def markdown(table: pd.DataFrame, facts: dict) -> str:
    """The table as Markdown, with the command and the run's facts."""
    quarters = list(table.columns[4:])
    lines = ["| model | features | backtest AUC (mean) | vs point-in-time | " + " | ".join(quarters) + " |",
             "|---|---|---|---|" + "---|" * len(quarters)]
    for r in table.to_dict("records"):
        lines.append(f"| {r['variant']} | {r['features']} | {r['auc']:.4f} | {r['vs_pit']:+.4f} | "
                     + " | ".join(f"{r[q]:.4f}" for q in quarters) + " |")
    head = (f"`nice -n 10 python -m benchmarks.grade_ablation --entities {facts['entities']} --seed {facts['seed']}"
            f" --doc` ({facts['entities']:,} entities, {facts['rows']:,} panel rows, test quarters "
            f"{', '.join(facts['test_dates'])}; {facts['seconds'] / 60:.0f} min on the shared 2-core machine, "
            f"{time.strftime('%Y-%m-%d')}):")
    return "\n".join([head, "", *lines])


def write_subsection(body: str, doc: Path = DOC, marker: str = "<!-- grade_ablation table -->") -> None:
    """Replace the generated part (between two markers) of the ``### Where the ranking goes`` subsection."""
    text = doc.read_text(encoding="utf-8")
    if text.count(marker) != 2:
        raise SystemExit(f"{doc} needs the subsection {SUBSECTION!r} with the table between two {marker!r} lines")
    before, _, rest = text.partition(marker)
    _, _, after = rest.partition(marker)
    doc.write_text(f"{before}{marker}\n{body}\n{marker}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--doc", action="store_true", help=f"write the table into {DOC.name} ({SUBSECTION})")
    args = parser.parse_args()
    table, facts = run(args.entities, args.seed)
    body = markdown(table, facts)
    print(body)
    if args.doc:
        write_subsection(body)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
