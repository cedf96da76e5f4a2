"""Make the example appeal report: one D-grade entity of a small synthetic market.

Run from the repository root::

    RISKML_PSEUDONYM_KEY=... .venv/bin/python docs/examples/make_example.py

It simulates a 3,000-entity market (a small one, to keep it quick), validates and
pseudonymises the records, builds the quarterly panel, trains a credit model with a
one-split backtest, explains the lowest-scored D-grade entity with penalties at
2024-07-01 and writes ``appeal-report.html`` (and ``appeal-report.png`` when
Chromium is installed) beside this script.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from riskml.explain._explanation import explain_entity
from riskml.features import build_panel, load_feature_spec
from riskml.labels import make_labels
from riskml.models import fit_model
from riskml.records import validate
from riskml.synth import make_market

HERE = Path(__file__).resolve().parent
AS_OF = pd.Timestamp("2024-07-01")
N_ENTITIES = 3_000
NOTE = (f"示例：模拟市场（{N_ENTITIES:,} 个主体，随机种子 0）上的演示报告，非真实主体。 "
        f"Example: a demonstration on a simulated market of {N_ENTITIES:,} entities (seed 0), not a real entity.")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # A throwaway key: the example's pseudonyms need not match any other data set.
    key = os.environ.get("RISKML_PSEUDONYM_KEY") or secrets.token_hex(32)
    market = make_market(n_entities=N_ENTITIES, seed=0)
    records = validate(market.records, now=market.end + pd.Timedelta(days=1), key=key)
    spec = load_feature_spec()
    panel = build_panel(records, "quarterly", spec)
    train = panel.frame[panel.frame["as_of"] < AS_OF]
    from riskml.features import Panel

    train_panel = Panel(frame=train.reset_index(drop=True), catalog=panel.catalog, spec_hash=panel.spec_hash)
    labels = make_labels(records, train_panel, "credit")
    result = fit_model(train_panel, labels, "credit", backtest={"test_dates": "last 1"},
                       params={"n_estimators": 120})
    model = result.model

    at = build_panel(records, [AS_OF], spec).frame
    scores = model.score(at)
    pens = records["penalties"]
    penalised = set(pens.loc[pens["published"] < AS_OF, "entity_id"])
    d_grade = scores[(scores["grade"] == "D") & scores["entity_id"].isin(penalised)].sort_values(["score", "entity_id"])
    if len(d_grade) == 0:
        d_grade = scores[scores["grade"] == "D"].sort_values(["score", "entity_id"])
    entity = str(d_grade["entity_id"].iloc[len(d_grade) // 2])
    explanation = explain_entity(entity, AS_OF, records=records, model=model, spec=spec, k=5, reference=at)
    out = HERE / "appeal-report.html"
    explanation.to_html(out, note=NOTE)
    print(f"{entity}: grade {explanation.grade}, score {explanation.score:.1f}; wrote {out}")

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if Path(chromium).exists():
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                            "--disable-background-networking", "--disable-component-update", "--disable-sync",
                            f"--user-data-dir={profile}", f"--screenshot={HERE / 'appeal-report.png'}",
                            "--window-size=1200,3200", out.as_uri()], check=True, capture_output=True, timeout=120)
        print(f"wrote {HERE / 'appeal-report.png'}")


if __name__ == "__main__":
    main()
