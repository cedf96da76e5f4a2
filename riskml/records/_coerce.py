"""Coercion of one column to its declared dtype, and the mark of a table already coerced.

:func:`coerce_column` turns a column as given (text from CSV, typed values from Parquet,
a database or pandas) into the dtype its :class:`~riskml.records._sources.ColumnSpec` declares
and flags the values that do not parse. Records are coerced once on the way in: the
reader (:func:`riskml.records.from_frames`) coerces every column whose values all
parse and marks those columns on the table (:func:`mark_coerced`), and validation
takes a marked column as it is (:func:`coerced_or_parse`) instead of parsing it again;
columns with unparseable values are kept as given and parsed by validation, which
reports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.types import (
    is_bool_dtype,
    is_datetime64_any_dtype,
    is_integer_dtype,
    is_numeric_dtype,
)

from riskml.records._sources import ColumnSpec

__all__ = ["Coerced", "coerce_column", "coerced_or_parse", "final_dtype", "mark_coerced", "unmarked"]

# Text accepted for bool columns (compared lower-cased and stripped).
_BOOL_TEXT = {
    "true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
    "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False,
}  # fmt: skip
_TS_MIN = pd.Timestamp.min.ceil("D")
_TS_MAX = pd.Timestamp.max.floor("D")


@dataclass(frozen=True)
class Coerced:
    """A column coerced to its declared dtype: ``bad`` rows could not be parsed."""

    values: pd.Series
    bad: np.ndarray
    reason: str | None


def coerce_column(raw: pd.Series, spec: ColumnSpec) -> Coerced:
    """Coerce one column to its declared type; unparseable values become null and are flagged.

    Parameters
    ----------
    raw : Series
        The column as given (strings from CSV, typed values from Parquet or pandas).
    spec : ColumnSpec
        Its declaration.

    Returns
    -------
    Coerced
        ``values`` in the declared dtype (``Int64``/``boolean`` while nulls remain),
        ``bad`` a boolean array of the rows that could not be parsed, and ``reason``
        the quarantine reason for them (``wrong_type``, ``unparseable_date`` or
        ``unknown_category``).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records._sources import ColumnSpec
    >>> from riskml.records._coerce import coerce_column
    >>> c = coerce_column(pd.Series(["2024-03-01", "1 March"]), ColumnSpec(type="date"))
    >>> c.values.dtype, c.bad.tolist(), c.reason
    (dtype('<M8[ns]'), [False, True], 'unparseable_date')
    """
    kind = spec.type
    notna = raw.notna().to_numpy()
    if kind == "str":
        values = raw if raw.dtype == "str" else raw.astype("str")
        # A blank text is a missing value: CSV cannot tell "" from null, so keeping it
        # would make validated records fail validation after a CSV round trip.
        blank = _blank(values)
        if blank.any():
            values = values.where(~blank)
        return Coerced(values, np.zeros(len(raw), dtype=bool), None)
    if kind == "int":
        if is_integer_dtype(raw.dtype) or is_bool_dtype(raw.dtype):
            return Coerced(raw.astype("Int64"), np.zeros(len(raw), dtype=bool), "wrong_type")
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        arr = num.to_numpy()
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(arr) & (np.mod(arr, 1) == 0) & (np.abs(arr) < 2**63)
        bad = notna & ~ok
        return Coerced(num.where(ok).astype("Int64"), bad, "wrong_type")
    if kind == "float":
        if is_numeric_dtype(raw.dtype) and not is_bool_dtype(raw.dtype):
            return Coerced(raw.astype("float64"), np.zeros(len(raw), dtype=bool), "wrong_type")
        num = pd.to_numeric(raw, errors="coerce").astype("float64")
        bad = notna & num.isna().to_numpy()
        return Coerced(num, bad, "wrong_type")
    if kind == "bool":
        if is_bool_dtype(raw.dtype):
            return Coerced(raw.astype("boolean"), np.zeros(len(raw), dtype=bool), "wrong_type")
        text = raw.astype("str").str.strip().str.lower()
        parsed = text.map(_BOOL_TEXT).astype("boolean")
        bad = notna & parsed.isna().to_numpy()
        return Coerced(parsed, bad, "wrong_type")
    if kind == "date":
        return _coerce_date(raw, notna)
    # category
    declared = list(spec.categories or ())
    dtype = pd.CategoricalDtype(declared, ordered=False)
    if isinstance(raw.dtype, pd.CategoricalDtype) and list(raw.cat.categories) == declared and not raw.cat.ordered:
        return Coerced(raw, np.zeros(len(raw), dtype=bool), "unknown_category")
    text = raw.astype("str")
    bad = notna & ~text.isin(declared).to_numpy()
    return Coerced(text.where(~bad).astype(dtype), bad, "unknown_category")


def _blank(values: pd.Series) -> np.ndarray:
    """Rows holding an empty or whitespace-only text."""
    return values.str.strip().eq("").fillna(False).to_numpy(dtype=bool)


# A time of day with a zone designator at the end of an ISO 8601 text ("T10:00+08:00").
_ZONE_SUFFIX = r"(?<=\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"


def _coerce_date(raw: pd.Series, notna: np.ndarray) -> Coerced:
    if is_datetime64_any_dtype(raw.dtype):
        parsed = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) is not None else raw
    else:
        # Numbers (20240301) are parsed as their text; only ISO 8601 is accepted because
        # day-first and month-first text ("01/03/2024") cannot be told apart.
        text = raw.astype("str") if is_numeric_dtype(raw.dtype) else raw
        if not is_numeric_dtype(raw.dtype):
            # The declared rule for zoned times: the calendar date as written, zone
            # dropped (as for a timezone-aware column). Mixed zones in one column would
            # otherwise fail the whole batch.
            text = text.astype("str").where(raw.notna()).str.replace(_ZONE_SUFFIX, "", regex=True)
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
    in_range = (parsed >= _TS_MIN) & (parsed <= _TS_MAX)
    parsed = parsed.where(in_range).astype("datetime64[ns]").dt.normalize()
    bad = notna & parsed.isna().to_numpy()
    return Coerced(parsed, bad, "unparseable_date")


def final_dtype(values: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Non-nullable int and bool columns without nulls get their plain numpy dtypes."""
    if spec.type in ("int", "bool") and not spec.nullable and not values.isna().any():
        return values.astype("int64" if spec.type == "int" else "bool")
    return values


