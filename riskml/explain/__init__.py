"""Explanations: exact TreeSHAP contributions, score points and reasons."""

from __future__ import annotations

from riskml.explain._treeshap import tree_contributions

__all__ = ["tree_contributions"]
