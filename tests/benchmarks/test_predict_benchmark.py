"""benchmarks.predict: the command it names reproduces the run, and its score comparison is strict."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from benchmarks.predict import _command, _differing_columns


def test_the_named_command_carries_every_non_default_argument() -> None:
    default = argparse.Namespace(entities=60_000, repeat=3, baseline=None, same_as=None)
    assert _command(default) == "python -m benchmarks.predict"
    run = argparse.Namespace(entities=20_000, repeat=2, baseline="7f027fb", same_as="04f22a8")
    assert _command(run) == "python -m benchmarks.predict --entities 20000 --repeat 2 --baseline 7f027fb --same-as 04f22a8"


def test_scores_differing_in_one_value_or_one_nan_are_named() -> None:
    base = pd.DataFrame({"score": [500.0, 600.0], "reason_1_text_en": pd.array(["a", ""], dtype="str"),
                         "reason_1_points": [-3.0, np.nan]})
    now = base.assign(white_list=[True, False])
    assert _differing_columns(base, now) == ([], ["white_list"])
    assert _differing_columns(base, now.assign(score=[500.0, 600.0 + 1e-12]))[0] == ["score"]
    assert _differing_columns(base, now.assign(reason_1_points=[-3.0, 0.0]))[0] == ["reason_1_points"]
    with pytest.raises(SystemExit, match="lack the baseline's columns"):
        _differing_columns(base, now.drop(columns="score"))
