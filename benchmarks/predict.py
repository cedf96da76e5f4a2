"""Scoring throughput and training time: ``python -m benchmarks.predict [--baseline REF]``.

On a synthetic market (default the 60,000-entity county): the time to build the panel
and to train the credit model (temporal backtest of four dates plus the final model),
then entities scored per second by ``riskml.predict`` on a ready panel of the latest
quarter, without reasons and with three reasons per entity (exact TreeSHAP in score
points). Prints a table and writes the ``## Scoring`` section of docs/benchmarks.md.

``--baseline REF`` also measures the code of a git ref (checked out with ``git worktree
add`` into a temporary folder) on the same panel and labels, in the same run: training
and scoring run in one fresh process per code version, alternating, and the table gives
both and the ratio. The two trained models must be identical (booster text, calibrator)
and so must the scores and reasons; the run says so or fails. When the baseline's code
scores differently by design (it predates a change of what is scored), ``--same-as REF``
names a later ref whose scores and reasons this tree's must equal exactly instead
(scored once, after the timed runs).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._doc import machine_line, write_section
from benchmarks.training import cpu_seconds, without_dropped

ROOT = Path(__file__).resolve().parents[1]


def _best_of(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def worker(data_path: Path, out_path: Path, repeat: int, step: str) -> None:
    """One code version: train on the pickled panel, or score the pickled model; results pickled."""
    import riskml
    from riskml.features import Panel

    with open(data_path, "rb") as f:
        data = pickle.load(f)
    panel, labels = data["panel"], data.get("labels")
    out: dict = {"riskml": riskml.__file__}
    if step == "train":
        started, cpu = time.perf_counter(), cpu_seconds()
        result = riskml.train(panel, "credit", labels=labels, log=False)
        out.update(train_s=time.perf_counter() - started, train_cpu_s=cpu_seconds() - cpu, model=result.model,
                   predictions=result.fit.predictions)
    else:
        model, scoring, latest = data["model"], panel, panel.frame
        for k in (0, 3):
            riskml.predict(scoring, model=model, explain=k)  # warm: compiled kernels, cached tables
            out[f"predict_{k}_s"] = _best_of(lambda k=k: riskml.predict(scoring, model=model, explain=k), repeat)
        out["rows"] = len(latest)
        out["scores"] = riskml.predict(scoring, model=model, explain=3)
    with open(out_path, "wb") as f:
        pickle.dump(out, f)


def _start(tree: Path, step: str, data_path: Path, repeat: int, tmp: Path) -> tuple[subprocess.Popen, Path]:
    out_path = tmp / f"{step}-{tree.name}.pkl"
    # riskml from the measured tree; this package (benchmarks._doc) from this tree when that one has none
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(ROOT)])}
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker", str(data_path), "--out",
                             str(out_path), "--repeat", str(repeat), "--step", step], env=env, cwd=tree)
    return proc, out_path


def _collect(proc: subprocess.Popen, out_path: Path) -> dict:
    if proc.wait() != 0:
        raise RuntimeError(f"{' '.join(map(str, proc.args))} failed with code {proc.returncode}")
    with open(out_path, "rb") as f:
        return pickle.load(f)


def _same_model(a, b) -> bool:  # type: ignore[no-untyped-def]
    return (a.booster.model_to_string() == b.booster.model_to_string()
            and (a.calib_a, a.calib_b) == (b.calib_a, b.calib_b))


def _training_lines(trained: dict, n_panel: int) -> list[str]:
    """The training rows of the table (wall and CPU seconds per version), after checking the models are the same."""
    now = trained["now"]
    if "baseline" not in trained:
        return [f"| train credit (4-date backtest + final model) | {n_panel:,} | {now['train_s']:.1f} s wall, "
                f"{now['train_cpu_s']:.1f} s CPU |"]
    base = trained["baseline"]
    import pandas as pd

    pd.testing.assert_frame_equal(base["predictions"], now["predictions"], check_exact=True)
    if not _same_model(base["model"], now["model"]):
        raise SystemExit("the baseline and this tree trained different models")
    return [
        "| step | rows | baseline s | now s | speed-up |",
        "|---|---:|---:|---:|---:|",
        f"| train credit (4-date backtest + final model), wall | {n_panel:,} | {base['train_s']:.1f} | "
        f"{now['train_s']:.1f} | {base['train_s'] / now['train_s']:.2f}x |",
        f"| train credit, CPU seconds | {n_panel:,} | {base['train_cpu_s']:.1f} | "
        f"{now['train_cpu_s']:.1f} | {base['train_cpu_s'] / now['train_cpu_s']:.2f}x |",
    ]


def _differing_columns(base, now) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """Columns of ``base`` whose values ``now`` does not equal exactly, and the columns ``now`` adds."""
    import pandas as pd

    lost = [c for c in base.columns if c not in now.columns]
    if lost:
        raise SystemExit(f"this tree's scores lack the baseline's columns {lost}")
    differ = []
    for c in base.columns:
        try:
            pd.testing.assert_series_equal(base[c], now[c], check_exact=True)
        except AssertionError:
            differ.append(str(c))
    return differ, [str(c) for c in now.columns if c not in base.columns]


def _checkout(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref],
                   check=True, capture_output=True)
    return where


def _command(args: argparse.Namespace) -> str:
    """The command line that reproduces this run (defaults left out)."""
    parts = ["python -m benchmarks.predict"]
    if args.entities != 60_000:
        parts.append(f"--entities {args.entities}")
    if args.repeat != 3:
        parts.append(f"--repeat {args.repeat}")
    if args.baseline:
        parts.append(f"--baseline {args.baseline}")
    if args.same_as:
        parts.append(f"--same-as {args.same_as}")
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", help="git ref whose code to measure beside this tree's")
    parser.add_argument("--same-as", help="git ref whose scores and reasons this tree's must equal exactly "
                        "(when the baseline's code scores differently by design)")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--train-only", action="store_true",
                        help="measure training only: print its rows of the table, score nothing, write no doc")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")
    if args.worker:
        worker(Path(args.worker), Path(args.out), args.repeat, args.step)
        return

    import pandas as pd

    import riskml

    load = os.getloadavg()[0]
    started = time.perf_counter()
    market = riskml.synth.make_market(n_entities=args.entities, seed=0)
    records = riskml.records.validate(market.records)
    t_data = time.perf_counter() - started

    started = time.perf_counter()
    panel = riskml.build_panel(records, "quarterly")
    t_panel = time.perf_counter() - started
    labels = riskml.make_labels(records, panel, "credit")
    n_records = records.n_records
    del market, records

    from riskml.features import Panel

    latest = panel.frame.loc[panel.frame["as_of"] == panel.frame["as_of"].max()].reset_index(drop=True)
    scoring = Panel(frame=latest, catalog=panel.catalog, spec_hash=panel.spec_hash)
    n_panel = len(panel.frame)
    trees = {"now": ROOT}
    checked = None
    with tempfile.TemporaryDirectory(prefix="riskml-bench-") as tmp_name:
        tmp = Path(tmp_name)
        added_trees = []
        try:
            if args.baseline:
                added_trees.append(_checkout(args.baseline, tmp / "baseline"))
                trees = {"baseline": tmp / "baseline", "now": ROOT}
            if args.same_as:
                added_trees.append(_checkout(args.same_as, tmp / "same_as"))
            data_path = tmp / "data.pkl"
            with open(data_path, "wb") as f:
                pickle.dump({"panel": panel, "labels": labels}, f)
            data_paths = {"now": data_path}
            if args.baseline:  # the baseline reads every panel column: not the ones this model drops
                data_paths["baseline"] = tmp / "baseline-data.pkl"
                with open(data_paths["baseline"], "wb") as f:
                    pickle.dump({"panel": without_dropped(panel)[0], "labels": labels}, f)
            del panel, labels
            # Every version trains at the same time (same load), then scores this tree's model.
            running = {name: _start(tree, "train", data_paths[name], args.repeat, tmp) for name, tree in trees.items()}
            trained = {name: _collect(*job) for name, job in running.items()}
            if args.train_only:
                print("\n".join([machine_line(), "", *_training_lines(trained, n_panel)]))
                return
            score_path = tmp / "score.pkl"
            with open(score_path, "wb") as f:
                pickle.dump({"panel": scoring, "model": trained["now"]["model"]}, f)
            running = {name: _start(tree, "score", score_path, args.repeat, tmp) for name, tree in trees.items()}
            scored = {name: _collect(*job) for name, job in running.items()}
            if args.same_as:  # untimed: only its scores count
                checked = _collect(*_start(tmp / "same_as", "score", score_path, 1, tmp))["scores"]
        finally:
            for tree in added_trees:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                               check=False, capture_output=True)

    now_t, now_s = trained["now"], scored["now"]
    command = _command(args)
    model = now_t["model"]
    n = now_s["rows"]
    lines = [
        machine_line(),
        "",
        f"Synthetic market of {args.entities:,} entities x 6 years ({n_records:,} records); "
        f"the credit model has {len(model.features)} features and {model.booster.num_trees()} trees.",
        "",
    ]
    if checked is not None:
        pd.testing.assert_frame_equal(checked, now_s["scores"], check_exact=True)
    if args.baseline:
        base_t, base_s = trained["baseline"], scored["baseline"]
        same_model = _same_model(base_t["model"], model)
        pd.testing.assert_frame_equal(base_t["predictions"], now_t["predictions"], check_exact=True)
        differ, added = _differing_columns(base_s["scores"], now_s["scores"])
        if not same_model:
            raise SystemExit("the baseline and this tree trained different models")
        if differ and checked is None:
            raise SystemExit(f"the baseline's scores differ in {differ}; if its code scores differently by design, "
                             "pass --same-as REF (a later ref whose scores this tree's must equal)")
        if differ:
            identity = (f"The baseline's code gives other values for the same model in {', '.join(differ)} (its "
                        f"scoring predates later changes), so this tree's scores and reason texts were checked "
                        f"against `{args.same_as}` instead: identical in every column for every row.")
        else:
            identity = ("Both gave identical scores and reason texts for every row"
                        + (f" (in every column the baseline gives; this tree adds {', '.join(added)})." if added
                           else ".")
                        + (f" So did `{args.same_as}`." if checked is not None else ""))
        lines += [
            f"Command: `{command}`: this tree (now) and the code of "
            f"`{args.baseline}` (baseline) on the same panel and labels, each step in a fresh process per version, "
            f"the two versions side by side at the same time (load average {load:.1f} at the start; the machine is "
            "shared, so CPU seconds are given beside wall seconds). Both trained the identical model (booster text, "
            "calibrator, backtest predictions). " + identity,
            "",
            "| step | rows | baseline s | now s | speed-up |",
            "|---|---:|---:|---:|---:|",
            f"| train credit (4-date backtest + final model), wall | {n_panel:,} | {base_t['train_s']:.1f} | "
            f"{now_t['train_s']:.1f} | {base_t['train_s'] / now_t['train_s']:.2f}x |",
            f"| train credit, CPU seconds | {n_panel:,} | {base_t['train_cpu_s']:.1f} | "
            f"{now_t['train_cpu_s']:.1f} | {base_t['train_cpu_s'] / now_t['train_cpu_s']:.2f}x |",
        ]
        for k, label in ((0, "scores and grades"), (3, "with 3 reasons (exact TreeSHAP points)")):
            b, s = base_s[f"predict_{k}_s"], now_s[f"predict_{k}_s"]
            lines.append(f"| predict, {label} | {n:,} | {b:.2f} ({n / b:,.0f} rows/s) | {s:.2f} ({n / s:,.0f} rows/s) "
                         f"| {b / s:.2f}x |")
        lines += ["", f"Explaining costs {now_s['predict_3_s'] / now_s['predict_0_s']:.1f}x the time of scoring alone "
                  f"(baseline: {base_s['predict_3_s'] / base_s['predict_0_s']:.1f}x; best of {args.repeat} runs, "
                  "model already loaded).", ""]
    lines += [
        "| step | rows | seconds | rows per second |",
        "|---|---:|---:|---:|",
        f"| generate + validate records | {n_records:,} | {t_data:.1f} | {n_records / t_data:,.0f} |",
        f"| build the quarterly panel | {n_panel:,} | {t_panel:.1f} | {n_panel / t_panel:,.0f} |",
        f"| train credit (4-date backtest + final model) | {n_panel:,} | {now_t['train_s']:.1f} | "
        f"{n_panel / now_t['train_s']:,.0f} |",
    ]
    for k, label in ((0, "scores and grades"), (3, "with 3 reasons (exact TreeSHAP points)")):
        seconds = now_s[f"predict_{k}_s"]
        lines.append(f"| predict, {label} | {n:,} | {seconds:.2f} | {n / seconds:,.0f} |")
    if not args.baseline:
        ratio = now_s["predict_3_s"] / now_s["predict_0_s"]
        same = f" Scores and reason texts identical to `{args.same_as}`'s for every row." if checked is not None else ""
        lines += ["", f"Command: `{command}`.{same}", "",
                  f"Explaining costs {ratio:.1f}x the time of scoring alone (best of {args.repeat} runs, "
                  "model already loaded)."]
    text = "\n".join(lines)
    print(text)
    print(json.dumps({"riskml": {k: v["riskml"] for k, v in trained.items()}}))
    if not args.no_doc:
        write_section("Scoring", text)


if __name__ == "__main__":
    main()
