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
import pyarrow as pa
import pyarrow.compute as pc

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
    # any float NaN (float32 panels included) is a missing value, not "nan"
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
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
    return _row_units(catalog.loc[feature], "unit_zh" in catalog.columns or "unit_en" in catalog.columns)


def _row_units(row: Mapping[str, Any], has_units: bool) -> tuple[str, str]:
    """Units of a feature's catalog row: its own ``unit_zh``/``unit_en`` else by aggregation."""
    if has_units:
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

    The selection is vectorised over entities and the texts are built column-wise:
    labels and units are looked up once per feature, each distinct value of a
    feature is formatted once, and the pieces are joined as whole string columns.
    The texts equal :func:`top_reasons`' for every row.

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
    # rank by points, ties by feature name: over a name-sorted column order, argmin
    # takes the first of equal minima, so k rounds of argmin give a stable sort's first k
    by_name = np.argsort(np.asarray(features, dtype=object), kind="stable")
    work = matrix[:, by_name]
    work[np.isnan(work)] = np.inf  # never a reason; a stable sort puts NaN last too
    at = np.arange(n)
    ranked = np.empty((n, k_eff), dtype=np.int64)
    chosen = np.empty((n, k_eff), dtype=np.float64)
    for j in range(k_eff):
        position = work.argmin(axis=1)
        chosen[:, j] = work[at, position]
        ranked[:, j] = by_name[position]
        work[at, position] = np.inf
    texts = _FeatureTexts(features, catalog)
    # every chosen cell of every rank j at once: one pass per feature, not per (j, feature)
    rows, ranks = np.nonzero(chosen < 0)
    cols = ranked[rows, ranks]
    cell_points = chosen[rows, ranks]
    value_zh, value_en = _value_texts(values, list(points.columns), rows, cols, texts.units)
    points_text = _points_texts(cell_points)
    cell_feature = texts.feature.take(cols)
    cell_zh = _join(texts.label_zh.take(cols), " ", value_zh, "（", points_text, "分）")
    cell_en = _join(texts.label_en.take(cols), ": ", value_en, " (", points_text, " points)")
    out: dict[str, Any] = {}
    for j in range(k):
        cell = np.full(n, -1, dtype=np.int64)  # the row's chosen cell of rank j, -1 when none
        points_col = np.full(n, np.nan)
        if j < k_eff:
            at = np.flatnonzero(ranks == j)
            cell[rows[at]] = at
            points_col[rows[at]] = cell_points[at]
        out[f"reason_{j + 1}_feature"] = _str_column(cell_feature, cell)
        out[f"reason_{j + 1}_points"] = points_col
        out[f"reason_{j + 1}_text_zh"] = _str_column(cell_zh, cell)
        out[f"reason_{j + 1}_text_en"] = _str_column(cell_en, cell)
    return pd.DataFrame(out, index=points.index)


# Column-wise text building for reasons_frame. Each piece is worded by the same
# helpers as one reason (_format_value, _format_points, _units, the labels of
# _reason), but labels and units are looked up once per feature, a value is
# formatted once per distinct value of a feature and points once per distinct
# tenth; the pieces are then taken and joined as whole Arrow string columns (the
# storage of pandas' str dtype), so no step grows with per-row Python work.

_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str"


class _FeatureTexts:
    """Name, labels and units of every feature, looked up once, as Arrow string arrays."""

    def __init__(self, features: list[str], catalog: pd.DataFrame) -> None:
        # one catalog lookup for all features; each row then reads as _reason reads it
        rows = catalog.loc[features].to_dict("records")
        has_units = "unit_zh" in catalog.columns or "unit_en" in catalog.columns
        self.feature = _strings(features)
        self.label_zh = _strings([str(r.get("label_zh", "") or f) for r, f in zip(rows, features, strict=True)])
        self.label_en = _strings([str(r.get("label_en", "") or f) for r, f in zip(rows, features, strict=True)])
        self.units = [_row_units(r, has_units) for r in rows]


def _strings(texts: list[str]) -> pa.Array:
    return pa.array(texts, type=pa.large_string())


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and constant strings."""
    pieces = [pa.scalar(p, type=pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*pieces, pa.scalar("", type=pa.large_string()))


def _value_texts(
    values: pd.DataFrame, columns: list, rows: np.ndarray, cols: np.ndarray, units: list[tuple[str, str]]
) -> tuple[pa.Array, pa.Array]:
    """Value and unit of the chosen cells ``(rows[i], columns[cols[i]])`` as (zh, en) strings.

    Cells are grouped by feature; each feature's column is read once and each
    distinct value of it is formatted once.
    """
    shown_zh: list[str] = []
    shown_en: list[str] = []
    index = np.zeros(len(rows), dtype=np.int64)  # into shown_zh / shown_en
    order = np.argsort(cols, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(cols[order]) != 0]) if len(rows) else np.empty(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(order)]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        cells = order[start:end]
        c = int(cols[cells[0]])
        taken = values[columns[c]].take(rows[cells])
        codes, uniques = pd.factorize(taken, use_na_sentinel=False)
        index[cells] = len(shown_zh) + codes
        unit_zh, unit_en = units[c]
        for value in uniques:
            value_zh, value_en = _format_value(value)
            if value_zh == "无":
                shown_zh.append(value_zh)
                shown_en.append(value_en)
            else:
                shown_zh.append(value_zh + unit_zh)
                shown_en.append(value_en + unit_en)
    return _strings(shown_zh).take(index), _strings(shown_en).take(index)


# Below this magnitude, 10 * points is within 2e-9 of its exact value, so a distance
# of more than 1e-6 from a half tenth decides the rounding exactly as round() does.
_POINTS_EXACT_BELOW = 1e6
_HALF_TENTH_MARGIN = 1e-6


def _points_texts(points: np.ndarray) -> pa.Array:
    """:func:`_format_points` of each value, each distinct tenth worded once.

    Python's ``round(p, 1)`` rounds the exact binary value to the nearest tenth; the
    nearest integer to ``10 * p`` is the same tenth unless ``10 * p`` lies next to a
    half tenth (or ``p`` is huge or not finite): those few go through
    :func:`_format_points` itself.
    """
    values = np.asarray(points, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # huge or non-finite values are not "clear"
        scaled = values * 10.0
        clear = (np.abs(values) < _POINTS_EXACT_BELOW) & (
            np.abs(scaled - np.floor(scaled) - 0.5) > _HALF_TENTH_MARGIN
        )
    tenths, inverse = np.unique(np.rint(scaled[clear]).astype(np.int64), return_inverse=True)
    texts = [_tenths_text(t) for t in tenths.tolist()]
    index = np.empty(values.size, dtype=np.int64)
    index[clear] = inverse
    unclear = np.flatnonzero(~clear)
    index[unclear] = len(texts) + np.arange(unclear.size)
    texts += [_format_points(p) for p in values[unclear].tolist()]
    return _strings(texts).take(index)


def _tenths_text(tenths: int) -> str:
    """``tenths / 10`` as :func:`_format_points` writes it ("+3", "-12.5")."""
    whole, digit = divmod(abs(tenths), 10)
    return f"{'-' if tenths < 0 else '+'}{whole}" + (f".{digit}" if digit else "")


def _str_column(cells: pa.Array, cell: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``cells[cell[i]]`` per row, "" where ``cell[i] < 0``, as a pandas str column."""
    taken = cells.take(pa.array(cell, mask=cell < 0))
    return pd.arrays.ArrowStringArray(pc.fill_null(taken, ""), dtype=_STR_DTYPE)
