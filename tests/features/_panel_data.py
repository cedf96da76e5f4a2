"""Small random record sets following the built-in sources, and a brute-force
reference implementation of every feature kind (one entity and date at a time)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskml.features._spec import FeatureDef, where_mask
from riskml.records import SourceCatalog, load_sources

START = pd.Timestamp("2019-01-01")
END = pd.Timestamp("2023-12-31")


def _dates(rng: np.random.Generator, n: int, start: pd.Timestamp = START, end: pd.Timestamp = END) -> pd.Series:
    span = (end - start).days
    return pd.Series(start + pd.to_timedelta(rng.integers(0, span + 1, n), unit="D")).astype("datetime64[ns]")


def _maybe_after(rng: np.random.Generator, base: pd.Series, p_null: float, max_days: int = 900) -> pd.Series:
    later = base + pd.to_timedelta(rng.integers(0, max_days, len(base)), unit="D")
    return later.where(rng.random(len(base)) > p_null).astype("datetime64[ns]")


def make_records(seed: int = 0, n_entities: int = 25, n_records: int = 60, catalog: SourceCatalog | None = None) -> dict[str, pd.DataFrame]:
    """A random record set for every declared source, with declared dtypes.

    Values are generic: category columns draw from their categories, dates fall in
    2019-2023 (ends after starts), amounts span 0..50,000.
    """
    rng = np.random.default_rng(seed)
    catalog = catalog or load_sources()
    ids = pd.Series([f"E{i:07d}" for i in range(1, n_entities + 1)], dtype="str")
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in catalog.sources.items():
        n = n_entities if name == catalog.entity_source else int(rng.integers(n_records // 2, n_records + 1))
        data: dict[str, object] = {}
        for col, cs in spec.columns.items():
            if col == spec.record_id:
                data[col] = pd.Series([f"{name[:3].upper()}{i:06d}" for i in range(n)], dtype="str")
            elif col in (spec.entity_key, spec.counterparty):
                data[col] = ids if name == catalog.entity_source else pd.Series(ids.to_numpy()[rng.integers(0, n_entities, n)], dtype="str")
            elif cs.type == "category":
                data[col] = pd.Categorical(rng.choice(list(cs.categories), n), categories=list(cs.categories))
            elif cs.type == "float":
                vals = pd.Series(np.round(rng.exponential(8000, n), 2))
                data[col] = vals.where(rng.random(n) > 0.1) if cs.nullable else vals
            elif cs.type == "int":
                vals = pd.Series(rng.integers(0, 50, n), dtype="Int64" if cs.nullable else "int64")
                data[col] = vals.where(rng.random(n) > 0.1) if cs.nullable else vals
            elif cs.type == "bool":
                data[col] = pd.Series(rng.random(n) < 0.3)
            elif cs.type == "str":
                data[col] = pd.Series([f"v{int(x)}" for x in rng.integers(0, 5, n)], dtype="str")
        frame = pd.DataFrame(data)
        if name == catalog.entity_source:
            frame[spec.known_at] = _dates(rng, n, pd.Timestamp("2015-01-01"), pd.Timestamp("2022-06-30"))
        else:
            frame[spec.known_at] = _dates(rng, n)
        if spec.event_at and spec.event_at != spec.known_at:
            frame[spec.event_at] = (frame[spec.known_at] - pd.to_timedelta(rng.integers(0, 60, n), unit="D")).astype("datetime64[ns]")
        for col, cs in spec.columns.items():
            if cs.type == "date" and col not in (spec.known_at, spec.event_at):
                p_null = 0.5 if cs.nullable else 0.0
                frame[col] = _maybe_after(rng, frame[spec.known_at], p_null)
        tables[name] = frame[list(spec.columns)]
    return tables


def naive_feature(f: FeatureDef, tables: dict[str, pd.DataFrame], catalog: SourceCatalog, entity_id: str, t: pd.Timestamp) -> float | str | None:
    """One feature of one entity at one date, by filtering the raw table."""
    spec = catalog[f.source]
    df = tables[f.source]
    if f.kind == "static":
        row = df[df[spec.entity_key] == entity_id].iloc[0]
        if f.aggregation == "age":
            return (t - row[spec.known_at]).days / 365.25
        value = row[f.column]
        return None if pd.isna(value) else (value if f.categorical else float(value))
    if f.missed_deadlines:
        return naive_missed_deadlines(f, tables, catalog, entity_id, t)
    rows = df[(df[spec.entity_key] == entity_id) & (df[spec.known_at] < t)]
    if f.where:
        rows = rows[where_mask(rows, f.where)]
    if f.filed_within_days is not None:  # known within n days after the end of its year
        ends = pd.to_datetime(rows[catalog[f.source].due.period].astype(int).astype(str) + "-12-31")
        rows = rows[((rows[spec.known_at] - ends).dt.days <= f.filed_within_days).to_numpy()]
    if f.kind == "window" and f.window_days is not None:
        rows = rows[rows[spec.known_at] >= t - pd.Timedelta(days=f.window_days)]
    ended = np.zeros(len(rows), dtype=bool)
    for col in f.ended_by:
        ended |= (rows[col] < t).to_numpy(dtype=bool, na_value=False)
    state_open = f.aggregation in ("on_list", "open_count", "open_sum", "days_to_expiry")
    if f.status == "active" or (state_open and f.ended_by):
        rows = rows[~ended]
    elif f.status == "ended":
        rows = rows[ended]
    if state_open:
        vt = rows[spec.valid_to]
        rows = rows[vt.isna() | (vt >= t)]
    agg = f.aggregation
    if agg in ("count", "open_count"):
        return float(len(rows))
    if agg == "on_list":
        return float(len(rows) > 0)
    if agg in ("sum", "open_sum"):
        return float(pd.to_numeric(rows[f.column]).astype("float64").sum())
    if agg in ("mean", "share"):
        v = pd.to_numeric(rows[f.column]).astype("float64").dropna()
        return float(v.mean()) if len(v) else np.nan
    if agg in ("max", "min"):
        v = pd.to_numeric(rows[f.column]).astype("float64").dropna()
        return float(getattr(v, agg)()) if len(v) else np.nan
    if agg == "distinct_count":
        return float(rows[f.column].dropna().nunique())
    if agg == "days_to_expiry":
        return float((rows[spec.valid_to] - t).dt.days.min()) if len(rows) else np.nan
    if agg in ("days_since_last", "days_since_first"):
        if not len(rows):
            return np.nan
        known = rows[spec.known_at]
        return float((t - (known.max() if agg == "days_since_last" else known.min())).days)
    if agg == "latest":
        if not len(rows):
            return None if f.categorical else np.nan
        # the last known record; ties go to the largest record id
        tied = rows[rows[spec.known_at] == rows[spec.known_at].max()]
        last = tied.sort_values(spec.record_id).iloc[-1]
        value = last[f.column]
        if pd.isna(value):
            return None if f.categorical else np.nan
        return value if f.categorical else float(value)
    raise AssertionError(f"unhandled aggregation {agg}")


def naive_missed_deadlines(f: FeatureDef, tables: dict[str, pd.DataFrame], catalog: SourceCatalog, entity_id: str,
                           t: pd.Timestamp) -> float:
    """A missed-deadline feature, year by year: owed, not filed by the last day, still missing at t."""
    spec, due = catalog[f.source], catalog[f.source].due
    ent = catalog.entities
    reg = tables[catalog.entity_source]
    reg = reg[reg[ent.entity_key] == entity_id].iloc[0]
    est, dereg = reg[ent.known_at], reg[ent.valid_to]
    df = tables[f.source]
    own = df[df[spec.entity_key] == entity_id]
    month, day = (int(x) for x in due.last_day.split("-"))
    found = []
    for year in range(due.first_period, t.year):
        last = pd.Timestamp(year + 1, month, day)
        if not last < t or est > pd.Timestamp(year, 12, 31) or (pd.notna(dereg) and dereg <= last):
            continue
        known = own.loc[own[due.period] == year, spec.known_at]
        if (known <= last).any():
            continue  # filed by the last day
        still_missing = not (known < t).any()
        in_window = f.window_days is None or last >= t - pd.Timedelta(days=f.window_days)
        found.append((in_window, still_missing))
    if f.aggregation == "count":
        return float(sum(w for w, _ in found))
    open_now = sum(m for _, m in found)
    return float(open_now > 0) if f.aggregation == "on_list" else float(open_now)