# The key of ``DataFrame.attrs`` under which the reader lists the columns it coerced,
# each with the dtype it left them in.
_COERCED = "riskml.coerced"


def mark_coerced(frame: pd.DataFrame, columns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Mark ``columns`` of ``frame`` as coerced to their declared dtypes (in place).

    Parameters
    ----------
    frame : DataFrame
        A table whose ``columns`` were produced by :func:`coerce_column` (and
        :func:`final_dtype`) and parsed without a bad value.
    columns : mapping of str to Series
        The coerced columns.

    Returns
    -------
    DataFrame
        ``frame``, marked.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"n": [1, 2]})
    >>> sorted(mark_coerced(frame, {"n": frame["n"]}).attrs["riskml.coerced"].items())
    [('n', 'int64')]
    """
    frame.attrs[_COERCED] = {col: str(values.dtype) for col, values in columns.items()}
    return frame


def coerced_or_parse(table: pd.DataFrame, column: str, spec: ColumnSpec) -> Coerced:
    """The column coerced: as it is when the reader marked it, else by :func:`coerce_column`.

    A marked column is taken as it is only while it still has the dtype the reader
    left it in (a column replaced since is parsed again). Text columns are always
    checked again: a value edited in place keeps the dtype, and a blank id that slipped
    through would make the validated records fail validation after a CSV round trip.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records._sources import ColumnSpec
    >>> frame = pd.DataFrame({"d": ["2024-03-01"]})
    >>> coerced_or_parse(frame, "d", ColumnSpec(type="date")).values.dtype
    dtype('<M8[ns]')
    """
    values = table[column]
    marked = table.attrs.get(_COERCED, {})
    if marked.get(column) == str(values.dtype) and spec.type != "str":
        return Coerced(values, np.zeros(len(values), dtype=bool), None)
    return coerce_column(values, spec)


def unmarked(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the reader's mark (a shallow copy when it has one), for writing.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = mark_coerced(pd.DataFrame({"n": [1]}), {})
    >>> unmarked(frame).attrs, "riskml.coerced" in frame.attrs
    ({}, True)
    """
    if _COERCED not in frame.attrs:
        return frame
    out = frame.copy(deep=False)
    out.attrs = {k: v for k, v in frame.attrs.items() if k != _COERCED}
    return out
