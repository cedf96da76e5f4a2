"""The promotion gates of the shipped credit model on a synthetic county, both boosters.

Trains ``models/credit.yaml`` (the point-in-time booster and the through-the-cycle grade
model its ``grade_score`` declares) as ``make demo`` does, with the default backtest, into
a throw-away MLflow store, promotes it with the bundled ``experiments/promotion.yaml``
and prints every gate: its value, threshold and outcome. A first model meets only the
absolute gates, so the second part registers the same training again as a challenger
and prints the relative gates against the first.

Run: ``python -m benchmarks.grade_gates --entities 60000``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", secrets.token_hex(32))
    os.environ["RISKML_HOME"] = tempfile.mkdtemp(prefix="riskml-grade-gates-")
    os.environ.pop("MLFLOW_TRACKING_URI", None)

    import riskml
    from riskml._pipeline import backtest_scores
    from riskml.tracking._runs import log_training_run

    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, start="2019-01-01", end="2024-12-31", seed=args.seed)
    records = riskml.records.validate(market.records, mode="strict")
    panel = riskml.build_panel(records, "quarterly", show_progress=False)
    labels = riskml.make_labels(records, panel, "credit")
    result = riskml.train(panel, "credit", labels=labels, show_progress=False)
    print(f"{args.entities:,} entities, seed {args.seed}: trained in {time.perf_counter() - started:.0f} s; "
          f"grade model: {result.fit.grade is not None}")
    for title in ("first model (absolute gates)", "the same training again (relative gates)"):
        if title.startswith("the same"):
            log_training_run(result.fit, metrics=result.fit.metrics, specs={}, panel_schema=panel,
                             predictions=result.fit.predictions.assign(score=backtest_scores(result.fit)), plots=False)
        decision = riskml.promote("credit")
        print(f"\n{title}: test date {decision.split}, promoted {decision.promoted}")
        print("| gate | value | rule | threshold | passed | detail |\n|---|---|---|---|---|---|")
        for g in decision.gates:
            value = "" if g.value is None else f"{g.value:.4f}"
            threshold = "" if g.threshold is None else f"{g.threshold:g}"
            print(f"| {g.name} | {value} | {g.rule} | {threshold} | {g.passed} | {g.detail} |")


if __name__ == "__main__":
    main()
