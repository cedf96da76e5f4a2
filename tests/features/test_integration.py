"""The panel with its neighbours: Records objects, cross-entity features, the
synthetic market."""

from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest
from _panel_data import make_records

from riskml.features import CATALOG_COLUMNS, build_panel, load_feature_spec
from riskml.records import Records


def test_records_object_builds_the_same_panel_as_a_dict():
    tables = make_records(7, n_entities=10, n_records=40)
    spec = load_feature_spec().subset(["penalties_count_365d", "abnormal_list_on_list", "industry"])
    from_dict = build_panel(tables, "quarterly", spec)
    from_records = build_panel(Records(tables=tables), "quarterly", spec)
    pd.testing.assert_frame_equal(from_dict.frame, from_records.frame)


def _network_module() -> types.ModuleType:
    """A stand-in with the agreed interface: one value per grid row plus catalog rows."""
    module = types.ModuleType("riskml.features._network")

    def load_network_spec(path):
        return {"path": str(path)}

    def network_features(tables, entities, grid, spec):
        values = pd.DataFrame({"buyers_flagged_share_365d": grid["as_of_day"].to_numpy(dtype=float)})
        catalog = pd.DataFrame(
            {
                "source": ["invoices"], "dimension": ["invoices"], "label_zh": ["买方异常占比"],
                "label_en": ["Flagged buyers share"], "direction": [1], "kind": ["cross"], "aggregation": ["share"],
                "column": ["buyer_id"], "window_days": [365.0], "where": [""],
            },
            index=pd.Index(["buyers_flagged_share_365d"], name="name"),
        )
        return values, catalog

    module.load_network_spec = load_network_spec
    module.network_features = network_features
    return module


def test_cross_entity_features_are_appended_in_grid_order(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "riskml.features._network", _network_module())
    (tmp_path / "pen.yaml").write_text(
        "dimension: penalties\nfeatures:\n  - {source: penalties, windows: [365d], aggregations: [count]}\n", encoding="utf-8"
    )
    (tmp_path / "network.yaml").write_text("features: []\n", encoding="utf-8")
    tables = make_records(8, n_entities=10, n_records=40)
    panel = build_panel(tables, ["2022-01-01", "2023-01-01"], tmp_path)
    assert panel.feature_names == ["penalties_count_365d", "buyers_flagged_share_365d"]
    days = panel.frame["as_of"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    np.testing.assert_array_equal(panel.frame["buyers_flagged_share_365d"].to_numpy(), days.astype(float))
    assert list(panel.catalog.columns) == list(CATALOG_COLUMNS)
    assert panel.catalog.loc["buyers_flagged_share_365d", "kind"] == "cross"
    assert not panel.catalog.loc["buyers_flagged_share_365d", "inspection_driven"]


def test_panel_builds_on_the_synthetic_market():
    synth = pytest.importorskip("riskml.synth")
    market = synth.make_market(n_entities=300, seed=0)
    panel = build_panel(market.records, "quarterly")
    assert len(panel.frame) > 0
    assert not panel.frame.duplicated(["entity_id", "as_of"]).any()
    numeric = panel.frame[[c for c in panel.feature_names if panel.frame[c].dtype == "float64"]]
    assert numeric.notna().any().mean() > 0.8  # most features see data somewhere
