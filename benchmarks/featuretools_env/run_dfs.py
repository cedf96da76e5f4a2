"""Windowed-aggregate subset with featuretools ``dfs`` (run inside benchmarks/.ft-venv).

featuretools 1.31 needs pandas < 3, so the panel benchmark writes its records as
Parquet and runs this script with the separate venv's interpreter::

    benchmarks/.ft-venv/bin/python benchmarks/featuretools_env/run_dfs.py DIR

``DIR`` holds ``entities.parquet``, ``grid.parquet`` (entity_id, as_of: the rows to
compute), ``job.json`` (sources, windows) and one Parquet file per source. The result
goes to ``DIR/featuretools.parquet`` with riskml's feature names and the timing to
``DIR/featuretools.json``.

featuretools' window at cutoff ``c`` with ``training_window=w`` is ``(c - w, c]``;
the contract's window at as-of ``t`` is ``[t - w, t)``. With midnight dates the two
agree for ``c = t - 1 day``, which is what this script passes.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import featuretools as ft
import pandas as pd


def main(folder: str) -> None:
    """Compute the subset for the grid in ``folder`` and write the result there."""
    warnings.filterwarnings("ignore")
    base = Path(folder)
    job = json.loads((base / "job.json").read_text())
    started = time.perf_counter()
    entities = pd.read_parquet(base / "entities.parquet", columns=["entity_id"])
    grid = pd.read_parquet(base / "grid.parquet")
    es = ft.EntitySet("bench")
    es.add_dataframe(dataframe_name="entities", dataframe=entities, index="entity_id")
    for src in job["sources"]:
        cols = [src["key"], src["known_at"]] + ([src["amount"]] if src["amount"] else [])
        table = pd.read_parquet(base / f"{src['name']}.parquet", columns=cols)
        es.add_dataframe(
            dataframe_name=src["name"], dataframe=table, index=f"{src['name']}_rid", make_index=True,
            time_index=src["known_at"],
        )
        es.add_relationship("entities", "entity_id", src["name"], src["key"])
    loaded = time.perf_counter() - started
    cutoff = pd.DataFrame({"entity_id": grid["entity_id"], "time": grid["as_of"] - pd.Timedelta(days=1)})
    parts = []
    for window in job["windows"]:
        fm, _ = ft.dfs(
            entityset=es, target_dataframe_name="entities", cutoff_time=cutoff,
            training_window=f"{window} days", agg_primitives=["count", "sum"], trans_primitives=[],
            max_depth=1, cutoff_time_in_index=True,
        )
        rename = {}
        for src in job["sources"]:
            rename[f"COUNT({src['name']})"] = f"{src['name']}_count_{window}d"
            if src["amount"]:
                rename[f"SUM({src['name']}.{src['amount']})"] = f"{src['name']}_{src['amount']}_sum_{window}d"
        parts.append(fm[list(rename)].rename(columns=rename))
    out = pd.concat(parts, axis=1).reset_index()
    out["as_of"] = out["time"] + pd.Timedelta(days=1)
    out = out.drop(columns="time")
    elapsed = time.perf_counter() - started
    out.to_parquet(base / "featuretools.parquet", index=False)
    (base / "featuretools.json").write_text(json.dumps({"seconds": elapsed, "load_seconds": loaded, "rows": len(out)}))


if __name__ == "__main__":
    main(sys.argv[1])
