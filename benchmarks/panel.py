"""Panel benchmark: riskml ``build_panel`` against DuckDB and featuretools.

Run from the repository root::

    .venv/bin/python -m benchmarks.panel [--sizes county,city] [--skip-featuretools]

What it measures, in one run:

1. **county** (60k entities, six years, quarterly as-of): riskml's full default feature
   library, time and peak memory.
2. **windowed-aggregate subset**, the same features for every engine: count of records
   and sum of ``amount`` (where the source has one) over exact 90/365/1095-day windows
   of penalties, complaints, inspections and invoices, at every quarterly as-of ``t``
   over records with ``t - w <= known_at < t``. riskml runs it from a feature spec
   folder written here; DuckDB from one hand-written SQL query (two formulations, the
   faster one is the baseline); featuretools from ``dfs`` with ``cutoff_time`` and
   ``training_window`` in its own venv (``benchmarks/featuretools_env``).
3. **city** (1M entities, ~100M records): the subset, riskml vs DuckDB; featuretools
   on two samples of entities, extrapolated by a line in the number of grid rows.

Every engine runs in a fresh child process that generates the same records (same
seed) and then computes. Times are wall-clock seconds of the computation only.
Memory is the peak resident set size (``VmHWM``) of the child during the computation:
the peak is reset (``/proc/self/clear_refs``) after data generation, so it counts the
resident input records plus everything the engine allocates. The results of the
engines are compared value by value (counts must be equal and sums equal, since
amounts are whole yuan).

The table is printed and written into the ``## Panel`` section of
``docs/benchmarks.md`` (other sections of that file are left as they are).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._data import CITY_RATES, FULL_RATES, SUBSET_SOURCES, make_records
from benchmarks._doc import template, write_section as write_doc_section
from benchmarks._measure import memory_gib as _memory, reset_peak as _reset_peak

ROOT = Path(__file__).resolve().parent.parent

logger = logging.getLogger("benchmarks.panel")

DOC = ROOT / "docs" / "benchmarks.md"
FT_VENV = ROOT / "benchmarks" / ".ft-venv"
FT_SCRIPT = ROOT / "benchmarks" / "featuretools_env" / "run_dfs.py"
WINDOWS: tuple[int, ...] = (90, 365, 1095)
START, END = "2019-01-01", "2025-01-01"
SEED = 20261129
DUCKDB_MEMORY = "10GB"


@dataclass(frozen=True)
class Size:
    """A benchmark size: entities, and the entity samples featuretools runs on.

    One sample as large as the size means featuretools runs on everything; otherwise
    its time is extrapolated to the full grid by a line through the sample runs
    (through the origin for a single sample).
    """

    name: str
    n_entities: int
    ft_samples: tuple[int, ...]


SIZES: dict[str, Size] = {
    "tiny": Size("tiny", 2_000, (300, 2_000)),
    "county": Size("county", 60_000, (60_000,)),
    "city": Size("city", 1_000_000, (20_000, 60_000)),
}

#: (source, entity key, known_at, amount column or None) of the subset.
SUBSET: tuple[tuple[str, str, str, str | None], ...] = (
    ("penalties", "entity_id", "published", "amount"),
    ("complaints", "entity_id", "resolved", None),
    ("inspections", "entity_id", "closed", None),
    ("invoices", "seller_id", "issued", "amount"),
)
assert tuple(s[0] for s in SUBSET) == SUBSET_SOURCES


def subset_features() -> list[str]:
    """Feature names of the windowed-aggregate subset (riskml's naming).

    Examples
    --------
    >>> subset_features()[:4]
    ['penalties_count_90d', 'penalties_count_365d', 'penalties_count_1095d', 'penalties_amount_sum_90d']
    """
    names = []
    for source, _, _, amount in SUBSET:
        names += [f"{source}_count_{w}d" for w in WINDOWS]
        if amount:
            names += [f"{source}_{amount}_sum_{w}d" for w in WINDOWS]
    return names


# ----------------------------------------------------------------------------- specs


_DIMENSION = {"penalties": "penalties", "complaints": "complaints", "inspections": "operation", "invoices": "invoices"}


def write_subset_spec(folder: Path) -> Path:
    """Write the subset as a riskml feature spec folder (one YAML file per source).

    The folder also holds a copy of ``features/sources.yaml``, so it is self-contained.

    Examples
    --------
    >>> import tempfile
    >>> from riskml.features import load_feature_spec
    >>> folder = write_subset_spec(Path(tempfile.mkdtemp()) / "spec")
    >>> len(load_feature_spec(folder).features)
    18
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "features" / "sources.yaml", folder / "sources.yaml")
    windows = "[" + ", ".join(f"{w}d" for w in WINDOWS) + "]"
    for source, _, _, amount in SUBSET:
        text = [
            f"dimension: {_DIMENSION[source]}",
            "features:",
            f"  - source: {source}",
            f"    windows: {windows}",
            "    aggregations: [count]",
        ]
        if amount:
            text += [
                f"  - source: {source}",
                f"    column: {amount}",
                f"    windows: {windows}",
                "    aggregations: [sum]",
            ]
        (folder / f"{source}.yaml").write_text("\n".join(text) + "\n", encoding="utf-8")
    return folder


