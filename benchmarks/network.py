"""Cross-entity features: this tree's ``network_features`` beside a git ref's, same records.

``python -m benchmarks.network --baseline REF [--entities 100000] [--repeat 2]``

The full-library records of ``benchmarks/_data.py`` (as ``benchmarks/scale.py``), the
grid of the local engine (every entity alive at each quarterly as-of date), and the
cross-entity features of ``features/network.yaml`` computed by each code version in a
fresh process, alternating, ``--repeat`` times. Time: CPU seconds of the computation
(robust to other jobs on the machine), wall beside it. The values of both versions are
compared strictly (every value equal, NaN where NaN). Writes the ``## Cross-entity
features`` section of docs/benchmarks.md.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

START, END, SEED = "2019-01-01", "2025-01-01", 0


def worker(n: int, out: Path) -> dict:
    # riskml and benchmarks come from PYTHONPATH (the measured tree), never from this file's tree
    import numpy as np
    import pandas as pd

    from benchmarks._data import FULL_RATES, make_records
    from riskml.features import load_feature_spec
    from riskml.features._engine import as_of_grid
    from riskml.features._kernels import to_days
    from riskml.features._network import network_features

    recs = make_records(n, START, END, seed=SEED, rates=FULL_RATES)
    spec = load_feature_spec()
    days = as_of_grid(recs, spec.sources, "quarterly")
    ents = recs["entities"]
    ids = pd.Index(ents["entity_id"]).astype("str")
    order = np.argsort(ids.to_numpy(dtype=object), kind="stable")
    est = to_days(ents["established"].to_numpy(dtype="datetime64[ns]"))[order]
    end = to_days(ents["deregistered"].to_numpy(dtype="datetime64[ns]"))[order]
    alive = (est[None, :] < days[:, None]) & (end[None, :] >= days[:, None])
    t_idx, code = np.nonzero(alive)
    grid = pd.DataFrame({"entity_id": pd.array(ids.to_numpy()[order][code], dtype="str"), "as_of_day": days[t_idx]})
    cpu, wall = time.process_time(), time.perf_counter()
    values, _ = network_features(recs, ents, grid, spec.network, catalog_sources=spec.sources)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    values.to_parquet(out, index=False)
    import riskml

    return {"cpu_s": cpu, "wall_s": wall, "rows": len(grid), "features": values.shape[1],
            "invoices": len(recs["invoices"]), "dates": len(days), "riskml": riskml.__file__,
            "load": os.getloadavg()[0]}


def _run(tree: Path, n: int, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(out), "--entities", str(n)],
                          env=env, cwd=tree, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-4000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=False)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.entities, Path(args.worker))))
        return 0
    import numpy as np
    import pandas as pd

    from benchmarks._doc import machine_line, write_section

    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="riskml-network-") as tmp_name:
        tmp = Path(tmp_name)
        base = tmp / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.baseline], check=True,
                       capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"baseline": [], "now": []}
            for _ in range(args.repeat):
                for name, tree in (("baseline", base), ("now", ROOT)):
                    runs[name].append(_run(tree, args.entities, tmp / f"{name}.parquet"))
            trees = {k: {r["riskml"] for r in v} for k, v in runs.items()}
            if trees["baseline"] == trees["now"]:
                raise RuntimeError(f"both versions imported the same riskml: {trees}")
            a = pd.read_parquet(tmp / "baseline.parquet")
            b = pd.read_parquet(tmp / "now.parquet")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False,
                           capture_output=True)
    same = list(a.columns) == list(b.columns) and a.shape == b.shape and bool(
        ((a.to_numpy() == b.to_numpy()) | (np.isnan(a.to_numpy()) & np.isnan(b.to_numpy()))).all())
    best = {k: min(v, key=lambda r: r["cpu_s"]) for k, v in runs.items()}
    r = best["now"]
    lines = [
        machine_line(),
        "",
        f"Command: `python -m benchmarks.network --baseline {args.baseline} --entities {args.entities} --repeat "
        f"{args.repeat}`: the cross-entity features of `features/network.yaml` ({r['features']} features) on the "
        f"full-library records of `benchmarks/_data.py` ({args.entities:,} entities, {r['invoices']:,} invoices, "
        f"{r['dates']} quarterly as-of dates, {r['rows']:,} grid rows), this tree (now) and `{args.baseline}` "
        f"(baseline) each in a fresh process, alternating, best of {args.repeat}; load average {load:.1f} at the "
        "start. CPU seconds are the measure (other jobs share the machine); wall beside them.",
        "",
        "| code | CPU s | wall s |",
        "|---|---:|---:|",
        f"| baseline `{args.baseline}` | {best['baseline']['cpu_s']:.1f} | {best['baseline']['wall_s']:.1f} |",
        f"| now | {r['cpu_s']:.1f} | {r['wall_s']:.1f} |",
        "",
        f"Speed-up: {best['baseline']['cpu_s'] / r['cpu_s']:.2f}x in CPU seconds. Values: "
        + ("identical (every value equal, NaN where NaN)." if same else "DIFFERENT."),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Cross-entity features", text)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
