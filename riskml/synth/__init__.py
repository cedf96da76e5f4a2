"""A synthetic market (模拟市场) with known true risk, for tests, demos and benchmarks.

:func:`make_market` simulates a county's market entities over a window of quarters and
returns a :class:`Market`: the raw records of every source declared in
``features/sources.yaml`` and a :class:`Truth` holding what the records cannot show
(each entity's latent risk, every violation whether found or not, who was
inspected). Because the truth is known, so is the best possible AUC of a model.
"""

from __future__ import annotations

from riskml.synth._market import Market, Truth, make_market

__all__ = [
    "Market",
    "Truth",
    "make_market",
]
