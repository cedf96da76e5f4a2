"""Explanations: exact TreeSHAP contributions, score points and reason texts.

:func:`tree_contributions` gives LightGBM's path-dependent SHAP values (raw
log-odds) fast; :func:`points_from_contributions` turns them into score points that
add up to the score exactly; :func:`points_by_dimension` sums them by indicator
group, and :func:`top_reasons` / :func:`reasons_frame` say in plain Chinese and
English which features lowered a score most.
"""

from __future__ import annotations

from riskml.explain._points import DIMENSIONS, points_by_dimension, points_from_contributions
from riskml.explain._reasons import REASON_KEYS, reasons_frame, top_reasons
from riskml.explain._treeshap import tree_contributions

__all__ = [
    "DIMENSIONS",
    "REASON_KEYS",
    "points_by_dimension",
    "points_from_contributions",
    "reasons_frame",
    "top_reasons",
    "tree_contributions",
]
