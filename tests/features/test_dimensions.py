"""Indicator groups come from a dimension file, not from code."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from riskml import SpecError
from riskml._specs import bundled_dir
from riskml.features import load_feature_spec
from riskml.features._dimensions import load_dimension_spec
from riskml.features._network import network_catalog
from riskml.features._network_spec import load_network_spec

SAMR_ZH = ["企业基础属性信息", "企业动态信息", "监管信息", "关联关系信息", "社会评价信息"]
DEZHOU_ZH = ["登记与许可", "经营与变更", "处罚与负面清单", "投诉举报", "评价与表彰"]


def _full_catalog(spec):
    network = network_catalog(load_network_spec(bundled_dir("features") / "network.yaml"))
    return pd.concat([spec.catalog(), spec.group(network)])


@pytest.mark.parametrize(("name", "labels"), [(None, SAMR_ZH), ("dezhou", DEZHOU_ZH)])
def test_shipped_files_group_every_built_in_feature_into_their_five_groups(name, labels):
    spec = load_feature_spec(dimensions=name)
    catalog = _full_catalog(spec)
    groups = catalog.sort_values("dimension_rank", kind="stable").drop_duplicates("dimension")
    assert groups["dimension_zh"].tolist() == labels
    assert groups["dimension_rank"].tolist() == [0, 1, 2, 3, 4]
    assert catalog["dimension_en"].str.len().gt(0).all()


def test_regrouping_keeps_the_spec_hash_and_moves_judicial_records_by_pattern():
    samr, dezhou = load_feature_spec(), load_feature_spec(dimensions="dezhou")
    assert samr.hash() == dezhou.hash()
    assert samr.catalog().loc["judicial_open_count", "dimension"] == "supervision"
    assert samr.catalog().loc["mortgages_open_count", "dimension"] == "dynamic"
    assert dezhou.catalog().loc["judicial_open_count", "dimension"] == "penalties"


def _groups_file(path: Path, groups: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "dimensions": groups}, allow_unicode=True), encoding="utf-8")
    return path


def test_a_folders_own_dimensions_file_is_used(tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump({"dimension": "sanctions", "features": [
        {"source": "penalties", "windows": ["365d"], "aggregations": ["count"]}]}), encoding="utf-8")
    _groups_file(tmp_path / "dimensions.yaml", [{"name": "sanctions", "label_zh": "处罚", "label_en": "Sanctions"}])
    catalog = load_feature_spec(tmp_path).catalog()
    labels = catalog[["dimension", "dimension_zh", "dimension_en"]].values.tolist()
    assert labels == [["sanctions", "处罚", "Sanctions"]]


@pytest.mark.parametrize(("groups", "key", "expected"), [
    ([{"name": "a", "label_zh": "甲"}], "dimensions.0.label_en", "Field required"),
    ([{"name": "A b", "label_zh": "甲", "label_en": "A"}], "dimensions.0.name", "lower_snake_case"),
    ([{"name": "a", "label_zh": "甲", "label_en": "A", "includes": ["x"]},
      {"name": "b", "label_zh": "乙", "label_en": "B", "includes": ["x"]}], "", "included by both 'a' and 'b'"),
    ([], "dimensions", "at least 1"),
])
def test_a_bad_dimension_file_is_refused_naming_file_and_key(tmp_path, groups, key, expected):
    path = _groups_file(tmp_path / "groups.yaml", groups)
    with pytest.raises(SpecError, match=expected) as info:
        load_dimension_spec(path)
    assert info.value.file == str(path) and info.value.key == key


def test_an_unknown_bundled_name_lists_the_shipped_files():
    with pytest.raises(SpecError, match=r"\['dezhou', 'samr'\]"):
        load_dimension_spec("nowhere")
