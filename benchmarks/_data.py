"""Fast vectorised record generator for the panel benchmark.

The benchmark needs records in the contract dtypes of ``features/sources.yaml`` at
sizes up to a city (1M entities, ~100M records), produced in seconds, not hours. This
generator is driven by the source declarations (the :class:`SourceCatalog`), so it fills
every declared column of every source with the declared type and categories; it does
not try to be realistic beyond that (``riskml.synth`` is the realistic market).

How records are laid out, and why:

* Entity ids are ``"E0000001"``-style pandas ``str`` columns built with one Arrow
  ``take`` from the id dictionary (100M ids in about a second).
* Each entity has a skewed activity level (gamma distributed); records of a source
  are spread over entities by a multinomial draw on activity x time alive, and each
  record's ``known_at`` falls uniformly inside the entity's life within the period.
* Records are ordered by ``known_at`` with ties in random order, as a bureau's tables
  are appended in time: no engine gets input already sorted by entity.
* Amounts are whole yuan (integer-valued floats), so sums are exact in every engine
  and the engines' results can be compared for equality, not only closeness.

Examples
--------
>>> from benchmarks._data import make_records
>>> recs = make_records(200, "2019-01-01", "2021-01-01", seed=1, sources=["penalties"])
>>> sorted(recs), recs["entities"]["entity_id"].iloc[0]
(['entities', 'penalties'], 'E0000001')
>>> str(recs["penalties"]["published"].dtype)
'datetime64[ns]'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from riskml.records import load_sources
from riskml.records._sources import SourceCatalog, SourceSpec

__all__ = ["CITY_RATES", "FULL_RATES", "SUBSET_SOURCES", "entity_ids", "make_records"]

logger = logging.getLogger(__name__)

#: Sources of the windowed-aggregate subset the three engines are compared on.
SUBSET_SOURCES: tuple[str, ...] = ("penalties", "complaints", "inspections", "invoices")

#: Records per entity over the whole period for the full library (county size): a
#: few million records for 60k entities over six years.
FULL_RATES: dict[str, float] = {
    "licences": 0.8,
    "changes": 1.2,
    "annual_reports": 5.0,
    "inspections": 2.0,
    "penalties": 1.0,
    "abnormal_list": 0.3,
    "serious_violations": 0.05,
    "complaints": 2.0,
    "commendations": 0.2,
    "mortgages": 0.2,
    "pledges": 0.1,
    "trademarks": 0.3,
    "judicial": 0.2,
    "invoices": 40.0,
    "tax_cases": 0.02,
}

#: Records per entity over the period for the subset at city size: ~100 per entity,
#: ~100M records for 1M entities, two thirds of them invoices.
CITY_RATES: dict[str, float] = {"penalties": 10.0, "complaints": 14.0, "inspections": 10.0, "invoices": 66.0}

_DAY_NS = 86_400 * 10**9


def entity_ids(n: int) -> pa.Array:
    """Entity ids ``E0000001 .. E{n}`` as an Arrow string array.

    Examples
    --------
    >>> entity_ids(3).to_pylist()
    ['E0000001', 'E0000002', 'E0000003']
    """
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()), width=7, padding="0")
    return pc.binary_join_element_wise("E", digits, "")


def _str_column(dictionary: pa.Array, codes: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(pc.take(dictionary, pa.array(codes)), dtype="str"))


def _prefixed_ids(prefix: str, n: int) -> pd.Series:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()), width=9, padding="0")
    return pd.Series(pd.array(pc.binary_join_element_wise(prefix, digits, ""), dtype="str"))


def _days_to_datetime(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = (days.astype(np.int64) * _DAY_NS).astype("datetime64[ns]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


def _make_entities(n: int, start: int, end: int, rng: np.random.Generator, spec: SourceSpec) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    # A third of the entities predate the period; the rest are founded during it.
    old = rng.random(n) < 0.35
    est = np.where(old, rng.integers(start - 20 * 365, start, n), rng.integers(start, end - 30, n))
    gone = rng.random(n) < 0.15
    dereg = np.where(gone, est + 30 + (rng.random(n) * (end + 400 - est)).astype(np.int64), -1)
    dereg_missing = dereg < 0
    frame = _fill_columns(spec, n, rng, known=est, ids=None)
    frame[spec.entity_key] = pd.Series(pd.array(entity_ids(n), dtype="str"))
    frame[spec.known_at] = _days_to_datetime(est)
    if spec.valid_to:
        frame[spec.valid_to] = _days_to_datetime(np.maximum(dereg, 0), dereg_missing)
    alive_end = np.where(dereg_missing, end, np.minimum(dereg, end))
    return frame, est, alive_end


def _fill_columns(spec: SourceSpec, n: int, rng: np.random.Generator, known: np.ndarray, ids: pa.Array | None) -> pd.DataFrame:
    """Every declared column of ``spec`` for ``n`` records known on ``known`` days."""
    data: dict[str, object] = {}
    for name, col in spec.columns.items():
        nullable = bool(getattr(col, "nullable", False))
        missing = rng.random(n) < 0.3 if nullable else None
        if col.type == "category":
            cats = list(col.categories or ())
            # Skewed category frequencies, like real code lists.
            p = 1.0 / np.arange(1, len(cats) + 1)
            codes = rng.choice(len(cats), n, p=p / p.sum()).astype(np.int8)
            data[name] = pd.Categorical.from_codes(codes, categories=cats)
        elif col.type == "date":
            if name == spec.known_at:
                data[name] = _days_to_datetime(known)
            elif name == spec.event_at:
                data[name] = _days_to_datetime(known - rng.integers(0, 40, n))
            else:
                # End dates (valid_to, repaired, cancelled...) fall after the record is known.
                data[name] = _days_to_datetime(known + rng.integers(30, 3 * 365, n), missing)
        elif col.type == "float":
            values = np.round(rng.lognormal(7.0, 1.5, n))
            if missing is not None:
                values[missing] = np.nan
            data[name] = values
        elif col.type == "int":
            values = rng.integers(0, 50, n)
            data[name] = pd.array(values, dtype="Int64").copy() if nullable else values.astype(np.int64)
            if nullable:
                data[name][missing] = pd.NA
        elif col.type == "bool":
            data[name] = rng.random(n) < 0.2
        elif col.type == "str":
            if name == spec.record_id:
                data[name] = _prefixed_ids(spec.name[:2].upper(), n)
            elif ids is not None and name in (spec.entity_key, spec.counterparty):
                data[name] = _str_column(ids, rng.integers(0, len(ids), n))
            else:
                # Free identifiers (addresses, hashed personal ids): a modest vocabulary.
                vocab = pa.array([f"{name[:3]}{i:06d}" for i in range(max(1, min(n, 5000)))])
                values = _str_column(vocab, rng.integers(0, len(vocab), n))
                if missing is not None:
                    values = values.mask(missing)
                data[name] = values
        else:  # pragma: no cover - the column vocabulary is closed
            raise ValueError(f"source {spec.name!r} column {name!r}: unknown type {col.type!r}")
    return pd.DataFrame(data)


def make_records(
    n_entities: int,
    start: str = "2019-01-01",
    end: str = "2025-01-01",
    *,
    seed: int = 0,
    sources: Sequence[str] | None = None,
    rates: Mapping[str, float] | None = None,
    columns: str = "all",
    catalog: SourceCatalog | None = None,
) -> dict[str, pd.DataFrame]:
    """Records of every (or some) declared source for ``n_entities`` entities.

    Parameters
    ----------
    n_entities : int
        Entities in the registry.
    start, end : str
        The period records are known in (``start <= known_at < end``).
    seed : int
        Random seed; the same arguments always give the same records.
    sources : sequence of str, optional
        Sources besides the registry; default all in ``rates``.
    rates : mapping of str to float, optional
        Mean records per entity over the period, by source; default
        :data:`FULL_RATES`.
    columns : {"all", "subset"}
        ``"all"``: every declared column. ``"subset"``: only the entity key(s),
        ``known_at`` and ``amount`` where declared, enough for the windowed subset and
        about half the memory at city size.
    catalog : SourceCatalog, optional
        Source declarations; default the built-in ``features/sources.yaml``.

    Returns
    -------
    dict of str to DataFrame
        ``entities`` and one table per source in the contract dtypes.

    Examples
    --------
    >>> recs = make_records(100, seed=3, sources=["invoices"], rates={"invoices": 5.0}, columns="subset")
    >>> list(recs["invoices"].columns)
    ['seller_id', 'issued', 'amount']
    """
    if columns not in ("all", "subset"):
        raise ValueError(f"columns must be 'all' or 'subset', not {columns!r}")
    catalog = catalog if catalog is not None else load_sources()
    rates = dict(rates if rates is not None else FULL_RATES)
    names = list(sources) if sources is not None else list(rates)
    unknown = [s for s in names if s not in catalog or s == catalog.entity_source]
    if unknown:
        raise ValueError(f"unknown sources {unknown}; declared: {sorted(catalog.sources)}")
    rng = np.random.default_rng(seed)
    lo = int(pd.Timestamp(start).value // _DAY_NS)
    hi = int(pd.Timestamp(end).value // _DAY_NS)
    ent_spec = catalog.entities
    entities, est, alive_end = _make_entities(n_entities, lo, hi, rng, ent_spec)
    if columns == "subset":
        keep = [c for c in (ent_spec.entity_key, ent_spec.known_at, ent_spec.valid_to) if c]
        entities = entities[keep]
    ids = pa.array(entities[ent_spec.entity_key].array)
    first = np.maximum(est + 1, lo)
    span = np.maximum(alive_end - first, 0).astype(np.float64)
    activity = rng.gamma(0.6, 1.0, n_entities) * span
    p = activity / activity.sum()
    out = {catalog.entity_source: entities}
    for name in names:
        spec = catalog[name]
        n = int(round(rates[name] * n_entities))
        counts = rng.multinomial(n, p)
        entity = np.repeat(np.arange(n_entities, dtype=np.int32), counts)
        known = first[entity] + (rng.random(n) * span[entity]).astype(np.int64)
        # Appended in time order, same-day records in random order.
        shuffle = rng.permutation(n)
        order = shuffle[np.argsort((known[shuffle] - lo).astype(np.int16), kind="stable")]
        entity, known = entity[order], known[order]
        if columns == "subset":
            wanted = [c for c in (spec.entity_key, spec.known_at) if c]
            wanted += [c for c in ("amount",) if c in spec.columns]
            sub = spec.model_copy(update={"columns": {c: spec.columns[c] for c in wanted}})
            table = _fill_columns(sub, n, rng, known, ids)
        else:
            table = _fill_columns(spec, n, rng, known, ids)
        table[spec.entity_key] = _str_column(ids, entity)
        out[name] = table
        logger.info("generated %s: %d records", name, n)
    return out