# ----------------------------------------------------------------------------- DuckDB


def sql_template(name: str) -> str:
    """The text of ``benchmarks/sql/<name>.sql``, a template filled with ``str.format``.

    Examples
    --------
    >>> sql_template("quarter_index").format(date="k")
    '(year(k) * 4 + (month(k) - 1) // 3)'
    """
    return (resources.files("benchmarks") / "sql" / f"{name}.sql").read_text(encoding="utf-8").strip()


def _qidx(expr: str) -> str:
    # Quarter number of a date; as-of dates are quarter starts, so a record known on
    # day k is inside the window of t = quarter start q iff qidx(k) < q <= qidx(k + w).
    return sql_template("quarter_index").format(date=expr)


def duckdb_sql(method: str, as_of_last_q: int) -> str:
    """The subset as one DuckDB query over tables ``entities``, the sources and ``asof``.

    ``method="delta"``: each record adds +1/+amount to the first quarterly as-of after
    it is known and -1/-amount to the first as-of after it leaves each window; running
    sums over (entity, as-of) then give every window (a ROWS frame, cheap), and an
    ASOF join attaches them to the alive grid. ``method="range"``: the textbook range
    join of the grid to the records on entity and ``t - 1095 <= known_at < t`` with
    conditional aggregates. The SQL is in ``benchmarks/sql/``; this function fills in
    one block per source of the subset.

    Examples
    --------
    >>> sql = duckdb_sql("delta", 2024 * 4)
    >>> sql.count("ASOF LEFT JOIN"), "{" in sql  # one block per source, every placeholder filled
    (4, False)
    """
    if method not in ("delta", "range"):
        raise ValueError(f"method must be 'delta' or 'range', not {method!r}")
    ctes = [sql_template("grid")]
    select = ["g.entity_id", "g.t AS as_of"]
    joins = []
    for i, (source, key, known, amount) in enumerate(SUBSET):
        names = _source_features(source, amount)
        if method == "range":
            ctes.append(_range_block(i, source, key, known, amount))
            joins.append(f"LEFT JOIN f{i} ON f{i}.entity_id = g.entity_id AND f{i}.t = g.t")
            select += [f"coalesce(f{i}.{name}, 0)::DOUBLE AS {name}" for name in names]
        else:
            ctes.append(_delta_block(i, source, key, known, amount, as_of_last_q))
            joins.append(f"ASOF LEFT JOIN c{i} ON c{i}.eid = g.entity_id AND g.q >= c{i}.q")
            select += [f"coalesce(c{i}.{name}, 0)::DOUBLE AS {name}" for name in names]
    return sql_template("query").format(ctes=",\n".join(ctes), columns=", ".join(select), joins=" ".join(joins))


