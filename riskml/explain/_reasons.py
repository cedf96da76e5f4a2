"""Reason texts: the features that lowered a score most, in plain Chinese and English.

A reason reads like "近365天行政处罚 2 次（-35分）" / "Penalties in the last 365 days: 2
(-35 points)": the catalog's label, the entity's value with a unit taken from the
aggregation (or the catalog's optional ``unit_zh`` / ``unit_en`` columns) and the
points the feature cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REASON_KEYS", "reasons_frame", "top_reasons"]

#: keys of one reason
REASON_KEYS: tuple[str, ...] = ("feature", "points", "value", "text_zh", "text_en")

# unit of the value by the feature's aggregation (zh, en)
_UNITS: dict[str, tuple[str, str]] = {
    "count": (" 次", ""),
    "distinct": (" 个", ""),
    "distinct_count": (" 个", ""),
    "days_since_last": (" 天", " days"),
    "days_since_first": (" 天", " days"),
    "days_to_expiry": (" 天", " days"),
}


def _format_value(value: Any) -> tuple[str, str]:
    """The value as shown in a reason (zh, en)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "无", "none"
    if isinstance(value, (bool, np.bool_)):
        return ("是", "yes") if value else ("否", "no")
    if isinstance(value, (int, np.integer)):
        return str(int(value)), str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if number.is_integer() and abs(number) < 1e15:
            text = str(int(number))
        else:
            text = f"{number:.2f}".rstrip("0").rstrip(".")
        return text, text
    return str(value), str(value)


def _format_points(points: float) -> str:
    rounded = round(float(points), 1)
    if rounded == 0:
        rounded = 0.0  # no "-0"
    text = f"{rounded:+.1f}".rstrip("0").rstrip(".")
    return text


def _units(catalog: pd.DataFrame, feature: str) -> tuple[str, str]:
    row = catalog.loc[feature]
    if "unit_zh" in catalog.columns or "unit_en" in catalog.columns:
        zh = row.get("unit_zh", "")
        en = row.get("unit_en", "")
        if isinstance(zh, str) or isinstance(en, str):
            return (f" {zh}" if isinstance(zh, str) and zh else "", f" {en}" if isinstance(en, str) and en else "")
    aggregation = str(row.get("aggregation", ""))
    return _UNITS.get(aggregation, ("", ""))


def _reason(feature: str, points: float, value: Any, catalog: pd.DataFrame) -> dict[str, Any]:
    row = catalog.loc[feature]
    label_zh = str(row.get("label_zh", "") or feature)
    label_en = str(row.get("label_en", "") or feature)
    value_zh, value_en = _format_value(value)
    unit_zh, unit_en = _units(catalog, feature) if value_zh != "无" else ("", "")
    text_points = _format_points(points)
    return {
        "feature": feature,
        "points": float(points),
        "value": value,
        "text_zh": f"{label_zh} {value_zh}{unit_zh}（{text_points}分）",
        "text_en": f"{label_en}: {value_en}{unit_en} ({text_points} points)",
    }


def top_reasons(
    points_row: pd.Series | Mapping[str, float],
    values_row: pd.Series | Mapping[str, Any],
    catalog: pd.DataFrame,
    k: int = 3,
) -> list[dict[str, Any]]:
    """The ``k`` features that lowered one entity's score most, as reason texts.

    Parameters
    ----------
    points_row : Series or mapping
        Points per feature for one entity (negative = lowers the score).
    values_row : Series or mapping
        The entity's feature values (panel row).
    catalog : DataFrame
        Feature catalog indexed by feature with ``label_zh``, ``label_en`` and
        ``aggregation`` (optional ``unit_zh`` / ``unit_en``).
    k : int, default 3
        Most reasons to return.

    Returns
    -------
    list of dict
        Keys ``feature``, ``points``, ``value``, ``text_zh``, ``text_en``; only
        features with negative points, most negative first (ties by feature name);
        empty when nothing lowered the score.

    Raises
    ------
    KeyError
        If a reason's feature is missing from the catalog or the values.

    Examples
    --------
    >>> catalog = pd.DataFrame(
    ...     {"label_zh": ["近365天行政处罚", "成立天数"],
    ...      "label_en": ["Penalties in the last 365 days", "Days since establishment"],
    ...      "aggregation": ["count", "days_since_first"]},
    ...     index=["penalty_count_365d", "age_days"])
    >>> points = pd.Series({"penalty_count_365d": -35.0, "age_days": 4.0})
    >>> values = pd.Series({"penalty_count_365d": 2.0, "age_days": 900.0})
    >>> reasons = top_reasons(points, values, catalog)
    >>> [(r["text_zh"], r["text_en"]) for r in reasons]
    [('近365天行政处罚 2 次（-35分）', 'Penalties in the last 365 days: 2 (-35 points)')]
    """
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    series = pd.Series(points_row, dtype=np.float64)
    negative = series[series < 0]
    ranked = pd.DataFrame({"feature": negative.index.astype(str), "points": negative.to_numpy()})
    ranked = ranked.sort_values(["points", "feature"], kind="stable").head(k)
    missing = [f for f in ranked["feature"] if f not in catalog.index]
    if missing:
        raise KeyError(f"features missing from the catalog: {missing}")
    return [_reason(f, p, values_row[f], catalog) for f, p in zip(ranked["feature"], ranked["points"], strict=True)]


