"""TreeSHAP contributions in score points, per feature and per indicator group.

With Platt calibration on the raw margin (``calibrated_logit = a * margin + b``) and
PDO scaling (``score = offset - factor * calibrated_logit``), a contribution ``phi_i``
in raw log-odds is worth ``-factor * a * phi_i`` points and the base value ``phi_0``
gives ``base_points = offset - factor * (a * phi_0 + b)``; the points add up to the
score exactly.

Indicator groups come from the feature catalog (``dimension`` with its
``dimension_zh``/``dimension_en`` labels and ``dimension_rank`` order), i.e. from the
dimension file the features were loaded with; nothing here names a group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskml.grading import GradePolicy

__all__ = ["points_by_dimension", "points_from_contributions"]


def points_from_contributions(
    contrib: Any, policy: GradePolicy, calib_a: float, calib_b: float
) -> tuple[np.ndarray, np.ndarray]:
    """Convert raw log-odds contributions into score points.

    Parameters
    ----------
    contrib : array-like, shape (n_rows, n_features + 1)
        TreeSHAP contributions with the base value last (as from
        :func:`tree_contributions` or ``pred_contrib``).
    policy : GradePolicy
        Gives ``factor`` and ``offset``.
    calib_a, calib_b : float
        Platt calibration on the raw margin: ``calibrated_logit = a * margin + b``.

    Returns
    -------
    base_points : numpy.ndarray, shape (n_rows,)
    points : numpy.ndarray, shape (n_rows, n_features)
        Negative points lower the score. ``base_points + points.sum(axis=1)`` is the
        score.

    Examples
    --------
    >>> from riskml.grading import GradePolicy, score_from_logit
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> contrib = np.array([[0.5, -0.2, -3.0]])  # two features, base value last
    >>> base, points = points_from_contributions(contrib, policy, calib_a=0.9, calib_b=0.1)
    >>> score = score_from_logit(0.9 * contrib.sum(axis=1) + 0.1, policy)
    >>> bool(np.allclose(base + points.sum(axis=1), score))
    True
    >>> points.round(2)
    array([[-25.97,  10.39]])
    """
    values = np.asarray(contrib, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"contrib must be 2-D (n_rows, n_features + 1); got shape {values.shape}")
    scale = -policy.factor * float(calib_a)
    points = scale * values[:, :-1]
    base_points = policy.offset - policy.factor * (float(calib_a) * values[:, -1] + float(calib_b))
    return base_points, points


def dimension_columns(dimensions: Sequence[Any], catalog: pd.DataFrame) -> dict[str, Any]:
    """``dimension``, ``label_zh`` and ``label_en`` columns for indicator group names.

    Labels come from the catalog's ``dimension_zh`` / ``dimension_en``; a group
    without them is its own label.

    Examples
    --------
    >>> catalog = pd.DataFrame({"dimension": ["supervision", "custom"], "dimension_zh": ["监管信息", ""],
    ...                         "dimension_en": ["Supervision records", ""]}, index=["a", "b"])
    >>> dimension_columns(["supervision", "custom"], catalog)["label_en"]
    ['Supervision records', 'custom']
    """
    names = [str(d) for d in dimensions]
    rows = catalog.drop_duplicates("dimension").set_index("dimension") if "dimension" in catalog else pd.DataFrame()

    def label(name: str, column: str) -> str:
        value = rows[column].get(name) if column in rows else None
        return str(value) if isinstance(value, str) and value else name

    return {
        "dimension": pd.array(names, dtype="str"),
        "label_zh": [label(d, "dimension_zh") for d in names],
        "label_en": [label(d, "dimension_en") for d in names],
    }


def _dimension_order(rows: pd.DataFrame) -> list[str]:
    """Groups present in catalog ``rows``: by ``dimension_rank`` if given, else first appearance."""
    dims = rows["dimension"].astype(str)
    if "dimension_rank" not in rows:
        return list(dict.fromkeys(dims))
    rank = pd.to_numeric(rows["dimension_rank"], errors="coerce").fillna(np.inf).to_numpy()
    first = pd.DataFrame({"dimension": dims.to_numpy(), "rank": rank, "at": np.arange(len(dims))})
    first = first.groupby("dimension", sort=False).min().sort_values(["rank", "at"], kind="stable")
    return [str(d) for d in first.index]


def points_by_dimension(points: Any, features: Sequence[str], catalog: pd.DataFrame) -> pd.DataFrame:
    """Sum feature points by indicator group (the catalog's ``dimension``).

    Parameters
    ----------
    points : array-like or DataFrame, shape (n_rows, n_features)
        Points per feature (from :func:`points_from_contributions`).
    features : sequence of str
        Feature names of the columns of ``points``.
    catalog : DataFrame
        Feature catalog indexed by feature, with a ``dimension`` column and, from a
        loaded feature spec, ``dimension_rank`` (the dimension file's order).

    Returns
    -------
    DataFrame
        One column per indicator group present, in ``dimension_rank`` order (else in
        order of first appearance), rows as ``points`` (its index if a DataFrame).

    Raises
    ------
    KeyError
        If a feature is missing from the catalog.

    Examples
    --------
    >>> catalog = pd.DataFrame({"dimension": ["supervision", "basic", "supervision"],
    ...                         "dimension_rank": [2, 0, 2]},
    ...                        index=["penalty_count_365d", "age_days", "penalty_amount_365d"])
    >>> points = np.array([[-20.0, 3.0, -5.0]])
    >>> points_by_dimension(points, list(catalog.index), catalog)
       basic  supervision
    0    3.0        -25.0
    """
    features = list(features)
    values = np.asarray(points, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(features):
        raise ValueError(f"points has shape {values.shape}; expected (n_rows, {len(features)}) for the features given")
    missing = [f for f in features if f not in catalog.index]
    if missing:
        raise KeyError(f"features missing from the catalog: {missing[:5]}{'...' if len(missing) > 5 else ''}")
    rows = catalog.loc[features]
    dims = rows["dimension"].astype(str)
    order = _dimension_order(rows)
    membership = (dims.to_numpy()[:, None] == np.asarray(order)[None, :]).astype(np.float64)
    index = points.index if isinstance(points, pd.DataFrame) else pd.RangeIndex(values.shape[0])
    return pd.DataFrame(values @ membership, index=index, columns=order)
