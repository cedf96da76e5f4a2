"""``riskml demo``: the whole pipeline on a synthetic county, printed for a person.

synthetic market -> validation -> panel -> credit and fraud models (backtest, MLflow)
-> promotion -> scores for the latest quarter -> grades, fraud warnings, one explained
D-grade entity, blind spots and an inspection plan.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

import riskml
from riskml._pipeline import backtest_scores
from riskml.grading import assign_grades
from riskml.labels import make_labels
from riskml.records import validate
from riskml.tracking import configure

__all__ = ["run_demo"]

_LATEST_METRICS = ("auc", "oracle_auc", "ks", "brier", "calibration_error", "precision_at_100", "lift_at_100", "base_rate")


def _table(title: str, frame: pd.DataFrame, floatfmt: str = "{:.4f}") -> Table:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")  # a narrow terminal wraps a cell, never cuts it
    for row in frame.itertuples(index=False):
        table.add_row(*[_cell(v, floatfmt) for v in row])
    return table


def _cell(value: Any, floatfmt: str) -> str:
    """A table cell: floats by ``floatfmt``, midnight timestamps as plain dates."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return floatfmt.format(value) if isinstance(value, float) else str(value)


def _step(console: Console, title: str, started: float) -> None:
    console.rule(f"{title}  [dim](+{time.perf_counter() - started:.0f} s)[/dim]")


def _latest_metrics(result: Any) -> pd.DataFrame:
    """Metrics of the latest backtest date: one row per metric, one column per population."""
    wide = result.metrics
    rows = wide.loc[wide["split"] == wide["split"].max()].set_index("population")
    cols = [c for c in _LATEST_METRICS if c in rows.columns]
    table = rows[cols].T.rename_axis("metric").reset_index()
    return table.rename(columns={"all": "all entities", "random": "random inspections"})


def _graded_predictions(result: Any, panel: Any) -> pd.DataFrame:
    """Out-of-time backtest predictions with the score and grade the policy gives them."""
    oot = result.fit.predictions.merge(panel.frame, on=["entity_id", "as_of"], how="left")
    graded = assign_grades(backtest_scores(result.fit), oot, result.model.policy)
    return pd.DataFrame({"entity_id": oot["entity_id"], "as_of": oot["as_of"], "probability": oot["probability"],
                         "score": graded["score"].to_numpy(), "grade": graded["grade"].astype(str).to_numpy()})


