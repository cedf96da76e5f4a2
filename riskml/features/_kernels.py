"""Vectorised window and state aggregates over records sorted by entity and time.

The records of one source are sorted once by a single int64 key
``entity_code * 2**20 + known_day`` (days counted from 1900-01-01). For a grid row
``(e, t)`` the records of ``e`` known in ``[t - w, t)`` are then the contiguous slice
``[lo, hi)`` of the sorted records, with ``lo`` and ``hi`` found by ``np.searchsorted``.
Counts and sums are differences of cumulative sums at ``hi`` and ``lo``; the latest
and first matching records come from running maxima/minima of record positions;
maxima, minima and distinct counts reduce the slices of one as-of date at a time
with ``np.ufunc.reduceat`` (the slices of one date are disjoint and ordered).

Every function here is pure: arrays in, arrays out, no specs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskml._time import NS_PER_DAY

__all__ = [
    "DAY_BITS",
    "entity_codes",
    "EPOCH_OFFSET",
    "SortedRecords",
    "count_in",
    "first_index",
    "last_index",
    "reduce_in",
    "sort_records",
    "sum_in",
    "to_days",
]

#: Bits of the sort key holding the day; 2**20 days is ~2,870 years.
DAY_BITS = 20
#: Days from 1900-01-01 to 1970-01-01: keys count days from 1900 so they stay >= 0.
EPOCH_OFFSET = 25_567
#: Sums are exact in units of 1 / SUM_SCALE (cents for money columns).
SUM_SCALE = 100
_NS = np.dtype("datetime64[ns]")
_NAT = np.iinfo(np.int64).min
#: Day number meaning "never" (a missing end date).
NEVER = np.iinfo(np.int64).max // 4


def to_days(values: np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 of datetime64 values (any unit); NaT -> ``NEVER``.

    Examples
    --------
    >>> import numpy as np
    >>> to_days(np.array(["1970-01-02", "NaT"], dtype="datetime64[ns]")).tolist()[0]
    1
    """
    values = np.asarray(values)
    if values.dtype == _NS:
        # integer division is several times faster than a datetime64[D] cast
        raw = values.view(np.int64)
        out = raw // NS_PER_DAY
        out[raw == _NAT] = NEVER
        return out
    days = values.astype("datetime64[D]")
    out = days.astype(np.int64)
    out[np.isnat(days)] = NEVER
    return out


def entity_codes(ids: pd.Index, values: Any) -> np.ndarray:
    """Position of each value in ``ids`` (unique entity ids), or -1 when absent.

    A hash lookup in Arrow: on millions of string ids it is an order of magnitude
    faster than ``pandas.Index.get_indexer``.

    Examples
    --------
    >>> import pandas as pd
    >>> entity_codes(pd.Index(["E1", "E2"]), pd.Series(["E2", "E9", None, "E1"])).tolist()
    [1, -1, -1, 0]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    found = pc.index_in(pa.array(values, from_pandas=True).cast(text), value_set=pa.array(ids, from_pandas=True).cast(text))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


class SortedRecords:
    """The records of one source, sorted by (entity code, known day), stable.

    Attributes
    ----------
    order : ndarray of int64
        Positions in the input of the sorted records.
    key : ndarray of int64
        Sorted keys ``entity_code << DAY_BITS | (known_day + EPOCH_OFFSET)``.
    entity : ndarray of int64
        Entity code of each sorted record.
    day : ndarray of int64
        Known day (since 1970) of each sorted record.
    """

    def __init__(self, entity: np.ndarray, day: np.ndarray) -> None:
        key = (entity.astype(np.int64) << DAY_BITS) | (day.astype(np.int64) + EPOCH_OFFSET)
        self.order = np.argsort(key, kind="stable")
        self.key = key[self.order]
        self.entity = entity[self.order].astype(np.int64)
        self.day = day[self.order].astype(np.int64)

    def __len__(self) -> int:
        return len(self.key)

    def take(self, values: np.ndarray) -> np.ndarray:
        """``values`` (aligned with the input records) in sorted order."""
        return values[self.order]

    def position(self, entity: np.ndarray, day: np.ndarray | int) -> np.ndarray:
        """Index of the first sorted record of ``entity`` known on or after ``day``.

        ``day`` below 1900 clamps to the entity's first record.
        """
        shifted = np.maximum(np.asarray(day, dtype=np.int64) + EPOCH_OFFSET, 0)
        return np.searchsorted(self.key, (entity.astype(np.int64) << DAY_BITS) | shifted, side="left")


def sort_records(entity: np.ndarray, day: np.ndarray) -> SortedRecords:
    """Sort records by entity code then known day (stable).

    Examples
    --------
    >>> import numpy as np
    >>> s = sort_records(np.array([1, 0, 1]), np.array([5, 9, 2]))
    >>> s.order.tolist(), s.day.tolist()
    ([1, 2, 0], [9, 2, 5])
    """
    return SortedRecords(np.asarray(entity), np.asarray(day))


def _prefix(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values) + 1, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    out[0] = 0
    np.cumsum(values, out=out[1:])
    return out


def count_in(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Number of ``mask`` records in each slice ``[lo, hi)`` (float64).

    Examples
    --------
    >>> import numpy as np
    >>> count_in(np.array([True, False, True]), np.array([0, 1]), np.array([3, 3])).tolist()
    [2.0, 1.0]
    """
    c = _prefix(mask.astype(np.int64))
    return (c[hi] - c[lo]).astype(np.float64)


