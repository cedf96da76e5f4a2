"""Benchmark: exact TreeSHAP throughput of ``riskml.explain.tree_contributions``.

Trains a 300-tree, 31-leaf LightGBM credit model on a synthetic county panel
(``riskml.synth.make_market`` -> ``build_panel`` -> ``make_labels``), then explains the
same rows with ``shap.TreeExplainer``, LightGBM's ``pred_contrib`` and
``tree_contributions`` in one process, prints a table and rewrites the
``## Explanations`` section of ``docs/benchmarks.md``.

Run: ``.venv/bin/python -m benchmarks.explain [--rows 100000] [--features 60]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

import riskml
import riskml.explain._treeshap as treeshap
from benchmarks._doc import write_section
from riskml._specs import load_yaml, resolve_spec
from riskml.explain import tree_contributions

logger = logging.getLogger("benchmarks.explain")

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
HEADING = "## Explanations"


def _select_features(panel: Any, n_features: int) -> list[str]:
    """All categorical features plus numeric ones spread evenly over the catalog."""
    frame = panel.frame
    names = [c for c in frame.columns if c not in ("entity_id", "as_of")]
    categorical = [c for c in names if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in names if c not in categorical]
    k = max(0, min(len(numeric), n_features - len(categorical)))
    picks = np.unique(np.linspace(0, len(numeric) - 1, k).round().astype(int)) if k else []
    return [numeric[i] for i in picks] + categorical


def build_data(n_entities: int, n_rows: int, n_features: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, dict]:
    """Training rows, their labels and the rows to explain (from the synthetic panel)."""
    market = riskml.synth.make_market(n_entities=n_entities, seed=seed)
    panel = riskml.build_panel(market.records, as_of="quarterly")
    labels = riskml.make_labels(market.records, panel, "credit")
    features = _select_features(panel, n_features)
    frame = panel.frame
    usable = (labels["complete"] & labels["in_population"]).to_numpy()
    train = frame.loc[usable, features]
    y = labels.loc[usable, "label"].to_numpy()
    rng = np.random.default_rng(seed)
    take = rng.choice(len(frame), size=min(n_rows, len(frame)), replace=False)
    explain = frame.iloc[np.sort(take)][features].reset_index(drop=True)
    info = {
        "entities": n_entities,
        "panel_rows": len(frame),
        "panel_features": frame.shape[1] - 2,
        "features": len(features),
        "categorical": sum(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in features),
        "train_rows": int(usable.sum()),
        "positive_rate": float(y.mean()),
        "duplicate_rows": 1.0 - len(explain.drop_duplicates()) / len(explain),
    }
    return train, y, explain, info


def train_model(train: pd.DataFrame, y: np.ndarray, threads: int) -> lgb.Booster:
    spec = load_yaml(resolve_spec("models", "credit"))["training"]["params"]
    params = {
        "objective": "binary",
        "num_leaves": 31,
        "learning_rate": spec["learning_rate"],
        "min_data_in_leaf": spec["min_child_samples"],
        "bagging_fraction": spec["subsample"],
        "bagging_freq": spec["subsample_freq"],
        "feature_fraction": spec["colsample_bytree"],
        "lambda_l2": spec["reg_lambda"],
        "num_threads": threads,
        "seed": 0,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(train, y), 300)


def _timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _arguments(args: argparse.Namespace) -> str:
    """The command-line arguments of this run that differ from the defaults (" --rows 20000")."""
    defaults = {"entities": 6000, "rows": 100_000, "features": 60, "threads": 2, "seed": 0}
    return "".join(f" --{name} {getattr(args, name)}" for name, default in defaults.items()
                   if getattr(args, name) != default)


def run(args: argparse.Namespace) -> dict[str, Any]:
    (train, y, explain, info), t_data = _timed(lambda: build_data(args.entities, args.rows, args.features, args.seed))
    booster, t_train = _timed(lambda: train_model(train, y, args.threads))
    dump = booster.dump_model()
    depths = _leaf_depths(dump)
    info.update(
        data_s=t_data, train_s=t_train, trees=booster.num_trees(), mean_leaf_depth=float(np.mean(depths)),
        max_leaf_depth=int(np.max(depths)), rows=len(explain), threads=args.threads, arguments=_arguments(args),
    )
    print(f"data {t_data:.1f} s, training {t_train:.1f} s; {info}")

    import shap

    reference, t_contrib = _timed(lambda: booster.predict(explain, pred_contrib=True, num_threads=args.threads))
    print(f"pred_contrib: {t_contrib:.1f} s")
    shap_values, t_shap = _timed(lambda: shap.TreeExplainer(booster).shap_values(explain))
    print(f"TreeExplainer: {t_shap:.1f} s")
    # a small call first so that the one-off JIT compile (cached on disk) is not timed
    tree_contributions(booster.__class__(model_str=booster.model_to_string()), explain.iloc[:10], min_rows=0)
    treeshap._CACHE = OrderedDict()
    fast_cold, t_cold = _timed(lambda: tree_contributions(booster, explain))
    fast, t_warm = _timed(lambda: tree_contributions(booster, explain))
    print(f"tree_contributions: {t_cold:.1f} s (first call, incl. tables), {t_warm:.1f} s (tables cached)")
    prepared = treeshap._prepared_for(booster)
    info["load_average"] = os.getloadavg()[0]
    info["tables_mb"] = prepared.tables.nbytes / 2**20 if isinstance(prepared, treeshap._Prepared) else 0.0

    shap_matrix = np.asarray(shap_values)
    rows = len(explain)
    results = [
        ("shap.TreeExplainer(booster).shap_values", t_shap, float(np.abs(shap_matrix - reference[:, :-1]).max())),
        ("Booster.predict(pred_contrib=True)", t_contrib, 0.0),
        ("tree_contributions, first call (builds tables)", t_cold, float(np.abs(fast_cold - reference).max())),
        ("tree_contributions, tables cached", t_warm, float(np.abs(fast - reference).max())),
    ]
    table = [
        {"method": name, "seconds": sec, "rows_per_s": rows / sec, "ms_per_row": sec / rows * 1e3,
         "speedup": t_shap / sec, "max_abs_diff": diff}
        for name, sec, diff in results
    ]
    return {"info": info, "table": table}


def _leaf_depths(dump: dict[str, Any]) -> list[int]:
    depths: list[int] = []
    stack = [(t["tree_structure"], 0) for t in dump["tree_info"]]
    while stack:
        node, depth = stack.pop()
        if "leaf_index" in node or "leaf_value" in node and "split_index" not in node:
            depths.append(depth)
        else:
            stack.append((node["left_child"], depth + 1))
            stack.append((node["right_child"], depth + 1))
    return depths


def render(result: dict[str, Any]) -> str:
    info = result["info"]
    lines = [
        HEADING,
        "",
        f"`benchmarks/explain.py` (run: `.venv/bin/python -m benchmarks.explain{info['arguments']}`). "
        f"A synthetic county (`make_market(n_entities={info['entities']:,})`, `build_panel` quarterly: "
        f"{info['panel_rows']:,} rows x {info['panel_features']} features); the model uses {info['features']} of them "
        f"({info['categorical']} categorical, the numeric ones spread evenly over the catalog), trained on the "
        f"{info['train_rows']:,} rows with complete credit labels (positive rate {info['positive_rate']:.3f}) with the "
        f"`models/credit.yaml` parameters: {info['trees']} trees, 31 leaves (leaf depth mean "
        f"{info['mean_leaf_depth']:.1f}, max {info['max_leaf_depth']}). Explained: {info['rows']:,} panel rows "
        f"drawn at random ({info['duplicate_rows']:.2%} exact duplicate rows), {info['threads']} threads, "
        f"one process, machine: {platform.machine()} with {os.cpu_count()} CPUs "
        f"(1-minute load average at the end: {info['load_average']:.1f}; other work on the machine slows every "
        "method alike, so compare the ratios).",
        "",
        "| method | seconds | rows/s | ms/row | vs TreeExplainer | max abs diff vs pred_contrib |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in result["table"]:
        lines.append(
            f"| {row['method']} | {row['seconds']:.2f} | {row['rows_per_s']:,.0f} | {row['ms_per_row']:.3f} | "
            f"{row['speedup']:.1f}x | {row['max_abs_diff']:.1e} |"
        )
    lines += [
        "",
        "How: the values are LightGBM's path-dependent TreeSHAP; for each leaf the contribution depends on a "
        "row only through which of its path's features the row agrees with, so each leaf gets a table of its "
        "2^d patterns once per booster "
        f"({info['tables_mb']:.0f} MiB here; leaves deeper than 10 distinct features are computed on the fly), "
        "and a numba kernel evaluates each split once per row (a categorical split by one byte lookup, its "
        "bitset unpacked once per booster) and adds one table row per leaf, in blocks of rows so that a tree's "
        "tables stay in cache. Inputs under 2,000 rows go to `pred_contrib` directly.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=6000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    result = run(args)
    text = render(result)
    print(text)
    if not args.no_write:
        write_section(HEADING.removeprefix("## "), text)
        print(f"wrote {HEADING!r} in {DOC}")


if __name__ == "__main__":
    main()
