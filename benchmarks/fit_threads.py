"""One backtest fit with 1 and with 2 LightGBM threads: ``python -m benchmarks.fit_threads``.

Training keeps ``num_threads: 1`` per fit and gets its parallelism from fitting splits
side by side (``backtest.workers``). This measures what a lone fit would gain from a
second LightGBM thread and whether it would give the same model: on a synthetic market
(default 20,000 entities) the credit model's final split is fitted with each thread
count, alternating, ``--repeat`` times; it reports the CPU and wall seconds of each,
whether the trees are the same, and whether the model text is (LightGBM records the
thread count among the parameters). Prints a table and writes the ``## Training
threads`` section of docs/benchmarks.md (unless ``--no-doc``).
"""

from __future__ import annotations

import argparse
import os
import time

from benchmarks._doc import machine_line, write_section


def _fit(prep, matrix, spec, bt, threads: int):  # type: ignore[no-untyped-def]
    from riskml.models._train import fit_split, lightgbm_params

    params, rounds = lightgbm_params(spec, None, bt, prep.monotone)
    params["num_threads"] = threads
    wall, cpu = time.perf_counter(), time.process_time()
    booster, _, _, info = fit_split(prep.splits[-1], matrix, prep.y, prep.usable, prep.as_of, params, rounds, bt,
                                    bt.random_seed + len(prep.splits) - 1)
    return booster.model_to_string(), time.perf_counter() - wall, time.process_time() - cpu, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "benchmark-key-not-a-secret-0001")

    import riskml
    from riskml.models import load_backtest_spec, load_model_spec
    from riskml.models._train import TrainingMatrix, prepare_rows

    records = riskml.records.validate(riskml.synth.make_market(n_entities=args.entities, seed=0).records)
    panel = riskml.build_panel(records, "quarterly")
    labels = riskml.make_labels(records, panel, "credit")
    spec = load_model_spec("credit", check_sources=False)
    bt = load_backtest_spec().for_target("credit")
    prep = prepare_rows(panel, labels, spec, bt, None)
    matrix = TrainingMatrix.from_frame(prep.X)

    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    texts: dict[int, str] = {}
    for _ in range(args.repeat):
        for threads in (1, 2):
            text, wall, cpu, info = _fit(prep, matrix, spec, bt, threads)
            runs[threads].append((wall, cpu))
            texts[threads] = text
    trees = {k: v[:v.index("parameters:")] for k, v in texts.items()}
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    lines = [
        machine_line(),
        "",
        f"Command: `python -m benchmarks.fit_threads --entities {args.entities} --repeat {args.repeat}`: the credit "
        f"model's final fit ({info['train_rows']:,} training rows, {len(prep.names)} features, {info['rounds']} rounds) "
        f"on a {args.entities:,}-entity market, with 1 and 2 LightGBM threads alternating, best of {args.repeat}.",
        "",
        "| LightGBM threads | wall s | CPU s |",
        "|---:|---:|---:|",
        *(f"| {k} | {w:.1f} | {c:.1f} |" for k, (w, c) in best.items()),
        "",
        f"Same trees with 1 and 2 threads: {'yes' if trees[1] == trees[2] else 'no'}; same model text: "
        f"{'yes' if texts[1] == texts[2] else 'no (the parameters record num_threads)'}. "
        "So a fit keeps one thread, and training gets its parallelism from fitting splits side by side.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_doc:
        write_section("Training threads", text)


if __name__ == "__main__":
    main()
