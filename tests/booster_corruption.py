"""Corrupt a saved booster many ways and read each back, in a process of its own.

Run by ``tests/test_faults.py``: LightGBM's native parser ends the process (abort or
segmentation fault) on some malformed model texts, so a failure here is an exit code,
which a test in the same process could not observe. Prints one JSON object
``{case: outcome}``; an outcome is ``ok`` (the text still parses: a valid edit) or the
name of the exception raised.

Usage: ``python tests/booster_corruption.py N_RANDOM SEED``
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from riskml.models import ModelFileError, RiskModel
from riskml.models._bundle import BOOSTER_FILE, _tiny_model


def _replace(pattern: str, new: str):  # type: ignore[no-untyped-def]
    return lambda text: re.sub(pattern, new, text, count=1, flags=re.MULTILINE)


# Each of these ended the process inside LightGBM before riskml checked for it.
NAMED = {
    "cut_inside_the_parameters_block": lambda t: t[: t.index("[max_bin_by_feature") + 7],
    "parameter_line_split_in_two": _replace(r"^\[weight_column: \]$", "[weight_c\nlumn: ]"),
    "num_tree_per_iteration_99": _replace(r"^num_tree_per_iteration=1$", "num_tree_per_iteration=99"),
    "letter_in_a_tree_array": _replace(r"^(internal_weight=\d)\d", r"\1a"),
    "blank_lines_between_trees_replaced": lambda t: t.replace("\n\n\nTree=1\n", "\n1\nTree=1\n", 1),
}


def _outcome(read, text: str, X: pd.DataFrame) -> str:  # type: ignore[no-untyped-def]
    try:
        booster = read(text)
        booster.predict(X)
        booster.predict(X, pred_contrib=True)  # what the explanations call
    except Exception as exc:  # the outcome is the exception's name
        return type(exc).__name__
    return "ok"


def _categorical_booster():  # type: ignore[no-untyped-def]
    """A small booster with numeric, missing and categorical splits (every tree field in use)."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=600), "b": rng.normal(size=600),
                      "c": pd.Categorical(rng.integers(0, 6, 600).astype(str))})
    X.loc[::7, "a"] = np.nan
    y = ((X["a"].fillna(0) + X["c"].cat.codes % 2 + rng.normal(size=600)) > 1).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0, "min_data_per_group": 5,
              "cat_smooth": 1}
    return lgb.train(params, lgb.Dataset(X, y), 8), X.head(20)


def _mutate(text: str, rng: random.Random) -> str:
    kind = rng.choice(["cut", "byte", "line", "swap", "number"])
    lines = text.split("\n")
    if kind == "cut":
        return text[: rng.randrange(len(text))]
    if kind == "byte":
        j = rng.randrange(len(text))
        return text[:j] + rng.choice("0123456789-=\n .a,e[]:") + text[j + 1 :]
    if kind == "line":
        del lines[rng.randrange(len(lines))]
    elif kind == "swap":
        j, k = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[j], lines[k] = lines[k], lines[j]
    else:
        m = rng.choice(list(re.finditer(r"-?\d+(?:\.\d+)?", text)))
        return text[: m.start()] + str(rng.choice([0, 1, 2, 3, 7, 99, 10**6, -1, -2, 4294967295])) + text[m.end() :]
    return "\n".join(lines)


def main(n_random: int, seed: int) -> dict[str, str]:
    out = {}
    folder = _tiny_model().save(Path(tempfile.mkdtemp()) / "model")
    text = (folder / BOOSTER_FILE).read_text(encoding="utf-8")
    x = pd.DataFrame({"x": [-3.0, 0.0, 0.7, np.nan, 5.0]})

    def load(corrupt: str):  # type: ignore[no-untyped-def]
        (folder / BOOSTER_FILE).write_text(corrupt, encoding="utf-8")
        return RiskModel.load(folder).booster

    for name, corrupt in NAMED.items():
        changed = corrupt(text)
        assert changed != text, name
        out[name] = _outcome(load, changed, x)

    booster, X = _categorical_booster()
    text = booster.model_to_string()
    rng = random.Random(seed)
    for i in range(n_random):
        out[f"random_{i}"] = _outcome(lambda t: RiskModel._read_booster(t, Path("booster.txt")), _mutate(text, rng), X)
    assert ModelFileError.__name__ in out.values()
    return out


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
