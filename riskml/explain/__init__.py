"""Explanations: exact TreeSHAP contributions, score points and reason texts.

:func:`tree_contributions` gives LightGBM's path-dependent SHAP values (raw log-odds)
fast; :func:`~riskml.explain._points.points_from_contributions` turns them into score
points that add up to the score exactly;
:func:`~riskml.explain._points.points_by_dimension` sums them by indicator group, and
:func:`~riskml.explain._reasons.top_reasons` /
:func:`~riskml.explain._reasons.reasons_frame` say in plain Chinese and English which
features lowered a score most (:func:`~riskml.explain._batch.model_reasons` for many
scored rows at once). :func:`explain_rows` keeps every contribution of many rows as a
:class:`BatchExplanation`, whose ``to_shap()`` gives a ``shap.Explanation`` for shap's
beeswarm, waterfall and scatter plots.

For appeals, :func:`explain_entity` (also the verb ``riskml.explain(entity_id, as_of,
records=...)``, which resolves the model and the records first) builds an
:class:`Explanation`: points by feature and indicator group, reasons with the records
behind them (:func:`~riskml.explain._evidence.evidence_for`), what would change the
grade (:func:`~riskml.explain._whatif.what_ifs`,
:func:`~riskml.explain._whatif.contrast`), the smallest set of declared actions that
reaches the next better grade (:func:`path_to_next_grade`) and a self-contained HTML
report with a printable reviewer's section
(:func:`~riskml.explain._report.render_report`).
"""

from __future__ import annotations

from riskml.explain._treeshap import tree_contributions
from riskml.explain._batch import BatchExplanation, explain_rows
from riskml.explain._explanation import Explanation, explain_entity
from riskml.explain._path import GradePath, path_to_next_grade
from riskml.explain._whatif import load_actions

__all__ = [
    "BatchExplanation",
    "Explanation",
    "GradePath",
    "explain_entity",
    "explain_rows",
    "load_actions",
    "path_to_next_grade",
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
