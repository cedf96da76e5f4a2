"""Scores, grades, overrides and the white list (vectorised over entities).

``score = offset - factor * calibrated_logit`` (PDO scaling, odds good:bad), then the
first band whose ``min_score`` the score reaches, then the overrides of the policy.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml.grading._policy import GradePolicy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ["GRADED_COLUMNS", "assign_grades", "proba_to_score", "score_from_logit", "white_list"]

logger = logging.getLogger(__name__)

#: columns of :func:`assign_grades`' result
GRADED_COLUMNS: tuple[str, ...] = ("score", "grade_by_score", "grade", "override", "points_to_next_grade")

#: joins the names when several overrides lower the same entity's grade
OVERRIDE_SEPARATOR = ";"


def score_from_logit(logit: ArrayLike, policy: GradePolicy) -> np.ndarray:
    """Score points from the calibrated log-odds of the bad outcome.

    ``score = offset - factor * logit``, i.e. ``offset + factor * ln((1 - p) / p)``.

    Parameters
    ----------
    logit : array-like of float
        Calibrated logit of the probability of the bad outcome.
    policy : GradePolicy

    Returns
    -------
    numpy.ndarray of float64

    Examples
    --------
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> float(score_from_logit(-np.log(20), policy).round(6))  # odds 20:1 -> base score
    600.0
    """
    return policy.offset - policy.factor * np.asarray(logit, dtype=np.float64)


def proba_to_score(p: ArrayLike, policy: GradePolicy) -> np.ndarray:
    """Score points from calibrated probabilities of the bad outcome.

    Parameters
    ----------
    p : array-like of float in [0, 1]
    policy : GradePolicy

    Returns
    -------
    numpy.ndarray of float64
        ``+inf`` for ``p == 0`` and ``-inf`` for ``p == 1``.

    Raises
    ------
    ValueError
        If a probability is outside [0, 1] or NaN.

    Examples
    --------
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> proba_to_score([1 / 21, 1 / 41], policy).round(1)  # doubling the odds adds pdo
    array([600., 640.])
    """
    prob = np.asarray(p, dtype=np.float64)
    bad = ~((prob >= 0.0) & (prob <= 1.0))
    if bad.any():
        raise ValueError(
            f"probabilities must lie in [0, 1]; got {int(bad.sum())} outside (e.g. {prob[bad].ravel()[:3].tolist()})"
        )
    with np.errstate(divide="ignore"):
        logit = np.log(prob) - np.log1p(-prob)
    return score_from_logit(logit, policy)


def _as_scores(score: Any) -> tuple[np.ndarray, pd.Index | None]:
    index = score.index if isinstance(score, pd.Series) else None
    values = np.asarray(score, dtype=np.float64).ravel()
    if np.isnan(values).any():
        raise ValueError(f"scores must not be NaN; got {int(np.isnan(values).sum())} NaN of {values.size}")
    return values, index


def _feature(features: pd.DataFrame | None, name: str, n: int, what: str) -> np.ndarray:
    if features is None or name not in features.columns:
        have = [] if features is None else list(features.columns)[:10]
        raise KeyError(f"{what} needs panel feature {name!r}; features has columns {have}...")
    if len(features) != n:
        raise ValueError(f"features has {len(features)} rows but there are {n} scores")
    return pd.to_numeric(features[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def assign_grades(score: ArrayLike, features: pd.DataFrame | None, policy: GradePolicy) -> pd.DataFrame:
    """Grades from scores by the policy's bands, then its overrides.

    An entity gets the first band (best first) whose ``min_score`` its score reaches;
    a score exactly on ``min_score`` gets that band. Each override whose condition
    holds (``min <= feature <= max``; a missing value never matches) caps the grade
    at ``grade_at_most``. An override is **recorded only when it changes the grade**:
    an entity whose score already puts it at or below the cap is not marked. When
    several overrides lower the same grade their names are joined with ``;`` in spec
    order.

    Parameters
    ----------
    score : array-like or Series of float
        Scores (higher is better); NaN is rejected.
    features : DataFrame or None
        Panel features of the same rows (by position); needs the override features.
        ``None`` only for a policy without overrides.
    policy : GradePolicy

    Returns
    -------
    DataFrame
        Columns ``score``, ``grade_by_score`` and ``grade`` (categoricals with the
        grades best first), ``override`` (str, "" when none changed the grade) and
        ``points_to_next_grade``: points the score needs to reach the next better band
        (NaN for the best band). Overrides are not lifted by points: an overridden
        entity keeps its capped grade whatever its score. Index: the Series' index
        of ``score``, else that of ``features``, else a range.

    Raises
    ------
    KeyError
        If an override's feature is missing from ``features``.
    ValueError
        If a score is NaN or the lengths differ.

    Examples
    --------
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> features = pd.DataFrame({"serious_violations_on_list": [0, 0, 1],
    ...                          "abnormal_list_on_list": [0, 1, 0]})
    >>> graded = assign_grades([640.0, 700.0, 585.0], features, policy)
    >>> graded[["grade_by_score", "grade", "override"]].to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'grade_by_score': ['A', 'A', 'B'], 'grade': ['A', 'C', 'D'],
     'override': ['', 'abnormal_list', 'serious_violation_list']}
    >>> graded["points_to_next_grade"].tolist()
    [nan, nan, 45.0]
    """
    values, index = _as_scores(score)
    n = values.size
    if index is None and features is not None:
        index = features.index
    names = policy.grade_names
    # ascending bounds: the band index is how many bounds lie above the score
    bounds = np.asarray(policy.min_scores[::-1], dtype=np.float64)
    by_score = (bounds.size - np.searchsorted(bounds, values, side="right")).astype(np.int64)
    final = by_score.copy()
    override = np.full(n, "", dtype=object)
    for rule in policy.overrides:
        feature = _feature(features, rule.feature, n, f"override {rule.name!r}")
        hit = ~np.isnan(feature)
        if rule.min is not None:
            hit &= feature >= rule.min
        if rule.max is not None:
            hit &= feature <= rule.max
        cap = names.index(rule.grade_at_most)
        changes = hit & (by_score < cap)
        if changes.any():
            override[changes] = np.where(override[changes] == "", rule.name, override[changes] + OVERRIDE_SEPARATOR + rule.name)
        final = np.where(hit, np.maximum(final, cap), final)
    upper = np.asarray((np.nan, *policy.min_scores), dtype=np.float64)
    to_next = upper[by_score] - values
    dtype = pd.CategoricalDtype(list(names))
    frame = pd.DataFrame(
        {
            "score": values,
            "grade_by_score": pd.Categorical.from_codes(by_score, dtype=dtype),
            "grade": pd.Categorical.from_codes(final, dtype=dtype),
            "override": pd.array(override.astype(str), dtype="str"),
            "points_to_next_grade": to_next,
        },
        index=index if index is not None else pd.RangeIndex(n),
    )
    logger.debug("graded %d entities; %d overridden", n, int((final != by_score).sum()))
    return frame


def as_policy(policy: Any) -> GradePolicy:
    """The grade policy of a policy, a model spec, a trained model or a spec name.

    Examples
    --------
    >>> from riskml.models import load_model_spec
    >>> as_policy(load_model_spec("credit")).target == as_policy("credit").target == "credit"
    True
    """
    if isinstance(policy, GradePolicy):
        return policy
    if isinstance(getattr(policy, "policy", None), GradePolicy):  # a RiskModel
        return policy.policy
    if isinstance(getattr(policy, "raw", None), dict):  # a ModelSpec
        return GradePolicy.from_model_spec(policy.raw)
    if isinstance(policy, (str, dict)):
        return GradePolicy.from_model_spec(policy)
    raise TypeError(
        "policy must be a GradePolicy, a model spec (riskml.models.load_model_spec), a RiskModel or a model "
        f"spec name; got {type(policy).__name__}"
    )


def white_list(graded: pd.DataFrame, features: pd.DataFrame, policy: GradePolicy | Any) -> pd.Series:
    """Whether each entity may go on the loan white list (以信授贷).

    An entity qualifies when its final grade (after overrides) is the policy's
    white-list grade and none of the ``exclude_when_positive`` features is above
    zero. A missing value of such a feature excludes the entity: the list only
    holds entities known to be clean.

    Parameters
    ----------
    graded : DataFrame
        The result of :func:`assign_grades` (needs ``grade``).
    features : DataFrame
        Panel features of the same rows (by position).
    policy : GradePolicy, ModelSpec, RiskModel or str
        The policy, or what holds it (a model spec, a trained model, a spec name);
        must have a ``white_list`` section.

    Returns
    -------
    Series of bool
        Indexed like ``graded``, named ``white_list``.

    Raises
    ------
    ValueError
        If the policy has no white list or the lengths differ.
    KeyError
        If a feature of the rule is missing.

    Examples
    --------
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> features = pd.DataFrame({"serious_violations_on_list": [0, 0, 0],
    ...                          "abnormal_list_on_list": [0, 0, 0],
    ...                          "judicial_open_count": [0, 2, 0]})
    >>> graded = assign_grades([700.0, 700.0, 600.0], features, policy)
    >>> white_list(graded, features, policy).tolist()
    [True, False, False]
    """
    policy = as_policy(policy)
    rule = policy.white_list
    if rule is None:
        raise ValueError(f"model spec {policy.target!r} has no white_list section")
    if "grade" not in graded.columns:
        raise KeyError(f"graded needs a 'grade' column (from assign_grades); got {list(graded.columns)}")
    n = len(graded)
    keep = (graded["grade"].astype(str) == rule.grade).to_numpy().copy()
    for name in rule.exclude_when_positive:
        value = _feature(features, name, n, "white_list")
        keep &= ~(np.isnan(value) | (value > 0))
    return pd.Series(keep, index=graded.index, name="white_list")
