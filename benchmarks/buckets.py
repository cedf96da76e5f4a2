"""Bounded-memory panel: ``build_panel_in_buckets`` beside ``build_panel`` on the full library.

``python -m benchmarks.buckets [--entities 100000] [--bucket 50000] [--skip-in-memory]``

Records of every declared source from ``benchmarks/_data.py`` (the full-library mix of
``benchmarks/scale.py``: ~54 records per entity, three quarters invoices). Each engine
runs in a fresh process: wall time of the panel and the process's peak RSS during it
(VmHWM reset after generating the records, so it includes the resident input; input
RSS in brackets). The bucketed engine writes its panel to Parquet as it goes (compact
dtypes); the in-memory engine's panel is written afterwards, untimed, and the two files
are compared strictly (same rows, every value equal after casting the compact columns
to float64, a value missing on one side is a difference). Results go to
``benchmarks/buckets_results.json`` and the ``## Bounded-memory panel`` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
from benchmarks._doc import machine_line, write_section
from benchmarks._measure import memory_gib, reset_peak

RESULTS = HERE / "buckets_results.json"
START, END, SEED = "2019-01-01", "2025-01-01", 0


def worker(engine: str, n: int, bucket: int, out: Path) -> dict[str, Any]:
    from benchmarks._data import FULL_RATES, make_records
    from riskml.features import build_panel, build_panel_in_buckets

    started = time.perf_counter()
    recs = make_records(n, START, END, seed=SEED, rates=FULL_RATES)
    gen = time.perf_counter() - started
    n_records = int(sum(len(t) for t in recs.values()))
    input_gib = reset_peak()
    cpu = time.process_time()
    started = time.perf_counter()
    if engine == "buckets":
        path = build_panel_in_buckets(recs, "quarterly", entities_per_bucket=bucket, path=out / "buckets.parquet")
        seconds, peak = time.perf_counter() - started, memory_gib("VmHWM")
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(path).metadata
        rows, features = meta.num_rows, meta.num_columns - 2
    else:
        panel = build_panel(recs, "quarterly")
        seconds, peak = time.perf_counter() - started, memory_gib("VmHWM")
        rows, features = len(panel.frame), len(panel.feature_names)
        panel.frame.to_parquet(out / "memory.parquet", index=False)
    return {"engine": engine, "entities": n, "records": n_records, "rows": rows, "features": features,
            "bucket": bucket if engine == "buckets" else None, "gen_s": gen, "compute_s": seconds,
            "cpu_s": time.process_time() - cpu, "peak_gib": peak, "input_gib": input_gib, "load": os.getloadavg()[0]}


def compare(left: Path, right: Path) -> dict[str, Any]:
    """Strict equality of two panel files (rows in any order; values after casting to float64)."""
    import numpy as np
    import pyarrow.parquet as pq

    keys = ["as_of", "entity_id"]
    a = pq.read_table(left, columns=keys).to_pandas()
    b = pq.read_table(right, columns=keys).to_pandas()
    if len(a) != len(b):
        return {"equal": False, "why": f"{len(a):,} vs {len(b):,} rows"}
    for frame in (a, b):
        frame["as_of"] = frame["as_of"].astype("datetime64[ns]")
    order_a = np.lexsort((a["entity_id"].to_numpy(dtype=object), a["as_of"].to_numpy()))
    order_b = np.lexsort((b["entity_id"].to_numpy(dtype=object), b["as_of"].to_numpy()))
    if not (a.iloc[order_a].to_numpy() == b.iloc[order_b].to_numpy()).all():
        return {"equal": False, "why": "the (as_of, entity_id) rows differ"}
    names = [c for c in pq.read_schema(left).names if c not in keys]
    if sorted(names) != sorted(c for c in pq.read_schema(right).names if c not in keys):
        return {"equal": False, "why": "the feature columns differ"}
    for name in names:
        x = pq.read_table(left, columns=[name]).to_pandas()[name]
        y = pq.read_table(right, columns=[name]).to_pandas()[name]
        if hasattr(x, "cat"):
            same = (x.astype(str).to_numpy()[order_a] == y.astype(str).to_numpy()[order_b]).all()
        else:
            xv = x.to_numpy(dtype=np.float64, na_value=np.nan)[order_a]
            yv = y.to_numpy(dtype=np.float64, na_value=np.nan)[order_b]
            same = bool(((xv == yv) | (np.isnan(xv) & np.isnan(yv))).all())
        if not same:
            return {"equal": False, "why": f"feature {name} differs"}
    return {"equal": True, "rows": len(a), "features": len(names)}


def _child(engine: str, n: int, bucket: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.buckets", "--worker", engine, "--entities", str(n),
           "--bucket", str(bucket), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def render(results: dict[str, Any]) -> str:
    lines = [
        machine_line(),
        "",
        "Command: `python -m benchmarks.buckets --entities N [--bucket B] [--skip-in-memory]`. Full feature library on "
        "the `benchmarks/_data.py` records (the `## Scale` mix), each engine in a fresh process. "
        "`build_panel_in_buckets` writes Parquet as it goes, compact dtypes (whole-number features int32, day "
        "counts float32); `build_panel` holds the float64 panel in memory. Peak: the process's peak RSS during the "
        "computation, input records included (input in brackets). Load: 1-minute load average at the end.",
        "",
        "| engine | entities | records | panel rows | bucket | compute s | CPU s | peak GiB (input) | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    checks = []
    for key in sorted(results, key=lambda k: int(k)):
        r = results[key]
        for run in (r.get("memory"), r.get("buckets")):
            if not run:
                continue
            name = "build_panel (in memory)" if run["engine"] == "memory" else "build_panel_in_buckets"
            lines.append(f"| {name} | {run['entities']:,} | {run['records']:,} | {run['rows']:,} | "
                         f"{run['bucket'] or ''} | {run['compute_s']:.1f} | {run['cpu_s']:.1f} | "
                         f"{run['peak_gib']:.2f} ({run['input_gib']:.2f}) | {run['load']:.1f} |")
        c = r.get("check")
        if c:
            checks.append(f"* {int(key):,} entities: bucketed vs in-memory panel: "
                          + (f"identical on {c['rows']:,} rows x {c['features']} features" if c["equal"]
                             else f"DIFFERENT ({c['why']})"))
    return "\n".join([*lines, "", *checks])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--bucket", type=int, default=50_000)
    parser.add_argument("--skip-in-memory", action="store_true")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.entities, args.bucket, Path(args.out))))
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    with tempfile.TemporaryDirectory(prefix="riskml-buckets-") as tmp:
        out = Path(tmp)
        entry: dict[str, Any] = {"buckets": _child("buckets", args.entities, args.bucket, out)}
        if not args.skip_in_memory:
            entry["memory"] = _child("memory", args.entities, args.bucket, out)
            entry["check"] = compare(out / "buckets.parquet", out / "memory.parquet")
    results[str(args.entities)] = entry
    RESULTS.write_text(json.dumps(results, indent=1))
    text = render(results)
    print(text)
    if not args.no_doc:
        write_section("Bounded-memory panel", text)
    return 0 if entry.get("check", {"equal": True})["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
