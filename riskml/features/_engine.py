"""The panel engine: records + feature spec -> entity x as-of feature panel.

:func:`compute_bucket` is the kernel: a pure function of the records of a set of
entities (a *bucket*), the as-of grid and the spec, so the same code runs on one
machine over all entities or per bucket on Spark (``groupBy(bucket).applyInPandas``).
:func:`build_panel` checks its inputs once, resolves the as-of grid, runs the kernel,
appends the cross-entity features (``network.yaml``) when available and returns a
:class:`Panel` with the feature catalog and the spec hash.

Point in time: a feature at ``as_of = t`` reads only records with ``known_at < t``;
a window of ``w`` days covers ``t - w <= known_at < t``. How records are found fast is
described in :mod:`riskml.features._kernels`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._progress import track
from riskml._time import day_number, from_day_number, in_force
from riskml.features import _network
from riskml.features._deadlines import filed_within, missed_deadlines, missed_source
from riskml.features._kernels import (
    NEVER,
    SUM_SCALE,
    SortedRecords,
    count_in,
    distinct_in,
    entity_codes,
    first_index,
    last_index,
    reduce_in,
    sum_in,
    to_days,
)
from riskml.features._spec import FeatureDef, FeatureSpec, load_feature_spec, where_mask
from riskml.records._sources import SourceCatalog, SourceSpec

if TYPE_CHECKING:
    from riskml._time import DatesLike

__all__ = ["Panel", "as_of_grid", "build_panel", "compute_bucket"]

logger = logging.getLogger(__name__)

_STATE_OPEN = frozenset({"on_list", "open_count", "open_sum", "days_to_expiry"})


@dataclass(frozen=True)
class Panel:
    """An entity x as-of feature panel and its catalog.

    Attributes
    ----------
    frame : DataFrame
        ``entity_id`` (str), ``as_of`` (datetime64[ns]), then one column per feature
        (float64, or category for categorical features); one row per entity alive at
        ``as_of``, sorted by ``as_of`` then ``entity_id``.
    catalog : DataFrame
        One row per feature, indexed by name: source, dimension, label_zh, label_en,
        direction, kind, aggregation, column, window_days, where, inspection_driven.
    spec_hash : str
        Hash of the feature spec and the declarations of the sources it reads.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.features import Panel
    >>> p = Panel(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp("2024-01-01")], "x": [1.0]}),
    ...           pd.DataFrame(index=pd.Index(["x"], name="name")), "abc")
    >>> p.feature_names
    ['x']
    """

    frame: pd.DataFrame
    catalog: pd.DataFrame
    spec_hash: str

    @property
    def feature_names(self) -> list[str]:
        """Feature column names, in column order."""
        return [c for c in self.frame.columns if c not in ("entity_id", "as_of")]

    @property
    def as_of_dates(self) -> pd.DatetimeIndex:
        """The distinct as-of dates of the panel, ascending."""
        return pd.DatetimeIndex(self.frame["as_of"].unique()).sort_values()

    def __repr__(self) -> str:
        n_dates = self.frame["as_of"].nunique() if len(self.frame) else 0
        return f"Panel({len(self.frame):,} rows, {len(self.feature_names)} features, {n_dates} as-of dates, spec {self.spec_hash})"


# ----------------------------------------------------------------------------- kernel


class _Grid:
    """Grid rows ``(entity code, as_of day)`` sorted by day then code, and date slices."""

    def __init__(self, code: np.ndarray, day: np.ndarray) -> None:
        self.code = code
        self.day = day
        self.dates = np.unique(day)
        edges = np.searchsorted(day, self.dates, side="left")
        ends = [*edges[1:], len(day)] if len(edges) else []  # no entity alive: no slices
        self.slices = [slice(int(a), int(b)) for a, b in zip(edges, ends, strict=True)]


def _alive_grid(est: np.ndarray, end: np.ndarray, as_of_days: np.ndarray) -> _Grid:
    # Alive at t: established before t, and not deregistered before t.
    alive = in_force(est[None, :], end[None, :], as_of_days[:, None])
    t_idx, code = np.nonzero(alive)
    return _Grid(code.astype(np.int64), as_of_days[t_idx].astype(np.int64))


def _values(column: pd.Series, kind: str) -> np.ndarray:
    """A column as float64 (NaN = missing), or int64 codes (-1 = missing) for distinct counts."""
    if kind == "codes":
        codes, _ = pd.factorize(column, use_na_sentinel=True)
        return codes.astype(np.int64)
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.float64)
    return pd.to_numeric(column, errors="coerce").astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)


class _Source:
    """One source's records of the bucket, sorted, with per-feature arrays on demand."""

    def __init__(self, table: pd.DataFrame, spec: SourceSpec, ids: pd.Index, by_record_id: bool = False) -> None:
        if by_record_id and len(table):
            # Records known on the same day keep record-id order, so "latest" does not
            # depend on the row order of the input (which differs across Spark buckets).
            table = table.sort_values(spec.record_id, kind="stable", ignore_index=True)
        code = entity_codes(ids, table[spec.entity_key])
        known = to_days(table[spec.known_at].to_numpy(dtype="datetime64[ns]"))
        keep = (code >= 0) & (known != NEVER)
        dropped = int(len(table) - keep.sum())
        if dropped:
            logger.info("source %s: %d records without a registered entity or known_at ignored", spec.name, dropped)
        self.table = table.loc[keep] if dropped else table
        self.spec = spec
        self.code = code[keep].astype(np.int64)
        self.known = known[keep]
        self._dense: dict[float | None, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    @functools.cached_property
    def sorted(self) -> SortedRecords:
        # Sorted only when a feature needs slices; dense window sums never do.
        return SortedRecords(self.code, self.known)

    def col(self, column: str, kind: str = "float") -> np.ndarray:
        return self.sorted.take(_values(self.table[column], kind))

    def dense_keys(self, grid: _Grid, n_entities: int, w: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(date, entity) cells where each record enters and leaves the ``w``-day window,
        and each grid row's cell; shared by every dense feature of the same window."""
        cache = self._dense
        if w not in cache:
            dates = grid.dates
            first = np.searchsorted(dates, self.known, side="right")
            after = (np.full(len(self.known), len(dates)) if w is None
                     else np.searchsorted(dates, self.known + int(w), side="right"))
            cell = np.searchsorted(dates, grid.day) * n_entities + grid.code
            cache[w] = (first * n_entities + self.code, after * n_entities + self.code, cell)
        return cache[w]

    def raw_col(self, column: str) -> np.ndarray:
        """A float column in input order (no sort)."""
        return _values(self.table[column], "float")

    def raw_mask(self, feature: FeatureDef) -> np.ndarray:
        mask = np.ones(len(self.code), dtype=bool)
        if feature.where:
            mask &= np.asarray(where_mask(self.table, feature.where), dtype=bool)
        if feature.filed_within_days is not None:
            mask &= filed_within(self.table, self.spec, feature.filed_within_days)
        return mask

    def days(self, column: str) -> np.ndarray:
        return self.sorted.take(to_days(self.table[column].to_numpy(dtype="datetime64[ns]")))

    def mask(self, feature: FeatureDef) -> np.ndarray:
        if not feature.where and feature.filed_within_days is None:
            return np.ones(len(self.sorted), dtype=bool)
        return self.sorted.take(self.raw_mask(feature))

    def end_day(self, columns: Iterable[str]) -> np.ndarray:
        end = np.full(len(self.sorted), NEVER, dtype=np.int64)
        for column in columns:
            end = np.minimum(end, self.days(column))
        return end


_DENSE = frozenset({"count", "sum", "mean", "share"})


def _dense_ok(f: FeatureDef) -> bool:
    """Window counts and sums whose records do not depend on t beyond the window."""
    return f.kind == "window" and f.aggregation in _DENSE and not f.time_dependent


def _dense_window_feature(f: FeatureDef, src: _Source, grid: _Grid, n_entities: int) -> np.ndarray:
    """A count, sum, mean or share over a day window at every grid row, without sorting.

    A record known on day ``d`` is in the window ``[t - w, t)`` of the as-of dates
    ``t`` with ``d < t <= d + w``: a contiguous run of the (few) grid dates. Adding +1
    at the run's first date and -1 after its last (``np.bincount`` over date x entity
    cells) and a cumulative sum over dates gives every (entity, date) value at once.
    Sums are of whole cents, exact in float64 below 2**53 cents, so they equal the
    sorted path's integer sums bit for bit.
    """
    dates = grid.dates
    n_cells = (len(dates) + 1) * n_entities
    mask = src.raw_mask(f)
    w = f.window_days
    start_key, stop_key, cell = src.dense_keys(grid, n_entities, w)

    def dense(weights: np.ndarray | None, keep: np.ndarray) -> np.ndarray:
        w_start = None if weights is None else weights[keep]
        delta = np.bincount(start_key[keep], weights=w_start, minlength=n_cells)
        delta = delta - np.bincount(stop_key[keep], weights=w_start, minlength=n_cells)
        return np.cumsum(delta.reshape(len(dates) + 1, n_entities), axis=0).ravel()[cell].astype(np.float64)

    if f.aggregation == "count":
        return dense(None, mask)
    values = src.raw_col(f.column)
    ok = mask & ~np.isnan(values)
    with np.errstate(over="ignore", invalid="ignore"):
        cents = np.rint(np.where(ok, values, 0.0) * SUM_SCALE)
    if len(cents) and float(np.abs(cents).sum()) >= 2.0**53:
        return _window_feature(f, src, grid, *_bounds(src, grid, w))  # beyond exact float64 cents
    total = dense(cents, ok) / SUM_SCALE
    if f.aggregation == "sum":
        return total
    n = dense(None, ok)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)


def _bounds(src: _Source, grid: _Grid, w: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Slices ``[lo, hi)`` of each grid row's records in the window (None: all history)."""
    hi = src.sorted.position(grid.code, grid.day)
    lo = src.sorted.position(grid.code, np.iinfo(np.int32).min if w is None else grid.day - int(w))
    return hi, lo


def _window_feature(f: FeatureDef, src: _Source, grid: _Grid, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Values of one window or state feature at every grid row."""
    base = src.mask(f)
    day = src.sorted.day
    agg = f.aggregation
    values = None
    if agg in ("sum", "mean", "share", "max", "min", "latest", "open_sum"):
        values = src.col(f.column)
    elif agg == "distinct_count":
        values = src.col(f.column, kind="codes")
    end = src.end_day(f.ended_by) if f.ended_by else None
    valid_to = src.end_day([src.spec.valid_to]) if agg in _STATE_OPEN else None

    def at(mask: np.ndarray, t: np.ndarray | int, lo_: np.ndarray, hi_: np.ndarray) -> np.ndarray:
        if agg in ("count", "open_count"):
            return count_in(mask, lo_, hi_)
        if agg == "on_list":
            return (count_in(mask, lo_, hi_) > 0).astype(np.float64)
        if agg in ("sum", "open_sum"):
            return sum_in(np.where(mask & ~np.isnan(values), values, 0.0), lo_, hi_)
        if agg in ("mean", "share"):
            ok = mask & ~np.isnan(values)
            n = count_in(ok, lo_, hi_)
            total = sum_in(np.where(ok, values, 0.0), lo_, hi_)
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(n > 0, total / n, np.nan)
        if agg in ("max", "min"):
            return reduce_in(np.where(mask, values, np.nan), lo_, hi_, agg)
        if agg == "distinct_count":
            return distinct_in(np.where(mask, values, -1), lo_, hi_, src.sorted.entity)
        if agg == "days_to_expiry":
            return reduce_in(np.where(mask, valid_to.astype(np.float64), np.nan), lo_, hi_, "min") - t
        if agg in ("days_since_last", "latest"):
            j = last_index(mask, lo_, hi_)
        elif agg == "days_since_first":
            j = first_index(mask, lo_, hi_)
        else:  # pragma: no cover - the spec vocabulary is closed
            raise ValueError(f"unknown aggregation {agg!r}")
        found = j >= 0
        jj = np.where(found, j, 0)
        if agg == "latest":
            picked = values[jj] if len(values) else np.zeros(len(j))
        else:
            picked = (t - day[jj]).astype(np.float64) if len(day) else np.zeros(len(j))
        return np.where(found, picked, np.nan)

    per_date = f.time_dependent or agg in ("max", "min", "distinct_count", "days_to_expiry")
    if not per_date:
        return at(base, grid.day, lo, hi)
    out = np.empty(len(grid.day), dtype=np.float64)
    for t, rows in zip(grid.dates, grid.slices, strict=True):
        mask = base
        if end is not None:
            if f.status == "ended":
                mask = mask & (end < t)
            elif f.status == "active" or agg in _STATE_OPEN:
                mask = mask & (end >= t)
        if valid_to is not None:
            mask = mask & (valid_to >= t)
        out[rows] = at(mask, int(t), lo[rows], hi[rows])
    return out


def _static_feature(f: FeatureDef, entities: pd.DataFrame, spec: SourceSpec, grid: _Grid, est: np.ndarray) -> np.ndarray:
    if f.aggregation == "age":
        return (grid.day - est[grid.code]) / 365.25
    return _values(entities[f.column], "float")[grid.code]


def compute_bucket(
    tables: Mapping[str, pd.DataFrame],
    entities: pd.DataFrame,
    as_of_days: np.ndarray,
    spec: FeatureSpec,
    catalog: SourceCatalog | None = None,
    *,
    show_progress: bool | None = None,
) -> pd.DataFrame:
    """Features of one bucket of entities at every as-of date (the panel kernel).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Records of the bucket's entities, one table per source the spec reads
        (records of other entities are ignored).
    entities : DataFrame
        The bucket's rows of the entity source (unique entity ids).
    as_of_days : ndarray of int
        As-of dates as days since 1970-01-01.
    spec : FeatureSpec
        The features to compute.
    catalog : SourceCatalog, optional
        Source declarations; default ``spec.sources``.
    show_progress : bool, optional
        Progress bar over sources.

    Returns
    -------
    DataFrame
        ``entity_id``, ``as_of`` and one column per feature of ``spec``, one row per
        entity alive at an as-of date, sorted by ``as_of`` then ``entity_id``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskml.features import load_feature_spec
    >>> from riskml.features._engine import compute_bucket
    >>> spec = load_feature_spec()
    >>> ents = pd.DataFrame({"entity_id": ["E0000001"], "entity_type": ["enterprise"], "industry": ["retail"],
    ...     "district": ["D01"], "registered_capital": [50.0],
    ...     "established": pd.to_datetime(["2020-01-01"]), "deregistered": pd.to_datetime([None])})
    >>> from riskml._time import day_number
    >>> days = day_number(["2021-01-01"])
    >>> out = compute_bucket({}, ents, days, spec)
    >>> float(out.loc[0, "entity_age_years"].round(2)), float(out.loc[0, "penalties_count_365d"])
    (1.0, 0.0)
    """
    catalog = catalog if catalog is not None else spec.sources
    ent_spec = catalog.entities
    ids_sorted = pd.Index(entities[ent_spec.entity_key]).astype("str")
    order = np.argsort(ids_sorted.to_numpy(dtype=object), kind="stable") if len(ids_sorted) else np.empty(0, int)
    entities = entities.iloc[order].reset_index(drop=True)
    ids = pd.Index(ids_sorted[order])
    est = to_days(entities[ent_spec.known_at].to_numpy(dtype="datetime64[ns]"))
    ended = (
        to_days(entities[ent_spec.valid_to].to_numpy(dtype="datetime64[ns]"))
        if ent_spec.valid_to
        else np.full(len(entities), NEVER, dtype=np.int64)
    )
    grid = _alive_grid(est, ended, np.unique(np.asarray(as_of_days, dtype=np.int64)))
    columns: dict[str, Any] = {}

    by_source: dict[tuple[str, bool], list[FeatureDef]] = {}
    for f in spec.features:
        by_source.setdefault((f.source, f.missed_deadlines), []).append(f)
    for name, missed in track(list(by_source), "features by source", show=show_progress):
        feats = by_source[(name, missed)]
        if name == catalog.entity_source and all(f.kind == "static" for f in feats):
            for f in feats:
                columns[f.name] = _static_feature(f, entities, ent_spec, grid, est)
            continue
        src_spec = catalog[name]
        table = tables.get(name)
        if table is None:
            table = _empty_table(src_spec)
        if missed:  # the source's missed filing deadlines stand in for its records
            until = int(grid.dates.max()) if len(grid.dates) else 0
            table = missed_deadlines(table, src_spec, ids, est, ended, until)
            src_spec = missed_source(src_spec)
        src = _Source(table, src_spec, ids, by_record_id=any(f.aggregation == "latest" for f in feats))
        bounds: dict[float | None, tuple[np.ndarray, np.ndarray]] = {}
        for f in feats:
            if f.kind == "static":
                columns[f.name] = _static_feature(f, entities, ent_spec, grid, est)
                continue
            if _dense_ok(f):
                columns[f.name] = _dense_window_feature(f, src, grid, len(ids))
                continue
            w = f.window_days if f.kind == "window" else None
            if w not in bounds:
                bounds[w] = _bounds(src, grid, w)
            columns[f.name] = _window_feature(f, src, grid, *bounds[w])

    # One float64 block written in place: building the frame from per-feature arrays
    # would copy every column once more.
    numeric = [f for f in spec.features if not f.categorical]
    block = np.empty((len(numeric), len(grid.day)), dtype=np.float64)
    for i, f in enumerate(numeric):
        block[i] = columns[f.name]
    frame = pd.DataFrame(block.T, columns=[f.name for f in numeric], copy=False)
    frame.insert(0, "entity_id", pd.array(ids.to_numpy()[grid.code], dtype="str"))
    frame.insert(1, "as_of", from_day_number(grid.day))
    for loc, f in enumerate(spec.features, start=2):
        if f.categorical:
            values = columns[f.name]
            codes = np.where(np.isnan(values), -1, values).astype(np.int64)
            frame.insert(loc, f.name, pd.Categorical.from_codes(codes, categories=list(f.categories or ())))
    return frame


def _empty_table(spec: SourceSpec) -> pd.DataFrame:
    dtypes = {"str": "str", "int": "int64", "float": "float64", "bool": "bool", "date": "datetime64[ns]"}
    data = {}
    for name, col in spec.columns.items():
        if col.type == "category":
            data[name] = pd.Categorical([], categories=list(col.categories or ()))
        else:
            data[name] = pd.Series([], dtype=dtypes[col.type])
    return pd.DataFrame(data)


# ----------------------------------------------------------------------------- panel


def as_of_grid(records: Mapping[str, pd.DataFrame], catalog: SourceCatalog, as_of: Any = "quarterly") -> np.ndarray:
    """As-of dates as days since 1970 (sorted, unique).

    ``"quarterly"`` gives the quarter starts (Jan 1, Apr 1, Jul 1, Oct 1) after the
    records' coverage begins and up to the day after the last known record; a list
    of dates is used as given. Coverage begins at the median, over the non-registry
    sources, of each source's first known date: one source with a long back-history
    (licences issued years before the extract, say) does not stretch the grid into
    years where the other sources hold nothing.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import load_sources
    >>> days = as_of_grid({}, load_sources(), ["2024-04-01", "2024-01-01"])
    >>> pd.to_datetime(days, unit="D").strftime("%Y-%m-%d").tolist()
    ['2024-01-01', '2024-04-01']
    """
    if isinstance(as_of, str) and as_of == "quarterly":
        first, last = _record_span(records, catalog)
        if first is None:
            raise ValueError("as_of='quarterly' needs records with known_at dates; none were found")
        start, end = from_day_number(first), from_day_number(last + 1)
        dates = pd.date_range(start + pd.Timedelta(days=1), end, freq="QS")
        dates = dates[(dates > start) & (dates <= end)]
        if len(dates) == 0:
            raise ValueError(f"records span {start.date()}..{end.date()}: no quarter start falls inside")
        return np.unique(day_number(dates))
    return np.unique(day_number(as_of, what="as_of ('quarterly' or a list of dates)"))


def _record_span(records: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> tuple[int | None, int | None]:
    firsts, lasts, reg_firsts = [], [], []
    for name, table in records.items():
        if name not in catalog or len(table) == 0:
            continue
        days = to_days(table[catalog[name].known_at].to_numpy(dtype="datetime64[ns]"))
        days = days[days != NEVER]
        if len(days) == 0:
            continue
        lasts.append(int(days.max()))
        (reg_firsts if name == catalog.entity_source else firsts).append(int(days.min()))
    firsts = firsts or reg_firsts
    if not firsts:
        return None, None
    return int(np.median(firsts)) if firsts is not reg_firsts else min(firsts), max(lasts)


def kernel_columns(spec: FeatureSpec, catalog: SourceCatalog, *, record_ids: bool = False) -> dict[str, set[str]]:
    """Columns per source that the per-entity kernel reads for ``spec`` (the registry's included).

    ``record_ids`` adds the record id of sources with a ``latest`` feature (it breaks
    ties between records known on one day); an engine that ships only the columns it
    needs, such as the Spark one, asks for it.
    """
    needed: dict[str, set[str]] = {}
    for f in spec.features:
        src = catalog[f.source]
        cols = needed.setdefault(f.source, {src.entity_key, src.known_at})
        cols.update(c for c in (f.column, *f.where, *f.ended_by) if c)
        if (f.missed_deadlines or f.filed_within_days is not None) and src.due is not None:
            cols.add(src.due.period)
        if f.aggregation in _STATE_OPEN and src.valid_to:
            cols.add(src.valid_to)
        if record_ids and f.aggregation == "latest":
            cols.add(src.record_id)
    ent = catalog.entities
    needed.setdefault(catalog.entity_source, set()).update(c for c in (ent.entity_key, ent.known_at, ent.valid_to) if c)
    return needed


def require_tables(tables: Mapping[str, Any], needed: Mapping[str, set[str]], catalog: SourceCatalog) -> None:
    """Refuse records without the registry or without a table the spec reads, naming what is missing."""
    if catalog.entity_source not in tables:
        raise ValueError(f"records have no {catalog.entity_source!r} table (the entity registry); present: {sorted(tables)}")
    missing_sources = sorted(s for s in needed if s not in tables)
    if missing_sources:
        raise ValueError(
            f"records have no table for sources {missing_sources} that the feature spec reads; "
            f"present: {sorted(tables)}. Pass those tables (they may be empty) or use a spec without them."
        )


def _check_records(records: Any, spec: FeatureSpec, catalog: SourceCatalog) -> dict[str, pd.DataFrame]:
    if not isinstance(records, Mapping):
        raise TypeError(f"records must be riskml.records.Records or a dict of DataFrames, not {type(records).__name__}")
    tables = dict(records.items())
    needed = kernel_columns(spec, catalog)
    require_tables(tables, needed, catalog)
    for source, cols in needed.items():
        table = tables[source]
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"records[{source!r}] must be a DataFrame, not {type(table).__name__}")
        absent = sorted(c for c in cols if c not in table.columns)
        if absent:
            raise ValueError(f"records[{source!r}] lacks columns {absent} used by the feature spec; has {list(table.columns)}")
        for c in cols:
            declared = catalog[source].columns[c].type
            if declared == "date" and not pd.api.types.is_datetime64_dtype(table[c]):
                raise TypeError(
                    f"records[{source!r}][{c!r}] must be datetime64 (declared date), not {table[c].dtype}; "
                    "riskml.records.validate converts declared types"
                )
    return tables


def _effective_catalog(records: Any, spec: FeatureSpec) -> SourceCatalog:
    own = getattr(records, "catalog", None)
    if isinstance(own, SourceCatalog):
        extra = {n: s for n, s in own.sources.items() if n not in spec.sources}
        if extra:
            return spec.sources.merged(SourceCatalog(entity_source=spec.sources.entity_source, sources={
                **{spec.sources.entity_source: spec.sources.entities}, **extra}))
    return spec.sources


def _network_columns(
    spec: FeatureSpec, tables: dict[str, pd.DataFrame], entities: pd.DataFrame, frame: pd.DataFrame,
    catalog_sources: SourceCatalog,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = pd.DataFrame(
        {"entity_id": frame["entity_id"], "as_of_day": frame["as_of"].to_numpy(dtype="datetime64[D]").astype(np.int64)}
    )
    values, catalog = _network.network_features(tables, entities, grid, spec.network, catalog_sources=catalog_sources)
    if len(values) != len(grid):
        raise RuntimeError(f"cross-entity features returned {len(values)} rows for a grid of {len(grid)}")
    return values.reset_index(drop=True), catalog


def build_panel(
    records: Mapping[str, pd.DataFrame],
    as_of: DatesLike = "quarterly",
    spec: FeatureSpec | str | Path | None = None,
    *,
    show_progress: bool | None = None,
) -> Panel:
    """Build the point-in-time entity x as-of feature panel.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
        One table per source, following ``features/sources.yaml`` (dates as
        datetime64). Custom sources are read like built-in ones.
    as_of : "quarterly" or list of dates
        As-of dates. ``"quarterly"``: quarter starts within the records' span.
    spec : FeatureSpec, path or None
        The feature library: None for riskml's built-in one, a folder of YAML files,
        or a loaded :class:`FeatureSpec`.
    show_progress : bool, optional
        Progress bars (default: when stderr is a terminal).

    Returns
    -------
    Panel
        One row per entity alive at each as-of date (established before it and not
        deregistered before it), sorted by ``as_of`` then ``entity_id``.

    Raises
    ------
    TypeError
        When records are not DataFrames or a date column is not datetime64.
    ValueError
        When a table or column the spec reads is missing, or ``as_of`` is invalid.
    riskml.SpecError
        When the spec folder is invalid.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.features import build_panel
    >>> ents = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "entity_type": ["enterprise"] * 2,
    ...     "industry": ["retail"] * 2, "district": ["D01"] * 2, "registered_capital": [50.0, 10.0],
    ...     "established": pd.to_datetime(["2020-01-01", "2023-06-01"]),
    ...     "deregistered": pd.to_datetime([None, None])})
    >>> pens = pd.DataFrame({"penalty_id": ["P1"], "entity_id": ["E0000001"],
    ...     "published": pd.to_datetime(["2023-12-01"]), "amount": [2000.0],
    ...     "severity": ["general"], "repaired": pd.to_datetime([None])})
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec().subset(["entity_age_years", "penalties_count_365d"])
    >>> panel = build_panel({"entities": ents, "penalties": pens}, ["2023-01-01", "2024-01-01"], spec)
    >>> panel.frame[["entity_id", "penalties_count_365d"]].to_dict("list")
    {'entity_id': ['E0000001', 'E0000001', 'E0000002'], 'penalties_count_365d': [0.0, 1.0, 0.0]}
    """
    started = time.perf_counter()
    if spec is None or isinstance(spec, str | Path):
        spec = load_feature_spec(spec)
    elif not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be None, a folder path or a FeatureSpec, not {type(spec).__name__}")
    catalog = _effective_catalog(records, spec)
    tables = _check_records(records, spec, catalog)
    as_of_days = as_of_grid(tables, catalog, as_of)
    entities = tables[catalog.entity_source]
    if entities[catalog.entities.entity_key].duplicated().any():
        dups = entities.loc[entities[catalog.entities.entity_key].duplicated(), catalog.entities.entity_key]
        raise ValueError(f"the entity registry has duplicate ids, e.g. {dups.head(3).tolist()}")
    frame = compute_bucket(tables, entities, as_of_days, spec, catalog, show_progress=show_progress)
    feature_catalog = spec.catalog()
    if spec.network is not None:
        values, net_catalog = _network_columns(spec, tables, entities, frame, catalog)
        frame = pd.concat([frame, values], axis=1)
        feature_catalog = pd.concat([feature_catalog, spec.group(net_catalog)])
    logger.info(
        "panel: %d rows x %d features over %d as-of dates in %.2f s",
        len(frame), len(feature_catalog), len(as_of_days), time.perf_counter() - started,
    )
    return Panel(frame=frame, catalog=feature_catalog, spec_hash=spec.hash())
