"""Explanations: exact TreeSHAP contributions, score points and reason texts.

:func:`tree_contributions` gives LightGBM's path-dependent SHAP values (raw
log-odds) fast; :func:`points_from_contributions` turns them into score points that
add up to the score exactly; :func:`points_by_dimension` sums them by indicator
group, and :func:`top_reasons` / :func:`reasons_frame` say in plain Chinese and
English which features lowered a score most (:func:`model_reasons` for many scored
rows at once). :func:`explain_rows` keeps every contribution of many rows as a
:class:`BatchExplanation`, whose ``to_shap()`` gives a ``shap.Explanation`` for shap's
beeswarm, waterfall and scatter plots.

For appeals, :func:`explain_entity` (also the verb ``riskml.explain(entity_id, as_of,
records=...)``, which resolves the model and the records first) builds an :class:`Explanation`: points by feature and indicator
group, reasons with the records behind them (:func:`evidence_for`), what would change
the grade (:func:`what_ifs`, :func:`contrast`), the smallest set of declared actions
that reaches the next better grade (:func:`path_to_next_grade`) and a self-contained
HTML report with a printable reviewer's section (:func:`render_report`).
"""

from __future__ import annotations

from riskml.explain._points import points_by_dimension, points_from_contributions
from riskml.explain._reasons import REASON_KEYS, reasons_frame, top_reasons
from riskml.explain._treeshap import tree_contributions
from riskml.explain._batch import BatchExplanation, explain_rows, model_reasons
from riskml.explain._evidence import evidence_for
from riskml.explain._explanation import Explanation, explain_entity
from riskml.explain._path import GradePath, path_to_next_grade
from riskml.explain._report import render_report
from riskml.explain._whatif import Contrast, contrast, load_actions, what_ifs

__all__ = [
    "BatchExplanation",
    "Contrast",
    "Explanation",
    "GradePath",
    "contrast",
    "evidence_for",
    "explain_entity",
    "explain_rows",
    "load_actions",
    "model_reasons",
    "path_to_next_grade",
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
# as_of, records=...)``: importing the subpackage binds it as the attribute ``explain``
# of ``riskml``, so the module object itself is made callable. Its class is a
# ModuleType whose ``__call__`` is this package's own verb (``_verb.explain``); nothing
# else about the module changes.
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

from riskml.explain._verb import explain as _explain_verb  # noqa: E402


class _CallableModule(_types.ModuleType):
    __call__ = staticmethod(_explain_verb)


_sys.modules[__name__].__class__ = _CallableModule
