"""Grades: PDO scores, score bands A/B/C/D, rule overrides and the loan white list.

The policy is data (the ``scorecard``, ``grades``, ``overrides`` and ``white_list``
sections of a model spec); :func:`assign_grades` applies it to whole columns.
"""

from __future__ import annotations

from riskml.grading._grades import assign_grades, proba_to_score, score_from_logit
from riskml.grading._policy import GradePolicy

__all__ = [
    "GradePolicy",
    "assign_grades",
    "proba_to_score",
    "score_from_logit",
]
