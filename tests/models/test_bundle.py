"""RiskModel: scoring contract, exact points, save/load without pickle, panel checks."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskml.features import Panel
from riskml.models import RiskModel


def _rows(toy, n=300):
    panel, _ = toy
    return panel.frame[panel.frame["as_of"] == panel.frame["as_of"].max()].head(n).reset_index(drop=True)


def test_model_carries_the_contract_fields(fitted, toy):
    model = fitted.model
    panel, _ = toy
    assert model.target == "credit" and model.spec_hash == panel.spec_hash
    assert model.features == tuple(panel.feature_names)
    assert model.categories == {"industry": ["retail", "food", "manufacturing", "services"]}
    assert list(model.catalog.index) == list(model.features)
    assert model.metadata["test_as_of"] == ["2022-01-01", "2022-04-01"]
    assert model.metadata["calibration_as_of"] == ["2022-04-01"]
    json.dumps(model.metadata)  # plain JSON


def test_score_is_pdo_scaling_of_the_calibrated_logit_with_grades(fitted, toy):
    model = fitted.model
    rows = _rows(toy)
    out = model.score(rows)
    assert list(out.columns) == ["entity_id", "as_of", "probability", "score", "grade_by_score", "grade",
                                 "override", "points_to_next_grade"]
    logit = model.calib_a * model.raw_margin(rows) + model.calib_b
    np.testing.assert_allclose(out["score"], model.policy.offset - model.policy.factor * logit, rtol=1e-12)
    np.testing.assert_allclose(out["probability"], model.predict_proba(rows), rtol=1e-12)
    assert set(out["grade"]) <= {"A", "B", "C", "D"}
    listed = rows["serious_violations_on_list"].to_numpy() >= 1
    assert (out.loc[listed, "grade"] == "D").all()
    assert (out.loc[listed & (out["grade_by_score"] != "D"), "override"] == "serious_violation_list").all()


def test_tree_contributions_convert_exactly_into_score_points(fitted, toy):
    model = fitted.model
    rows = _rows(toy, 50)
    phi = model.booster.predict(model.matrix(rows), pred_contrib=True)
    factor, a, b = model.policy.factor, model.calib_a, model.calib_b
    points = -factor * a * phi[:, :-1]
    base_points = model.policy.offset - factor * (a * phi[:, -1] + b)
    np.testing.assert_allclose(base_points + points.sum(axis=1), model.score(rows)["score"], atol=1e-9)


def test_save_load_round_trip_gives_identical_predictions_and_bytes(fitted, toy, tmp_path):
    model = fitted.model
    first = model.save(tmp_path / "a")
    loaded = RiskModel.load(first)
    second = loaded.save(tmp_path / "b")
    again = model.save(tmp_path / "c")
    for name in ("booster.txt", "model.json", "catalog.parquet"):
        assert (first / name).read_bytes() == (second / name).read_bytes() == (again / name).read_bytes(), name
    rows = _rows(toy)
    pd.testing.assert_frame_equal(loaded.score(rows), model.score(rows))
    assert loaded.metadata == model.metadata and loaded.categories == model.categories
    pd.testing.assert_frame_equal(loaded.catalog, model.catalog)


def test_saved_model_has_no_pickle(fitted, tmp_path):
    folder = fitted.model.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["booster.txt", "catalog.parquet", "model.json"]
    assert not any(b"\x80\x04\x95" in p.read_bytes()[:64] for p in folder.iterdir())


def test_load_of_an_incomplete_folder_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="booster.txt"):
        RiskModel.load(tmp_path)


def test_check_panel_names_missing_and_extra_columns(fitted, toy):
    rows = _rows(toy).drop(columns=["noise", "industry"]).assign(noise_v2=0.0)
    with pytest.raises(ValueError, match=r"lacks 2 column\(s\).*\['industry', 'noise'\].*\['noise_v2'\]"):
        fitted.model.score(rows)


def test_check_panel_refuses_a_mismatched_spec_hash_naming_both(fitted, toy):
    model = fitted.model
    rows = _rows(toy)
    with pytest.raises(ValueError, match=f"spec ffff000000000000 .*spec {model.spec_hash}"):
        model.check_panel(rows, spec_hash="ffff000000000000")
    panel, _ = toy
    other = Panel(frame=rows, catalog=panel.catalog, spec_hash="ffff000000000000")
    with pytest.raises(ValueError, match="ffff000000000000"):
        model.score(other)
    model.check_panel(Panel(frame=rows, catalog=panel.catalog, spec_hash=model.spec_hash))


def test_matrix_uses_stored_levels_for_string_and_unseen_categories(fitted, toy):
    model = fitted.model
    rows = _rows(toy, 20)
    as_str = rows.assign(industry=rows["industry"].astype("str"))
    pd.testing.assert_frame_equal(model.matrix(as_str), model.matrix(rows))
    unseen = rows.assign(industry=pd.Categorical(["mining"] * len(rows)))
    matrix = model.matrix(unseen)
    assert list(matrix["industry"].cat.categories) == model.categories["industry"]
    assert matrix["industry"].isna().all()
    assert list(matrix.columns) == list(model.features)


def test_non_numeric_feature_is_refused_with_its_name(fitted, toy):
    rows = _rows(toy, 5).assign(noise="x")
    with pytest.raises(TypeError, match="'noise' must be numeric"):
        fitted.model.matrix(rows)
