"""The one place where models meet the grade policy (:mod:`riskml.grading`).

Training and scoring need three things from the grading layer: build a policy from a
model spec, turn a calibrated logit into score points, and assign grades with
overrides. They are taken from :mod:`riskml.grading` when it provides them; otherwise
a minimal local implementation of the same contract is used, so the models layer
works on its own and switches to the shared one without other changes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GRADE_COLUMNS", "grade_frame", "policy_features", "policy_from_spec"]

logger = logging.getLogger(__name__)

#: columns :func:`grade_frame` returns
GRADE_COLUMNS: tuple[str, ...] = ("score", "grade_by_score", "grade", "override", "points_to_next_grade")


def _grading() -> Any | None:
    try:
        from riskml.grading import GradePolicy, assign_grades, score_from_logit
    except ImportError:
        return None
    return GradePolicy, assign_grades, score_from_logit


def policy_from_spec(model_spec: dict[str, Any]) -> Any:
    """The grade policy of a raw model spec mapping.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy = policy_from_spec(load_yaml(resolve_spec("models", "credit")))
    >>> round(policy.factor, 4)
    57.7078
    """
    shared = _grading()
    if shared is not None:
        return shared[0].from_model_spec(model_spec)
    return _LocalPolicy.from_model_spec(model_spec)


def policy_features(policy: Any) -> list[str]:
    """Panel features the policy's overrides read.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy_features(policy_from_spec(load_yaml(resolve_spec("models", "credit"))))
    ['serious_violations_on_list', 'abnormal_list_on_list']
    """
    return [rule.feature if hasattr(rule, "feature") else rule["feature"] for rule in policy.overrides]


def grade_frame(calibrated_logit: np.ndarray, features: pd.DataFrame, policy: Any) -> pd.DataFrame:
    """Score points and grades for calibrated logits (log-odds of the bad outcome).

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> policy = policy_from_spec(load_yaml(resolve_spec("models", "credit")))
    >>> feats = pd.DataFrame({"serious_violations_on_list": [0.0, 1.0], "abnormal_list_on_list": [0.0, 0.0]})
    >>> out = grade_frame(np.array([-np.log(20), -np.log(20)]), feats, policy)
    >>> out["score"].round(6).tolist(), out["grade"].tolist(), out["override"].tolist()
    ([600.0, 600.0], ['B', 'D'], ['', 'serious_violation_list'])
    """
    shared = _grading()
    logit = np.asarray(calibrated_logit, dtype=np.float64)
    if shared is not None and not isinstance(policy, _LocalPolicy):
        _, assign_grades, score_from_logit = shared
        score = np.asarray(score_from_logit(logit, policy), dtype=np.float64)
        graded = assign_grades(score, features.reset_index(drop=True), policy)
        return graded.reset_index(drop=True)[list(GRADE_COLUMNS)]
    return policy.assign(policy.offset - policy.factor * logit, features)


@dataclass(frozen=True)
class _LocalPolicy:
    """Just enough of :class:`riskml.grading.GradePolicy` for scoring."""

    scorecard: dict[str, float]
    grades: tuple[dict[str, Any], ...]
    overrides: tuple[dict[str, Any], ...]

    @classmethod
    def from_model_spec(cls, spec: dict[str, Any]) -> _LocalPolicy:
        return cls(dict(spec["scorecard"]), tuple(spec["grades"]), tuple(spec.get("overrides") or ()))

    @property
    def factor(self) -> float:
        return float(self.scorecard["pdo"]) / math.log(2.0)

    @property
    def offset(self) -> float:
        return float(self.scorecard["base_score"]) - self.factor * math.log(float(self.scorecard["base_odds"]))

    def assign(self, score: np.ndarray, features: pd.DataFrame) -> pd.DataFrame:
        names = np.array([g["grade"] for g in self.grades], dtype=object)
        mins = np.array([float(g["min_score"]) for g in self.grades[:-1]])
        rank = np.searchsorted(-mins, -score, side="right")
        grade_rank = rank.copy()
        override = np.full(len(score), "", dtype=object)
        for rule in self.overrides:
            value = features[rule["feature"]].to_numpy(dtype=np.float64)
            hit = np.ones(len(score), dtype=bool)
            if rule.get("min") is not None:
                hit &= value >= rule["min"]
            if rule.get("max") is not None:
                hit &= value <= rule["max"]
            cap = list(names).index(rule["grade_at_most"])
            changed = hit & (grade_rank < cap)
            grade_rank[changed] = cap
            override[changed] = rule["name"]
        upper = np.concatenate([[np.nan], mins])[rank]
        return pd.DataFrame({
            "score": score,
            "grade_by_score": pd.array(names[rank].astype(str), dtype="str"),
            "grade": pd.array(names[grade_rank].astype(str), dtype="str"),
            "override": pd.array(override.astype(str), dtype="str"),
            "points_to_next_grade": upper - score,
        })
