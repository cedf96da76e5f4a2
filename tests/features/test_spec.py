"""The feature library specs: the built-in library and the errors of a bad spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from riskml import SpecError
from riskml.features import load_feature_spec
from riskml.features._dimensions import load_dimension_spec
from riskml.features._spec import CATALOG_COLUMNS
from riskml.features._windows import parse_window

REQUIRED_BY_MODELS = ["serious_violations_on_list", "abnormal_list_on_list", "judicial_open_count"]


@pytest.fixture(scope="module")
def builtin():
    return load_feature_spec()


def test_builtin_library_defines_the_features_the_model_specs_use(builtin):
    names = builtin.feature_names
    for name in REQUIRED_BY_MODELS + ["penalties_count_365d", "penalties_serious_count_1095d", "penalties_repaired_count_all"]:
        assert name in names
    assert 60 <= len(names) <= 110
    assert len(set(names)) == len(names)


def test_builtin_catalog_covers_every_dimension_with_labels_and_directions(builtin):
    catalog = builtin.catalog()
    assert list(catalog.columns) == list(CATALOG_COLUMNS)
    # every default group but the cross-entity one (network.yaml, not in FeatureSpec.catalog)
    assert set(catalog["dimension"]) | {"related"} == set(load_dimension_spec().names)
    assert catalog["label_zh"].str.len().gt(0).all() and catalog["label_en"].str.len().gt(0).all()
    assert set(catalog["direction"]).issubset({-1, 0, 1})
    assert set(catalog["kind"]).issubset({"window", "state", "static"})
    # only categorical features are neutral by construction
    assert (catalog.loc[["entity_type", "industry", "district"], "direction"] == 0).all()
    assert catalog.loc["penalties_count_365d", "window_days"] == 365.0
    assert catalog.loc["penalties_serious_count_1095d", "where"] == '{"severity": "serious"}'


def test_inspection_driven_marks_exactly_the_inspection_features(builtin):
    catalog = builtin.catalog()
    assert (catalog["inspection_driven"] == (catalog["source"] == "inspections")).all()
    assert catalog["inspection_driven"].any()


def test_spec_hash_is_stable_and_changes_with_the_spec(builtin):
    assert builtin.hash() == load_feature_spec().hash()
    assert builtin.subset(["penalties_count_365d"]).hash() != builtin.hash()


def test_parse_window_reads_days_and_all():
    assert parse_window("90d") == 90.0
    with pytest.raises(ValueError, match="'90x'"):
        parse_window("90x")


def _write(folder: Path, entry: dict, dimension: str = "penalties") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "custom.yaml"
    path.write_text(yaml.safe_dump({"dimension": dimension, "features": [entry]}), encoding="utf-8")
    return path


BASE = {"source": "penalties", "windows": ["365d"], "aggregations": ["count"]}


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"source": "fines"}, "features.0.source", "a declared source"),
        ({"column": "nope", "aggregations": ["sum"]}, "features.0.column", "a column of source 'penalties'"),
        ({"windows": ["90x"]}, "features.0.windows.0", "'90d'"),
        ({"aggregations": ["median"]}, "features.0.aggregations.0", "count, sum, mean, max, min, distinct_count"),
        ({"where": {"severity": "huge"}}, "features.0.where.severity", "categories of 'severity'"),
        ({"where": {"severity": {"min": 1}}}, "features.0.where.severity", "not a range"),
        ({"column": "severity", "aggregations": ["sum"]}, "features.0.column", "int/float/bool"),
        ({"state": ["on_list"], "windows": [], "aggregations": []}, "features.0.state", "valid_to"),
        ({"ended_by": ["amount"]}, "features.0.ended_by", "date columns"),
    ],
)
def test_spec_errors_name_the_file_the_key_and_what_was_expected(tmp_path, change, key, expected):
    path = _write(tmp_path, {**BASE, **change})
    with pytest.raises(SpecError) as info:
        load_feature_spec(tmp_path)
    err = info.value
    assert err.file == str(path)
    assert err.key == key
    assert expected in str(err)


def test_unknown_dimension_lists_the_dimensions(tmp_path):
    path = _write(tmp_path, BASE, dimension="money")
    with pytest.raises(SpecError, match="basic, dynamic, supervision, related, social") as info:
        load_feature_spec(tmp_path)
    assert info.value.file == str(path) and info.value.key == "dimension" and "penalties" in str(info.value)


def test_duplicate_feature_names_are_refused(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    doc = {"dimension": "penalties", "features": [BASE, BASE]}
    (tmp_path / "dup.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match="unique feature name; 'penalties_count_365d'"):
        load_feature_spec(tmp_path)


def test_personal_columns_never_become_features(tmp_path):
    _write(tmp_path, {"source": "complaints", "column": "complainant_phone", "windows": ["all"], "aggregations": ["distinct_count"]}, "complaints")
    with pytest.raises(SpecError, match="personal"):
        load_feature_spec(tmp_path)


def test_folder_reads_sources_and_network_files_by_their_own_rules(tmp_path):
    # sources.yaml and network.yaml are not feature files: a network.yaml that is not a
    # network spec fails with an error naming that file
    _write(tmp_path, BASE)
    (tmp_path / "sources.yaml").write_text("sources: {}\n", encoding="utf-8")
    (tmp_path / "network.yaml").write_text("anything: [not, a, feature, file]\n", encoding="utf-8")
    with pytest.raises(SpecError, match="network.yaml"):
        load_feature_spec(tmp_path)
    (tmp_path / "network.yaml").unlink()
    spec = load_feature_spec(tmp_path)
    assert spec.feature_names == ["penalties_count_365d"]
