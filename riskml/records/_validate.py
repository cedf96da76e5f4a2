"""Validation of records against their declaration, with quarantine and pseudonymisation.

Validation is where records enter riskml (ingestion): every table is checked against
its :class:`~riskml.records.SourceSpec`, values are coerced to the declared dtypes, and
every personal column is replaced by :func:`~riskml.records.pseudonymise`.

Two modes:

* ``strict`` raises one :class:`RecordsError` listing every problem found (source,
  column, number of rows, a few example values), with a structured ``.problems`` list.
* ``lenient`` keeps the clean rows and sets every other row aside in
  ``Records.quarantine``: one row per quarantined record carrying its *first* problem
  in the order of :data:`REASONS` (strict mode reports every problem). Nothing is
  dropped silently: for every source ``n_in == n_kept + n_quarantined``
  (``Records.counts``).

Every check is a vectorised mask over whole columns; the only per-value Python work is
the keyed hash of each distinct personal value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import is_datetime64_any_dtype

from riskml.records._coerce import coerce_column, coerced_or_parse, final_dtype
from riskml.records._io import from_frames
from riskml.records._privacy import _raw_personal, _resolve_key, pseudonymise
from riskml.records._records import Records, empty_quarantine
from riskml.records._sources import SourceCatalog, SourceSpec

__all__ = ["MAX_MAGNITUDE", "MODES", "REASONS", "Problem", "RecordsError", "validate"]

logger = logging.getLogger(__name__)

MODES = ("strict", "lenient")

#: Largest magnitude accepted in an int or float column: 10 trillion, beyond any real
#: amount, and small enough that sums stay exact in whole cents (2**53 cents).
MAX_MAGNITUDE = 1e13

# The quarantine reasons, in the order a row's first problem is chosen, with what was
# expected instead.
REASONS: dict[str, str] = {
    "undeclared_source": "a source declared in the catalog",
    "missing_source": "the entity source, to check entity keys against",
    "missing_column": "a required column",
    "duplicate_column": "one column of each name",
    "null_key": "a non-null, non-blank entity key, record id and counterparty",
    "wrong_type": "a value of the declared type",
    "non_finite": "a finite number (not inf, -inf or NaN)",
    "out_of_range": f"a number of magnitude below {MAX_MAGNITUDE:.0e}",
    "unparseable_date": "an ISO 8601 date (YYYY-MM-DD) between 1677 and 2262",
    "unknown_category": "one of the declared categories",
    "null_value": "a value (the column is not nullable)",
    "duplicate_record_id": "a record id unique within the source",
    "negative_amount": "a value >= 0",
    "known_at_in_future": "a knowledge date on or before `now`",
    "known_before_event": "a knowledge date on or after the event date",
    "ends_before_known": "an end date (valid_to) on or after the knowledge date",
    "unknown_entity": "an entity present in the entity source",
    "entity_quarantined": "an entity whose own registry row passed validation",
}
_REASON_ORDER = {reason: i for i, reason in enumerate(REASONS)}
_N_EXAMPLES = 3
_PERSONAL_PLACEHOLDER = "<personal value>"

@dataclass(frozen=True)
class Problem:
    """One kind of problem in one column of one source, found by :func:`validate`.

    Attributes
    ----------
    source : str
    column : str or None
        None for problems of a whole table (an undeclared or missing source).
    reason : str
        A key of :data:`REASONS`.
    n_rows : int
        How many rows have it.
    examples : tuple of str
        A few offending values (record ids when the value itself is missing; personal
        values are never shown).
    expected : str
        What was expected instead.

    Examples
    --------
    >>> from riskml.records._validate import Problem
    >>> print(Problem("penalties", "amount", "negative_amount", 2, ("-5.0",), "a value >= 0"))
    penalties.amount: negative_amount in 2 row(s), e.g. -5.0; expected a value >= 0
    """

    source: str
    column: str | None
    reason: str
    n_rows: int
    examples: tuple[str, ...]
    expected: str

    def __str__(self) -> str:
        where = self.source if self.column is None else f"{self.source}.{self.column}"
        eg = f", e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{where}: {self.reason} in {self.n_rows:,} row(s){eg}; expected {self.expected}"


class RecordsError(ValueError):
    """Records failed strict validation; ``.problems`` lists every problem found.

    Examples
    --------
    >>> from riskml.records import RecordsError
    >>> from riskml.records._validate import Problem
    >>> err = RecordsError([Problem("changes", "changed", "null_value", 1, ("record C9",), "a value")])
    >>> err.problems[0].reason
    'null_value'
    """

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        n_sources = len({p.source for p in self.problems})
        lines = [f"records failed strict validation: {len(self.problems)} problem(s) in {n_sources} source(s)"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass
class _Finding:
    column: str | None
    reason: str
    mask: np.ndarray
    values: pd.Series | None  # offending values, aligned with the table; None = show record ids
    expected: str = ""

    @property
    def order(self) -> int:
        return _REASON_ORDER[self.reason]


@dataclass
class _SourceResult:
    kept: pd.DataFrame
    quarantine: pd.DataFrame
    problems: list[Problem]
    n_in: int


def _isin(values: pd.Series, universe: pd.Index) -> np.ndarray:
    """``values.isin(universe)`` as a bool array; via Arrow, which is several times
    faster than pandas on string columns of millions of rows."""
    arr = pa.array(values.astype("str").array)
    value_set = pa.array(pd.Series(universe, dtype="str").array).cast(arr.type)
    return pc.is_in(arr, value_set=value_set).to_numpy(zero_copy_only=False).astype(bool)


def _as_text(values: pd.Series) -> pd.Series:
    if is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype("str")
    return values.astype("str")


def _examples(finding: _Finding, record_ids: pd.Series, personal: bool) -> tuple[str, ...]:
    rows = np.flatnonzero(finding.mask)
    if finding.values is None:
        ids = record_ids.iloc[rows[: _N_EXAMPLES * 4]]
        shown = [f"record {v}" if pd.notna(v) else f"row {r}" for r, v in zip(rows, ids, strict=False)]
        return tuple(dict.fromkeys(shown))[:_N_EXAMPLES]
    if personal:
        return (_PERSONAL_PLACEHOLDER,)
    vals = _as_text(finding.values.iloc[rows[: 1000]]).dropna().unique()[:_N_EXAMPLES]
    return tuple(repr(v) for v in vals)


def _check_source(
    name: str,
    table: pd.DataFrame,
    spec: SourceSpec | None,
    *,
    catalog: SourceCatalog,
    now: pd.Timestamp,
    entity_ids: pd.Index | None,
    all_entity_ids: pd.Index | None,
    key: str | bytes | None,
) -> _SourceResult:
    n = len(table)
    table = table.reset_index(drop=True)
    everywhere = np.ones(n, dtype=bool)
    if spec is None:
        expected = f"{REASONS['undeclared_source']}; declared: {sorted(catalog.sources)}"
        return _assemble(name, table, None, [_Finding(None, "undeclared_source", everywhere, None, expected)], {}, key)

    findings: list[_Finding] = []
    parsed: dict[str, pd.Series] = {}
    duplicated = table.columns.duplicated()
    if duplicated.any():
        names = sorted(set(table.columns[duplicated]))
        expected = f"{REASONS['duplicate_column']}; repeated: {names}"
        findings.append(_Finding(names[0], "duplicate_column", everywhere, None, expected))
        table = table.loc[:, ~duplicated]
    undeclared = [c for c in table.columns if c not in spec.columns]
    if undeclared:
        logger.warning("source %r: dropping undeclared column(s) %s", name, undeclared)
    for col, cspec in spec.columns.items():
        if col not in table.columns:
            if cspec.required:
                expected = f"{REASONS['missing_column']}; present: {list(table.columns)}"
                findings.append(_Finding(col, "missing_column", everywhere, None, expected))
            elif cspec.nullable:
                parsed[col] = coerce_column(pd.Series([None] * n, dtype="object"), cspec).values
            continue
        raw = table[col]
        coerced = coerced_or_parse(table, col, cspec)
        parsed[col] = coerced.values
        if coerced.bad.any():
            reason = coerced.reason or "wrong_type"
            expected = {
                "wrong_type": f"a value of type {cspec.type}",
                "unknown_category": f"one of {list(cspec.categories or ())}",
            }.get(reason, REASONS[reason])
            findings.append(_Finding(col, reason, coerced.bad, raw, expected))
        isnull = raw.isna().to_numpy()
        if cspec.type == "str":
            isnull = isnull | (coerced.values.isna().to_numpy() & ~isnull)  # blank text
        if isnull.any():
            if col in (spec.entity_key, spec.record_id, spec.counterparty):
                findings.append(_Finding(col, "null_key", isnull, None, REASONS["null_key"]))
            elif not cspec.nullable:
                findings.append(_Finding(col, "null_value", isnull, None, REASONS["null_value"]))
        if cspec.type in ("int", "float"):
            findings.extend(_range_findings(col, coerced.values))
        if cspec.nonnegative:
            negative = (coerced.values < 0).fillna(False).to_numpy(dtype=bool)
            if negative.any():
                findings.append(_Finding(col, "negative_amount", negative, coerced.values, REASONS["negative_amount"]))

    rid = parsed.get(spec.record_id)
    if rid is not None:
        dup = (rid.notna() & rid.duplicated(keep=False)).to_numpy()
        if dup.any():
            findings.append(_Finding(spec.record_id, "duplicate_record_id", dup, rid, REASONS["duplicate_record_id"]))
    known = parsed.get(spec.known_at)
    if known is not None:
        future = (known > now).fillna(False).to_numpy(dtype=bool)
        if future.any():
            expected = f"a knowledge date on or before {now:%Y-%m-%d}"
            findings.append(_Finding(spec.known_at, "known_at_in_future", future, known, expected))
        event = parsed.get(spec.event_at) if spec.event_at else None
        if event is not None and spec.event_at != spec.known_at:
            early = (known < event).fillna(False).to_numpy(dtype=bool)
            if early.any():
                expected = f"{spec.known_at} on or after {spec.event_at}"
                findings.append(_Finding(spec.known_at, "known_before_event", early, known, expected))

    end = parsed.get(spec.valid_to) if spec.valid_to else None
    if known is not None and end is not None and spec.valid_to != spec.known_at:
        ends_early = (end < known).fillna(False).to_numpy(dtype=bool)
        if ends_early.any():
            expected = f"{spec.valid_to} on or after {spec.known_at}"
            findings.append(_Finding(spec.valid_to, "ends_before_known", ends_early, end, expected))

    if entity_ids is not None:
        for role in ("entity_key", "counterparty"):
            col = getattr(spec, role)
            if col is None or col not in parsed or (role == "entity_key" and name == catalog.entity_source):
                continue
            values = parsed[col]
            present = values.notna().to_numpy()
            unknown_all = present & ~_isin(values, all_entity_ids)
            unknown = unknown_all if entity_ids is all_entity_ids else present & ~_isin(values, entity_ids)
            if unknown_all.any():
                expected = f"an entity present in {catalog.entity_source!r}"
                findings.append(_Finding(col, "unknown_entity", unknown_all, values, expected))
            quarantined_entity = unknown & ~unknown_all
            if quarantined_entity.any():
                expected = REASONS["entity_quarantined"]
                findings.append(_Finding(col, "entity_quarantined", quarantined_entity, values, expected))

    return _assemble(name, table, spec, findings, parsed, key)


def _range_findings(column: str, values: pd.Series) -> list[_Finding]:
    """inf / -inf and magnitudes of :data:`MAX_MAGNITUDE` or more in a numeric column."""
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        infinite = np.isinf(arr)
        huge = np.isfinite(arr) & (np.abs(arr) >= MAX_MAGNITUDE)
    out = []
    if infinite.any():
        out.append(_Finding(column, "non_finite", infinite, values, REASONS["non_finite"]))
    if huge.any():
        out.append(_Finding(column, "out_of_range", huge, values, REASONS["out_of_range"]))
    return out


def _assemble(
    name: str,
    table: pd.DataFrame,
    spec: SourceSpec | None,
    findings: list[_Finding],
    parsed: dict[str, pd.Series],
    key: str | bytes | None,
) -> _SourceResult:
    n = len(table)
    position = {col: i for i, col in enumerate(spec.columns)} if spec is not None else {}
    findings.sort(key=lambda f: (f.order, position.get(f.column, -1)))
    personal = set(spec.personal_columns) if spec is not None else set()
    if spec is not None and spec.record_id in table.columns:
        record_ids = table[spec.record_id].astype("str")
    else:
        record_ids = pd.Series(np.nan, index=table.index, dtype="str")
    problems = [
        Problem(name, f.column, f.reason, int(f.mask.sum()), _examples(f, record_ids, f.column in personal), f.expected)
        for f in findings
    ]

    first = np.full(n, -1, dtype=np.int64)
    for k, f in enumerate(findings):
        first[f.mask & (first < 0)] = k
    pieces = []
    for k, f in enumerate(findings):
        rows = np.flatnonzero(first == k)
        if not len(rows):
            continue
        if f.values is None:
            value = pd.Series(np.nan, index=range(len(rows)), dtype="str")
        else:
            value = _as_text(f.values.iloc[rows]).reset_index(drop=True)
            if f.column in personal:
                value = pseudonymise(value, key)
        pieces.append(
            pd.DataFrame(
                {
                    "source": pd.Series(name, index=range(len(rows)), dtype="str"),
                    "row": rows.astype("int64"),
                    "record_id": record_ids.iloc[rows].reset_index(drop=True),
                    "column": pd.Series(f.column, index=range(len(rows)), dtype="str"),
                    "reason": pd.Series(f.reason, index=range(len(rows)), dtype="str"),
                    "value": value,
                }
            )
        )
    quarantine = pd.concat(pieces, ignore_index=True) if pieces else empty_quarantine()

    if spec is None:
        return _SourceResult(table.iloc[:0], quarantine, problems, n)
    keep = first < 0
    all_kept = bool(keep.all())
    kept = {}
    for col, cspec in spec.columns.items():
        if col not in parsed:
            continue
        values = parsed[col] if all_kept else parsed[col][keep].reset_index(drop=True)
        values = final_dtype(values, cspec)
        if cspec.personal:
            values = pseudonymise(values, key)
        kept[col] = values
    kept_frame = pd.DataFrame(kept, index=pd.RangeIndex(int(keep.sum())))
    return _SourceResult(kept_frame, quarantine, problems, n)


def _needs_key(records: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> bool:
    return any(raw.any() for _, raw in _raw_personal(records, catalog))


def validate(
    records: Records | Mapping[str, pd.DataFrame],
    mode: Literal["strict", "lenient"] = "strict",
    *,
    now: str | dt.date | pd.Timestamp | None = None,
    key: str | bytes | None = None,
) -> Records:
    """Check records against their declaration, coerce dtypes and pseudonymise.

    Checks, per source: an undeclared source, a missing required column, a wrong type,
    an unparseable date, a null entity key / record id / counterparty, a null in a
    non-nullable column, an unknown category, a duplicate record id (every row sharing
    it), a negative value in a ``nonnegative`` column, an infinite number or one of
    magnitude :data:`MAX_MAGNITUDE` or more, ``known_at`` after ``now``, ``known_at``
    before ``event_at``, ``valid_to`` before ``known_at``, a column name used twice,
    and an entity key (or counterparty) that is not in the entity source. Blank text
    is a null (so a blank key is refused). A date written with a time zone
    (``2024-03-01T23:30+08:00``) keeps the calendar date as written. Undeclared columns
    are dropped with a warning.

    Parameters
    ----------
    records : Records or mapping of str to DataFrame
        Raw records (from :func:`read` or :func:`from_frames`); a plain mapping is
        checked against the built-in sources.
    mode : {"strict", "lenient"}
        ``strict`` raises on any problem; ``lenient`` quarantines the rows with
        problems and keeps the rest.
    now : date-like, optional
        Records known after this date are in the future. Default: today.
    key : str or bytes, optional
        Pseudonymisation key; default the environment variable
        ``RISKML_PSEUDONYM_KEY``.

    Returns
    -------
    Records
        Clean tables in the declared dtypes and column order, ``validated=True``,
        ``pseudonymised=True``, ``quarantine`` (one row per quarantined record, with
        its first reason in the order of :data:`REASONS`) and ``counts`` (``n_in ==
        n_kept + n_quarantined`` for every source).

    Raises
    ------
    RecordsError
        In strict mode, listing every problem (source, column, rows, examples).
    PrivacyError
        When personal values are present and no pseudonymisation key is set.

    See Also
    --------
    read, from_frames, pseudonymise

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import from_frames, validate
    >>> entities = pd.DataFrame({
    ...     "entity_id": ["E0000001"], "entity_type": ["enterprise"], "industry": ["retail"],
    ...     "district": ["D01"], "registered_capital": [50.0], "established": ["2020-01-15"],
    ...     "deregistered": [None], "legal_rep_id": ["110101199001011234"],
    ...     "legal_rep_name": ["Zhang San"], "legal_rep_phone": [None], "address_id": ["A1"]})
    >>> changes = pd.DataFrame({"change_id": ["C1", "C2"], "entity_id": ["E0000001", "E0000009"],
    ...     "change_type": ["address", "name"], "changed": ["2023-05-01", "2023-06-01"]})
    >>> raw = from_frames({"entities": entities, "changes": changes})
    >>> clean = validate(raw, mode="lenient", now="2025-01-01", key="an-example-key-of-enough-length")
    >>> clean.counts[["source", "n_in", "n_kept", "n_quarantined"]].values.tolist()
    [['entities', 1, 1, 0], ['changes', 2, 1, 1]]
    >>> clean.quarantine[["source", "record_id", "reason", "value"]].values.tolist()
    [['changes', 'C2', 'unknown_entity', 'E0000009']]
    >>> clean["entities"]["legal_rep_id"].str.startswith("p_").all()
    np.True_
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(records, Records):
        if not isinstance(records, Mapping):
            raise TypeError(
                f"validate expects Records or a mapping of source name to DataFrame, got {type(records).__name__}"
            )
        records = from_frames(records)
    catalog = records.catalog
    now_ts = pd.Timestamp.today().normalize() if now is None else pd.Timestamp(now)
    if _needs_key(records, catalog):
        _resolve_key(key)  # fail fast, before any work, when no key is set

    common = {"catalog": catalog, "now": now_ts, "key": key}
    results: dict[str, _SourceResult] = {}
    problems: list[Problem] = []
    ent_name = catalog.entity_source
    # Strict mode reports keys missing from the registry as given; lenient mode also
    # sets aside records of entities whose own registry row was quarantined, so the
    # clean tables stay referentially whole.
    entity_ids: pd.Index | None = None
    all_entity_ids: pd.Index | None = None
    if ent_name in records.tables:
        ent_table = records.tables[ent_name]
        ent = _check_source(ent_name, ent_table, catalog.entities, entity_ids=None, all_entity_ids=None, **common)
        results[ent_name] = ent
        ekey = catalog.entities.entity_key
        if ekey in ent_table.columns:
            ids = coerced_or_parse(ent_table, ekey, catalog.entities.columns[ekey]).values
        else:
            ids = coerce_column(pd.Series([], dtype="str"), catalog.entities.columns[ekey]).values
        all_entity_ids = pd.Index(ids.dropna().unique())
        if mode == "strict":
            entity_ids = all_entity_ids
        else:
            entity_ids = pd.Index(ent.kept[ekey].unique()) if ekey in ent.kept.columns else all_entity_ids[:0]
    elif any(name != ent_name for name in records.tables):
        problems.append(Problem(ent_name, None, "missing_source", 0, (), f"{REASONS['missing_source']} ({ent_name!r})"))
        logger.warning("no %r table: every record is for an unknown entity", ent_name)
        entity_ids = pd.Index([], dtype="str")
        all_entity_ids = entity_ids
    for name, table in records.tables.items():
        if name == ent_name:
            continue
        spec = catalog.sources.get(name)
        results[name] = _check_source(
            name, table, spec, entity_ids=entity_ids, all_entity_ids=all_entity_ids, **common
        )

    order = [n for n in records.tables]
    for name in order:
        problems.extend(results[name].problems)
    if mode == "strict" and problems:
        raise RecordsError(problems)

    quarantine = [results[n].quarantine for n in order if len(results[n].quarantine)]
    counts = pd.DataFrame(
        {
            "source": pd.Series(order, dtype="str"),
            "n_in": np.array([results[n].n_in for n in order], dtype="int64"),
            "n_kept": np.array([len(results[n].kept) for n in order], dtype="int64"),
            "n_quarantined": np.array([len(results[n].quarantine) for n in order], dtype="int64"),
        }
    )
    tables = {n: results[n].kept for n in order if n in catalog}
    if problems:
        logger.warning(
            "lenient validation quarantined %d of %d record(s): %s",
            int(counts["n_quarantined"].sum()), int(counts["n_in"].sum()),
            "; ".join(f"{p.source}.{p.column or '*'} {p.reason} x{p.n_rows}" for p in problems),
        )
    return dataclasses.replace(
        records,
        tables=tables,
        quarantine=pd.concat(quarantine, ignore_index=True) if quarantine else empty_quarantine(),
        counts=counts,
        validated=True,
        pseudonymised=True,
    )
