"""Point-in-time correctness: what becomes known at or after t never changes a
feature at t."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _panel_data import make_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskml.features import build_panel, load_feature_spec
from riskml.records import load_sources

SPEC = load_feature_spec()
CATALOG = load_sources()


def _rewrite_future(tables: dict[str, pd.DataFrame], t: pd.Timestamp, seed: int, drop: float, add: int) -> dict[str, pd.DataFrame]:
    """Remove, change and add records known at or after ``t``; leave the rest alone."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, table in tables.items():
        spec = CATALOG[name]
        if name == CATALOG.entity_source:
            out[name] = table
            continue
        future = (table[spec.known_at] >= t).to_numpy()
        past, later = table[~future], table[future]
        later = later[rng.random(len(later)) >= drop]
        # changed: every non-key column of a future record is redrawn from other records
        changed = later.copy()
        for col in spec.columns:
            if col not in (spec.record_id, spec.entity_key, spec.known_at) and len(changed) and len(table):
                changed[col] = table[col].to_numpy()[rng.integers(0, len(table), len(changed))]
        # added: copies of any records, made known at or after t
        extra = table.iloc[rng.integers(0, len(table), add if len(table) else 0)].copy()
        extra[spec.record_id] = [f"NEW{name}{i}" for i in range(len(extra))]
        extra[spec.known_at] = (t + pd.to_timedelta(rng.integers(0, 400, len(extra)), unit="D")).astype("datetime64[ns]")
        out[name] = pd.concat([past, changed, extra], ignore_index=True).astype(table.dtypes.to_dict())
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    t=st.sampled_from(["2020-01-01", "2021-07-01", "2022-10-01", "2023-06-15"]),
    mutation=st.integers(0, 10_000),
    drop=st.floats(0.0, 1.0),
    add=st.integers(0, 15),
)
def test_no_feature_at_t_changes_when_records_known_at_or_after_t_change(seed, t, mutation, drop, add):
    t = pd.Timestamp(t)
    tables = make_records(seed, n_entities=12, n_records=50)
    as_of = [t - pd.Timedelta(days=200), t]
    before = build_panel(tables, as_of, SPEC).frame
    after = build_panel(_rewrite_future(tables, t, mutation, drop, add), as_of, SPEC).frame
    pd.testing.assert_frame_equal(before, after)
