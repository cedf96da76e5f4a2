"""Evidence: the records behind one feature value of one entity at one as-of date.

:func:`evidence_for` makes the same selection the panel engine
(:mod:`riskml.features._engine`) makes for a feature, but keeps the records instead of
aggregating them: the feature's source, its ``where`` filter (the engine's
:func:`~riskml.features._spec.where_mask`), the window ``as_of - w <= known_at < as_of``,
the credit-repair / revocation rule (``ended_by`` with status ``active`` or
``ended``) and the open-state rule (``valid_to`` not before ``as_of``) of state
features. For aggregations decided by one record (``latest``, ``days_since_last``,
``days_since_first``) only that record is returned. Features over missed filing
deadlines (``missed_deadlines``) give the deadlines missed (year, last filing day, the
day the report came in).

A reviewer reads these rows beside the reason: "近365天行政处罚 2 次" comes with the two
penalties, their dates, amounts and issuing units. Personal columns (declared
``personal`` in ``sources.yaml``) are never part of the evidence.

Cross-entity features (``kind == "cross"``) have no one-to-one record set; their
evidence is the records the measure reads: the entity's invoices in the window (as
seller or buyer), or the other live entities sharing an identity column (without the
shared value itself).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskml._time import day_number, in_force
from riskml.features._deadlines import filed_within, missed_deadlines, missed_source
from riskml.features._kernels import NEVER, to_days
from riskml.features._spec import FeatureDef, FeatureSpec, load_feature_spec, where_mask
from riskml.records._sources import SourceCatalog, SourceSpec

__all__ = ["EVIDENCE_COLUMNS", "evidence_for", "source_catalog"]

logger = logging.getLogger(__name__)

#: leading columns of every evidence frame; the source's other non-personal columns follow
EVIDENCE_COLUMNS: tuple[str, ...] = ("source", "record_id", "entity_id", "event_at", "known_at")

# The engine's aggregations over open states (valid_to >= as_of and not ended).
_STATE_OPEN = frozenset({"on_list", "open_count", "open_sum", "days_to_expiry"})
# Aggregations whose value is read off a single record.
_SINGLE = {"latest": "last", "days_since_last": "last", "days_since_first": "first"}


def source_catalog(records: Mapping[str, pd.DataFrame], spec: FeatureSpec | None = None) -> SourceCatalog:
    """The source declarations that apply to ``records``.

    A :class:`riskml.records.Records` brings its own catalog (custom sources
    included); a plain dict uses the feature spec's sources.

    Examples
    --------
    >>> source_catalog({}).entity_source
    'entities'
    """
    own = getattr(records, "catalog", None)
    if isinstance(own, SourceCatalog):
        return own
    return (spec if spec is not None else load_feature_spec()).sources


def _feature_def(feature: str, catalog: pd.DataFrame | None, spec: FeatureSpec | None) -> FeatureDef | dict[str, Any]:
    """The full definition of ``feature`` (FeatureDef), or the catalog row of a cross feature."""
    if spec is not None:
        for f in spec.features:
            if f.name == feature:
                return f
    if catalog is not None and feature in catalog.index:
        row = catalog.loc[feature]
        if str(row.get("kind", "")) == "cross":
            return {"name": feature, **row.to_dict()}
        if spec is None:
            return _feature_def(feature, catalog, load_feature_spec())
        where = json.loads(row["where"]) if isinstance(row.get("where"), str) and row["where"] else {}
        window = row.get("window_days")
        window = None if window is None or (isinstance(window, float) and math.isnan(window)) else float(window)
        # No ended_by in a catalog row: a feature outside the spec counts every record.
        logger.warning("feature %r is not in the feature spec; evidence ignores credit-repair rules", feature)
        return FeatureDef(
            name=feature, source=str(row["source"]), dimension=str(row.get("dimension", "")),
            label_zh=str(row.get("label_zh", feature)), label_en=str(row.get("label_en", feature)),
            direction=int(row.get("direction", 0)), kind=str(row["kind"]), aggregation=str(row["aggregation"]),
            column=str(row.get("column") or "") or None, window_days=window, where=where,
        )
    if spec is None:
        return _feature_def(feature, catalog, load_feature_spec())
    known = sorted(spec.feature_names) + ([] if catalog is None else [str(i) for i in catalog.index])
    raise KeyError(f"unknown feature {feature!r}; expected one of the spec's or catalog's features, e.g. {known[:5]}")


def _days(series: pd.Series) -> np.ndarray:
    return to_days(series.to_numpy(dtype="datetime64[ns]"))


def _shape(rows: pd.DataFrame, src: SourceSpec, name: str, first: tuple[str, ...] = ()) -> pd.DataFrame:
    """Evidence layout: standard columns, then the value column(s), then the rest (no personal data)."""
    out = pd.DataFrame(
        {
            "source": pd.array([name] * len(rows), dtype="str"),
            "record_id": rows[src.record_id].astype("str").to_numpy(),
            "entity_id": rows[src.entity_key].astype("str").to_numpy(),
            "event_at": rows[src.event_at].to_numpy(dtype="datetime64[ns]")
            if src.event_at
            else np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]"),
            "known_at": rows[src.known_at].to_numpy(dtype="datetime64[ns]"),
        }
    )
    out["record_id"] = out["record_id"].astype("str")
    out["entity_id"] = out["entity_id"].astype("str")
    taken = {src.record_id, src.entity_key, src.known_at, *(c for c in (src.event_at,) if c)}
    personal = set(src.personal_columns)
    ordered = [c for c in first if c in rows.columns] + [c for c in src.columns if c not in first]
    for column in ordered:
        if column in taken or column in personal or column not in rows.columns:
            continue
        out[column] = rows[column].to_numpy() if not isinstance(rows[column].dtype, pd.CategoricalDtype) else rows[column].array
    return out.reset_index(drop=True)


def _empty_like(src: SourceSpec, name: str, table: pd.DataFrame | None, first: tuple[str, ...] = ()) -> pd.DataFrame:
    if table is None:
        table = pd.DataFrame({c: pd.Series([], dtype="object") for c in src.columns})
        for c, spec in src.columns.items():
            if spec.type == "date":
                table[c] = pd.Series([], dtype="datetime64[ns]")
    return _shape(table.iloc[:0], src, name, first)


def _missed(records: Mapping[str, pd.DataFrame], sources: SourceCatalog, src: SourceSpec, entity_id: str, t: int,
            table: pd.DataFrame) -> tuple[pd.DataFrame, SourceSpec]:
    """The entity's missed filing deadlines before ``t`` (see :mod:`riskml.features._deadlines`)."""
    ent = sources.entities
    registry = records[sources.entity_source]
    row = registry[registry[ent.entity_key].astype("str") == entity_id]
    est = _days(row[ent.known_at])
    ended = _days(row[ent.valid_to]) if ent.valid_to else np.full(len(row), NEVER, dtype=np.int64)
    own = table[table[src.entity_key].astype("str") == entity_id]
    return missed_deadlines(own, src, pd.Index([entity_id] * len(row)), est, ended, t), missed_source(src)


