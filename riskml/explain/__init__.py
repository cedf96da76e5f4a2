"""Explanations: exact TreeSHAP contributions, score points and reason texts.

:func:`tree_contributions` gives LightGBM's path-dependent SHAP values (raw
log-odds) fast; :func:`points_from_contributions` turns them into score points that
add up to the score exactly; :func:`points_by_dimension` sums them by indicator
group, and :func:`top_reasons` / :func:`reasons_frame` say in plain Chinese and
English which features lowered a score most (:func:`model_reasons` for many scored
rows at once). :func:`explain_rows` keeps every contribution of many rows as a
:class:`BatchExplanation`, whose ``to_shap()`` gives a ``shap.Explanation`` for shap's
beeswarm, waterfall and scatter plots.

For appeals, :func:`explain_entity` (also ``riskml.explain(entity_id, as_of,
records=...)``) builds an :class:`Explanation`: points by feature and indicator
group, reasons with the records behind them (:func:`evidence_for`), what would change
the grade (:func:`what_ifs`, :func:`contrast`) and a self-contained HTML report
(:func:`render_report`).
"""

from __future__ import annotations

from riskml.explain._points import points_by_dimension, points_from_contributions
from riskml.explain._reasons import REASON_KEYS, reasons_frame, top_reasons
from riskml.explain._treeshap import tree_contributions
from riskml.explain._batch import BatchExplanation, explain_rows, model_reasons
from riskml.explain._evidence import evidence_for
from riskml.explain._explanation import Explanation, explain_entity
from riskml.explain._report import render_report
from riskml.explain._whatif import Contrast, contrast, load_actions, what_ifs

__all__ = [
    "BatchExplanation",
    "Contrast",
    "Explanation",
    "contrast",
    "evidence_for",
    "explain_entity",
    "explain_rows",
    "load_actions",
    "model_reasons",
    "render_report",
    "what_ifs",
    "REASON_KEYS",
    "points_by_dimension",
    "points_from_contributions",
    "reasons_frame",
    "top_reasons",
    "tree_contributions",
]


# ``riskml.explain`` is both this subpackage and the verb ``riskml.explain(entity_id,
# as_of, records=...)``: importing the subpackage binds it as the attribute of
# ``riskml``, so the subpackage itself is made callable and calls the verb.
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        from riskml._pipeline import explain as _explain_verb

        return _explain_verb(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
