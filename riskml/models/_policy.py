"""The one place where models meet the grade policy (:mod:`riskml.grading`).

Training and scoring need three things from the grading layer: build a policy from a
model spec, turn a calibrated logit into score points, and assign grades with
overrides.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskml.grading import GradePolicy, assign_grades, score_from_logit
from riskml.grading._grades import GRADED_COLUMNS

__all__ = ["GRADE_COLUMNS", "grade_frame", "policy_features", "policy_from_spec"]

#: columns :func:`grade_frame` returns
GRADE_COLUMNS: tuple[str, ...] = GRADED_COLUMNS


def policy_from_spec(model_spec: dict[str, Any]) -> GradePolicy:
    """The grade policy of a raw model spec mapping.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy = policy_from_spec(load_yaml(resolve_spec("models", "credit")))
    >>> round(policy.factor, 4)
    57.7078
    """
    return GradePolicy.from_model_spec(model_spec)


def policy_features(policy: GradePolicy) -> list[str]:
    """Panel features the policy's overrides read.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy_features(policy_from_spec(load_yaml(resolve_spec("models", "credit"))))
    ['serious_violations_on_list', 'abnormal_list_on_list']
    """
    return [rule.feature for rule in policy.overrides]


def grade_frame(calibrated_logit: np.ndarray, features: pd.DataFrame, policy: GradePolicy,
                score: np.ndarray | None = None) -> pd.DataFrame:
    """Score points and grades for calibrated logits (log-odds of the bad outcome).

    ``score`` gives the points directly when a model adds them up itself (a
    scorecard's published points), so a score on a band's edge stays on it.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy = policy_from_spec(load_yaml(resolve_spec("models", "credit")))
    >>> feats = pd.DataFrame({"serious_violations_on_list": [0.0, 1.0], "abnormal_list_on_list": [0.0, 0.0]})
    >>> out = grade_frame(np.array([-np.log(20), -np.log(20)]), feats, policy)
    >>> out["score"].round(6).tolist(), out["grade"].tolist(), out["override"].tolist()
    ([600.0, 600.0], ['B', 'D'], ['', 'serious_violation_list'])
    """
    if score is None:
        score = score_from_logit(calibrated_logit, policy)
    graded = assign_grades(score, features.reset_index(drop=True), policy)
    return graded.reset_index(drop=True)[list(GRADE_COLUMNS)]
