"""Typed DataFrames from generator arrays, following a source's declaration.

The generator works on numpy arrays (dates as int64 day numbers, categories as codes
into its own vocabulary); :func:`to_frame` turns them into a table with exactly the
declared columns, in declared order, with the dtypes of the records contract.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskml.records import SourceSpec
from riskml.synth._fake import format_ids
from riskml.synth._population import NEVER

__all__ = ["Codes", "to_frame"]


class Codes:
    """Category codes into the generator's ``vocabulary``; mapped to the declared order."""

    __slots__ = ("codes", "vocabulary")

    def __init__(self, codes: np.ndarray, vocabulary: Sequence[str]) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.vocabulary = tuple(vocabulary)


def _dates(days: np.ndarray, end: np.int64, nullable: bool, where: str) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]")
    if nullable:
        # What happens after the end of the data (an exit, a repair) is not known yet.
        out[days > end] = np.datetime64("NaT")
    elif (days >= NEVER).any():
        raise ValueError(f"{where}: an open date in a column that is not nullable")
    return out.astype("datetime64[ns]")


def _column(spec: SourceSpec, name: str, value: object, end: np.int64, n: int) -> object:
    col = spec.columns[name]
    if col.type == "str":
        series = value if isinstance(value, pd.Series) else pd.Series(value, dtype="str")
        return series.astype("str").reset_index(drop=True)
    if col.type == "date":
        return _dates(value, end, col.nullable, f"{spec.name}.{name}")  # type: ignore[arg-type]
    if col.type == "category":
        if not isinstance(value, Codes):
            raise TypeError(f"{spec.name}.{name}: expected Codes for a category column, got {type(value).__name__}")
        unknown = sorted(set(value.vocabulary) - set(col.categories or ()))
        if unknown:
            raise ValueError(f"{spec.name}.{name}: generator categories {unknown} are not declared; declared: {list(col.categories or ())}")
        remap = np.array([col.categories.index(v) for v in value.vocabulary], dtype=np.int64)  # type: ignore[union-attr]
        return pd.Categorical.from_codes(remap[value.codes] if n else np.zeros(0, np.int64), categories=list(col.categories or ()))
    if col.type == "int":
        arr = np.asarray(value, dtype=np.float64)
        if col.nullable:
            return pd.array(arr, dtype="Int64")
        return arr.astype(np.int64)
    if col.type == "float":
        return np.asarray(value, dtype=np.float64)
    return np.asarray(value, dtype=bool)


def to_frame(spec: SourceSpec, columns: Mapping[str, object], end: np.int64, id_prefix: str | None = None) -> pd.DataFrame:
    """A table of source ``spec`` from generator arrays.

    In nullable date columns, dates later than ``end`` (including :data:`NEVER`)
    become null: an exit or a repair after the end of the data is not known yet.
    Non-nullable dates are kept (a licence's expiry is known when it is issued); the
    builders only write records whose ``known_at`` is on or before ``end``. When ``id_prefix`` is given, the record id column is
    numbered ``<prefix>00000001`` onwards in row order.
    """
    n = len(next(iter(columns.values())))
    data = dict(columns)
    if id_prefix is not None:
        data[spec.record_id] = format_ids(id_prefix, np.arange(1, n + 1))
    missing = sorted(set(spec.columns) - set(data))
    extra = sorted(set(data) - set(spec.columns))
    if missing or extra:
        raise ValueError(f"{spec.name}: generated columns differ from the declaration; missing {missing}, undeclared {extra}")
    frame = pd.DataFrame({name: _column(spec, name, data[name], end, n) for name in spec.columns})
    return frame
