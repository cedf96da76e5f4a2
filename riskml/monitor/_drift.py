"""Drift between quarters: score and feature PSI, grade migration, grade shares.

PSI itself is :func:`riskml.tracking.psi` (quantile bins of the reference); this module
applies it to score frames and panels. Migration counts entities present in both
quarters by (previous grade, current grade), with new and exited entities counted
apart, so row shares describe only entities that could migrate.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskml.tracking._psi import psi

__all__ = ["EXITED", "NEW", "feature_psi", "grade_distribution", "migration_matrix", "score_psi"]

logger = logging.getLogger(__name__)

#: Pseudo-grades of the migration matrix: an entity scored only in the current quarter
#: comes from NEW; one scored only in the previous quarter goes to EXITED.
NEW = "new"
EXITED = "exited"


def _column(values: Any, column: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if column not in values.columns:
            raise ValueError(f"scores lack column {column!r}; got {list(values.columns)}")
        values = values[column]
    return pd.Series(values).to_numpy(dtype="float64", na_value=np.nan)


def score_psi(ref: Any, cur: Any, *, column: str = "score", bins: int = 10) -> float:
    """PSI of the current score distribution against the reference one.

    Parameters
    ----------
    ref, cur : DataFrame or array-like
        Scores frames (``column`` is read) or the score values.
    column : str, default "score"
    bins : int, default 10
        Quantile bins of the reference.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"score": rng.normal(600, 40, 4000)})
    >>> score_psi(ref, ref)
    0.0
    >>> score_psi(ref, pd.DataFrame({"score": rng.normal(660, 40, 4000)})) > 0.25
    True
    """
    return psi(_column(ref, column), _column(cur, column), bins=bins)


def _feature_values(column: pd.Series, categories: pd.Index | None) -> np.ndarray:
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Codes against one shared category list, so equal labels compare equal.
        codes = pd.Categorical(column.astype(object), categories=categories).codes.astype("float64")
        codes[codes < 0] = np.nan
        return codes
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def feature_psi(panel_ref: Any, panel_cur: Any, features: Iterable[str] | None = None, *, bins: int = 10) -> pd.DataFrame:
    """PSI of each feature between a reference panel and a current one.

    Categorical features compare category codes (one bin per category when there are
    no more categories than ``bins``); missing values are left out of the PSI and
    reported as shares.

    Parameters
    ----------
    panel_ref, panel_cur : Panel or DataFrame
        Panels (or their frames) with the feature columns.
    features : iterable of str, optional
        Default: every feature column both panels have.
    bins : int, default 10

    Returns
    -------
    DataFrame
        Indexed by ``feature``: ``psi`` (NaN when a side has no value),
        ``missing_ref``, ``missing_cur`` (shares of missing values); sorted by PSI
        descending.

    Raises
    ------
    ValueError
        When a requested feature is missing from either panel.

    Examples
    --------
    >>> import pandas as pd
    >>> ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0.0, 0.0, 1.0, 1.0]})
    >>> cur = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 1.0, 1.0, 1.0]})
    >>> feature_psi(ref, cur, bins=2)["psi"].round(2).to_dict()
    {'y': 4.6, 'x': 0.0}
    """
    ref = getattr(panel_ref, "frame", panel_ref)
    cur = getattr(panel_cur, "frame", panel_cur)
    if features is None:
        names = [c for c in ref.columns if c not in ("entity_id", "as_of") and c in cur.columns]
    else:
        names = list(features)
        missing = [f for f in names if f not in ref.columns or f not in cur.columns]
        if missing:
            raise ValueError(f"feature(s) {missing} missing from the reference or current panel")
    rows = []
    for name in names:
        categories = None
        if isinstance(ref[name].dtype, pd.CategoricalDtype) or isinstance(cur[name].dtype, pd.CategoricalDtype):
            categories = pd.Index(pd.unique(pd.concat([ref[name].astype(object), cur[name].astype(object)]).dropna()))
        e = _feature_values(ref[name], categories)
        a = _feature_values(cur[name], categories)
        n_bins = max(bins, len(categories)) if categories is not None else bins
        try:
            value = psi(e, a, bins=n_bins)
        except ValueError:
            value = np.nan
        miss_e = float(np.isnan(e).mean()) if len(e) else np.nan
        miss_a = float(np.isnan(a).mean()) if len(a) else np.nan
        rows.append((name, value, miss_e, miss_a))
    out = pd.DataFrame(rows, columns=["feature", "psi", "missing_ref", "missing_cur"]).set_index("feature")
    out.index = out.index.astype("str")
    return out.sort_values("psi", ascending=False, kind="stable", na_position="last")


def _grades(scores: pd.DataFrame, column: str) -> pd.Series:
    if not isinstance(scores, pd.DataFrame) or not {"entity_id", column} <= set(scores.columns):
        raise ValueError(f"scores must be a DataFrame with entity_id and {column!r}")
    if scores["entity_id"].duplicated().any():
        raise ValueError("scores have several rows per entity; pass one as-of date per frame")
    return pd.Series(scores[column].astype(str).to_numpy(dtype=object), index=scores["entity_id"].astype(str).to_numpy(dtype=object))


def migration_matrix(scores_prev: pd.DataFrame, scores_cur: pd.DataFrame, *, column: str = "grade") -> pd.DataFrame:
    """Grade migration between two quarters (等级迁移矩阵).

    Parameters
    ----------
    scores_prev, scores_cur : DataFrame
        Scores of one as-of date each: ``entity_id`` and ``column``.
    column : str, default "grade"

    Returns
    -------
    DataFrame
        Indexed by ``(grade_prev, grade_cur)``: ``count`` and ``row_share`` (share of
        the previous grade's continuing entities). Every pair of grades seen appears,
        zeros included. Entities only in the current quarter are rows
        ``("new", grade)``, those only in the previous one ``(grade, "exited")``;
        their ``row_share`` is NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> prev = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "grade": ["A", "A", "B"]})
    >>> cur = pd.DataFrame({"entity_id": ["E1", "E2", "E4"], "grade": ["A", "B", "C"]})
    >>> m = migration_matrix(prev, cur)
    >>> m.loc[("A", "B")].tolist(), m.loc[("new", "C"), "count"], m.loc[("B", "exited"), "count"]
    ([1.0, 0.5], np.int64(1), np.int64(1))
    """
    prev = _grades(scores_prev, column)
    cur = _grades(scores_cur, column)
    both = prev.index.intersection(cur.index)
    grades = sorted(set(prev.unique()) | set(cur.unique()))
    pairs = pd.crosstab(
        pd.Categorical(prev.loc[both].to_numpy(), categories=grades),
        pd.Categorical(cur.loc[both].to_numpy(), categories=grades),
        dropna=False,
    )
    pairs.index.name, pairs.columns.name = "grade_prev", "grade_cur"
    long = pairs.stack().rename("count").astype(np.int64).to_frame()
    totals = long.groupby(level="grade_prev")["count"].transform("sum")
    long["row_share"] = long["count"] / totals.replace(0, np.nan)
    new = cur.loc[cur.index.difference(prev.index)].value_counts().reindex(grades, fill_value=0)
    exited = prev.loc[prev.index.difference(cur.index)].value_counts().reindex(grades, fill_value=0)
    extra = pd.DataFrame(
        {
            "grade_prev": [NEW] * len(grades) + grades,
            "grade_cur": grades + [EXITED] * len(grades),
            "count": np.concatenate([new.to_numpy(), exited.to_numpy()]).astype(np.int64),
            "row_share": np.nan,
        }
    ).set_index(["grade_prev", "grade_cur"])
    out = pd.concat([long, extra])
    out.index = pd.MultiIndex.from_arrays(
        [out.index.get_level_values(0).astype(str), out.index.get_level_values(1).astype(str)], names=["grade_prev", "grade_cur"]
    )
    return out


def grade_distribution(scores_over_time: pd.DataFrame | Mapping[Any, pd.DataFrame], *, column: str = "grade") -> pd.DataFrame:
    """Count and share of each grade at each as-of date.

    Parameters
    ----------
    scores_over_time : DataFrame or mapping of date to DataFrame
        Scores with ``as_of`` and ``column``, or one frame per as-of date.
    column : str, default "grade"

    Returns
    -------
    DataFrame
        ``as_of``, ``grade``, ``count``, ``share`` (of the date's entities); every
        grade seen appears at every date.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3 + ["2024-04-01"]),
    ...     "grade": ["A", "B", "B", "A"]})
    >>> grade_distribution(s)["share"].round(3).tolist()
    [0.333, 0.667, 1.0, 0.0]
    """
    if isinstance(scores_over_time, Mapping):
        frames = [f[[column]].assign(as_of=pd.Timestamp(t)) for t, f in scores_over_time.items()]
        scores_over_time = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["as_of", column])
    if not {"as_of", column} <= set(scores_over_time.columns):
        raise ValueError(f"scores must have columns as_of and {column!r}; got {list(scores_over_time.columns)}")
    table = pd.crosstab(scores_over_time["as_of"], scores_over_time[column].astype(str))
    long = table.stack().rename("count").astype(np.int64).reset_index()
    long.columns = ["as_of", "grade", "count"]
    long["share"] = long["count"] / long.groupby("as_of")["count"].transform("sum")
    long["as_of"] = long["as_of"].astype("datetime64[ns]")
    long["grade"] = long["grade"].astype("str")
    return long.sort_values(["as_of", "grade"], ignore_index=True)
