"""The in-memory form of a set of records: one DataFrame per declared source."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from riskml.records._sources import SourceCatalog, load_sources

__all__ = ["QUARANTINE_COLUMNS", "Records"]

# One row per quarantined record: which source, which record (its id or row number
# when the id itself is bad), why, and the offending column and value.
QUARANTINE_COLUMNS = ("source", "row", "record_id", "column", "reason", "value")


def empty_quarantine() -> pd.DataFrame:
    """A quarantine table with no rows and the documented columns and dtypes."""
    return pd.DataFrame(
        {
            "source": pd.Series([], dtype="str"),
            "row": pd.Series([], dtype="int64"),
            "record_id": pd.Series([], dtype="str"),
            "column": pd.Series([], dtype="str"),
            "reason": pd.Series([], dtype="str"),
            "value": pd.Series([], dtype="str"),
        }
    )


def empty_counts() -> pd.DataFrame:
    """A counts table with no rows and the documented columns and dtypes."""
    return pd.DataFrame(
        {
            "source": pd.Series([], dtype="str"),
            "n_in": pd.Series([], dtype="int64"),
            "n_kept": pd.Series([], dtype="int64"),
            "n_quarantined": pd.Series([], dtype="int64"),
        }
    )


@dataclass(frozen=True, eq=False)
class Records(Mapping[str, pd.DataFrame]):
    """Records of several sources, a read-only mapping ``source name -> DataFrame``.

    Column dtypes follow the declaration: ``str`` columns are pandas strings, ``date``
    columns ``datetime64[ns]`` at midnight, ``category`` columns categoricals with the
    declared categories, ``int`` columns ``int64`` (``Int64`` when nullable), ``float``
    ``float64`` and ``bool`` ``bool``.

    Attributes
    ----------
    tables : dict of str to DataFrame
        One table per source.
    catalog : SourceCatalog
        The declaration the tables follow.
    quarantine : DataFrame
        Records set aside by lenient validation, one row per quarantined record with
        its first problem (empty when nothing was quarantined); columns
        ``QUARANTINE_COLUMNS``: ``source``, ``row`` (position in the table as given),
        ``record_id``, ``column``, ``reason``, ``value`` (the offending value as text,
        pseudonymised when the column is personal).
    counts : DataFrame
        After validation, one row per source given: ``n_in == n_kept +
        n_quarantined`` always; empty before validation.
    validated : bool
        Whether the tables passed :func:`riskml.records.validate`.
    pseudonymised : bool
        Whether personal columns hold keyed hashes rather than raw values.

    Tables may also hold sources the catalog does not declare, or values not yet of
    the declared type, until :func:`riskml.records.validate` reports them.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import Records
    >>> recs = Records({"changes": pd.DataFrame({"change_id": ["C1"]})})
    >>> recs
    Records(changes=1)
    >>> recs["changes"].shape, recs.n_records
    ((1, 1), 1)
    """

    tables: dict[str, pd.DataFrame]
    catalog: SourceCatalog = field(default_factory=load_sources)
    quarantine: pd.DataFrame = field(default_factory=empty_quarantine)
    counts: pd.DataFrame = field(default_factory=empty_counts)
    validated: bool = False
    pseudonymised: bool = False

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no records for source {name!r}; present: {sorted(self.tables)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v):,}" for k, v in self.tables.items())
        flags = [f for f in ("validated", "pseudonymised") if getattr(self, f)]
        return f"Records({sizes}{'; ' + ', '.join(flags) if flags else ''})"

    @property
    def n_records(self) -> int:
        """Total number of rows across sources."""
        return sum(len(t) for t in self.tables.values())
