"""Grade stability: the point-in-time grade against the through-the-cycle grade.

Trains the credit model once (point-in-time booster plus the grade model the model
spec's ``grade_score`` declares) on a synthetic market, scores eight quarters and
reports, for the grade of the point-in-time probability ("before") and the grade of
the grade model ("after"):

* the A share per quarter and its max - min over any four consecutive quarters;
* calendar-only churn: among entities with no record known, leaving a window or
  changing state between consecutive as-of dates, the share whose grade changed;
* the backtest AUC on the one-year label (mean over the test quarters);
* paths to the next grade for ``--paths`` of them below A: the share found or
  proven absent and the median number of actions;
* perverse what-ifs: every declared appeal action on every record it applies to, for
  ``--explained`` entities (at most three records per action and source), counted
  when the grade score drops.

Usage::

    python -m benchmarks.grade_stability --entities 60000 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import riskml
from riskml.records._boundary import as_records
from riskml.explain._path import declared_changes, path_to_next_grade, variant_rows
from riskml.explain._whatif import load_actions, negative_sources
from riskml.features import Panel, load_feature_spec
from riskml.models._policy import grade_frame
from riskml.monitor import record_events

DATES = pd.date_range("2023-04-01", "2025-01-01", freq="QS")
# records tried per action and source for each entity (as the appeal report's max_records_per_reason)
MAX_RECORDS = 3


def _a_swing(shares: pd.Series) -> float:
    return float(max(shares.iloc[i:i + 4].max() - shares.iloc[i:i + 4].min() for i in range(len(shares) - 3)))


def _perverse_and_paths(records, spec, model, ids, as_of, n_paths) -> dict:
    """Every declared action on (at most MAX_RECORDS) records of each entity; paths for the first n_paths below A."""
    grading = model.grading
    sources = spec.sources
    negative = negative_sources(grading.catalog)
    needed = set(grading.features) | {r.feature for r in grading.policy.overrides}
    sub = spec.subset([f for f in spec.feature_names if f in needed])
    keep = pd.Index(ids)
    small = {n: t[t[sources[n].entity_key].astype("str").isin(keep)] for n, t in records.items() if n in sources}
    grouped = {n: dict(tuple(t.groupby(t[sources[n].entity_key].astype("str"), sort=False))) for n, t in small.items()}
    empty = {n: t.iloc[:0] for n, t in small.items()}
    actions = load_actions(sources=sources)
    tried = dropped = 0
    paths = []
    for entity_id in ids:
        own = {n: grouped[n].get(entity_id, empty[n]).reset_index(drop=True) for n in small}
        changes = declared_changes(actions, own, sources, as_of, negative, limit=MAX_RECORDS)
        rows = variant_rows(own, [[]] + [[c] for c in changes], entity_id, as_of, sub, sources)
        score = grading.score(rows)
        before, after = score["score"].iloc[0], score["score"].to_numpy()[1:]
        tried += len(after)
        dropped += int((after < before - 1e-9).sum())
        if len(paths) < n_paths and score["grade"].iloc[0] != grading.policy.grade_names[0]:
            path = path_to_next_grade(small, entity_id, as_of, grading, sub, sources, actions=actions, own=own)
            paths.append({"status": path.status, "n_actions": path.n_actions, "minimal": path.minimal,
                          "grade": path.grade})
    return {"tried": tried, "dropped": dropped, "paths": pd.DataFrame(paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--explained", type=int, default=2000)
    parser.add_argument("--paths", type=int, default=500, help="paths searched (entities below A among the explained)")
    args = parser.parse_args()
    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=args.seed)
    records = as_records(market.records)
    result = riskml.train(records, "credit", log=False)
    fit, panel, model = result.fit, result.panel, result.model
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)

    def mean_auc(metrics: pd.DataFrame) -> float:
        return float(metrics[(metrics["metric"] == "auc") & (metrics["population"] == "all")]["value"].mean())

    auc_pit, auc_grade = mean_auc(fit.metrics), mean_auc(fit.grade.metrics)
    rows = panel.frame[panel.frame["as_of"].isin(DATES)].reset_index(drop=True)
    scored = model.score(Panel(frame=rows, catalog=panel.catalog, spec_hash=panel.spec_hash))
    p = scored["probability"].to_numpy()
    over = rows[[r.feature for r in model.policy.overrides]]
    scored["grade_pit"] = grade_frame(np.log(p / (1 - p)), over, model.policy)["grade"].to_numpy()
    shares = scored.groupby("as_of").agg(A_before=("grade_pit", lambda g: (g == "A").mean()),
                                         A_after=("grade", lambda g: (g == "A").mean()))
    print((100 * shares).round(1).to_string(), flush=True)
    churn = []
    windows = sorted({int(w) for w in panel.catalog["window_days"].dropna()})
    for t1, t2 in zip(DATES[:-1], DATES[1:]):
        events = record_events(records, records.catalog, t1, t2, windows)
        a = scored[scored["as_of"] == t1].set_index("entity_id")
        b = scored[scored["as_of"] == t2].set_index("entity_id")
        ids = a.index.intersection(b.index).difference(pd.Index(events["entity_id"].unique()))
        churn.append({"t1": t1.date(), "quiet": len(ids),
                      "before": float((a.loc[ids, "grade_pit"] != b.loc[ids, "grade_pit"]).mean()),
                      "after": float((a.loc[ids, "grade"] != b.loc[ids, "grade"]).mean())})
    churn = pd.DataFrame(churn)
    print(churn.to_string(index=False), flush=True)
    print(f"A share max-min over 4 consecutive quarters: before {100 * _a_swing(shares['A_before']):.1f} pp, "
          f"after {100 * _a_swing(shares['A_after']):.1f} pp", flush=True)
    print(f"backtest AUC (mean over test quarters): point-in-time {auc_pit:.4f}, grade {auc_grade:.4f}, "
          f"gap {auc_pit - auc_grade:.4f}", flush=True)
    as_of = DATES[-1]
    alive = scored.loc[scored["as_of"] == as_of, "entity_id"].to_numpy()
    rng = np.random.default_rng(args.seed)
    ids = [str(x) for x in rng.choice(alive, size=min(args.explained, len(alive)), replace=False)]
    got = _perverse_and_paths(records, load_feature_spec(), model, ids, as_of, args.paths)
    tried, dropped, paths = got["tried"], got["dropped"], got["paths"]
    print(f"calendar-only churn (mean over {len(churn)} quarter pairs, {int(churn['quiet'].mean())} quiet entities "
          f"on average): before {100 * churn['before'].mean():.2f}%, after {100 * churn['after'].mean():.2f}% "
          f"(max {100 * churn['after'].max():.2f}%)")
    print(f"perverse what-ifs: {dropped} of {tried} tried on {len(ids)} entities at {as_of.date()}")
    found = paths["status"].isin(["reached", "none_reaches"])
    reached = paths[paths["status"] == "reached"]
    print(f"paths to the next grade: {len(paths)} entities below A, found or proven absent {100 * found.mean():.1f}%"
          f" (reached {len(reached)}, none reaches {int((paths['status'] == 'none_reaches').sum())}), "
          f"median actions {reached['n_actions'].median() if len(reached) else float('nan'):.0f}, "
          f"proven smallest {100 * reached['minimal'].mean() if len(reached) else float('nan'):.1f}%")
    print(paths.groupby(["grade", "status"]).size().to_string())
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