def evidence_for(
    records: Mapping[str, pd.DataFrame],
    entity_id: str,
    as_of: Any,
    feature: str,
    catalog: pd.DataFrame | None = None,
    *,
    spec: FeatureSpec | None = None,
) -> pd.DataFrame:
    """The records behind one feature value of one entity, as known at ``as_of``.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
        Validated records (dates as datetime64), as given to
        :func:`riskml.features.build_panel`.
    entity_id : str
        The entity.
    as_of : date-like
        The as-of date of the panel row (midnight).
    feature : str
        A panel feature name.
    catalog : DataFrame, optional
        The panel's feature catalog (``Panel.catalog``); needed for cross-entity
        features and features not in ``spec``.
    spec : FeatureSpec, optional
        The feature spec the panel was built with (default: riskml's built-in one); it
        carries the credit-repair rules (``ended_by``, ``status``) the catalog lacks.

    Returns
    -------
    DataFrame
        ``source``, ``record_id``, ``entity_id``, ``event_at``, ``known_at``, then
        the feature's value column and the source's other non-personal columns, one
        row per record the feature reads, ordered by ``known_at`` then record id.
        For a count feature the number of rows is the value; for a sum, the sum of
        the value column; for ``latest`` / ``days_since_*`` the one deciding record.
        Static (registry) features give the entity's registry row.

    Raises
    ------
    KeyError
        When ``feature`` is neither in the spec nor in the catalog.
    ValueError
        When ``as_of`` is not a calendar date (see ``riskml._time.as_of_date``).

    Examples
    --------
    >>> import pandas as pd
    >>> ents = pd.DataFrame({"entity_id": ["E0000001"], "established": pd.to_datetime(["2020-01-01"]),
    ...                      "deregistered": pd.to_datetime([None])})
    >>> pens = pd.DataFrame({"penalty_id": ["P1", "P2", "P3"], "entity_id": ["E0000001"] * 3,
    ...     "decided": pd.to_datetime(["2023-03-01", "2023-05-01", "2023-06-01"]),
    ...     "published": pd.to_datetime(["2023-03-20", "2023-05-20", "2024-02-01"]),
    ...     "amount": [2000.0, 500.0, 9000.0], "severity": ["general", "minor", "serious"],
    ...     "repaired": pd.to_datetime([None, "2023-09-01", None])})
    >>> ev = evidence_for({"entities": ents, "penalties": pens}, "E0000001", "2024-01-01", "penalties_count_365d")
    >>> ev[["record_id", "known_at", "amount"]].to_dict("list")
    {'record_id': ['P1'], 'known_at': [Timestamp('2023-03-20 00:00:00')], 'amount': [2000.0]}
    """
    t = day_number(as_of)
    f = _feature_def(feature, catalog, spec)
    sources = source_catalog(records, spec)
    if isinstance(f, dict):
        return _cross_evidence(records, sources, str(entity_id), t, f, spec)
    src = sources[f.source]
    first = tuple(c for c in (f.column,) if c)
    table = records.get(f.source) if isinstance(records, Mapping) else None
    if table is None:
        return _empty_like(src, f.source, None, first)
    if isinstance(f, FeatureDef) and f.missed_deadlines:  # the deadlines missed stand in for the records
        table, src = _missed(records, sources, src, str(entity_id), t, table)
    if f.kind == "static":
        rows = table[table[src.entity_key].astype("str") == str(entity_id)]
        return _shape(rows, src, f.source, first)

    rows = table[(table[src.entity_key].astype("str") == str(entity_id)).to_numpy(dtype=bool, na_value=False)]
    known = _days(rows[src.known_at])
    # The engine's slice: known in [t - w, t) (all history without a window).
    keep = (known != NEVER) & (known < t)
    if f.kind == "window" and f.window_days is not None:
        keep &= known >= t - int(f.window_days)
    if f.where:
        keep &= where_mask(rows, f.where)
    if isinstance(f, FeatureDef) and f.filed_within_days is not None:
        keep &= filed_within(rows, src, f.filed_within_days)
    agg = f.aggregation
    per_date = f.time_dependent or agg in ("max", "min", "distinct_count", "days_to_expiry")
    if per_date:
        if f.ended_by:
            end = np.full(len(rows), NEVER, dtype=np.int64)
            for column in f.ended_by:
                end = np.minimum(end, _days(rows[column]))
            if f.status == "ended":
                keep &= end < t
            elif f.status == "active" or agg in _STATE_OPEN:
                keep &= end >= t
        if agg in _STATE_OPEN and src.valid_to:
            keep &= _days(rows[src.valid_to]) >= t
    chosen = rows.loc[keep]
    # Same-day records keep record-id order, as in the engine (sorted by record id).
    chosen = chosen.assign(_day=known[keep], _rid=chosen[src.record_id].astype("str").to_numpy())
    chosen = chosen.sort_values(["_day", "_rid"], kind="stable")
    if agg in _SINGLE and len(chosen):
        chosen = chosen.iloc[[-1]] if _SINGLE[agg] == "last" else chosen.iloc[[0]]
    chosen = chosen.drop(columns=["_day", "_rid"])
    return _shape(chosen, src, f.source, first)