def run_demo(console: Console, *, n_entities: int = 60_000, seed: int = 0) -> dict[str, Any]:
    """Run the demo pipeline and print each stage; returns the main results."""
    started = time.perf_counter()
    if not os.environ.get("RISKML_PSEUDONYM_KEY"):
        # Synthetic data only: a throw-away key for this process. Real deployments set
        # RISKML_PSEUDONYM_KEY from a secret store.
        os.environ["RISKML_PSEUDONYM_KEY"] = secrets.token_hex(32)
        console.print("[dim]RISKML_PSEUDONYM_KEY not set: using a throw-away key for this demo run[/dim]")

    _step(console, f"1. Synthetic county: {n_entities:,} entities, 2019-2024", started)
    market = riskml.synth.make_market(n_entities=n_entities, start="2019-01-01", end="2024-12-31", seed=seed,
                                      show_progress=True)
    console.print(_table("Records per source", market.summary()))

    _step(console, "2. Validation and pseudonymisation", started)
    records = validate(market.records, mode="strict")
    console.print(f"{records.n_records:,} records kept, {len(records.quarantine):,} quarantined; "
                  "personal columns replaced by keyed hashes")

    _step(console, "3. Entity x quarter panel (point in time)", started)
    panel = riskml.build_panel(records, "quarterly", show_progress=True)
    console.print(f"{len(panel.frame):,} rows x {len(panel.feature_names)} features over "
                  f"{panel.frame['as_of'].nunique()} quarters")

    results = {}
    for target in ("credit", "fraud"):
        _step(console, f"4. Train {target}: temporal backtest, calibration, MLflow", started)
        labels = make_labels(records, panel, target)
        try:
            # the truth table's best possible ranking is that of the credit label
            truth = market.truth.entity_quarters if target == "credit" else None
            result = riskml.train(panel, target, labels=labels, truth=truth, show_progress=True)
        except ValueError as exc:  # a small market may hold too few fraud cases to learn from
            console.print(f"[yellow]{target} model not trained: {exc}[/yellow]")
            continue
        latest = pd.Timestamp(result.metrics["split"].max()).date()
        console.print(_table(f"{target}: backtest on {latest} (out of time)", _latest_metrics(result)))
        decision = riskml.promote(target)
        verdict = "promoted to champion" if decision.promoted else "not promoted"
        console.print(f"riskml-{target} v{decision.challenger_version}: {verdict}")
        results[target] = result

    _step(console, "5. Scores for the latest quarter (champion models)", started)
    scores = riskml.predict(panel, target="credit", as_of=panel.frame["as_of"].max(), fraud="fraud" in results,
                            explain=3)
    as_of = pd.Timestamp(scores["as_of"].iloc[0]).date()
    dist = scores["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
    console.print(_table(f"Credit grades at {as_of}", pd.DataFrame({
        "grade": dist.index, "entities": dist.to_numpy(), "share": (dist / dist.sum()).round(3).to_numpy()})))
    overrides = scores.loc[scores["override"] != "", "override"].value_counts()
    if len(overrides):
        console.print("overrides applied: " + ", ".join(f"{k} ({v})" for k, v in overrides.items()))

    if "fraud_probability" in scores.columns:
        top_fraud = scores.nlargest(10, "fraud_probability")[["entity_id", "fraud_probability", "fraud_grade", "grade"]]
        shells = set(market.truth.entities.loc[market.truth.entities["is_shell"], "entity_id"])
        top_fraud = top_fraud.assign(truly_shell=top_fraud["entity_id"].isin(shells))
        console.print(_table("Top 10 fraud warnings (truly_shell from the synthetic truth)", top_fraud))

    d_grade = scores.loc[scores["grade"] == "D"].sort_values("score").head(1)
    if len(d_grade):
        row = d_grade.iloc[0]
        console.print(f"[bold]Explained D-grade entity {row['entity_id']}[/bold]: score {row['score']:.1f}, "
                      f"grade {row['grade']} (by score {row['grade_by_score']}), override {row['override'] or 'none'}")
        for j in (1, 2, 3):
            if row.get(f"reason_{j}_feature"):
                console.print(f"  {j}. {row[f'reason_{j}_text_zh']}  |  {row[f'reason_{j}_text_en']}")
        explanation = riskml.explain(row["entity_id"], row["as_of"], records=records)
        report = configure().home / "reports" / f"appeal-{row['entity_id']}.html"
        report.parent.mkdir(parents=True, exist_ok=True)
        explanation.to_html(report)
        best = explanation.whatifs.sort_values("delta_points", ascending=False).head(3)
        for text in best["text_en"]:
            console.print(f"  what if: {text}")
        console.print(f"  appeal report (HTML, zh/en): {report}")

    _step(console, "6. Blind spots and the inspection plan", started)
    ranked_spots = riskml.blind_spots(scores, records)
    spots = ranked_spots.loc[ranked_spots["rank"] <= 10]
    shown = spots[["rank", "entity_id", "probability", "grade"]].copy()
    if "reason_1_text_en" in spots.columns:
        shown["top reason"] = spots["reason_1_text_en"].to_numpy()
    console.print(_table("Top 10 blind spots (no inspection or penalty in 3 years)", shown))
    inspectors = [f"INS{i:03d}" for i in range(60)]
    plan = riskml.inspection_plan(scores, rates={"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.9},
                                  blind_spots=ranked_spots, k=100,
                                  inspectors=inspectors, seed=1)
    counts = plan.groupby("reason", observed=True).size().rename("entities").reset_index()
    console.print(_table(f"Inspection plan for the quarter from {as_of}: {len(plan):,} inspections", counts))

    credit = results["credit"]
    oot = _graded_predictions(credit, panel)
    value = riskml.evaluate_plan(oot, market.truth, budget=0.05, seed=1)
    summary = value.groupby("strategy", observed=True)[["violators_found", "compliant_disturbed"]].sum()
    summary["found_vs_random"] = (summary["violators_found"] / summary.loc["random", "violators_found"]).round(2)
    console.print(_table("What a plan is worth: four backtest quarters, 5% of entities inspected each "
                         "(true violators from the synthetic truth)", summary.reset_index(), floatfmt="{:.2f}"))

    config = configure()
    _step(console, "Done", started)
    if config.embedded:
        console.print(f"MLflow UI: mlflow ui --backend-store-uri {config.tracking_uri}")
    else:
        console.print(f"MLflow tracking server: {config.tracking_uri}")
    return {"market": market, "panel": panel, "results": results, "scores": scores}