def sum_in(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (NaN already replaced by 0) in each slice ``[lo, hi)``.

    Values are rounded to ``1 / SUM_SCALE`` (the cent) and summed as integers, so a
    slice's sum does not depend on any record outside it. That holds for any input:
    an infinite or NaN value makes only its own slices infinite or NaN (as the plain
    sum of the slice would be), and values too large for integer cents are summed
    slice by slice rather than as differences of a running total.

    Examples
    --------
    >>> import numpy as np
    >>> sum_in(np.array([1.0, 2.0, 4.0]), np.array([0, 1]), np.array([2, 3])).tolist()
    [3.0, 6.0]
    >>> sum_in(np.array([1.0, np.inf, 4.0]), np.array([0, 2]), np.array([2, 3])).tolist()
    [inf, 4.0]
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        # inf - inf in a running total would be NaN for every later slice (other
        # entities): sum the finite part, then apply each slice's own non-finite values.
        out = sum_in(np.where(finite, values, 0.0), lo, hi)
        n_pos = count_in(values == np.inf, lo, hi)
        n_neg = count_in(values == -np.inf, lo, hi)
        n_nan = count_in(np.isnan(values), lo, hi)
        out = np.where(n_pos > 0, np.inf, out)
        out = np.where(n_neg > 0, -np.inf, out)
        return np.where((n_nan > 0) | ((n_pos > 0) & (n_neg > 0)), np.nan, out)
    # Sums are taken as integer hundredths (exact to the cent): a difference of float
    # prefix sums would depend on the records of the entities sorted before this one,
    # so the same entity could get a different last bit in another bucket (Spark).
    with np.errstate(over="ignore"):
        scaled = np.rint(values * SUM_SCALE)
    # A value beyond exact float64 cents (2**53 cents, ~9e13) is summed as a float
    # within its own slices only; every other slice keeps its exact integer sum.
    big = ~(np.abs(scaled) < 2.0**53)
    small = np.where(big, 0.0, scaled)
    if len(small) and float(np.abs(small).sum()) >= 2.0**62:
        c = _prefix(np.where(big, 0.0, values))  # too large for int64 cents: float sums
        out = c[hi] - c[lo]
    else:
        c = _prefix(small.astype(np.int64))
        out = (c[hi] - c[lo]) / SUM_SCALE
    if big.any():
        out = np.where(count_in(big, lo, hi) > 0, _slice_sums(values, lo, hi), out)
    return out


def _slice_sums(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Float sum of each slice ``[lo, hi)`` from its own values only (``reduceat``)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    if len(lo) == 0:
        return np.empty(0, dtype=np.float64)
    work = np.append(values, 0.0)  # a sentinel keeps every index in range
    bounds = np.empty(2 * len(lo), dtype=np.int64)
    bounds[0::2] = lo
    bounds[1::2] = hi
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.add.reduceat(work, bounds)[0::2]
    return np.where(hi > lo, out, 0.0)


def last_index(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Index of the last ``mask`` record in each slice ``[lo, hi)``, or -1.

    Examples
    --------
    >>> import numpy as np
    >>> last_index(np.array([True, False, True, False]), np.array([0, 3]), np.array([2, 4])).tolist()
    [0, -1]
    """
    n = len(mask)
    running = np.maximum.accumulate(np.where(mask, np.arange(n), -1)) if n else np.empty(0, dtype=np.int64)
    padded = np.concatenate([[-1], running])
    j = padded[hi]  # running[hi - 1], or -1 for an empty prefix
    return np.where(j >= lo, j, -1)


def first_index(mask: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Index of the first ``mask`` record in each slice ``[lo, hi)``, or -1.

    Examples
    --------
    >>> import numpy as np
    >>> first_index(np.array([False, True, True]), np.array([0, 0]), np.array([3, 1])).tolist()
    [1, -1]
    """
    n = len(mask)
    if n:
        running = np.minimum.accumulate(np.where(mask, np.arange(n), n)[::-1])[::-1]
    else:
        running = np.empty(0, dtype=np.int64)
    padded = np.concatenate([running, [n]])
    j = padded[lo]
    return np.where(j < hi, j, -1)


def reduce_in(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, op: str) -> np.ndarray:
    """Maximum or minimum of ``values`` in each slice ``[lo, hi)``; NaN when empty.

    The slices must be ordered and disjoint (``hi[i] <= lo[i + 1]``), as the slices of
    distinct entities at one as-of date are. Missing values are NaN and are skipped.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([3.0, np.nan, 7.0, 1.0])
    >>> reduce_in(v, np.array([0, 2, 4]), np.array([2, 4, 4]), "max").tolist()
    [3.0, 7.0, nan]
    """
    if op not in ("max", "min"):
        raise ValueError(f"op must be 'max' or 'min', not {op!r}")
    fill = -np.inf if op == "max" else np.inf
    ufunc = np.maximum if op == "max" else np.minimum
    # A sentinel at the end keeps every reduceat index in range.
    work = np.append(np.where(np.isnan(values), fill, values), fill)
    if len(lo) == 0:
        return np.empty(0, dtype=np.float64)
    bounds = np.empty(2 * len(lo), dtype=np.int64)
    bounds[0::2] = lo
    bounds[1::2] = hi
    out = ufunc.reduceat(work, bounds)[0::2]
    out = np.where((hi > lo) & np.isfinite(out), out, np.nan)
    return out.astype(np.float64)


def distinct_in(codes: np.ndarray, lo: np.ndarray, hi: np.ndarray, entity: np.ndarray) -> np.ndarray:
    """Number of distinct non-negative ``codes`` in each slice ``[lo, hi)``.

    The slices must be disjoint (one as-of date) and ``entity`` gives each record's
    entity code; codes < 0 (missing or filtered out) are ignored.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([0, 0, 1, 2, -1])
    >>> distinct_in(codes, np.array([0, 3]), np.array([3, 5]), np.array([0, 0, 0, 1, 1])).tolist()
    [2.0, 1.0]
    """
    n = len(codes)
    out = np.zeros(len(lo), dtype=np.float64)
    if n == 0 or len(lo) == 0:
        return out
    # Mark the records inside some slice with a difference array.
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, lo, 1)
    np.add.at(marks, hi, -1)
    inside = np.cumsum(marks[:-1]) > 0
    keep = inside & (codes >= 0)
    if not keep.any():
        return out
    span = int(codes.max()) + 1
    pairs = np.unique(entity[keep] * span + codes[keep])
    per_entity = np.bincount(pairs // span, minlength=int(entity.max()) + 1)
    slice_entity = entity[np.minimum(lo, n - 1)]
    return np.where(hi > lo, per_entity[slice_entity], 0).astype(np.float64)