def _cross_evidence(
    records: Mapping[str, pd.DataFrame],
    sources: SourceCatalog,
    entity_id: str,
    t: int,
    row: dict[str, Any],
    spec: FeatureSpec | None,
) -> pd.DataFrame:
    """The records a cross-entity measure reads for one entity at day ``t``."""
    spec = spec if spec is not None else load_feature_spec()
    network = spec.network
    feature = None
    if network is not None:
        feature = next((nf for nf in network.features if nf.name == row["name"]), None)
    ent_name = sources.entity_source
    ent_src = sources.entities
    if feature is not None and feature.measure == "shared_identity":
        table = records[ent_name]
        column = str(feature.column)
        own = table[table[ent_src.entity_key].astype("str") == entity_id]
        if len(own) == 0 or own[column].isna().all():
            return _empty_like(ent_src, ent_name, table)
        value = own[column].iloc[0]
        est = _days(table[ent_src.known_at])
        end = _days(table[ent_src.valid_to]) if ent_src.valid_to else np.full(len(table), NEVER, dtype=np.int64)
        same = (table[column] == value).to_numpy(dtype=bool, na_value=False)
        others = same & in_force(est, end, t) & (table[ent_src.entity_key].astype("str") != entity_id).to_numpy()
        return _shape(table.loc[others], ent_src, ent_name)
    inv_name = network.invoices.source if network is not None else "invoices"
    if inv_name not in sources or inv_name not in records:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    src = sources[inv_name]
    table = records[inv_name]
    window = float(row.get("window_days", math.nan))
    if feature is not None and feature.baseline:
        window = max(window, float(feature.baseline.rstrip("d")))
    mine = (table[src.entity_key].astype("str") == entity_id).to_numpy(dtype=bool, na_value=False)
    if src.counterparty:
        mine = mine | (table[src.counterparty].astype("str") == entity_id).to_numpy(dtype=bool, na_value=False)
    known = _days(table[src.known_at])
    keep = mine & (known < t)
    if not math.isnan(window):
        keep &= known >= t - int(window)
    chosen = table.loc[keep].sort_values([src.known_at, src.record_id], kind="stable")
    return _shape(chosen, src, inv_name, tuple(c for c in (src.counterparty,) if c))
