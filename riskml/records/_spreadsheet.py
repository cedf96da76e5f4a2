"""CSV that is safe to open in a spreadsheet (formula injection).

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula: a record id ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` in an
inspection plan would run on an inspector's machine. Following OWASP's rule, every CSV
riskml writes prefixes such text cells with a single quote (``'=2+5``), which the
spreadsheet shows as text. Only text cells change: numbers (``-5.0``) stay numbers, and
Parquet files are always written exactly. :func:`~riskml.records.read` removes the
quote again from the CSV files riskml wrote, so records survive a CSV round trip.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
from pandas.api.types import is_bool_dtype, is_datetime64_any_dtype, is_numeric_dtype

__all__ = ["FORMULA_STARTS", "neutralise_formulas", "restore_formulas", "write_csv"]

#: First characters that make a spreadsheet cell a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"
# Text that needs a quote: a formula start, possibly behind quotes already (so that a
# value written as "'=x" on purpose also reads back exactly).
_RISKY = r"^'*[=+\-@\t\r]"
_RESTORE = r"^'(?='*[=+\-@\t\r])"


def _is_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    return not (is_numeric_dtype(dtype) or is_bool_dtype(dtype) or is_datetime64_any_dtype(dtype))


def _neutralise(values: pd.Series) -> pd.Series:
    text = values.astype("str")  # missing values stay missing
    risky = text.str.contains(_RISKY, regex=True).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return values
    return text.where(~risky, _QUOTE + text)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text cells starting with one of :data:`FORMULA_STARTS` (or with quotes followed by
    one) get a leading ``'``; numbers, dates, booleans and missing values are
    unchanged, and so is any other text. :func:`restore_formulas` undoes it exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import neutralise_formulas
    >>> frame = pd.DataFrame({"id": ["=2+5", "E1", "@SUM(A1)", None], "amount": [-5.0, 1.0, 2.0, 3.0]})
    >>> neutralise_formulas(frame).to_dict("list")
    {'id': ["'=2+5", 'E1', "'@SUM(A1)", nan], 'amount': [-5.0, 1.0, 2.0, 3.0]}
    """
    out = frame.copy()
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        if _is_text(col):
            out.isetitem(i, _neutralise(col))
    if _is_text(frame.index):
        out.index = pd.Index(_neutralise(frame.index.to_series()).to_numpy(), name=frame.index.name)
    return out


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` on text columns read from a CSV riskml wrote.

    Examples
    --------
    >>> import pandas as pd
    >>> restore_formulas(pd.DataFrame({"id": ["'=2+5", "'x", "E1"]}))["id"].tolist()
    ['=2+5', "'x", 'E1']
    """
    out = frame.copy()
    for i in range(frame.shape[1]):
        col = frame.iloc[:, i]
        if _is_text(col):
            out.isetitem(i, col.str.replace(_RESTORE, "", regex=True) if col.notna().any() else col)
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> str | None:
    """``frame.to_csv(path, **kwargs)`` with formulas neutralised; the text when ``path`` is None.

    Lines end in CRLF (RFC 4180), so a carriage return inside a cell is quoted rather
    than read as the end of a row.
    """
    kwargs.setdefault("lineterminator", "\r\n")
    return neutralise_formulas(frame).to_csv(path, **kwargs)