def _range_block(i: int, source: str, key: str, known: str, amount: str | None) -> str:
    """The range-join CTE ``f<i>`` of one source (``sql/range_source.sql``)."""
    aggs = []
    for w in WINDOWS:
        cond = f"r.k >= g.t - INTERVAL {w} DAY"
        aggs.append(f"count(*) FILTER (WHERE {cond}) AS {source}_count_{w}d")
        if amount:
            aggs.append(f"sum(r.v) FILTER (WHERE {cond}) AS {source}_{amount}_sum_{w}d")
    return sql_template("range_source").format(
        i=i, aggregates=", ".join(aggs), key=key, known_at=known, value=amount or "NULL", source=source,
        longest=max(WINDOWS))


def _delta_block(i: int, source: str, key: str, known: str, amount: str | None, last_quarter: int) -> str:
    """The delta CTEs ``r<i>``, ``d<i>``, ``c<i>`` of one source (``sql/delta_source.sql``)."""
    names = _source_features(source, amount)
    starts = ["1", "v"] * len(WINDOWS) if amount else ["1"] * len(WINDOWS)
    rows = [f"SELECT eid, {_qidx('k')} + 1 AS q, {', '.join(starts)} FROM r{i}"]
    for j, w in enumerate(WINDOWS):
        vals = []
        for jj in range(len(WINDOWS)):
            vals.append("-1" if jj == j else "0")
            if amount:
                vals.append("-v" if jj == j else "0")
        rows.append(f"SELECT eid, {_qidx(f'k + INTERVAL {w} DAY')} + 1, {', '.join(vals)} FROM r{i}")
    return sql_template("delta_source").format(
        i=i, key=key, known_at=known, value=f"{amount}::DOUBLE" if amount else "0", source=source,
        sums=", ".join(f"sum(d{n}) AS d{n}" for n in range(len(names))),
        deltas=" UNION ALL ".join(rows), columns=", ".join(f"d{n}" for n in range(len(names))),
        last_quarter=last_quarter,
        running=", ".join(f"sum(d{n}) OVER w AS {name}" for n, name in enumerate(names)))


def _source_features(source: str, amount: str | None) -> list[str]:
    names = []
    for w in WINDOWS:
        names.append(f"{source}_count_{w}d")
        if amount:
            names.append(f"{source}_{amount}_sum_{w}d")
    return names


