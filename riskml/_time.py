"""The one rule for as-of dates, day numbers and "alive at t".

Every panel row, score, warning and explanation is computed *as of* a date: what was
known before that day began. An as-of date is therefore a calendar day, held as a
tz-naive midnight ``pandas.Timestamp``. A time of day or a timezone would make "known
before ``t``" ambiguous (before which instant, in which zone?), so both are refused
with an error naming the value and what to pass instead, never quietly rounded: the
same input is accepted or refused the same way on every path (``build_panel``,
``predict``, ``explain_entity``, ``rule_warnings``, what-ifs, evidence).

Inside the engine dates are whole day numbers (days since 1970-01-01, int64), so a
window ``[t - w, t)`` is integer arithmetic. A record with a start and an end (an
entity from registration to deregistration, a listing, a licence) is *in force* at
``t`` when it started before ``t`` and did not end before ``t``: ``start < t <= end``,
with a missing end meaning it never ends. A record known on day ``t`` itself is not
yet known at ``t``; one ending on day ``t`` still counts at ``t``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NS_PER_DAY", "DateLike", "DatesLike", "as_of_date", "as_of_dates", "day_number", "from_day_number",
           "in_force"]

#: What an ``as_of`` (or any date) parameter accepts: a string like ``'2024-01-01'``, a
#: ``datetime.date``/``datetime``, a ``pandas.Timestamp`` or a ``numpy.datetime64``.
DateLike = str | datetime.date | pd.Timestamp | np.datetime64
#: One date or many (a list, an index, a Series of dates).
DatesLike = DateLike | Iterable[DateLike]

#: Nanoseconds in a day: a ``datetime64[ns]`` value divided by this is its day number.
NS_PER_DAY = 86_400 * 10**9

_EXAMPLE = "'2024-01-01'"


def _refusal(what: str, value: Any, stamp: pd.Timestamp | None) -> str | None:
    """Why ``stamp`` (parsed from ``value``) is not an as-of date, or None when it is one."""
    head = f"{what} must be a calendar date (a midnight without a timezone, like {_EXAMPLE}); got {value!r}"
    if stamp is None or pd.isna(stamp):
        return f"{head}, which is not a date: give a date"
    if stamp.tz is not None:
        local = stamp.tz_localize(None).normalize().date().isoformat()
        return (f"{head}, which carries the timezone {stamp.tz}: give the calendar date in the records' own "
                f"time, without a timezone (e.g. '{local}', or value.tz_localize(None) on a Timestamp)")
    if stamp != stamp.normalize():
        return (f"{head}, which has the time of day {stamp.time()}: give the date only "
                f"(e.g. '{stamp.date().isoformat()}'), so that 'known before as_of' means before that day began")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, np.datetime64)


def as_of_date(value: Any, *, what: str = "as_of") -> pd.Timestamp:
    """``value`` as an as-of date: a tz-naive midnight ``pandas.Timestamp``.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, numpy.datetime64 or pandas.Timestamp
        A calendar date. A time of day other than midnight, a timezone, a missing
        value or a number is refused.
    what : str, default "as_of"
        The name of the argument, used in the error message.

    Returns
    -------
    pandas.Timestamp
        The date at midnight, without a timezone.

    Raises
    ------
    ValueError
        When ``value`` is not a calendar date; the message names the value, what is
        wrong with it (a time of day, a timezone) and what to pass instead.

    Examples
    --------
    >>> import datetime
    >>> as_of_date("2024-01-01")
    Timestamp('2024-01-01 00:00:00')
    >>> as_of_date(datetime.date(2024, 4, 1))
    Timestamp('2024-04-01 00:00:00')
    >>> as_of_date("2024-01-01 09:30")
    Traceback (most recent call last):
    ...
    ValueError: as_of must be a calendar date (a midnight without a timezone, like '2024-01-01'); got '2024-01-01 09:30', which has the time of day 09:30:00: give the date only (e.g. '2024-01-01'), so that 'known before as_of' means before that day began
    """
    stamp = None
    if value is not None and not _is_number(value):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            stamp = None
    problem = _refusal(what, value, stamp)
    if problem is not None:
        raise ValueError(problem)
    assert stamp is not None
    return stamp.as_unit("ns")


def as_of_dates(values: Any, *, what: str = "as_of") -> pd.DatetimeIndex:
    """One or more as-of dates, by the rule of :func:`as_of_date`, in the order given.

    Parameters
    ----------
    values : date-like or iterable of date-like
        One date (a string, ``datetime.date``, ``numpy.datetime64`` or ``Timestamp``)
        or several (a list, array, ``Index`` or ``Series``).
    what : str, default "as_of"
        The name of the argument, used in the error message.

    Returns
    -------
    pandas.DatetimeIndex
        Tz-naive midnights (``datetime64[ns]``), duplicates kept.

    Raises
    ------
    ValueError
        When there are no dates, or any value is not a calendar date (the message
        names the first offending value and what to pass instead).

    Examples
    --------
    >>> as_of_dates(["2024-04-01", "2024-01-01"]).strftime("%Y-%m-%d").tolist()
    ['2024-04-01', '2024-01-01']
    >>> as_of_dates("2024-01-01").size
    1
    """
    if isinstance(values, pd.DatetimeIndex | pd.Series) and isinstance(values.dtype, np.dtype):
        stamps = pd.DatetimeIndex(values)
        if len(stamps) and not stamps.hasnans and (stamps == stamps.normalize()).all():
            return stamps.as_unit("ns")  # the common case, checked without a Python loop
    many = isinstance(values, Iterable) and not isinstance(values, str | bytes | datetime.date | np.datetime64)
    items = list(values) if many else [values]
    if not items:
        raise ValueError(f"{what} is empty: give at least one date, like {_EXAMPLE}")
    return pd.DatetimeIndex([as_of_date(v, what=what) for v in items]).as_unit("ns")


def day_number(value: Any, *, what: str = "as_of") -> Any:
    """Days since 1970-01-01 of an as-of date (an int), or of several (an int64 array).

    The value(s) must pass :func:`as_of_date`; a time of day or a timezone is refused
    rather than truncated.

    Parameters
    ----------
    value : date-like or iterable of date-like
    what : str, default "as_of"
        The name of the argument, used in the error message.

    Returns
    -------
    int or numpy.ndarray
        An ``int`` for one date, an ``int64`` array for an iterable of dates.

    Examples
    --------
    >>> day_number("1970-01-02")
    1
    >>> day_number(["2024-01-01", "2024-04-01"]).tolist()
    [19723, 19814]
    >>> from_day_number(day_number("2024-01-01"))
    Timestamp('2024-01-01 00:00:00')
    """
    many = isinstance(value, Iterable) and not isinstance(value, str | bytes | datetime.date | np.datetime64)
    if not many:
        return int(as_of_date(value, what=what).value // NS_PER_DAY)
    return as_of_dates(value, what=what).asi8 // NS_PER_DAY


def from_day_number(day: Any) -> Any:
    """The midnight of a day number (days since 1970-01-01); inverse of :func:`day_number`.

    Parameters
    ----------
    day : int or array-like of int

    Returns
    -------
    pandas.Timestamp or pandas.DatetimeIndex
        A ``Timestamp`` for one day number, a ``DatetimeIndex`` for an array.

    Examples
    --------
    >>> from_day_number(19723)
    Timestamp('2024-01-01 00:00:00')
    >>> from_day_number([0, 1]).strftime("%Y-%m-%d").tolist()
    ['1970-01-01', '1970-01-02']
    """
    if np.ndim(day) == 0:
        return pd.Timestamp(int(day) * NS_PER_DAY)
    return pd.DatetimeIndex(np.asarray(day, dtype=np.int64) * NS_PER_DAY, dtype="datetime64[ns]")


def in_force(start: Any, end: Any, t: Any) -> Any:
    """Whether a record running from ``start`` to ``end`` is in force (alive, open) at ``t``.

    The one definition used by the panel, network features, warnings, ranking and
    explanations: started strictly before ``t`` (a record known on day ``t`` is not yet
    known at ``t``) and not ended before ``t`` (``end >= t``; a record ending on day
    ``t`` still counts). A missing end must be passed as a day number later than any
    ``t`` (``riskml.features._kernels.NEVER`` for day numbers).

    Parameters
    ----------
    start, end, t : int, numpy.ndarray or column-like
        Day numbers (or any values with ``<`` and ``>=``: datetime64 arrays, Spark
        columns); arrays broadcast.

    Returns
    -------
    bool or numpy.ndarray of bool
        The comparison ``(start < t) & (end >= t)``, element by element.

    Examples
    --------
    >>> import numpy as np
    >>> start, end = np.array([0, 5, 0, 0]), np.array([99, 99, 9, 10])
    >>> in_force(start, end, 10).tolist()
    [True, True, False, True]
    >>> in_force(10, 99, 10)
    False
    """
    return (start < t) & (end >= t)
