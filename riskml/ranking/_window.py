"""Point-in-time record look-ups shared by blind spots, selection handling and plans.

Every question here has the form "for each row ``(entity, t)``, is there a record of
these sources known in ``[t + start, t + end)``?" or "is the entity alive at ``t``?".
Records are sorted once per source by the features' single int64 key (entity code,
known day) and each row's window becomes two ``np.searchsorted`` positions, as in the
panel engine (:mod:`riskml.features._kernels`); nothing loops over entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskml._time import in_force
from riskml.features._kernels import NEVER, SortedRecords, to_days
from riskml.features._spec import where_mask
from riskml.ranking._spec import SourceFilter
from riskml.records._sources import SourceCatalog, load_sources

__all__ = ["alive_at", "as_filters", "catalog_of", "known_in_window", "row_days"]


def catalog_of(records: Mapping[str, pd.DataFrame]) -> SourceCatalog:
    """The source declarations records follow (a Records' own catalog, else the built-in one)."""
    if not isinstance(records, Mapping):
        raise TypeError(f"records must be riskml.records.Records or a dict of DataFrames, not {type(records).__name__}")
    catalog = getattr(records, "catalog", None)
    return catalog if isinstance(catalog, SourceCatalog) else load_sources()


def as_filters(sources: Iterable[Any] | str, catalog: SourceCatalog) -> list[SourceFilter]:
    """Source filters from names, ``{source, where}`` mappings or :class:`SourceFilter` objects.

    Raises
    ------
    ValueError
        When a source is not declared in ``catalog``.
    """
    items = [sources] if isinstance(sources, str | SourceFilter | dict) else list(sources)
    out: list[SourceFilter] = []
    for item in items:
        flt = item if isinstance(item, SourceFilter) else SourceFilter(source=item) if isinstance(item, str) else SourceFilter(**item)
        if flt.source not in catalog:
            raise ValueError(f"unknown source {flt.source!r}; declared sources: {sorted(catalog.sources)}")
        out.append(flt)
    if not out:
        raise ValueError("at least one source is needed")
    return out


def row_days(as_of: pd.Series | np.ndarray) -> np.ndarray:
    """Days since 1970 of each row's as-of date (datetime64 values)."""
    values = np.asarray(as_of, dtype="datetime64[ns]")
    if np.isnat(values).any():
        raise ValueError("as_of has missing dates")
    return to_days(values)


def known_in_window(
    records: Mapping[str, pd.DataFrame],
    filters: Sequence[SourceFilter],
    entity_id: pd.Series | np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    catalog: SourceCatalog | None = None,
) -> np.ndarray:
    """Whether each row has a record of ``filters`` known in ``[start, end)``.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
    filters : sequence of SourceFilter
        Sources (and row filters) whose records count.
    entity_id : Series or ndarray of str
        Entity of each row.
    start, end : ndarray of int64
        Window bounds per row, in days since 1970 (``end`` exclusive).
    catalog : SourceCatalog, optional
        Declarations of the sources (default: the records').

    Returns
    -------
    ndarray of bool

    Raises
    ------
    ValueError
        When records lack a table a filter reads.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskml.ranking._spec import SourceFilter
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000001"], "kind": ["random"],
    ...     "closed": pd.to_datetime(["2024-03-01"])})
    >>> day = int(np.datetime64("2024-06-01", "D").astype(np.int64))
    >>> known_in_window({"inspections": insp}, [SourceFilter(source="inspections")],
    ...     pd.Series(["E0000001", "E0000002"]), np.array([day - 365] * 2), np.array([day] * 2)).tolist()
    [True, False]
    """
    catalog = catalog or catalog_of(records)
    ent = pd.Series(entity_id, copy=False).to_numpy(dtype=object)
    ids = pd.Index(pd.unique(ent))
    code = ids.get_indexer(ent).astype(np.int64)
    hit = np.zeros(len(ent), dtype=bool)
    for flt in filters:
        if flt.source not in records:
            raise ValueError(f"records have no {flt.source!r} table, which is needed here; present: {sorted(records)}")
        table = records[flt.source]
        spec = catalog[flt.source]
        keep = where_mask(table, flt.where) if flt.where else np.ones(len(table), dtype=bool)
        rec_code = ids.get_indexer(table[spec.entity_key])
        known = to_days(table[spec.known_at].to_numpy(dtype="datetime64[ns]"))
        keep &= (rec_code >= 0) & (known != NEVER)
        if not keep.any():
            continue
        sorted_records = SortedRecords(rec_code[keep].astype(np.int64), known[keep])
        hit |= sorted_records.position(code, end) > sorted_records.position(code, start)
    return hit


def alive_at(
    records: Mapping[str, pd.DataFrame],
    entity_id: pd.Series | np.ndarray,
    day: np.ndarray,
    catalog: SourceCatalog | None = None,
) -> np.ndarray:
    """Whether each row's entity is alive at its day, as in the panel.

    Alive at ``t``: established (the registry's ``known_at``) before ``t`` and not ended
    (its ``valid_to``) before ``t``. Entities missing from the registry are not alive.
    Without a registry table every row counts as alive.
    """
    catalog = catalog or catalog_of(records)
    registry = records.get(catalog.entity_source) if hasattr(records, "get") else None
    if registry is None:
        return np.ones(len(day), dtype=bool)
    spec = catalog.entities
    index = pd.Index(registry[spec.entity_key])
    pos = index.get_indexer(pd.Series(entity_id, copy=False))
    est = to_days(registry[spec.known_at].to_numpy(dtype="datetime64[ns]"))
    if spec.valid_to and spec.valid_to in registry.columns:
        end = to_days(registry[spec.valid_to].to_numpy(dtype="datetime64[ns]"))
    else:
        end = np.full(len(registry), NEVER, dtype=np.int64)
    found = pos >= 0
    safe = np.where(found, pos, 0)
    return found & in_force(est[safe], end[safe], day)
