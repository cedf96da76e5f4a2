"""Training time against a baseline commit: ``python -m benchmarks.training --baseline REF``.

On a synthetic market (default the 60,000-entity county) the panel and credit labels
are built once; then ``riskml.train(panel, "credit", log=False)`` runs in a fresh process
per code version, **one process at a time**, alternating, ``--repeat`` rounds, best wall
time per row. One at a time because training fits its splits on every core: a version
measured beside another process gets half the machine and its second core is lost.

Rows:

* ``baseline``: the code of ``REF`` (checked out with ``git worktree add``);
* ``now``: this tree, the credit spec as shipped (the point-in-time model and, with
  ``grade_score: through_the_cycle``, the grade model and its own backtest);
* ``now, the baseline's work``: this tree with the spec's ``grade_score`` set to
  ``point_in_time``, i.e. the one model the baseline trains (only when the shipped spec
  declares a grade model);
* ``now, one fit at a time`` (``--serial``): the shipped spec with ``backtest.workers: 1``.

Every row must train the identical point-in-time model (booster text, calibrator and
backtest predictions, compared exactly) or the run stops. Prints a table and writes the
``## Training`` section of docs/benchmarks.md (unless ``--no-doc``).
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._doc import machine_line, template, write_section

ROOT = Path(__file__).resolve().parents[1]
SAME_WORK = "now, the baseline's work"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(data_path: Path, out_path: Path, target: str, serial: bool) -> None:
    """One training in this process: the pickled panel and labels in, times and the model out."""
    import riskml

    with open(data_path, "rb") as f:
        data = pickle.load(f)
    backtest = {"workers": 1} if serial else None
    started, cpu = time.perf_counter(), cpu_seconds()
    result = riskml.train(data["panel"], target, labels=data["labels"], backtest=backtest, log=False)
    out = {"wall": time.perf_counter() - started, "cpu": cpu_seconds() - cpu, "model": result.model,
           "predictions": result.fit.predictions, "riskml": riskml.__file__}
    with open(out_path, "wb") as f:
        pickle.dump(out, f)


def _run(tree: Path, data_path: Path, out_path: Path, target: str, serial: bool) -> dict:
    # riskml from the measured tree; this package (benchmarks._doc) from this tree
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)]), "RISKML_PROGRESS": "0"}
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(data_path), "--out", str(out_path),
               "--target", target, *(["--serial"] if serial else [])]
    subprocess.run(command, env=env, cwd=tree, check=True)
    with open(out_path, "rb") as f:
        out = pickle.load(f)
    if not Path(out["riskml"]).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"the run meant for {tree} imported riskml from {out['riskml']}")
    return out


def _same_model(a, b) -> bool:  # type: ignore[no-untyped-def]
    return (a.booster.model_to_string() == b.booster.model_to_string()
            and (a.calib_a, a.calib_b) == (b.calib_a, b.calib_b))


def _shipped_spec() -> dict:
    """``models/credit.yaml`` as shipped, read afresh (callers edit what they get)."""
    import yaml

    return yaml.safe_load((ROOT / "models" / "credit.yaml").read_text(encoding="utf-8"))


def without_dropped(panel):  # type: ignore[no-untyped-def]
    """The panel without the features the shipped credit spec drops (``model.drop_features``).

    The point-in-time model never reads them; a baseline that reads every panel column
    (or predates ``drop_features``) is given the panel without them, so it can train the
    same model. The shipped spec's grade model reads its own features and gets the full panel.
    """
    from riskml.features import Panel

    dropped = [c for c in (_shipped_spec().get("model") or {}).get("drop_features", []) if c in panel.frame.columns]
    return Panel(frame=panel.frame.drop(columns=dropped), catalog=panel.catalog.drop(index=dropped),
                 spec_hash=panel.spec_hash), dropped


def _same_work_spec(tmp: Path) -> Path | None:
    """The shipped credit spec with ``grade_score: point_in_time`` (None when it declares no grade model)."""
    import yaml

    spec = _shipped_spec()
    if (spec.get("grade_score") or {}).get("basis", "point_in_time") == "point_in_time":
        return None
    spec["grade_score"] = {"basis": "point_in_time"}
    path = tmp / "credit.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git ref whose code to measure (default: this tree only)")
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--serial", action="store_true", help="add a row for this tree with backtest.workers: 1")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--target", default="credit", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")
    if args.worker:
        worker(Path(args.worker), Path(args.out), args.target, args.serial)
        return

    import pandas as pd

    import riskml

    market = riskml.synth.make_market(n_entities=args.entities, seed=0)
    records = riskml.records.validate(market.records)
    panel = riskml.build_panel(records, "quarterly")
    labels = riskml.make_labels(records, panel, "credit")
    n_rows = len(panel.frame)
    del market, records

    with tempfile.TemporaryDirectory(prefix="riskml-training-") as tmp_name:
        tmp = Path(tmp_name)
        full_path, narrow_path = tmp / "full.pkl", tmp / "narrow.pkl"
        narrow, dropped = without_dropped(panel)
        with open(full_path, "wb") as f:
            pickle.dump({"panel": panel, "labels": labels}, f)
        with open(narrow_path, "wb") as f:
            pickle.dump({"panel": narrow, "labels": labels}, f)
        del panel, labels, narrow
        rows: dict[str, tuple[Path, Path, str, bool]] = {}
        if args.baseline:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp / "baseline"),
                            args.baseline], check=True, capture_output=True)
            rows["baseline"] = (tmp / "baseline", narrow_path, "credit", False)
        rows["now"] = (ROOT, full_path, "credit", False)
        same_work = _same_work_spec(tmp)
        if same_work is not None:
            rows[SAME_WORK] = (ROOT, narrow_path, str(same_work), False)
        if args.serial:
            rows["now, one fit at a time"] = (ROOT, full_path, "credit", True)
        runs: dict[str, list[dict]] = {name: [] for name in rows}
        try:
            for round_ in range(args.repeat):
                for i, (name, (tree, data_path, target, serial)) in enumerate(rows.items()):
                    out = _run(tree, data_path, tmp / f"out-{i}-{round_}.pkl", target, serial)
                    print(f"round {round_ + 1}/{args.repeat}, {name}: {out['wall']:.1f} s wall, "
                          f"{out['cpu']:.1f} s CPU", flush=True)
                    runs[name].append(out)
        finally:
            if args.baseline:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "baseline")],
                               check=False, capture_output=True)

    reference_name = next(iter(runs))
    reference = runs[reference_name][0]
    for name, outs in runs.items():
        for out in outs:
            if not _same_model(reference["model"], out["model"]):
                ours, theirs = list(out["model"].features), list(reference["model"].features)
                extra = sorted(set(ours) ^ set(theirs))
                raise SystemExit(f"{name} trained another point-in-time model than {reference_name}"
                                 + (f": features in one only: {extra}" if extra else ""))
            pd.testing.assert_frame_equal(reference["predictions"], out["predictions"], check_exact=True)
    best = {name: (min(o["wall"] for o in outs), min(o["cpu"] for o in outs)) for name, outs in runs.items()}
    base_wall = best[reference_name][0]
    command = (f"python -m benchmarks.training{f' --baseline {args.baseline}' if args.baseline else ''}"
               f"{f' --entities {args.entities}' if args.entities != 60_000 else ''}"
               f"{f' --repeat {args.repeat}' if args.repeat != 2 else ''}{' --serial' if args.serial else ''}")
    lines = [
        machine_line(),
        "",
        f"Command: `{command}`: `riskml.train` of the credit model (4-date backtest + final model) on the "
        f"{args.entities:,}-entity market's panel ({n_rows:,} rows), each row in a fresh process, one process at a "
        f"time, alternating, best of {args.repeat}. Every row trained the identical point-in-time model (booster "
        "text, calibrator, backtest predictions: the run checks them exactly)"
        + (f"; the rows that train the point-in-time model alone read the panel without the features the "
           f"shipped spec drops ({', '.join(dropped)}), which that model never reads." if dropped else "."),
        "",
        f"| code | wall s | CPU s | wall speed-up vs {reference_name} |",
        "|---|---:|---:|---:|",
        *(f"| {name} | {wall:.1f} | {cpu:.1f} | {base_wall / wall:.2f}x |" for name, (wall, cpu) in best.items()),
        "",
        template("training"),
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Training", text)


if __name__ == "__main__":
    main()
