"""Coverage: which days a source's records can be trusted to be complete for.

A label counts future records and a feature counts past ones; both read an absent
record as "nothing happened". That is only true inside the period the source covers.
A year whose records were lost, or a horizon running past the day the data was
extracted, would silently read as zeros. So every window a label or a feature reads
is checked against its source's coverage:

* **declared**: ``coverage: {start, end, gaps}`` in the source's declaration
  (:class:`riskml.records._sources.Coverage`);
* **derived** (no declaration): ``start`` is the first day any source of the records
  knows of, ``end`` the last one (the extraction day, as before), and a *gap* is an
  empty stretch between two consecutive record days of the source that is at least
  :data:`GAP_MIN_DAYS` long (a whole year: seasonal sources, such as annual reports
  filed in spring, are quiet for months every year), longer than 1.5 times the
  source's usual spacing (its median distance between record days) and long enough
  to have held at least :data:`GAP_MIN_EXPECTED` records at the source's average
  rate. The last test keeps a rare source (a few serious violations a year) from
  reporting its quiet years as gaps; the second keeps a yearly source (every record
  dated 31 December) from reporting each year as one. The gap ends one usual spacing
  before the next record day: for a yearly source it is exactly the missing year.
  Shorter outages cannot be told from quiet spells: declare them. A derived gap is
  logged, so riskml says what it assumed.

All days are whole days since 1970-01-01 (:func:`riskml.features._kernels.to_days`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskml._time import day_number
from riskml.features._kernels import NEVER, to_days
from riskml.records._sources import SourceCatalog

__all__ = ["GAP_MIN_DAYS", "GAP_MIN_EXPECTED", "SourceCoverage", "records_span", "source_coverage", "window_problems"]

logger = logging.getLogger(__name__)

#: A derived gap is an empty stretch of at least this many days.
GAP_MIN_DAYS = 365

#: A derived gap must be long enough to have held this many records at the source's
#: average rate (a Poisson count of 20 is empty with probability 2e-9).
GAP_MIN_EXPECTED = 20.0


@dataclass(frozen=True)
class SourceCoverage:
    """The covered days of one source: ``[start, end]`` minus ``gaps`` (day numbers).

    Attributes
    ----------
    source : str
    start, end : int
        First and last covered day (inclusive).
    gaps : tuple of (int, int)
        Uncovered spans ``[first, last]`` (inclusive).
    derived : bool
        True when read from the records rather than declared.

    Examples
    --------
    >>> c = SourceCoverage("inspections", 0, 99, ((10, 19),), derived=False)
    >>> c.describe()
    'inspections 1970-01-01..1970-04-10, gaps 1970-01-11..1970-01-20 (declared)'
    """

    source: str
    start: int
    end: int
    gaps: tuple[tuple[int, int], ...]
    derived: bool

    def describe(self) -> str:
        """One line: the span, the gaps and whether it was declared or derived."""
        gaps = ", ".join(f"{_day(a)}..{_day(b)}" for a, b in self.gaps)
        how = "derived from the records" if self.derived else "declared"
        return f"{self.source} {_day(self.start)}..{_day(self.end)}{', gaps ' + gaps if gaps else ''} ({how})"


def _day(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def records_span(tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> tuple[int, int]:
    """First and last ``known_at`` day over every declared source of the records.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> t = {"tax_cases": pd.DataFrame({"confirmed": pd.to_datetime(["1970-01-03", "1970-01-11"])})}
    >>> records_span(t, load_sources())
    (2, 10)
    """
    first, last = None, None
    for name, table in tables.items():
        if name not in catalog or len(table) == 0:
            continue
        days = _known_days(table, catalog, name)
        if len(days):
            lo, hi = int(days.min()), int(days.max())
            first = lo if first is None else min(first, lo)
            last = hi if last is None else max(last, hi)
    if last is None or first is None:
        raise ValueError("records have no known_at dates: cannot tell which label horizons are complete")
    return first, last


def _known_days(table: pd.DataFrame, catalog: SourceCatalog, name: str) -> np.ndarray:
    days = to_days(table[catalog[name].known_at].to_numpy(dtype="datetime64[ns]"))
    return days[days != NEVER]


def derived_gaps(days: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Gaps of a source from its record days (see the module docstring).

    Examples
    --------
    >>> yearly = np.array([365 * y + 364 for y in (0, 1, 3, 4)] * 30)  # one year missing
    >>> [(a - 365, b - 365) for a, b in derived_gaps(yearly)]
    [(365, 729)]
    >>> derived_gaps(np.array([0, 300, 700]))  # a rare source: quiet, not a gap
    ()
    >>> derived_gaps(np.concatenate([np.arange(0, 150), np.arange(365, 515)]))  # seasonal: quiet, not a gap
    ()
    """
    distinct = np.unique(days)
    if len(distinct) < 3:
        return ()
    spacing = np.diff(distinct)
    usual = float(np.median(spacing))
    rate = len(days) / max(float(distinct[-1] - distinct[0]), 1.0)
    long = (spacing >= GAP_MIN_DAYS) & (spacing > 1.5 * usual) & (spacing * rate >= GAP_MIN_EXPECTED)
    starts = distinct[:-1][long] + 1
    ends = distinct[1:][long] - int(round(usual))
    return tuple((int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b >= a)


def source_coverage(
    name: str, tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, span: tuple[int, int],
) -> SourceCoverage:
    """The coverage of source ``name``: declared, or derived from its records.

    Parameters
    ----------
    name : str
        A declared source.
    tables : mapping of str to DataFrame
        The records.
    catalog : SourceCatalog
        Their declarations.
    span : (int, int)
        :func:`records_span` of the records: the default start and end.

    Returns
    -------
    SourceCoverage

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> t = {"tax_cases": pd.DataFrame({"confirmed": pd.to_datetime(["2020-01-05", "2020-03-01"])})}
    >>> source_coverage("tax_cases", t, load_sources(), records_span(t, load_sources())).describe()
    'tax_cases 2020-01-05..2020-03-01 (derived from the records)'
    """
    declared = catalog[name].coverage
    start, end = span
    if declared is not None:
        gaps = tuple((day_number(g.start), day_number(g.end)) for g in declared.gaps)
        return SourceCoverage(
            name,
            day_number(declared.start) if declared.start is not None else start,
            day_number(declared.end) if declared.end is not None else end,
            gaps, derived=False,
        )
    table = tables.get(name)
    gaps = derived_gaps(_known_days(table, catalog, name)) if table is not None and len(table) else ()
    return SourceCoverage(name, start, end, gaps, derived=True)


def window_problems(
    first: np.ndarray, stop: np.ndarray, coverages: Sequence[SourceCoverage], what: str,
) -> list[str]:
    """Why each window ``[first, stop)`` (day numbers) is not covered ("" when it is).

    A window is uncovered when it starts before a source's ``start``, ends after its
    ``end`` or overlaps one of its gaps; the reason names the source, the window and
    the coverage.

    Examples
    --------
    >>> c = SourceCoverage("inspections", 0, 99, ((10, 19),), derived=False)
    >>> window_problems(np.array([0, 15, 30, 95]), np.array([10, 20, 40, 105]), [c], "label horizon")
    ['', 'label horizon 1970-01-16..1970-01-20 falls in a gap of inspections (1970-01-11..1970-01-20, declared)', '', 'label horizon 1970-04-06..1970-04-15 runs past the end of inspections (last day 1970-04-10, declared)']
    """
    out = [""] * len(first)
    for cov in coverages:
        how = "derived" if cov.derived else "declared"
        bad_start = first < cov.start
        bad_end = stop - 1 > cov.end
        in_gap = np.full(len(first), -1)
        for k, (a, b) in enumerate(cov.gaps):
            in_gap = np.where((in_gap < 0) & (first <= b) & (stop - 1 >= a), k, in_gap)
        for i in np.flatnonzero(bad_start | bad_end | (in_gap >= 0)):
            if out[i]:
                continue
            window = f"{what} {_day(first[i])}..{_day(stop[i] - 1)}"
            if bad_end[i]:
                out[i] = f"{window} runs past the end of {cov.source} (last day {_day(cov.end)}, {how})"
            elif bad_start[i]:
                out[i] = f"{window} starts before {cov.source} begins ({_day(cov.start)}, {how})"
            else:
                a, b = cov.gaps[in_gap[i]]
                out[i] = f"{window} falls in a gap of {cov.source} ({_day(a)}..{_day(b)}, {how})"
    return out
