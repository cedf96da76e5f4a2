"""The panel built bucket by bucket: build_panel's values, compact dtypes, Parquet as it goes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import riskml
from riskml.features import build_panel, build_panel_in_buckets, read_panel
from riskml.features._bucketed import COMPACT_FLOAT32, COMPACT_INT32


@pytest.fixture(scope="module")
def market():
    return riskml.synth.make_market(n_entities=900, seed=5)


@pytest.fixture(scope="module")
def in_memory(market):
    return build_panel(market.records)


def test_buckets_give_the_in_memory_panel_value_for_value(market, in_memory):
    panel = build_panel_in_buckets(market.records, entities_per_bucket=150)
    assert len(panel.frame) == len(in_memory.frame) > 0
    # strict after dtype normalisation: same rows, same order, NaN where NaN
    pd.testing.assert_frame_equal(panel.frame.astype(in_memory.frame.dtypes), in_memory.frame, check_exact=True)
    pd.testing.assert_frame_equal(panel.catalog, in_memory.catalog)
    assert panel.spec_hash == in_memory.spec_hash


def test_compact_dtypes_follow_the_aggregation_and_hold_values_exactly(market, in_memory):
    panel = build_panel_in_buckets(market.records, entities_per_bucket=300)
    aggregation = panel.catalog["aggregation"]
    for name in panel.feature_names:
        dtype = panel.frame[name].dtype
        if aggregation[name] in COMPACT_INT32 and in_memory.frame[name].dtype == np.float64:
            assert dtype == np.int32, name
        elif aggregation[name] in COMPACT_FLOAT32:
            assert dtype == np.float32, name
        else:
            assert dtype == in_memory.frame[name].dtype, name
    assert (panel.frame.dtypes == np.int32).sum() > 50  # counts dominate the library
    assert panel.frame.memory_usage(deep=False).sum() < 0.75 * in_memory.frame.memory_usage(deep=False).sum()


def test_compact_false_keeps_the_in_memory_dtypes(market, in_memory):
    panel = build_panel_in_buckets(market.records, entities_per_bucket=400, compact=False)
    pd.testing.assert_frame_equal(panel.frame, in_memory.frame, check_exact=True)


def test_a_bucket_size_larger_than_the_registry_is_one_bucket(market, in_memory):
    panel = build_panel_in_buckets(market.records, entities_per_bucket=10**6)
    pd.testing.assert_frame_equal(panel.frame.astype(in_memory.frame.dtypes), in_memory.frame, check_exact=True)


def test_parquet_written_bucket_by_bucket_reads_back_as_the_panel(market, in_memory, tmp_path):
    import pyarrow.parquet as pq

    path = build_panel_in_buckets(market.records, entities_per_bucket=150, path=tmp_path / "panel.parquet")
    assert pq.ParquetFile(path).num_row_groups == 6  # one row group per bucket
    panel = read_panel(path)
    frame = panel.frame.sort_values(["as_of", "entity_id"], ignore_index=True)
    pd.testing.assert_frame_equal(frame.astype(in_memory.frame.dtypes), in_memory.frame, check_exact=True)
    assert panel.spec_hash == in_memory.spec_hash
    assert list(panel.catalog.index) == list(in_memory.catalog.index)


def test_bad_bucket_sizes_and_foreign_files_are_refused(market, tmp_path):
    with pytest.raises(ValueError, match="entities_per_bucket must be a positive integer"):
        build_panel_in_buckets(market.records, entities_per_bucket=0)
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="no riskml panel metadata"):
        read_panel(tmp_path / "other.parquet")