def run_duckdb(records: dict[str, pd.DataFrame], as_of: pd.DatetimeIndex, method: str, threads: int = 2) -> tuple[Any, float, float]:
    """Load the records into DuckDB tables, then run the subset query.

    Returns the result as an Arrow table, the load seconds and the query seconds
    (the query includes materialising the result as Arrow, DuckDB's cheapest output).
    """
    import duckdb  # noqa: PLC0415

    con = duckdb.connect()
    con.execute(f"SET threads={threads}")
    con.execute("SET preserve_insertion_order=false")
    # Keeps the city run within the machine's budget; DuckDB spills beyond it.
    con.execute(f"SET memory_limit='{DUCKDB_MEMORY}'")
    started = time.perf_counter()
    asof = pd.DataFrame({"t": as_of.astype("datetime64[s]").date})
    asof["q"] = [d.year * 4 + (d.month - 1) // 3 for d in asof["t"]]
    con.register("asof_frame", asof)
    con.execute("CREATE TABLE asof_dates AS SELECT * FROM asof_frame")
    for name, table in records.items():
        con.register(f"{name}_frame", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
        con.unregister(f"{name}_frame")
    loaded = time.perf_counter() - started
    sql = duckdb_sql(method, int(asof["q"].max()))
    started = time.perf_counter()
    result = con.sql(sql).to_arrow_table()
    return result, loaded, time.perf_counter() - started


# ----------------------------------------------------------------------------- workers


def _records(size: Size, full: bool) -> tuple[dict[str, pd.DataFrame], float]:
    started = time.perf_counter()
    if full:
        recs = make_records(size.n_entities, START, END, seed=SEED, rates=FULL_RATES)
    else:
        recs = make_records(size.n_entities, START, END, seed=SEED, sources=SUBSET_SOURCES, rates=CITY_RATES, columns="subset")
    return recs, time.perf_counter() - started


def _as_of(recs: dict[str, pd.DataFrame]) -> pd.DatetimeIndex:
    from riskml.features._engine import as_of_grid  # noqa: PLC0415
    from riskml.records import load_sources  # noqa: PLC0415

    days = as_of_grid(recs, load_sources(), "quarterly")
    return pd.DatetimeIndex(pd.to_datetime(days, unit="D"))


#: Functions whose cumulative time splits riskml's run into phases ("file:function").
PHASES: tuple[str, ...] = (
    "_spec.py:load_feature_spec",
    "_engine.py:_check_records",
    "_engine.py:compute_bucket",
    "_engine.py:__init__",
    "base.py:get_indexer",
    "_kernels.py:__init__",
    "_engine.py:_window_feature",
    "_engine.py:_network_columns",
)


def _profile_summary(profile: cProfile.Profile, top: int = 14, cumulative: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Top functions by own time, then the functions named in ``cumulative`` (phases)."""
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows, phases = [], []
    for (file, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = func if file.startswith("~") or file == "{built-in}" else f"{Path(file).name}:{line}({func})"
        row = {"function": where, "calls": ncalls, "tottime": tottime, "cumtime": cumtime}
        rows.append(row)
        if f"{Path(file).name}:{func}" in cumulative:
            phases.append({**row, "phase": True})
    rows.sort(key=lambda r: -r["tottime"])
    return rows[:top] + phases


def worker(kind: str, size: Size, out: Path, method: str = "delta", sample: int = 0) -> dict[str, Any]:
    """Run one measured step in this process and return its measurements."""
    from riskml.features import build_panel  # noqa: PLC0415

    profiled = kind.endswith("+profile")  # the profile is a run of its own: timed runs have no profiler
    kind = kind.removesuffix("+profile")
    recs, gen_s = _records(size, full=(kind == "riskml-full"))
    n_records = int(sum(len(t) for n, t in recs.items() if n != "entities"))
    input_gib = _reset_peak()
    res: dict[str, Any] = {"kind": kind, "size": size.name, "gen_seconds": gen_s, "records": n_records,
                           "input_gib": input_gib}
    if kind in ("riskml-full", "riskml-subset"):
        spec = write_subset_spec(out / "spec") if kind == "riskml-subset" else None
        profile = cProfile.Profile() if profiled else None
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        panel = build_panel(recs, "quarterly", spec, show_progress=False)
        if profile is not None:
            profile.disable()
        res.update(seconds=time.perf_counter() - started, rows=len(panel.frame), features=len(panel.feature_names))
        res["peak_gib"] = _memory("VmHWM")
        if profile is not None:
            res["profile"] = _profile_summary(profile, cumulative=PHASES)
        elif kind == "riskml-subset":
            panel.frame.to_parquet(out / "riskml.parquet", index=False)
    elif kind == "duckdb-subset":
        table, load_s, query_s = run_duckdb(recs, _as_of(recs), method)
        res.update(seconds=query_s, load_seconds=load_s, rows=table.num_rows, method=method)
        res["peak_gib"] = _memory("VmHWM")
        table = table.sort_by([("as_of", "ascending"), ("entity_id", "ascending")])
        import pyarrow.parquet as pq  # noqa: PLC0415

        pq.write_table(table, out / f"duckdb-{method}.parquet")
    elif kind == "ft-prep":
        res.update(_ft_prepare(recs, sample, out))
    else:
        raise ValueError(f"unknown worker {kind!r}")
    res.setdefault("peak_gib", _memory("VmHWM"))
    return res


def _ft_prepare(recs: dict[str, pd.DataFrame], sample: int, out: Path) -> dict[str, Any]:
    """Write a sample of entities, their records and their grid for featuretools."""
    rng = np.random.default_rng(SEED)
    ents = recs["entities"]
    n_sample = min(sample, len(ents))
    pick = np.sort(rng.choice(len(ents), n_sample, replace=False))
    sample = ents.iloc[pick].reset_index(drop=True)
    as_of = _as_of(recs)
    est = sample["established"].to_numpy()[:, None]
    end = sample["deregistered"].to_numpy()[:, None]
    t = as_of.to_numpy()[None, :]
    alive = (est < t) & (np.isnat(end) | (end >= t))
    e_idx, t_idx = np.nonzero(alive)
    grid = pd.DataFrame({"entity_id": sample["entity_id"].to_numpy()[e_idx], "as_of": as_of.to_numpy()[t_idx]})
    # Full-size grid rows, for the linear extrapolation.
    est_all = ents["established"].to_numpy()
    end_all = ents["deregistered"].to_numpy()
    full_rows = int(sum(((est_all < d) & (np.isnat(end_all) | (end_all >= d))).sum() for d in as_of.to_numpy()))
    ft_dir = out / f"ft-{n_sample}"
    ft_dir.mkdir(exist_ok=True)
    sample[["entity_id"]].to_parquet(ft_dir / "entities.parquet", index=False)
    grid.to_parquet(ft_dir / "grid.parquet", index=False)
    keep = set(sample["entity_id"])
    n_records = 0
    for source, key, known, amount in SUBSET:
        table = recs[source]
        part = table.loc[table[key].isin(keep), [key, known] + ([amount] if amount else [])]
        n_records += len(part)
        part.to_parquet(ft_dir / f"{source}.parquet", index=False)
    job = {"sources": [{"name": s, "key": k, "known_at": kn, "amount": a} for s, k, kn, a in SUBSET],
           "windows": list(WINDOWS)}
    (ft_dir / "job.json").write_text(json.dumps(job))
    return {"sample_entities": n_sample, "sample_rows": len(grid), "sample_records": n_records, "full_rows": full_rows}


# ----------------------------------------------------------------------------- parent


RESULTS = ROOT / "benchmarks" / "panel_results.json"


def _child(kind: str, size: Size, out: Path, method: str = "delta", sample: int = 0) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.panel", "--worker", kind, "--sizes", size.name, "--out", str(out),
           "--method", method, "--sample", str(sample)]
    logger.info("running %s", " ".join(cmd[1:]))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} ({size.name}) failed with code {proc.returncode}:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run_featuretools(folder: Path) -> dict[str, Any]:
    python = FT_VENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing; build it with: bash benchmarks/featuretools_env/build.sh")
    started = time.perf_counter()
    proc = subprocess.Popen([str(python), str(FT_SCRIPT), str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"featuretools failed:\n{err[-4000:]}")
    res = json.loads((folder / "featuretools.json").read_text())
    res["process_peak_gib"] = usage.ru_maxrss / 2**20
    res["process_seconds"] = wall
    return res


def compare(left: Path, right: Path, features: list[str], *, subset_of_left: bool = False) -> dict[str, Any]:
    """Compare two result files value by value; max abs difference per feature kind."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    keys_r = pq.read_table(right, columns=["entity_id", "as_of"]).to_pandas()
    keys_l = pq.read_table(left, columns=["entity_id", "as_of"]).to_pandas()
    for keys in (keys_l, keys_r):
        # DuckDB returns DATE, riskml datetime64[ns]: compare the days.
        keys["as_of"] = pd.to_datetime(keys["as_of"]).astype("datetime64[ns]")
    if subset_of_left:
        key_l = pd.MultiIndex.from_frame(keys_l)
        pos = key_l.get_indexer(pd.MultiIndex.from_frame(keys_r))
        if (pos < 0).any():
            return {"equal": False, "why": f"{int((pos < 0).sum())} rows missing on the left"}
    else:
        same = len(keys_l) == len(keys_r) and bool(
            (keys_l["entity_id"].to_numpy() == keys_r["entity_id"].to_numpy()).all()
            and (keys_l["as_of"].to_numpy() == keys_r["as_of"].to_numpy()).all()
        )
        if not same:
            return {"equal": False, "why": f"rows differ: {len(keys_l)} vs {len(keys_r)}"}
        pos = None
    worst_count, worst_sum = 0.0, 0.0
    for name in features:
        a = pq.read_table(left, columns=[name]).column(0).to_numpy()
        b = pq.read_table(right, columns=[name]).column(0).to_numpy().astype(np.float64)
        if pos is not None:
            a = a[pos]
        a = np.asarray(a, dtype=np.float64)
        # strict: a missing value on one side only is a difference, never skipped
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        if (nan_a != nan_b).any():
            return {"equal": False, "rows": len(keys_r), "why": f"{name}: missing on one side only in "
                    f"{int((nan_a != nan_b).sum()):,} rows"}
        both = ~nan_a
        diff = float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0
        if "_count_" in name:
            worst_count = max(worst_count, diff)
        else:
            worst_sum = max(worst_sum, diff)
    return {"equal": worst_count == 0 and worst_sum == 0, "rows": len(keys_r),
            "max_abs_diff_count": worst_count, "max_abs_diff_sum": worst_sum}


def run_size(size: Size, skip_featuretools: bool, duckdb_methods: list[str], profile: bool = True) -> dict[str, Any]:
    """All measurements of one size."""
    res: dict[str, Any] = {"size": size.name, "entities": size.n_entities, "period": f"{START}..{END}"}
    tmp = Path(tempfile.mkdtemp(prefix=f"riskml-bench-{size.name}-"))
    try:
        if size.name == "county":
            res["full"] = _child("riskml-full", size, tmp)
            logger.info("full library: %s", res["full"])
            if profile:
                res["full"]["profile"] = _child("riskml-full+profile", size, tmp)["profile"]
        res["riskml"] = _child("riskml-subset", size, tmp)
        if profile:
            res["riskml"]["profile"] = _child("riskml-subset+profile", size, tmp)["profile"]
        logger.info("riskml subset: %.2f s", res["riskml"]["seconds"])
        res["duckdb"] = {}
        for method in duckdb_methods:
            res["duckdb"][method] = _child("duckdb-subset", size, tmp, method)
            res["duckdb"][method]["check"] = compare(tmp / "riskml.parquet", tmp / f"duckdb-{method}.parquet", subset_features())
            logger.info("duckdb %s: %s", method, res["duckdb"][method])
        if not skip_featuretools:
            runs = []
            for sample in size.ft_samples:
                prep = _child("ft-prep", size, tmp, sample=sample)
                folder = tmp / f"ft-{prep['sample_entities']}"
                ft_res = _run_featuretools(folder)
                ft_res.update({k: prep[k] for k in ("sample_entities", "sample_rows", "sample_records", "full_rows")})
                ft_res["check"] = compare(tmp / "riskml.parquet", folder / "featuretools.parquet", subset_features(),
                                          subset_of_left=True)
                runs.append(ft_res)
                logger.info("featuretools: %s", ft_res)
            res["featuretools"] = {"runs": runs, **extrapolate(runs)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def extrapolate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """featuretools seconds on the full grid from runs on samples (linear in grid rows).

    Examples
    --------
    >>> runs = [{"sample_rows": 10, "seconds": 3.0, "full_rows": 100}, {"sample_rows": 20, "seconds": 5.0, "full_rows": 100}]
    >>> round(extrapolate(runs)["full_seconds"], 6)
    21.0
    """
    full = runs[-1]["full_rows"]
    if runs[-1]["sample_rows"] >= full:
        return {"full_seconds": runs[-1]["seconds"], "extrapolated": False}
    if len(runs) == 1:
        return {"full_seconds": runs[0]["seconds"] * full / max(runs[0]["sample_rows"], 1), "extrapolated": True}
    rows = np.array([r["sample_rows"] for r in runs], dtype=float)
    secs = np.array([r["seconds"] for r in runs], dtype=float)
    slope, intercept = np.polyfit(rows, secs, 1)
    return {"full_seconds": float(max(intercept, 0.0) + slope * full), "extrapolated": True}


def _fmt_s(x: float) -> str:
    return f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


def render(results: dict[str, Any]) -> str:
    """The ``## Panel`` section of docs/benchmarks.md from the stored results."""
    separate = all(results[n].get("profile_separate") for n in SIZES if n in results)
    first_separate = min((results[n]["measured"] for n in SIZES if results.get(n, {}).get("profile_separate")),
                         default="now")
    measured = "; ".join(
        f"{n} {results[n].get('measured', results.get('measured', '?'))} (load {results[n]['load_average'][0]:.1f})"
        + (f", featuretools rows {results[n]['featuretools_measured']}" if results[n].get('featuretools_measured')
           else "")
        for n in ("tiny", "county", "city") if n in results)
    intro = template("panel").format(
        profile_note="" if separate else f" (sizes measured before {first_separate} were profiled on the timed run)",
        measured=measured)
    lines = intro.rstrip("\n").split("\n")
    checks = []
    profiles = []
    for name in ("tiny", "county", "city"):
        r = results.get(name)
        if not r:
            continue
        if "full" in r:
            f = r["full"]
            lines.append(
                f"| {name} | full library | riskml | {f['records']:,} | {f['rows']:,} | {f['features']} | "
                f"{_fmt_s(f['gen_seconds'])} | {_fmt_s(f['seconds'])} | {f['peak_gib']:.2f} ({f['input_gib']:.2f}) | |"
            )
        rk = r["riskml"]
        lines.append(
            f"| {name} | subset | riskml | {rk['records']:,} | {rk['rows']:,} | {rk['features']} | "
            f"{_fmt_s(rk['gen_seconds'])} | {_fmt_s(rk['seconds'])} | {rk['peak_gib']:.2f} ({rk['input_gib']:.2f}) | |"
        )
        for method, d in r.get("duckdb", {}).items():
            ratio = d["seconds"] / rk["seconds"]
            ratio_load = (d["seconds"] + d["load_seconds"]) / rk["seconds"]
            lines.append(
                f"| {name} | subset | DuckDB `{method}` | {d['records']:,} | {d['rows']:,} | 18 | "
                f"{_fmt_s(d['gen_seconds'])} | {_fmt_s(d['seconds'])} (+{_fmt_s(d['load_seconds'])} load) | "
                f"{d['peak_gib']:.2f} ({d['input_gib']:.2f}) | {ratio:.2f}x ({ratio_load:.2f}x with load) |"
            )
            c = d["check"]
            checks.append(f"* {name}: riskml vs DuckDB `{method}`: "
                          + ("identical" if c["equal"] else "DIFFERENT")
                          + f" on {c.get('rows', 0):,} rows x 18 features (max abs diff: counts "
                          f"{c.get('max_abs_diff_count', float('nan')):g}, sums {c.get('max_abs_diff_sum', float('nan')):g})"
                          + (f" {c['why']}" if "why" in c else ""))
        ft = r.get("featuretools")
        if ft:
            ratio = ft["full_seconds"] / rk["seconds"]
            for run in ft["runs"]:
                sampled = run["sample_rows"] < run["full_rows"]
                what = f"featuretools, {run['sample_entities']:,}-entity sample" if sampled else "featuretools"
                speedup = "" if sampled else f"{ratio:,.1f}x"
                if r.get("featuretools_measured") and not sampled:
                    speedup = f"not comparable (featuretools run of {r['featuretools_measured']})"
                lines.append(
                    f"| {name} | subset | {what} | {run['sample_records']:,} | {run['sample_rows']:,} | 18 | | "
                    f"{_fmt_s(run['seconds'])} | {run['process_peak_gib']:.2f} (whole process) | {speedup} |"
                )
                c = run["check"]
                checks.append(f"* {name}: riskml vs featuretools on {run['sample_rows']:,} grid rows: "
                              + ("identical" if c["equal"] else "DIFFERENT")
                              + f" (max abs diff: counts {c.get('max_abs_diff_count', float('nan')):g}, "
                              f"sums {c.get('max_abs_diff_sum', float('nan')):g})" + (f" {c['why']}" if "why" in c else ""))
            if ft["extrapolated"]:
                lines.append(
                    f"| {name} | subset | featuretools, extrapolated | {rk['records']:,} | {rk['rows']:,} | 18 | | "
                    f"~{_fmt_s(ft['full_seconds'])} | | "
                    + (f"~{ratio:,.0f}x |" if not r.get("featuretools_measured") else "not comparable |")
                )

        for work, step in (("full library", r.get("full")), ("subset", rk)):
            if not step or not step.get("profile"):
                continue
            total = step["seconds"]
            profiles.append(f"riskml {work}, {name} ({_fmt_s(total)} s; "
                            f"{'cProfile on a separate run' if r.get('profile_separate') else 'cProfile on the timed run'}; top by own time, "
                            "then phases by cumulative time):")
            profiles.append("")
            profiles.append("| function | calls | own s | cumulative s | share |")
            profiles.append("|---|---:|---:|---:|---:|")
            tops = [p for p in step["profile"] if not p.get("phase")][:10]
            phases = [p for p in step["profile"] if p.get("phase")]
            for p in tops:
                profiles.append(f"| `{p['function']}` | {p['calls']:,} | {p['tottime']:.2f} | {p['cumtime']:.2f} | "
                                f"{100 * p['tottime'] / total:.0f}% |")
            for p in phases:
                profiles.append(f"| phase `{p['function']}` | {p['calls']:,} | | {p['cumtime']:.2f} | "
                                f"{100 * p['cumtime'] / total:.0f}% |")
            profiles.append("")
    lines += ["", "Equality checks:", "", *checks, "", "Where riskml's time goes:", "", *profiles]
    loads = [f"{n} {r['load_average'][0]:.1f} -> {r['load_average'][1]:.1f}" for n, r in results.items()
             if isinstance(r, dict) and "load_average" in r]
    if loads:
        lines += [f"1-minute load average before -> after each size (2 cores): {'; '.join(loads)}.", ""]
    notes = results.get("notes")
    if notes:
        lines += ["Notes on this run:", "", *notes, ""]
    lines.append(f"Machine: {os.cpu_count()} cores; measured {results.get('measured', '')}.")
    return "\n".join(lines).rstrip() + "\n"


def write_section(text: str, doc: Path = DOC) -> None:
    """Replace the ``## Panel`` section of ``doc`` (or append it), keeping the others.

    Examples
    --------
    >>> import tempfile
    >>> doc = Path(tempfile.mkdtemp()) / "b.md"
    >>> write_section("## Panel\\n\\nnumbers\\n", doc)
    >>> doc.read_text().splitlines()[0]
    '# Benchmarks'
    """
    write_doc_section("Panel", text, doc)

def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="county", help="comma-separated: county, city")
    parser.add_argument("--skip-featuretools", action="store_true")
    parser.add_argument("--duckdb", default=None, help="DuckDB formulations, comma-separated (default: delta,range at "
                        "county, delta at city, where the range join's ~1.2 billion joined rows do not fit)")
    parser.add_argument("--no-profile", action="store_true", help="skip the separate profiled riskml runs")
    parser.add_argument("--render-only", action="store_true", help="rewrite the doc section from the stored results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="delta", help=argparse.SUPPRESS)
    parser.add_argument("--sample", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    names = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in names if s not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}; choose from {sorted(SIZES)}")
    if args.worker:
        res = worker(args.worker, SIZES[names[0]], Path(args.out), args.method, args.sample)
        print(json.dumps(res))
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    ok = True
    for name in [] if args.render_only else names:
        methods = args.duckdb.split(",") if args.duckdb else (["delta", "range"] if name == "county" else ["delta"])
        started = time.perf_counter()
        load_before = os.getloadavg()[0]
        res = run_size(SIZES[name], args.skip_featuretools, methods, not args.no_profile)
        res["wall_seconds"] = time.perf_counter() - started
        res["load_average"] = [load_before, os.getloadavg()[0]]
        res["measured"] = time.strftime("%Y-%m-%d")
        res["profile_separate"] = not args.no_profile
        previous = results.get(name, {})
        if "featuretools" not in res and "featuretools" in previous:
            # not rerun: keep the stored featuretools rows, dated
            res["featuretools"] = previous["featuretools"]
            res["featuretools_measured"] = previous.get("featuretools_measured",
                                                        previous.get("measured", results.get("measured")))
        results[name] = res
        results["measured"] = time.strftime("%Y-%m-%d")
        RESULTS.write_text(json.dumps(results, indent=1))
        ok &= all(d["check"]["equal"] for d in res["duckdb"].values())
        ok &= all(run["check"]["equal"] for run in res.get("featuretools", {}).get("runs", []))
    text = render(results)
    print(text)
    write_section(text)
    if not ok:
        logger.error("engines disagree: see the equality checks above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
