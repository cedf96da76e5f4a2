"""The quarterly scoring job on the county, records from PostgreSQL vs from Parquet:
``python -m benchmarks.scoring_job``.

Generates the synthetic county (default 60,000 entities x 6 years), writes its
validated records once to a Parquet folder and once to PostgreSQL tables (a throwaway
server started on loopback from ``/usr/lib/postgresql/*/bin``, as the tests do, unless
``--database URL`` is given), trains and promotes a credit champion in a temporary
riskml home, then runs ``riskml score`` as a scheduled job would (a fresh process per
run: read, validate, panel, score with three reasons, publish to a Parquet ledger,
no monitoring run) once per records source, and reports wall time and records read per
second. Writes the ``## Scoring job`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._doc import machine_line, write_section

AS_OF = "2024-10-01"


def _start_postgres(base: Path) -> tuple[str, list[str], Path]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("no PostgreSQL in /usr/lib/postgresql/*/bin; run scripts/system-deps.sh or pass --database")
    bin_dir = Path(found[-1]).parent
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if prefix:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = base / "data"
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "riskml"], check=True,
                   capture_output=True)
    subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                    f"-p {port} -k {base} -h 127.0.0.1", "start"], check=True, capture_output=True)
    return f"postgresql://riskml@127.0.0.1:{port}/postgres", [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data),
                                                             "-m", "fast", "-w", "stop"], base


def _job(records: str, ledger: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall time of one job process and its per-step line."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "riskml.cli", "score", "--records", records, "--ledger", str(ledger),
                           "--as-of", AS_OF, "--target", "credit", "--no-monitor"], check=True,
                          env={**env, "COLUMNS": "400"},  # the steps line on one line, to parse
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    print(done.stdout)
    steps = next((ln.split(":", 1)[1].strip() for ln in done.stdout.splitlines() if ln.startswith("steps (s):")), "")
    return seconds, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--database", help="An existing PostgreSQL database URL (default: start one)")
    parser.add_argument("--reads", type=int, default=0,
                        help="Only time reading the records, N times alternating PostgreSQL and Parquet "
                             "(no training, no job); writes the 'Scoring job: reading the records' section")
    parser.add_argument("--drivers", type=int, default=0,
                        help="Only time fetching every source table as Arrow through ADBC and through ConnectorX, "
                             "N times alternating (no training, no job); writes the 'Scoring job: PostgreSQL drivers' "
                             "section")
    parser.add_argument("--jobs", type=int, default=1,
                        help="Job runs per records source, alternating the sources; the best of each is reported")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")
    os.environ.setdefault("RISKML_PROGRESS", "0")
    work = Path(tempfile.mkdtemp(prefix="riskml-scoring-job-"))
    os.environ["RISKML_HOME"] = str(work / "home")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    stop: list[str] | None = None
    pg = work
    try:
        import riskml

        records = riskml.records.validate(riskml.synth.make_market(n_entities=args.entities, seed=0).records)
        url = args.database
        if url is None:
            pg = Path(tempfile.mkdtemp(prefix="riskml-scoring-job-pg-"))  # traversable by the postgres user
            url, stop, _ = _start_postgres(pg)
        started = time.perf_counter()
        riskml.records.write(records, work / "records")
        t_parquet = time.perf_counter() - started
        started = time.perf_counter()
        riskml.records.write(records, url)
        t_load = time.perf_counter() - started
        if args.reads:
            _reads(args, records.n_records, url, work / "records")
            return
        if args.drivers:
            _drivers(args, records.n_records, url, sorted(records.tables))
            return
        riskml.train(records, "credit", backtest={"test_dates": "last 1"})
        decision = riskml.promote("credit")
        if not decision.promoted:
            raise SystemExit(f"the credit model was not promoted: {decision.failed_gates}")
        n = records.n_records
        env = dict(os.environ)
        runs: dict[str, list[tuple[float, str]]] = {"db": [], "files": []}
        for i in range(args.jobs):  # alternating, so both sources see the same machine load
            runs["db"].append(_job(url, work / f"ledger-db-{i}", env))
            runs["files"].append(_job(str(work / "records"), work / f"ledger-files-{i}", env))
        (t_db, steps_db), (t_files, steps_files) = (min(r, key=lambda run: run[0]) for r in runs.values())
        n_sources = len(records.tables)
        scored = len(riskml.ledger.read_ledger(work / "ledger-db-0"))
    finally:
        if stop is not None:
            subprocess.run(stop, capture_output=True)
            shutil.rmtree(pg, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        machine_line(),
        "",
        f"`riskml score --records SOURCE --ledger FOLDER --as-of {AS_OF} --target credit --no-monitor` on the "
        f"synthetic county ({args.entities:,} entities, {n:,} validated records in {n_sources} sources; {scored:,} entities "
        "alive at the as-of date scored with three reasons each), one fresh process per run, as cron starts it: "
        "read, validate, build the panel, score, explain, publish to a Parquet ledger"
        + (f"; best of {args.jobs} runs per source, alternating the sources." if args.jobs > 1 else "."),
        "",
        "| records from | job wall time (s) | records per second | steps (s, inside the process) |",
        "|---|---:|---:|---|",
        f"| PostgreSQL 15 on loopback (ADBC, Arrow) | {t_db:.1f} | {n / t_db:,.0f} | {steps_db} |",
        f"| Parquet folder | {t_files:.1f} | {n / t_files:,.0f} | {steps_files} |",
        "",
        f"Loading the records into PostgreSQL (`riskml.records.write(records, url)`, Arrow bulk copy) took "
        f"{t_load:.1f} s; writing the Parquet folder {t_parquet:.1f} s. Command: `python -m benchmarks.scoring_job"
        + (f" --jobs {args.jobs}" if args.jobs > 1 else "") + "`.",
        "",
        _load_note(steps_db, steps_files),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Scoring job", text)


def _load_note(steps_db: str, steps_files: str) -> str:
    """How differently loaded the two runs were: the ratio of steps doing the same work in both."""
    def parse(steps: str) -> dict[str, float]:
        return {name: float(value) for name, value in (part.strip().rsplit(" ", 1) for part in steps.split(","))}

    db, files = parse(steps_db), parse(steps_files)
    ratios = [db[k] / files[k] for k in ("validate", "champion", "panel", "score") if files.get(k)]
    alike = 0.8 <= min(ratios) and max(ratios) <= 1.25
    verdict = ("the two runs saw about the same machine load, so their wall times compare the sources"
               if alike else "the two runs did not see the same machine load, so their wall times compare the load "
               "more than the sources")
    return (f"Steps that do the same work whatever the source (validate, champion, panel, score) took "
            f"{min(ratios):.1f} to {max(ratios):.1f} times as long in the PostgreSQL run as in the Parquet run: "
            f"{verdict}. The read step alone is compared under the same load in 'Scoring job: reading the records'.")


def _reads(args: argparse.Namespace, n: int, url: str, folder: Path) -> None:
    """Best-of-N wall time of ``riskml.records.read`` from each source, alternating them."""
    import riskml

    times: dict[str, list[float]] = {"PostgreSQL 15 on loopback (ADBC, Arrow)": [], "Parquet folder": []}
    for _ in range(args.reads):
        for label, source in zip(times, (url, str(folder)), strict=True):
            started = time.perf_counter()
            riskml.records.read(source)
            times[label].append(time.perf_counter() - started)
    _write_timings(args, "Scoring job: reading the records", "records from", times, n, 1,
                   f"`riskml.records.read(SOURCE)` of the {args.entities:,}-entity county ({n:,} records), best of "
                   f"{args.reads} runs alternating the two sources, so both see the same machine load. Command: "
                   f"`python -m benchmarks.scoring_job --reads {args.reads}`.")


def _write_timings(args: argparse.Namespace, heading: str, kind: str, times: dict[str, list[float]], n: int,
                   digits: int, intro: str) -> None:
    """Print a best-of-N table of ``times`` (seconds per run, by label) and write it as ``## heading``."""
    lines = [machine_line(), "", intro, "",
             f"| {kind} | best seconds | records per second | all runs (s) |", "|---|---:|---:|---|"]
    for label, runs in times.items():
        lines.append(f"| {label} | {min(runs):.{digits}f} | {n / min(runs):,.0f} | "
                     f"{', '.join(f'{t:.{digits}f}' for t in runs)} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section(heading, text)


def _drivers(args: argparse.Namespace, n: int, url: str, names: list[str]) -> None:
    """Best-of-N seconds to fetch every source table as Arrow through ADBC and through ConnectorX, alternating."""
    from importlib.metadata import version

    import connectorx as cx

    from riskml.records._database import adbc_uri, connect, quote

    def adbc() -> int:
        with connect(url) as conn, conn.cursor() as cur:
            rows = 0
            for name in names:
                cur.execute(f"SELECT * FROM {quote(name)}")
                rows += cur.fetch_arrow_table().num_rows
            return rows

    def connectorx() -> int:
        return sum(cx.read_sql(adbc_uri(url), f"SELECT * FROM {quote(name)}", return_type="arrow").num_rows
                   for name in names)

    labels = {f"ADBC (adbc-driver-postgresql {version('adbc-driver-postgresql')})": adbc,
              f"ConnectorX {version('connectorx')}": connectorx}
    times: dict[str, list[float]] = {label: [] for label in labels}
    for _ in range(args.drivers):
        for label, fetch in labels.items():
            started = time.perf_counter()
            rows = fetch()
            times[label].append(time.perf_counter() - started)
            if rows != n:
                raise SystemExit(f"{label} fetched {rows:,} rows; the tables hold {n:,}")
    _write_timings(args, "Scoring job: PostgreSQL drivers", "driver", times, n, 2,
                   f"Every source table of the {args.entities:,}-entity county ({n:,} records in {len(names)} "
                   f"tables) fetched as Arrow from PostgreSQL 15 on loopback (`SELECT * FROM table`, no coercion), "
                   f"best of {args.drivers} runs alternating the two drivers. Command: "
                   f"`python -m benchmarks.scoring_job --drivers {args.drivers}`.")


if __name__ == "__main__":
    main()
