"""Scale benchmark: the full feature library, local engine vs Spark local mode.

For each size (entities), records of every declared source come from
``benchmarks/_data.py`` (full library rates: ~53 records per entity, three quarters of
them invoices, so the cross-entity features do real work). Each run happens in a fresh
process:

* ``local``: ``riskml.features.build_panel(records, "quarterly")``; wall time and the
  process's peak RSS during the computation (input records resident, reported apart).
* ``spark``: the records written to Parquet first (not timed), then
  ``riskml.spark.build_panel`` on a ``local[2]`` session reading them, with the panel
  written to Spark's ``noop`` sink (all work done, nothing stored); wall time of the
  whole job including session start, and the driver JVM's heap setting.

Results go to ``benchmarks/scale_results.json`` and the ``## Scale`` section of
``docs/benchmarks.md`` (other sections are left as they are). Per-record costs
(seconds per million records, bytes per record) feed ``docs/scale.md``.

Run: ``.venv/bin/python benchmarks/scale.py --sizes 100000,300000 --spark-sizes 20000,100000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._doc import write_section as write_doc_section  # noqa: E402
from benchmarks._measure import memory_gib as _memory, reset_peak as _reset_peak  # noqa: E402

logger = logging.getLogger("benchmarks.scale")

RESULTS = HERE / "scale_results.json"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Scale"
START, END, SEED = "2019-01-01", "2025-01-01", 0
DRIVER_MEMORY = "8g"


def _records(n: int) -> tuple[dict[str, Any], float]:
    from benchmarks._data import FULL_RATES, make_records

    started = time.perf_counter()
    recs = make_records(n, START, END, seed=SEED, rates=FULL_RATES)
    return recs, time.perf_counter() - started


def run_local(n: int) -> dict[str, Any]:
    """Local engine on ``n`` entities: time and peak memory."""
    from riskml.features import build_panel

    recs, gen = _records(n)
    n_records = int(sum(len(t) for t in recs.values()))
    input_gib = _reset_peak()
    started = time.perf_counter()
    panel = build_panel(recs, "quarterly")
    seconds = time.perf_counter() - started
    return {"engine": "local", "entities": n, "records": n_records, "rows": len(panel.frame),
            "features": len(panel.feature_names), "gen_s": gen, "compute_s": seconds,
            "peak_gib": _memory("VmHWM"), "input_gib": input_gib,
            "panel_gib": float(panel.frame.memory_usage(deep=True).sum()) / 2**30}


def run_spark(n: int, buckets: int | None) -> dict[str, Any]:
    """Spark local[2] on ``n`` entities read from Parquet: wall time of the job."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    recs, gen = _records(n)
    n_records = int(sum(len(t) for t in recs.values()))
    folder = Path(tempfile.mkdtemp(prefix="riskml-scale-"))
    disk = 0
    for name, table in recs.items():
        path = folder / f"{name}.parquet"
        # Spark reads microsecond timestamps, not pandas' nanoseconds.
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, coerce_timestamps="us",
                       allow_truncated_timestamps=True)
        disk += path.stat().st_size
    del recs
    os.environ["PYSPARK_PYTHON"] = sys.executable
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    from riskml.spark import build_panel

    spark = (
        SparkSession.builder.master("local[2]").appName("riskml-scale")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", DRIVER_MEMORY).config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC").getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - started
    sources = {p.stem: spark.read.parquet(str(p)) for p in sorted(folder.glob("*.parquet"))}
    panel = build_panel(spark, sources, "quarterly", buckets=buckets)
    planned = time.perf_counter() - started
    panel.frame.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    spark.stop()
    return {"engine": "spark local[2]", "entities": n, "records": n_records, "buckets": panel.buckets,
            "features": len(panel.feature_names), "gen_s": gen, "compute_s": seconds, "session_s": session_s,
            "plan_s": planned - session_s, "parquet_bytes": disk, "driver_memory": DRIVER_MEMORY}


def _child(engine: str, n: int, buckets: int | None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine, "--sizes", str(n)]
    if buckets:
        cmd += ["--buckets", str(buckets)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} run on {n} entities failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(runs: list[dict[str, Any]]) -> str:
    """The ``## Scale`` section of docs/benchmarks.md from the stored runs."""
    lines = [
        SECTION,
        "",
        "`benchmarks/scale.py` (run: `.venv/bin/python benchmarks/scale.py --sizes 100000,300000 --spark-sizes 20000,100000`). "
        "Full feature library (114 features incl. cross-entity), records of every source from `benchmarks/_data.py` "
        "(~53 per entity over 2019-2024, three quarters invoices), quarterly as-of dates. Each run in a fresh process "
        "on the shared 2-core, 24 GB machine (other jobs were running: times are upper bounds). Local: wall time of "
        "`build_panel` and peak RSS during it (input records resident, in brackets). Spark: `local[2]`, driver "
        f"memory {DRIVER_MEMORY}, records read from Parquet, panel written to the `noop` sink; wall time including "
        "session start. Costs per million records feed `docs/scale.md`.",
        "",
        "| engine | entities | records | buckets | panel rows | compute s | s per 1M records | peak GiB (input) | Parquet MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        per = r["compute_s"] / (r["records"] / 1e6)
        peak = f"{r['peak_gib']:.2f} ({r['input_gib']:.2f})" if "peak_gib" in r else ""
        disk = f"{r['parquet_bytes'] / 1e6:.0f}" if "parquet_bytes" in r else ""
        lines.append(
            f"| {r['engine']} | {r['entities']:,} | {r['records']:,} | {r.get('buckets', '')} | "
            f"{r.get('rows', ''):{',' if 'rows' in r else ''}} | {r['compute_s']:.1f} | {per:.2f} | {peak} | {disk} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_section(text: str, doc: Path = DOC) -> None:
    """Replace the ``## Scale`` section of ``doc`` (or append it), keeping the others."""
    write_doc_section("Scale", text, doc)

def main(argv: list[str] | None = None) -> int:
    """Run the sizes, store the results and rewrite the ``## Scale`` section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000", help="entities per local run, comma separated")
    parser.add_argument("--spark-sizes", default="20000,100000", help="entities per Spark run, comma separated")
    parser.add_argument("--buckets", type=int, default=None, help="Spark buckets (default: riskml's rule)")
    parser.add_argument("--worker", choices=["local", "spark"], help=argparse.SUPPRESS)
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc section from stored results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RISKML_PROGRESS", "0")
    if args.worker:
        n = int(args.sizes)
        result = run_local(n) if args.worker == "local" else run_spark(n, args.buckets)
        print(json.dumps(result))
        return 0
    runs: list[dict[str, Any]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    if not args.render_only:
        plan = [("local", int(s)) for s in args.sizes.split(",") if s]
        plan += [("spark", int(s)) for s in args.spark_sizes.split(",") if s]
        for engine, n in plan:
            result = _child(engine, n, args.buckets)
            print(json.dumps(result), flush=True)
            runs = [r for r in runs if not (r["engine"] == result["engine"] and r["entities"] == n)] + [result]
            RESULTS.write_text(json.dumps(runs, indent=1))
    runs.sort(key=lambda r: (r["entities"], r["engine"]))
    write_section(render(runs))
    print(render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
