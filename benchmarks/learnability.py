"""Learnability benchmark: how close a model on the records gets to the best possible.

Run from the repository root::

    .venv/bin/python benchmarks/learnability.py [--entities 60000] [--seed 0] [--test-dates 4]

Generates the synthetic county (``riskml.synth.make_market``), builds the default
panel and the credit labels, trains the credit model with the temporal backtest
(``riskml.train(..., log=False)``) and prints, per test as-of date, on the same rows:

* the model's out-of-time AUC;
* the fair oracle AUC: the truth's ``p_label_1y`` (the probability of a positive
  credit label over ``[t, t + 365d)`` given the market's state at ``t``), the best
  ranking any model could reach without knowing the future;
* the realised-future AUC: the same probability computed from the per-quarter
  chances that actually unfolded after ``t`` (``Truth.realised_score``), which no
  model can reach because it knows the drift to come;
* the gap ``fair oracle - model``.

It also prints the generation time, the label rate and a few market rates. The
target of the synthetic market is a gap of at most 0.02 on the latest test date.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def _scores_on_rows(truth, rows: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """``rows`` (entity_id, as_of, ...) with the fair and realised-future truth scores."""
    eq = truth.entity_quarters
    scores = pd.DataFrame({
        "entity_id": eq["entity_id"].to_numpy(),
        "as_of": eq["quarter_start"].to_numpy(),
        "fair": truth.oracle_score().to_numpy(),
        "realised": truth.realised_score().to_numpy(),
    })  # fmt: skip
    out = rows.merge(scores, on=["entity_id", "as_of"], how="left", validate="many_to_one")
    missing = int(out["fair"].isna().sum())
    if missing:
        logging.getLogger(__name__).warning("%d predicted rows have no truth row", missing)
    return out


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(roc_auc_score(y, s)) if 0 < y.sum() < len(y) else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-dates", type=int, default=4, help="latest N complete as-of dates to test on")
    parser.add_argument("--n-estimators", type=int, default=None, help="override the model spec's trees")
    args = parser.parse_args()

    # The benchmark pseudonymises synthetic people only: a throwaway key is enough.
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "riskml-benchmark-key-synthetic-data-only")
    os.environ.setdefault("RISKML_PROGRESS", "0")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    import riskml
    from riskml.synth import make_market

    t0 = time.perf_counter()
    market = make_market(n_entities=args.entities, seed=args.seed, show_progress=False)
    gen_s = time.perf_counter() - t0
    print(f"make_market({args.entities:,}, seed={args.seed}): {gen_s:.1f} s, {market.records.n_records:,} records")

    eq = market.truth.entity_quarters
    alive = eq.groupby(eq["quarter_start"].dt.year)["entity_id"].nunique()
    for name, col in [("penalties", "published"), ("abnormal_list", "entered")]:
        table = market.records[name]
        rate = table.groupby(table[col].dt.year)["entity_id"].nunique() / alive
        print(f"  {name} / alive entities / year: {rate.min():.3f}-{rate.max():.3f}")
    print(f"  violations observed: {eq.loc[eq['violated'], 'observed'].mean():.3f}")

    params = {"n_estimators": args.n_estimators} if args.n_estimators else None
    t1 = time.perf_counter()
    result = riskml.train(market.records, "credit", log=False, backtest={"test_dates": f"last {args.test_dates}"},
                          params=params, show_progress=False)
    train_s = time.perf_counter() - t1
    print(f"riskml.train: {train_s:.0f} s, {result.panel.frame.shape[1] - 2} panel columns")

    pred = _scores_on_rows(market.truth, result.fit.predictions[["entity_id", "as_of", "probability", "label"]])
    print(f"{'as_of':<12}{'rows':>8}{'rate':>7}{'model':>8}{'oracle':>8}{'realised':>10}{'gap':>8}")
    for as_of, part in pred.groupby("as_of", sort=True):
        part = part.dropna(subset=["fair"])
        y = part["label"].to_numpy()
        model, fair, realised = (_auc(y, part[c].to_numpy()) for c in ("probability", "fair", "realised"))
        print(f"{as_of:%Y-%m-%d}  {len(part):>8,}{y.mean():>7.3f}{model:>8.4f}{fair:>8.4f}{realised:>10.4f}{fair - model:>8.4f}")


if __name__ == "__main__":
    main()
