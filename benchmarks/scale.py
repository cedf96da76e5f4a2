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

City mode (``--city-sizes``): the windowed-aggregate subset of ``benchmarks/panel.py``
(18 features over penalties, complaints, inspections and invoices; ~100 records per
entity, the same records, seed and spec folder as its city run), once per engine in a
fresh process: ``city-local`` (``build_panel`` with the subset spec; time and peak RSS)
and ``city-spark`` (as ``spark`` above, buckets sized so one Python worker holds about
``CITY_RECORDS_PER_BUCKET`` records; the peak RSS of the largest Python worker and of
the JVM is sampled every half second). The load average is stored with every run.

Results go to ``benchmarks/scale_results.json`` and the ``## Scale`` section of
``docs/benchmarks.md`` (other sections are left as they are). Per-record costs
(seconds per million records, bytes per record) feed ``docs/scale.md``.

Run: ``.venv/bin/python -m benchmarks.scale --sizes 100000,300000 --spark-sizes 20000,100000``;
city: ``.venv/bin/python -m benchmarks.scale --sizes "" --spark-sizes "" --city-sizes 100000,300000``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
from benchmarks._doc import template, write_section as write_doc_section
from benchmarks._measure import memory_gib as _memory, reset_peak as _reset_peak

logger = logging.getLogger("benchmarks.scale")

RESULTS = HERE / "scale_results.json"
DOC = ROOT / "docs" / "benchmarks.md"
SECTION = "## Scale"
START, END, SEED = "2019-01-01", "2025-01-01", 0
DRIVER_MEMORY = "8g"
#: Records per Spark bucket in city runs: one Python worker holds a bucket (~0.4 GiB);
#: 16 buckets on 10M records kept both cores busier than 4 at the same CPU seconds.
CITY_RECORDS_PER_BUCKET = 625_000


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


def _write_parquet(recs: dict[str, Any], folder: Path) -> int:
    """Write each source to ``folder/<name>.parquet``; return the bytes written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    disk = 0
    for name, table in recs.items():
        path = folder / f"{name}.parquet"
        # Spark reads microsecond timestamps, not pandas' nanoseconds.
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path, coerce_timestamps="us",
                       allow_truncated_timestamps=True)
        disk += path.stat().st_size
    return disk


def run_spark(n: int, buckets: int | None) -> dict[str, Any]:
    """Spark local[2] on ``n`` entities read from Parquet: wall time of the job."""
    recs, gen = _records(n)
    n_records = int(sum(len(t) for t in recs.values()))
    folder = Path(tempfile.mkdtemp(prefix="riskml-scale-"))
    try:
        disk = _write_parquet(recs, folder)
        del recs
        os.environ["PYSPARK_PYTHON"] = sys.executable
        started = time.perf_counter()
        from riskml.spark import build_panel

        spark = _spark_session("riskml-scale", {})
        session_s = time.perf_counter() - started
        sources = {p.stem: spark.read.parquet(str(p)) for p in sorted(folder.glob("*.parquet"))}
        panel = build_panel(spark, sources, "quarterly", buckets=buckets)
        planned = time.perf_counter() - started
        panel.frame.write.format("noop").mode("overwrite").save()
        seconds = time.perf_counter() - started
        spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"engine": "spark local[2]", "entities": n, "records": n_records, "buckets": panel.buckets,
            "features": len(panel.feature_names), "gen_s": gen, "compute_s": seconds, "session_s": session_s,
            "plan_s": planned - session_s, "parquet_bytes": disk, "driver_memory": DRIVER_MEMORY}


# ----------------------------------------------------------------------------- city subset


def _city_records(n: int) -> tuple[dict[str, Any], float]:
    """The subset records of ``benchmarks/panel.py``'s city run (same call, dates, seed)."""
    from benchmarks._data import CITY_RATES, SUBSET_SOURCES, make_records
    from benchmarks.panel import END as CITY_END, SEED as CITY_SEED, START as CITY_START

    started = time.perf_counter()
    recs = make_records(n, CITY_START, CITY_END, seed=CITY_SEED, sources=SUBSET_SOURCES, rates=CITY_RATES,
                        columns="subset")
    return recs, time.perf_counter() - started


