"""Missed filing deadlines: the records an obligation's absence leaves behind.

A source with a yearly filing obligation (``due:`` in ``sources.yaml``, annual reports:
the report for year Y is due from every entity registered before Y ended, by 30 June
of Y+1) says as much by what is missing as by what is filed. A *missed deadline* is one
(entity, year) whose record was not known by the last filing day. It is treated as a
record of its own:

* known on the last filing day (so an as-of date after it sees it, under the same
  ``known_at < t`` rule as every record): the deadline passing unfiled is an event of
  the entity's conduct, not of the calendar;
* open until the missing record becomes known: filing it, even late, ends it.

The panel engine counts them with the ordinary ``count`` and ``open_count``
aggregations (features with ``missed_deadlines: true``), and
:func:`riskml.monitor.record_events` reports each as an ``overdue`` event, so a grade
that moves on a missed deadline moves on news. Everything here is vectorised over
entities x years.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from riskml.features._kernels import NEVER, entity_codes, to_days
from riskml.records._sources import ColumnSpec, SourceSpec

__all__ = ["MISSED_COLUMNS", "filed_within", "missed_deadlines", "missed_source"]

#: Columns of the missed-deadline table (besides the entity key).
MISSED_COLUMNS: tuple[str, ...] = ("missed_id", "period", "deadline", "closed")


def _last_days(periods: np.ndarray, last_day: str) -> np.ndarray:
    """Day numbers of the last filing day (``MM-DD`` of the year after each period)."""
    month, day = (int(x) for x in last_day.split("-"))
    epoch = datetime.date(1970, 1, 1)
    return np.array([(datetime.date(int(p) + 1, month, day) - epoch).days for p in periods], dtype=np.int64)


def _years(column: pd.Series) -> np.ndarray:
    """A period column as float years; values that are no calendar year (1-9998) are missing."""
    year = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        return np.where((year >= 1) & (year <= 9998) & (year == np.floor(year)), year, np.nan)


def missed_deadlines(records: pd.DataFrame, source: SourceSpec, entities: pd.Index, established: np.ndarray,
                     ended: np.ndarray, until_day: int) -> pd.DataFrame:
    """One row per (entity, year) whose record was not known by the year's last filing day.

    Parameters
    ----------
    records : DataFrame
        The source's records (``entity_key``, ``known_at`` and ``due.period``).
    source : SourceSpec
        The source's declaration; it must declare ``due``.
    entities : Index of str
        The entities (ids) the obligation applies to.
    established, ended : ndarray of int
        Their registration and deregistration days (days since 1970-01-01; a live
        entity's ``ended`` is the engine's ``NEVER``).
    until_day : int
        Only deadlines whose last filing day is before this day.

    Returns
    -------
    DataFrame
        The entity key, ``missed_id`` (``<entity>:<year>``), ``period``, ``deadline``
        (the last filing day: the row's ``known_at``) and ``closed`` (the day the
        record became known, NaT while it is missing: the row's ``valid_to``).

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> src = load_sources()["annual_reports"]
    >>> reports = pd.DataFrame({"entity_id": ["E1", "E2"], "year": [2018, 2018],
    ...                         "filed": pd.to_datetime(["2019-03-01", "2019-08-01"])})
    >>> from riskml._time import day_number
    >>> est = day_number(["2015-01-01", "2015-01-01", "2015-01-01"])
    >>> out = missed_deadlines(reports, src, pd.Index(["E1", "E2", "E3"]), est, np.full(3, 10**9),
    ...                        int(day_number(["2020-01-01"])[0]))
    >>> out[["entity_id", "period"]].values.tolist(), out["closed"].isna().tolist()
    ([['E2', 2018], ['E3', 2018]], [False, True])
    >>> str(out["deadline"].iloc[0].date()), str(out["closed"].iloc[0].date())
    ('2019-06-30', '2019-08-01')
    """
    due = source.due
    if due is None:
        raise ValueError(f"source {source.name!r} declares no 'due' obligation; missed deadlines need one "
                         "(due: {period: <int column>, last_day: MM-DD, first_period: <year>})")
    last_year = pd.Timestamp(np.datetime64(int(until_day), "D")).year - 1
    periods = np.arange(due.first_period, max(due.first_period, last_year + 1), dtype=np.int64)
    last = _last_days(periods, due.last_day)
    periods, last = periods[last < until_day], last[last < until_day]
    n, k = len(entities), len(periods)
    # the obligation: registered before the year ended, still registered when the deadline passes
    period_end = _last_days(periods - 1, "12-31")
    owed = (np.asarray(established)[:, None] <= period_end[None, :]) & (np.asarray(ended)[:, None] > last[None, :])
    first_known = np.full(n * k, NEVER, dtype=np.int64)
    if len(records) and k:
        code = entity_codes(entities, records[source.entity_key])
        year = _years(records[due.period])
        known = to_days(records[source.known_at].to_numpy(dtype="datetime64[ns]"))
        ok = (code >= 0) & ~np.isnan(year) & (known != NEVER)
        idx = np.where(ok, year, due.first_period).astype(np.int64) - due.first_period
        ok &= (idx >= 0) & (idx < k)
        np.minimum.at(first_known, code[ok] * k + idx[ok], known[ok])
    first_known = first_known.reshape(n, k)
    missed = owed & (first_known > last[None, :])
    ent, per = np.nonzero(missed)
    ids = entities.to_numpy()[ent].astype(str)
    closed = first_known[ent, per]
    return pd.DataFrame({
        source.entity_key: pd.array(ids, dtype="str"),
        "missed_id": pd.array(np.char.add(np.char.add(ids, ":"), periods[per].astype(str)), dtype="str"),
        "period": periods[per],
        "deadline": last[per].astype("datetime64[D]").astype("datetime64[ns]"),
        "closed": np.where(closed == NEVER, np.datetime64("NaT"), closed.astype("datetime64[D]")).astype(
            "datetime64[ns]"),
    })


def filed_within(records: pd.DataFrame, source: SourceSpec, days: int) -> np.ndarray:
    """Records known at most ``days`` days after their period (year) ended: filed early.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> reports = pd.DataFrame({"year": [2018, 2018], "filed": pd.to_datetime(["2019-03-01", "2019-05-01"])})
    >>> filed_within(reports, load_sources()["annual_reports"], 60).tolist()
    [True, False]
    """
    due = source.due
    if due is None:
        raise ValueError(f"source {source.name!r} declares no 'due' obligation; filed_within_days needs one")
    year = _years(records[due.period])
    known = to_days(records[source.known_at].to_numpy(dtype="datetime64[ns]"))
    ok = ~np.isnan(year) & (known != NEVER)
    ends = np.zeros(len(year), dtype=np.int64)
    if ok.any():
        periods = np.unique(year[ok]).astype(np.int64)
        ends[ok] = _last_days(periods - 1, "12-31")[np.searchsorted(periods, year[ok].astype(np.int64))]
    return ok & (known - ends <= days)


def missed_source(source: SourceSpec) -> SourceSpec:
    """The declaration of a source's missed deadlines, as a source of their own.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> spec = missed_source(load_sources()["annual_reports"])
    >>> spec.known_at, spec.valid_to
    ('deadline', 'closed')
    """
    return SourceSpec(
        name=f"{source.name}_missed", label_zh=source.label_zh, label_en=source.label_en,
        entity_key=source.entity_key, record_id="missed_id", known_at="deadline", valid_to="closed",
        columns={source.entity_key: ColumnSpec(type="str"), "missed_id": ColumnSpec(type="str"),
                 "period": ColumnSpec(type="int"), "deadline": ColumnSpec(type="date"),
                 "closed": ColumnSpec(type="date", nullable=True)},
    )
