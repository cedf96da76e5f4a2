"""Grades: PDO scores, score bands A/B/C/D, rule overrides and the loan white list.

The policy is data (the ``scorecard``, ``grades``, ``overrides`` and ``white_list``
sections of a model spec); :func:`assign_grades` applies it to whole columns.
"""

from __future__ import annotations

from riskml.grading._grades import GRADED_COLUMNS, assign_grades, proba_to_score, score_from_logit, white_list
from riskml.grading._policy import GradeBand, GradeOverride, GradePolicy, Scorecard, WhiteListRule

__all__ = [
    "GRADED_COLUMNS",
    "GradeBand",
    "GradeOverride",
    "GradePolicy",
    "Scorecard",
    "WhiteListRule",
    "assign_grades",
    "proba_to_score",
    "score_from_logit",
    "white_list",
]
