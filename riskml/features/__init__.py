"""Features: the point-in-time entity x as-of panel built from declarative specs.

The feature library lives in ``features/*.yaml`` (one file per indicator group);
:func:`load_feature_spec` validates it into a :class:`FeatureSpec`, and
:func:`build_panel` turns records into a :class:`Panel` (the frame, its feature
catalog and the spec hash). :func:`compute_bucket` is the per-bucket kernel the Spark
path runs; :func:`build_panel_in_buckets` runs it bucket by bucket on one machine, in
bounded memory, to a Parquet file (:func:`read_panel`) or a compact panel.

Examples
--------
>>> from riskml.features import load_feature_spec
>>> spec = load_feature_spec()
>>> sorted(set(spec.catalog()["dimension"]))[:3]
['commendations', 'complaints', 'financing']
"""

from __future__ import annotations

from riskml.features._bucketed import build_panel_in_buckets, read_panel
from riskml.features._engine import Panel, as_of_grid, build_panel, compute_bucket
from riskml.features._spec import (
    AGGREGATIONS,
    CATALOG_COLUMNS,
    DIMENSIONS,
    STATES,
    FeatureDef,
    FeatureSpec,
    load_feature_spec,
    parse_window,
    where_mask,
)

__all__ = [
    "AGGREGATIONS",
    "CATALOG_COLUMNS",
    "DIMENSIONS",
    "STATES",
    "FeatureDef",
    "FeatureSpec",
    "Panel",
    "as_of_grid",
    "build_panel",
    "build_panel_in_buckets",
    "compute_bucket",
    "load_feature_spec",
    "parse_window",
    "read_panel",
    "where_mask",
]