def _source_records(recs: dict[str, Any]) -> int:
    # As benchmarks/panel.py counts them: the registry is not a record source.
    return int(sum(len(t) for name, t in recs.items() if name != "entities"))


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_city_local(n: int) -> dict[str, Any]:
    """Local engine on the city subset of ``n`` entities: time and peak memory."""
    from benchmarks.panel import write_subset_spec
    from riskml.features import build_panel

    recs, gen = _city_records(n)
    n_records = _source_records(recs)
    folder = Path(tempfile.mkdtemp(prefix="riskml-city-"))
    try:
        spec = write_subset_spec(folder / "spec")
        load = _load()
        input_gib = _reset_peak()
        cpu = time.process_time()
        started = time.perf_counter()
        panel = build_panel(recs, "quarterly", spec, show_progress=False)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        peak = _memory("VmHWM")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"engine": "local", "data": "city-subset", "entities": n, "records": n_records, "rows": len(panel.frame),
            "features": len(panel.feature_names), "gen_s": gen, "compute_s": seconds, "cpu_s": cpu, "peak_gib": peak,
            "input_gib": input_gib, "load": load}


class _RssSampler:
    """Peak RSS of this process's descendants (JVM, Python workers), sampled in a thread."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.jvm_gib = 0.0
        self.worker_gib = 0.0
        self.workers_gib = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.wait(self.every):
            jvm, workers = 0.0, []
            for child in me.children(recursive=True):
                try:
                    rss = child.memory_info().rss / 2**30
                    name = child.name()
                    times = child.cpu_times()
                except psutil.Error:
                    continue
                self._cpu[child.pid] = times.user + times.system
                if name == "java":
                    jvm = max(jvm, rss)
                elif name.startswith("python"):
                    workers.append(rss)
            self.jvm_gib = max(self.jvm_gib, jvm)
            self.worker_gib = max(self.worker_gib, max(workers, default=0.0))
            self.workers_gib = max(self.workers_gib, sum(workers))

    @property
    def cpu_s(self) -> float:
        """CPU seconds of the descendants (as last sampled; short-lived workers may be missed)."""
        return sum(self._cpu.values())


def _spark_session(name: str, conf: dict[str, str]) -> Any:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]").appName(name)
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", DRIVER_MEMORY).config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_city_spark(n: int, buckets: int | None, conf: dict[str, str], stages: bool) -> dict[str, Any]:
    """Spark local[2] on the city subset of ``n`` entities read from Parquet.

    ``stages``: before the job, time a count of the packed frame (read, normalise,
    tag, union) and a count per bucket (that plus the shuffle), so the panel job's
    time splits into input, shuffle and the per-bucket kernel.
    """
    from benchmarks.panel import write_subset_spec

    recs, gen = _city_records(n)
    n_records = _source_records(recs)
    if buckets is None:
        buckets = max(2, -(-n_records // CITY_RECORDS_PER_BUCKET))
    folder = Path(tempfile.mkdtemp(prefix="riskml-city-"))
    try:
        spec = write_subset_spec(folder / "spec")
        disk = _write_parquet(recs, folder)
        del recs
        os.environ["PYSPARK_PYTHON"] = sys.executable
        load = _load()
        result: dict[str, Any] = {}
        with _RssSampler() as rss:
            cpu = time.process_time()
            started = time.perf_counter()
            from riskml.spark import build_panel

            spark = _spark_session("riskml-scale-city", conf)
            session_s = time.perf_counter() - started
            sources = {p.stem: spark.read.parquet(str(p)) for p in sorted(folder.glob("*.parquet"))}
            panel = build_panel(spark, sources, "quarterly", spec, buckets=buckets)
            planned = time.perf_counter()
            if stages:
                result.update(_stage_times(spark, sources, spec, buckets))
            job = time.perf_counter()
            panel.frame.write.format("noop").mode("overwrite").save()
            done = time.perf_counter()
            cpu = time.process_time() - cpu
            spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    compute = (planned - started) + (done - job)  # the stage probes are not part of the job
    result.update({
        "engine": "spark local[2]", "data": "city-subset", "entities": n, "records": n_records, "buckets": panel.buckets,
        "features": len(panel.feature_names), "gen_s": gen, "compute_s": compute, "session_s": session_s,
        "plan_s": planned - started - session_s, "job_s": done - job, "parquet_bytes": disk,
        "driver_memory": DRIVER_MEMORY, "conf": conf, "jvm_peak_gib": rss.jvm_gib,
        "worker_peak_gib": rss.worker_gib, "workers_peak_gib": rss.workers_gib, "cpu_s": cpu + rss.cpu_s, "load": load,
        "load_after": _load(),
    })
    return result


def _stage_times(spark: Any, sources: dict[str, Any], spec: Path, buckets: int) -> dict[str, float]:
    """Seconds of a count of the packed input, and of a per-bucket count after the shuffle."""
    from riskml.features import load_feature_spec
    from riskml.features._engine import _effective_catalog
    from riskml.spark._buckets import BUCKET_COLUMN, bucket_column
    from riskml.spark._pack import pack, part_for, to_spark
    from riskml.spark._panel import _kernel_columns

    feature_spec = load_feature_spec(spec)
    catalog = _effective_catalog(sources, feature_spec)
    needed = _kernel_columns(feature_spec, catalog)
    parts = {name: part_for(catalog[name], cols) for name, cols in needed.items()}
    tagged = [(parts[name], to_spark(spark, sources[name], part).withColumn(
        BUCKET_COLUMN, bucket_column(catalog[name].entity_key, buckets))) for name, part in parts.items()]
    packed, _ = pack(tagged, BUCKET_COLUMN)
    started = time.perf_counter()
    rows = packed.count()
    counted = time.perf_counter()
    packed.groupBy(BUCKET_COLUMN).count().collect()
    shuffled = time.perf_counter()
    return {"packed_rows": rows, "count_packed_s": counted - started, "count_by_bucket_s": shuffled - counted}


def _child(engine: str, n: int, buckets: int | None, extra: list[str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.scale", "--worker", engine, "--sizes", str(n)]
    if buckets:
        cmd += ["--buckets", str(buckets)]
    cmd += extra or []
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{engine} run on {n} entities failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(runs: list[dict[str, Any]]) -> str:
    """The ``## Scale`` section of docs/benchmarks.md from the stored runs."""
    lines = [
        SECTION,
        "",
        template("scale").format(driver_memory=DRIVER_MEMORY),
        "",
        "| engine | entities | records | buckets | panel rows | compute s | s per 1M records | peak GiB (input) | Parquet MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in (r for r in runs if r.get("data", "full") == "full" and not r.get("variant")):
        per = r["compute_s"] / (r["records"] / 1e6)
        peak = f"{r['peak_gib']:.2f} ({r['input_gib']:.2f})" if "peak_gib" in r else ""
        disk = f"{r['parquet_bytes'] / 1e6:.0f}" if "parquet_bytes" in r else ""
        lines.append(
            f"| {r['engine']} | {r['entities']:,} | {r['records']:,} | {r.get('buckets', '')} | "
            f"{r.get('rows', ''):{',' if 'rows' in r else ''}} | {r['compute_s']:.1f} | {per:.2f} | {peak} | {disk} |"
        )
    lines.append("")
    city = [r for r in runs if r.get("data") == "city-subset" and not r.get("variant")]
    if city:
        lines += _render_city(city)
    probes = [r for r in runs if r.get("data") == "city-subset" and r.get("variant") and r["engine"] != "local"]
    if probes:
        lines += _render_probes(probes)
    return "\n".join(lines)


def _fmt_load(r: dict[str, Any]) -> str:
    return f"{r['load'][0]:.1f}" if "load" in r else ""


def _render_city(city: list[dict[str, Any]]) -> list[str]:
    local = {r["entities"]: r for r in city if r["engine"] == "local"}
    lines = [
        "### City subset: Spark vs local on the same records",
        "",
        template("scale_city").format(driver_memory=DRIVER_MEMORY,
                                      records_per_bucket_m=f"{CITY_RECORDS_PER_BUCKET / 1e6:.1f}"),
        "",
        "| engine | entities | records | buckets | compute s | s per 1M records | Spark/local | CPU s | peak GiB | Parquet MB | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(city, key=lambda r: (r["entities"], r["engine"])):
        per = r["compute_s"] / (r["records"] / 1e6)
        if r["engine"] == "local":
            ratio, peak, disk = "", f"{r['peak_gib']:.2f} ({r['input_gib']:.2f})", ""
        else:
            base = local.get(r["entities"])
            ratio = f"{r['compute_s'] / base['compute_s']:.1f}x" if base else ""
            peak = f"{r['jvm_peak_gib']:.2f} / {r['worker_peak_gib']:.2f}"
            disk = f"{r['parquet_bytes'] / 1e6:.0f}"
        lines.append(
            f"| {r['engine']} | {r['entities']:,} | {r['records']:,} | {r.get('buckets', '')} | {r['compute_s']:.1f} | "
            f"{per:.2f} | {ratio} | {r['cpu_s']:.0f} | {peak} | {disk} | {_fmt_load(r)} |"
        )
    spark = [r for r in city if r["engine"] != "local"]
    if spark:
        lines += ["", "Spark time split (s): session start, planning (spec, as-of grid pass), job (read, shuffle, kernel).", "",
                  "| entities | session | plan | job | s per 1M records (job only) | CPU s per 1M records |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for r in sorted(spark, key=lambda r: r["entities"]):
            millions = r["records"] / 1e6
            lines.append(f"| {r['entities']:,} | {r['session_s']:.1f} | {r['plan_s']:.1f} | {r['job_s']:.1f} | "
                         f"{r['job_s'] / millions:.2f} | {r['cpu_s'] / millions:.2f} |")
        lines += ["", "Fixed costs (session start, and planning's warm-up of the JVM) are ~17 s at 10M records, so "
                  "seconds per record fall with size: a line through the 10M-record run would overstate the 100M "
                  "one. Every row above was run, none extrapolated."]
    lines.append("")
    return lines


def _render_probes(probes: list[dict[str, Any]]) -> list[str]:
    lines = [
        "### City subset: Spark settings tried",
        "",
        "Same data, one setting changed per run (`--variant`), one run each while other jobs loaded the machine "
        "(load 2-4 on 2 cores), so job seconds vary by +-30% between repeats of one setting (`base`, `base4`, "
        "`stages` are the same setting). Input count: a count of the packed frame (read, normalise, tag, union); "
        "by-bucket count: that plus the shuffle to buckets; the rest of the job is the sort within partitions, "
        "Arrow to and from the Python workers and the kernel (in Python ~0.5 CPU s per 1M records: unpack 0.64 s and "
        "kernel 0.58 s for a 2.5M-row bucket, profiled apart). What held up: a few buckets per core rather than "
        "one (10M records: 8 buckets instead of 2 halved the Python worker's memory, 1.26 to 0.53 GiB, and the job "
        "took 19-22 s instead of 21-26 s at the same CPU seconds), now the library's default minimum "
        "(`BUCKETS_PER_CORE` = 4 per core). Beyond that, bucket size does not matter: at 100M records 40 and 160 "
        "buckets cost the same CPU seconds (168 vs 170) and walls within the noise. Adaptive execution off and "
        "larger Arrow batches were within the noise.",
        "",
        "| variant | entities | buckets | settings | plan s | job s | CPU s | input count s | by-bucket count s | load |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(probes, key=lambda r: (r["entities"], r["variant"])):
        conf = ", ".join(f"`{k}={v}`" for k, v in r.get("conf", {}).items()) or "defaults"
        count = f"{r['count_packed_s']:.1f}" if "count_packed_s" in r else ""
        shuffle = f"{r['count_by_bucket_s']:.1f}" if "count_by_bucket_s" in r else ""
        cpu = f"{r['cpu_s']:.0f}" if "cpu_s" in r else ""
        lines.append(f"| {r['variant']} | {r['entities']:,} | {r['buckets']} | {conf} | {r['plan_s']:.1f} | "
                     f"{r['job_s']:.1f} | {cpu} | {count} | {shuffle} | {_fmt_load(r)} |")
    lines.append("")
    return lines


def write_section(text: str, doc: Path = DOC) -> None:
    """Replace the ``## Scale`` section of ``doc`` (or append it), keeping the others."""
    write_doc_section("Scale", text, doc)

def _key(r: dict[str, Any]) -> tuple[str, str, int, str]:
    return (r["engine"], r.get("data", "full"), r["entities"], r.get("variant", ""))


def main(argv: list[str] | None = None) -> int:
    """Run the sizes, store the results and rewrite the ``## Scale`` section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000", help="entities per local run, comma separated")
    parser.add_argument("--spark-sizes", default="20000,100000", help="entities per Spark run, comma separated")
    parser.add_argument("--city-sizes", default="", help="entities per city-subset run (local and Spark), comma separated")
    parser.add_argument("--city-engines", default="local,spark", help="engines of the city runs, comma separated")
    parser.add_argument("--buckets", type=int, default=None, help="Spark buckets (default: riskml's rule; city: by records)")
    parser.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="extra Spark conf (city runs)")
    parser.add_argument("--stages", action="store_true", help="city Spark runs: also time packed counts (input, shuffle)")
    parser.add_argument("--variant", default="", help="label stored with city runs (kept apart from the main rows)")
    parser.add_argument("--worker", choices=["local", "spark", "city-local", "city-spark"], help=argparse.SUPPRESS)
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc section from stored results")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RISKML_PROGRESS", "0")
    conf = dict(c.split("=", 1) for c in args.conf)
    if args.worker:
        n = int(args.sizes)
        if args.worker == "local":
            result = run_local(n)
        elif args.worker == "spark":
            result = run_spark(n, args.buckets)
        elif args.worker == "city-local":
            result = run_city_local(n)
        else:
            result = run_city_spark(n, args.buckets, conf, args.stages)
        if args.variant:
            result["variant"] = args.variant
        print(json.dumps(result))
        return 0
    runs: list[dict[str, Any]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    if not args.render_only:
        plan = [("local", int(s)) for s in args.sizes.split(",") if s]
        plan += [("spark", int(s)) for s in args.spark_sizes.split(",") if s]
        engines = [e for e in args.city_engines.split(",") if e]
        plan += [(f"city-{e}", int(s)) for s in args.city_sizes.split(",") if s for e in engines]
        extra = [f"--conf={c}" for c in args.conf] + (["--stages"] if args.stages else [])
        extra += [f"--variant={args.variant}"] if args.variant else []
        for engine, n in plan:
            result = _child(engine, n, args.buckets, extra if engine.startswith("city") else None)
            print(json.dumps(result), flush=True)
            runs = [r for r in runs if _key(r) != _key(result)] + [result]
            RESULTS.write_text(json.dumps(runs, indent=1))
    runs.sort(key=lambda r: (r.get("data", "full"), r["entities"], r["engine"], r.get("variant", "")))
    write_section(render(runs))
    print(render(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
