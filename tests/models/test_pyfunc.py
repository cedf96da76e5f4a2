"""The pyfunc form of a RiskModel: signature, pinned requirements, no pickle, same scores."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The tracking tests hold the small trained models these tests reuse.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracking"))

from factory import TEST_DATES, make_panel, train  # noqa: E402
from riskml.models._pyfunc import (  # noqa: E402
    OUTPUT_COLUMNS,
    model_signature,
    pinned_requirements,
    predict_frame,
    pyfunc_input,
)


@pytest.fixture(scope="module")
def trained():
    frame, label = make_panel(n_entities=200, seed=3)
    return train(frame, label, rounds=15)


@pytest.fixture(scope="module")
def logged(trained, tmp_path_factory):
    import mlflow

    from riskml.tracking import configure
    from riskml.tracking._registry import log_model

    home = tmp_path_factory.mktemp("pyfunc-home")
    saved = {k: os.environ.get(k) for k in ("RISKML_HOME", "MLFLOW_TRACKING_URI")}
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        configure(home)
        uri = log_model(trained.model)
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(home / "download")))
        yield uri, local
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        configure()


def _rows(trained) -> pd.DataFrame:
    frame = trained.frame[trained.frame["as_of"] == TEST_DATES[-1]]
    return frame.reset_index(drop=True)


def test_signature_declares_features_double_and_categoricals_string(trained):
    sig = model_signature(trained.model)
    types = {c.name: c.type.name for c in sig.inputs.inputs}
    assert types["entity_id"] == "string" and types["as_of"] == "datetime"
    assert types["industry"] == "string"
    assert types["registered_capital"] == "double"
    assert [c.name for c in sig.outputs.inputs] == list(OUTPUT_COLUMNS)


def test_predict_frame_gives_the_model_scores_from_string_typed_inputs(trained):
    rows = _rows(trained)
    as_strings = rows.astype({f: "str" for f in trained.model.features}).assign(as_of=rows["as_of"].astype("str"))
    as_strings["registered_capital"] = as_strings["registered_capital"].replace("nan", None)
    out = predict_frame(trained.model, as_strings)
    expected = trained.model.score(rows)
    np.testing.assert_allclose(out["score"], expected["score"], rtol=1e-12)
    assert out["grade"].tolist() == expected["grade"].tolist()
    assert out["override"].dtype == "str" and set(out["override"]) <= {"", "serious_violation_list", "abnormal_list"}


def test_predict_frame_names_missing_columns(trained):
    with pytest.raises(ValueError, match="industry"):
        predict_frame(trained.model, _rows(trained).drop(columns=["industry"]))


def test_pinned_requirements_pin_the_installed_versions():
    from importlib import metadata

    pins = pinned_requirements()
    assert f"lightgbm=={metadata.version('lightgbm')}" in pins
    assert f"mlflow=={metadata.version('mlflow')}" in pins
    assert all("==" in p for p in pins)


def test_logged_pyfunc_has_no_pickle_and_pinned_requirements(logged):
    _, local = logged
    files = [p.name for p in local.rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))]
    requirements = (local / "requirements.txt").read_text()
    assert "lightgbm==" in requirements and "pandas==" in requirements


def test_logged_pyfunc_predicts_like_the_model_and_drops_extra_columns(logged, trained):
    import mlflow.pyfunc

    pyfunc = mlflow.pyfunc.load_model(logged[0])
    rows = _rows(trained)
    out = pyfunc.predict(pyfunc_input(rows))
    expected = trained.model.score(rows)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    np.testing.assert_allclose(out["probability"], expected["probability"], rtol=1e-12)
    assert out["grade_by_score"].tolist() == expected["grade_by_score"].tolist()
