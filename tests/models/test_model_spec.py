"""Model specs load with typed sections and errors that name the file and key."""

from __future__ import annotations

import pytest
import yaml

from riskml import SpecError
from riskml._specs import load_yaml, resolve_spec
from riskml.models import load_model_spec


def test_bundled_model_specs_load():
    credit = load_model_spec("credit")
    fraud = load_model_spec("fraud")
    assert credit.horizon_days == 365 and credit.training.monotone_from_catalog
    assert fraud.label.population == {"entity_type": "enterprise"} and not fraud.training.monotone_from_catalog
    assert credit.training.lightgbm_params()["min_data_in_leaf"] == 100


def _write(tmp_path, data):
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_training_section_error_names_file_and_key(tmp_path):
    data = load_yaml(resolve_spec("models", "credit"))
    data["training"]["objective"] = "regression"
    path = _write(tmp_path, data)
    with pytest.raises(SpecError, match=r"custom.yaml: training.objective"):
        load_model_spec(path)


def test_class_reweighting_in_the_spec_is_refused(tmp_path):
    data = load_yaml(resolve_spec("models", "credit"))
    data["training"]["params"]["is_unbalance"] = True
    with pytest.raises(SpecError, match=r"training.params.*is_unbalance"):
        load_model_spec(_write(tmp_path, data))


def test_a_spec_mapping_loads_without_a_file():
    data = load_yaml(resolve_spec("models", "fraud"))
    spec = load_model_spec({**data, "name": "fraud_custom"})
    assert spec.name == "fraud_custom" and spec.path is None
