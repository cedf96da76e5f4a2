"""A synthetic market follows the sources contract: it validates strictly with no problem."""

from __future__ import annotations

import pytest

from riskml.records import Records, from_frames, validate

synth = pytest.importorskip("riskml.synth")


def test_a_small_synthetic_market_validates_strictly():
    market = synth.make_market(n_entities=2000, seed=0)
    raw = market.records
    if not isinstance(raw, Records):
        raw = from_frames(raw)
    clean = validate(raw, "strict")
    assert clean.quarantine.empty
    assert (clean.counts["n_in"] == clean.counts["n_kept"]).all()