def reasons_frame(points: pd.DataFrame, values: pd.DataFrame, catalog: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Top ``k`` reasons of many entities at once, one row per entity.

    The selection is vectorised over entities; only the chosen ``n x k`` cells are
    formatted into text.

    Parameters
    ----------
    points : DataFrame
        Points per feature (columns), one row per entity.
    values : DataFrame
        Feature values with at least the columns of ``points``, rows as ``points``.
    catalog : DataFrame
        As for :func:`top_reasons`.
    k : int, default 3

    Returns
    -------
    DataFrame
        Columns ``reason_{j}_feature``, ``reason_{j}_points``, ``reason_{j}_text_zh``
        and ``reason_{j}_text_en`` for ``j = 1..k``; "" and NaN where an entity has
        fewer than ``j`` features that lowered its score. Index of ``points``.

    Examples
    --------
    >>> catalog = pd.DataFrame({"label_zh": ["近365天行政处罚"], "label_en": ["Penalties (365d)"],
    ...                         "aggregation": ["count"]}, index=["penalty_count_365d"])
    >>> points = pd.DataFrame({"penalty_count_365d": [-35.0, 2.0]})
    >>> frame = reasons_frame(points, points.abs() / 17.5, catalog, k=1)
    >>> frame["reason_1_text_en"].tolist()
    ['Penalties (365d): 2 (-35 points)', '']
    """
    if k < 1:
        raise ValueError(f"k must be at least 1; got {k}")
    features = [str(c) for c in points.columns]
    if len(values) != len(points):
        raise ValueError(f"values has {len(values)} rows but points has {len(points)}")
    missing = [f for f in features if f not in catalog.index]
    if missing:
        raise KeyError(f"features missing from the catalog: {missing[:5]}")
    matrix = points.to_numpy(dtype=np.float64)
    n, width = matrix.shape
    k_eff = min(k, width)
    # rank by points, ties by feature name (stable over a name-sorted column order)
    by_name = np.argsort(np.asarray(features, dtype=object), kind="stable")
    ranked = by_name[np.argsort(matrix[:, by_name], axis=1, kind="stable")[:, :k_eff]]
    chosen = np.take_along_axis(matrix, ranked, axis=1)
    value_matrix = values[list(points.columns)]
    out: dict[str, Any] = {}
    for j in range(k):
        feature_col = np.full(n, "", dtype=object)
        points_col = np.full(n, np.nan)
        zh_col = np.full(n, "", dtype=object)
        en_col = np.full(n, "", dtype=object)
        if j < k_eff:
            rows = np.flatnonzero(chosen[:, j] < 0)
            cols = ranked[rows, j]
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                reason = _reason(features[c], matrix[r, c], value_matrix.iat[r, c], catalog)
                feature_col[r] = reason["feature"]
                points_col[r] = reason["points"]
                zh_col[r] = reason["text_zh"]
                en_col[r] = reason["text_en"]
        out[f"reason_{j + 1}_feature"] = pd.array(feature_col.astype(str), dtype="str")
        out[f"reason_{j + 1}_points"] = points_col
        out[f"reason_{j + 1}_text_zh"] = pd.array(zh_col.astype(str), dtype="str")
        out[f"reason_{j + 1}_text_en"] = pd.array(en_col.astype(str), dtype="str")
    return pd.DataFrame(out, index=points.index)
