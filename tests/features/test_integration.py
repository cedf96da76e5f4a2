"""The panel with its neighbours: Records objects, cross-entity features, the
synthetic market."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _panel_data import make_records

from riskml.features import build_panel, load_feature_spec
from riskml.features._spec import CATALOG_COLUMNS
from riskml.records import Records


def test_records_object_builds_the_same_panel_as_a_dict():
    tables = make_records(7, n_entities=10, n_records=40)
    spec = load_feature_spec().subset(["penalties_count_365d", "abnormal_list_on_list", "industry"])
    from_dict = build_panel(tables, "quarterly", spec)
    from_records = build_panel(Records(tables=tables), "quarterly", spec)
    pd.testing.assert_frame_equal(from_dict.frame, from_records.frame)


def test_cross_entity_features_are_appended_in_grid_order(tmp_path):
    from riskml._specs import bundled_dir
    from riskml.features._network import network_features
    from riskml.features._network_spec import load_network_spec

    (tmp_path / "pen.yaml").write_text(
        "dimension: penalties\nfeatures:\n  - {source: penalties, windows: [365d], aggregations: [count]}\n", encoding="utf-8"
    )
    (tmp_path / "network.yaml").write_text((bundled_dir("features") / "network.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    tables = make_records(8, n_entities=10, n_records=40)
    panel = build_panel(tables, ["2022-01-01", "2023-01-01"], tmp_path)
    spec = load_network_spec(tmp_path / "network.yaml")
    grid = pd.DataFrame({
        "entity_id": panel.frame["entity_id"],
        "as_of_day": panel.frame["as_of"].to_numpy(dtype="datetime64[D]").astype(np.int64),
    })
    expected, net_catalog = network_features(tables, tables["entities"], grid, spec)
    assert panel.feature_names == ["penalties_count_365d", *net_catalog.index]
    pd.testing.assert_frame_equal(panel.frame[list(net_catalog.index)].reset_index(drop=True), expected)
    assert list(panel.catalog.columns) == list(CATALOG_COLUMNS)
    assert (panel.catalog.loc[net_catalog.index, "kind"] == "cross").all()
    assert not panel.catalog.loc[net_catalog.index, "inspection_driven"].any()


def test_panel_builds_on_the_synthetic_market():
    synth = pytest.importorskip("riskml.synth")
    market = synth.make_market(n_entities=300, seed=0)
    panel = build_panel(market.records, "quarterly")
    assert len(panel.frame) > 0
    assert not panel.frame.duplicated(["entity_id", "as_of"]).any()
    numeric = panel.frame[[c for c in panel.feature_names if panel.frame[c].dtype == "float64"]]
    assert numeric.notna().any().mean() > 0.8  # most features see data somewhere
