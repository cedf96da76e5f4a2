"""Records from (and to) a relational database, through Arrow.

A bureau keeps its record systems in PostgreSQL. :func:`read_database` reads one
table or query per source with the ADBC PostgreSQL driver, which hands back Arrow
tables column by column (no Python object per value), and passes them to
:func:`~riskml.records.from_frames`: the same coercion, validation and quarantine as
records read from files. An incremental read (``since=``) pushes a ``known_at >= since``
filter into each source's query, so only the records the bureau came to know since the
last run leave the database. :func:`write_database` loads records into tables (for
tests, benchmarks and a bureau's own staging), through the same driver.

The connection is a SQLAlchemy-style URL (``postgresql://user@host:5432/db``; a
``+driver`` suffix such as ``postgresql+psycopg://`` is accepted and ignored). SQL lives
in ``riskml/records/sql/``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from riskml.records._sources import SourceCatalog

__all__ = ["DATABASE_SCHEMES", "adbc_uri", "connect", "is_database_url", "quote", "read_database", "redact", "sql", "write_database"]

logger = logging.getLogger(__name__)

#: URL schemes read as a database (anything else is a folder).
DATABASE_SCHEMES = ("postgresql", "postgres")
_URL = re.compile(r"^(?P<scheme>[a-z]+)(\+[a-z0-9_]+)?://", re.IGNORECASE)
_QUERY = re.compile(r"^\s*(select|with|values|table)\b", re.IGNORECASE)
_SQL_DIR = Path(__file__).parent / "sql"


def is_database_url(path: Any) -> bool:
    """Whether ``path`` is a database URL riskml reads (``postgresql://...``).

    Examples
    --------
    >>> is_database_url("postgresql+psycopg://u@localhost/db"), is_database_url("data/records")
    (True, False)
    """
    match = _URL.match(path) if isinstance(path, str) else None
    return bool(match) and match["scheme"].lower() in DATABASE_SCHEMES


def adbc_uri(url: str) -> str:
    """The libpq URI for ADBC from a SQLAlchemy-style URL (drops ``+driver``).

    Examples
    --------
    >>> adbc_uri("postgresql+psycopg://riskml@127.0.0.1:5432/bureau")
    'postgresql://riskml@127.0.0.1:5432/bureau'
    """
    if not is_database_url(url):
        raise ValueError(f"not a PostgreSQL URL: {redact(url)!r}; expected postgresql://user@host:port/database")
    return _URL.sub("postgresql://", url, count=1)


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages and logs).

    Examples
    --------
    >>> redact("postgresql://bureau:s3cret@db:5432/records")
    'postgresql://bureau:***@db:5432/records'
    """
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@cache
def sql(name: str) -> str:
    """The text of ``riskml/records/sql/<name>.sql`` without its comment lines."""
    text = (_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()


def quote(identifier: str) -> str:
    """A PostgreSQL identifier in double quotes (schema-qualified names keep their dot).

    Examples
    --------
    >>> quote("penalties"), quote("bureau.penalties"), quote('odd"name')
    ('"penalties"', '"bureau"."penalties"', '"odd""name"')
    """
    return ".".join('"' + part.replace('"', '""') + '"' for part in identifier.split("."))


def connect(url: str) -> Any:
    """An ADBC DB-API connection (autocommit off) to the database at ``url``."""
    try:
        import adbc_driver_postgresql.dbapi as dbapi
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("reading records from PostgreSQL needs adbc-driver-postgresql: "
                          "pip install 'riskml[db]'") from exc
    try:
        return dbapi.connect(adbc_uri(url))
    except Exception as exc:
        raise ConnectionError(f"cannot connect to {redact(url)}: {exc}") from None


def _source_sql(source: str, known_at: str, since: pd.Timestamp | None) -> str:
    relation = f"({source}) " if _QUERY.match(source) else quote(source)
    if since is None:
        return sql("source_all").format(source=relation)
    return sql("source_since").format(source=relation, known_at=quote(known_at), since=since.isoformat(sep=" "))


def _to_frame(table: Any) -> pd.DataFrame:
    # dates as datetime64 (not Python date objects); timestamptz as naive UTC, as files hold them
    frame = table.to_pandas(date_as_object=False)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def read_database(
    url: str,
    tables: Mapping[str, str] | None,
    catalog: SourceCatalog,
    *,
    since: Any = None,
) -> dict[str, pd.DataFrame]:
    """One DataFrame per source from a PostgreSQL database.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host:port/database``.
    tables : mapping of str to str, optional
        Source name -> table name (optionally ``schema.table``) or a ``SELECT``
        query. Default: every declared source that has a table of the same name.
    catalog : SourceCatalog
        The declarations (each source's ``known_at`` column).
    since : date-like, optional
        Only rows whose ``known_at`` is on or after this date (the incremental read).

    Returns
    -------
    dict of str to DataFrame
    """
    since_ts = None if since is None else pd.Timestamp(since)
    if since_ts is not None and since_ts.tzinfo is not None:
        since_ts = since_ts.tz_convert("UTC").tz_localize(None)
    with connect(url) as conn, conn.cursor() as cur:
        if tables is None:
            cur.execute(sql("tables"))
            present = set(cur.fetch_arrow_table().column(0).to_pylist())
            tables = {name: name for name in catalog.sources if name in present}
            if not tables:
                raise FileNotFoundError(f"no table named after a declared source in {redact(url)}; declared: "
                                        f"{sorted(catalog.sources)}; pass tables={{source: table or query}}")
        out = {}
        for name, source in tables.items():
            if since_ts is not None and name not in catalog:
                raise ValueError(f"source {name!r} is not declared, so its known_at column is unknown; "
                                 "declare it or read it without since=")
            known_at = catalog[name].known_at if name in catalog else ""
            try:
                cur.execute(_source_sql(source, known_at, since_ts))
                out[name] = _to_frame(cur.fetch_arrow_table())
            except Exception as exc:
                conn.rollback()
                raise ValueError(f"reading source {name!r} from {source!r} in {redact(url)} failed: {exc}") from None
    logger.info("read %d source(s) (%d rows) from %s%s", len(out), sum(map(len, out.values())), redact(url),
                "" if since_ts is None else f" known since {since_ts.date()}")
    return out


def write_database(url: str, tables: Mapping[str, pd.DataFrame], *, mode: str = "replace") -> list[str]:
    """Load one table per source into the database, in one transaction.

    Parameters
    ----------
    url : str
    tables : mapping of str to DataFrame
    mode : {"replace", "append", "create"}
        As ADBC's bulk ingest: replace drops and recreates each table.

    Returns
    -------
    list of str
        The table names written.
    """
    import pyarrow as pa

    with connect(url) as conn, conn.cursor() as cur:
        for name, frame in tables.items():
            arrow = pa.Table.from_pandas(_plain(frame), preserve_index=False)
            cur.adbc_ingest(name, arrow, mode=mode)
        conn.commit()
    logger.info("wrote %d table(s) to %s", len(tables), redact(url))
    return list(tables)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns PostgreSQL ingest takes: categories as text, timestamps in microseconds."""
    columns = {}
    for col in frame.columns:
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype("str").where(values.notna(), None)
        elif values.dtype.kind == "M":
            values = values.astype("datetime64[us]") if values.dt.tz is None else values
        columns[col] = values
    return pd.DataFrame(columns, index=frame.index)
