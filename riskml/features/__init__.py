"""Features: the point-in-time entity x as-of panel built from declarative specs.

The feature library lives in ``features/*.yaml`` and its indicator groups in
``features/dimensions/*.yaml``; :func:`load_feature_spec` validates it into a
:class:`FeatureSpec`, and :func:`build_panel` turns records into a :class:`Panel` (the
frame, its feature catalog and the spec hash).
:func:`~riskml.features._engine.compute_bucket` is the per-bucket kernel the Spark path
runs; :func:`build_panel_in_buckets` runs it bucket by bucket on one machine, in bounded
memory, to a Parquet file (:func:`read_panel`) or a compact panel.

Examples
--------
>>> from riskml.features import load_feature_spec
>>> spec = load_feature_spec()
>>> spec.catalog().sort_values("dimension_rank")["dimension_zh"].unique().tolist()
['企业基础属性信息', '企业动态信息', '监管信息', '社会评价信息']
"""

from __future__ import annotations

from riskml.features._bucketed import build_panel_in_buckets, read_panel
from riskml.features._engine import Panel, build_panel
from riskml.features._spec import FeatureSpec, load_feature_spec

__all__ = [
    "FeatureSpec",
    "Panel",
    "build_panel",
    "build_panel_in_buckets",
    "load_feature_spec",
    "read_panel",
]
