"""Reading and writing records: one Parquet or CSV file per source.

A records folder holds ``<source>.parquet`` or ``<source>.csv`` per source (files whose
name starts with ``.`` or ``_`` and other extensions are ignored). Reading coerces each
declared column to its declared dtype when every value parses; a column with values
that do not parse is kept as given so that :func:`~riskml.records.validate` can report
them (nothing is turned into a null silently). A file for a source the catalog does not
declare is kept too: strict validation rejects it, lenient validation quarantines all
its rows with the reason ``undeclared_source``.

Every Parquet file riskml writes goes through :func:`to_parquet`, which stores
timestamps in microseconds: Spark refuses the nanosecond timestamps pandas writes by
default (``TIMESTAMP(NANOS)``), and record dates never carry sub-microsecond parts.

Writing refuses anything that could carry personal data: raw (non-pseudonymised)
values in personal columns, and sources or columns the catalog does not declare.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from riskml.records._coerce import coerce_column, final_dtype, mark_coerced, unmarked
from riskml.records._database import is_database_url, read_database, write_database
from riskml.records._privacy import PrivacyError, _raw_personal
from riskml.records._records import Records
from riskml.records._sources import SourceCatalog, load_sources
from riskml.records._spreadsheet import restore_formulas, write_csv

if TYPE_CHECKING:
    from riskml._time import DateLike

__all__ = ["FORMATS", "RecordsFileError", "from_frames", "read", "to_parquet", "write"]

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "csv")


def to_parquet(frame: pd.DataFrame, path: str | os.PathLike[str] | Any) -> None:
    """Write a DataFrame to Parquet with microsecond timestamps, readable by Spark.

    Parameters
    ----------
    frame : DataFrame
        Written without its index.
    path : str, PathLike or file-like
        The target file (or a binary buffer).

    Examples
    --------
    >>> import io, pandas as pd, pyarrow.parquet as pq
    >>> buffer = io.BytesIO()
    >>> to_parquet(pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"])}), buffer)
    >>> str(pq.read_schema(io.BytesIO(buffer.getvalue())).field("as_of").type)
    'timestamp[us]'
    """
    unmarked(frame).to_parquet(path, index=False, coerce_timestamps="us", allow_truncated_timestamps=True)


def _catalog(sources: SourceCatalog | str | os.PathLike[str] | None) -> SourceCatalog:
    if sources is None:
        return load_sources()
    if isinstance(sources, SourceCatalog):
        return sources
    if isinstance(sources, (str, os.PathLike)):
        return load_sources(sources)
    raise TypeError(f"sources must be a SourceCatalog, a path to a sources.yaml, or None; got {type(sources).__name__}")


def _personal_values_raw(records: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> dict[str, int]:
    """``"source.column" -> number of non-null values that are not pseudonyms``."""
    counts = {label: int(raw.sum()) for label, raw in _raw_personal(records, catalog)}
    return {label: n for label, n in counts.items() if n}


def from_frames(
    tables: Mapping[str, pd.DataFrame],
    sources: SourceCatalog | str | os.PathLike[str] | None = None,
) -> Records:
    """Raw records from a mapping ``source name -> DataFrame``.

    Each declared column whose values all parse is coerced to its declared dtype;
    other columns and undeclared sources are kept as given for
    :func:`validate` to report. Each table gets a fresh ``RangeIndex`` (quarantine rows
    refer to these positions). The inputs are not modified.

    Parameters
    ----------
    tables : mapping of str to DataFrame
    sources : SourceCatalog or path, optional
        The declaration to follow: a catalog, or a path to a ``sources.yaml`` (see
        :func:`load_sources`, including ``extends: builtin``). Default: built-in.

    Returns
    -------
    Records
        ``validated=False``; ``pseudonymised=True`` only when no personal column holds
        a raw value.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import from_frames
    >>> raw = from_frames({"changes": pd.DataFrame({
    ...     "change_id": ["C1"], "entity_id": ["E0000001"], "change_type": ["name"],
    ...     "changed": ["2023-06-01"]})})
    >>> raw["changes"].dtypes.astype(str).tolist()
    ['str', 'str', 'category', 'datetime64[ns]']
    """
    catalog = _catalog(sources)
    if not isinstance(tables, Mapping):
        raise TypeError(f"tables must be a mapping of source name to DataFrame, got {type(tables).__name__}")
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"table for source {name!r} must be a pandas DataFrame, got {type(frame).__name__}")
        frame = frame.reset_index(drop=True)
        if name not in catalog:
            logger.warning(
                "source %r is not declared (declared: %s); validation will report it", name, sorted(catalog.sources)
            )
            out[name] = frame
            continue
        if frame.columns.duplicated().any():
            repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
            logger.warning("source %r repeats column(s) %s; validation will report it", name, repeated)
            out[name] = frame
            continue
        spec = catalog[name]
        columns = {}
        coerced_columns = {}
        for col in frame.columns:
            cspec = spec.columns.get(col)
            if cspec is None:
                columns[col] = frame[col]
                continue
            coerced = coerce_column(frame[col], cspec)
            if coerced.bad.any():
                n_bad = int(coerced.bad.sum())
                logger.info(
                    "source %r column %r: %d value(s) do not parse as %s; kept as given", name, col, n_bad, cspec.type
                )
                columns[col] = frame[col]
            else:
                columns[col] = coerced_columns[col] = final_dtype(coerced.values, cspec)
        out[name] = mark_coerced(pd.DataFrame(columns, index=frame.index), coerced_columns)
    pseudonymised = not _personal_values_raw(out, catalog)
    return Records(tables=out, catalog=catalog, pseudonymised=pseudonymised)


def read(
    path: str | os.PathLike[str] | Mapping[str, pd.DataFrame],
    sources: SourceCatalog | str | os.PathLike[str] | None = None,
    *,
    tables: Mapping[str, str] | None = None,
    since: DateLike | None = None,
    mode: Literal["strict", "lenient"] = "strict",
) -> Records:
    """Read raw records from a folder of files or from a database.

    A folder holds one ``<source>.parquet`` or ``<source>.csv`` per source. CSV files
    are read as UTF-8 text; an empty field is null, every other text is kept for
    coercion. A database URL (``postgresql://user@host:port/db``) is read through
    Arrow with the ADBC PostgreSQL driver, one table or query per source (see
    ``tables``). Either way the tables then go through :func:`from_frames`: the same
    coercion, and :func:`validate` gives the same checks and quarantine. A mapping of
    DataFrames is passed on to :func:`from_frames`.

    Parameters
    ----------
    path : str, PathLike or mapping of str to DataFrame
        The folder, a database URL, or the tables.
    sources : SourceCatalog or path, optional
        The declaration to follow (see :func:`from_frames`). Default: built-in.
    tables : mapping of str to str, optional
        Database only: source name -> table (``schema.table``) or ``SELECT`` query.
        Default: every declared source with a table of the same name.
    since : date-like, optional
        Database only: the incremental read, only records whose ``known_at`` is on
        or after ``since`` (the filter runs in the database). Pass the as-of date of
        the last run: those records are the ones it could not use.
    mode : {"strict", "lenient"}
        What to do with a file that cannot be read (empty, not UTF-8, not a CSV or
        Parquet file): ``strict`` raises one :class:`RecordsFileError` naming every
        such file; ``lenient`` leaves them out with a warning naming each, and reads
        the others.

    Returns
    -------
    Records
        Raw records; call :func:`validate` before use.

    Raises
    ------
    FileNotFoundError
        When the folder does not exist or holds no record file (or the database no
        table named after a source).
    RecordsFileError
        In strict mode, when a file cannot be read (file and cause named).
    ValueError
        When one source has both a Parquet and a CSV file, or a database query fails
        (the message names the source).
    ConnectionError
        When the database cannot be reached (the message hides the password).

    See Also
    --------
    write, validate

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from riskml.records import read
    >>> folder = tempfile.mkdtemp()
    >>> pd.DataFrame({"change_id": ["C1"], "entity_id": ["E0000001"], "change_type": ["name"],
    ...               "changed": ["2023-06-01"]}).to_csv(f"{folder}/changes.csv", index=False)
    >>> read(folder)
    Records(changes=1; pseudonymised)
    """
    if isinstance(path, Mapping):
        return from_frames(path, sources)
    if is_database_url(path):
        catalog = _catalog(sources)
        return from_frames(read_database(str(path), tables, catalog, since=since), catalog)
    if tables is not None or since is not None:
        raise ValueError(f"tables= and since= apply to a database URL, not to the folder {str(path)!r}")
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"records folder {str(folder)!r} does not exist or is not a folder")
    files: dict[str, Path] = {}
    for file in sorted(folder.iterdir()):
        if file.name.startswith((".", "_")) or file.suffix not in (".parquet", ".csv") or not file.is_file():
            continue
        if file.stem in files:
            raise ValueError(
                f"source {file.stem!r} has two files in {str(folder)!r}: {files[file.stem].name} and {file.name}; "
                "keep one"
            )
        files[file.stem] = file
    if not files:
        raise FileNotFoundError(f"no <source>.parquet or <source>.csv files in {str(folder)!r}")
    if mode not in ("strict", "lenient"):
        raise ValueError(f"mode must be 'strict' or 'lenient', got {mode!r}")
    frames: dict[str, pd.DataFrame] = {}
    unreadable: list[str] = []
    for name, file in files.items():
        try:
            frames[name] = _read_file(file)
        except RecordsFileError as exc:
            unreadable.append(str(exc))
            if mode == "lenient":
                logger.warning("%s; left out (lenient mode)", exc)
    if unreadable and mode == "strict":
        raise RecordsFileError("\n".join([f"{len(unreadable)} record file(s) cannot be read:", *unreadable]))
    logger.info("read %d source file(s) from %s", len(frames), folder)
    return from_frames(frames, sources)


class RecordsFileError(ValueError):
    """A record file cannot be read; the message names the file and the cause.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from riskml.records import RecordsFileError, read
    >>> folder = Path(tempfile.mkdtemp()); _ = (folder / "changes.csv").write_bytes(b"")
    >>> try:
    ...     read(folder)
    ... except RecordsFileError as exc:
    ...     print(str(exc).splitlines()[1].endswith("changes.csv: the file is empty (0 bytes); write the table with its header row"))
    True
    """


def _read_file(file: Path) -> pd.DataFrame:
    """One source file as a DataFrame, or a :class:`RecordsFileError` naming it."""
    if file.stat().st_size == 0:
        raise RecordsFileError(f"{file}: the file is empty (0 bytes); write the table with its header row")
    try:
        if file.suffix == ".parquet":
            return pd.read_parquet(file)
        return restore_formulas(pd.read_csv(file, dtype="str", keep_default_na=False, na_values=[""], encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise RecordsFileError(
            f"{file}: not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at position {exc.start}); "
            "save it as UTF-8 (a GBK export can be converted with iconv -f GBK -t UTF-8)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RecordsFileError(f"{file}: not a readable CSV table ({str(exc).strip()})") from None
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise RecordsFileError(f"{file}: cannot be read as {file.suffix[1:]} ({type(exc).__name__}: {exc})") from None


def write(
    records: Records,
    path: str | os.PathLike[str],
    format: Literal["parquet", "csv"] = "parquet",
) -> list[Path] | list[str]:
    """Write one file per source into a folder (or one table per source into a database),
    refusing anything personal.

    Each file is written to a temporary name and moved into place, so a reader never
    sees half a file. Dates are written as ``YYYY-MM-DD`` in CSV. CSV text cells that
    a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab
    or carriage return) get a leading ``'`` (:func:`neutralise_formulas`), which
    :func:`read` removes again; Parquet is written exactly. The quarantine table is
    not written.

    Parameters
    ----------
    records : Records
        Usually validated (hence pseudonymised) records.
    path : str or PathLike
        The folder; created when missing. Existing files of the same sources are
        replaced. A database URL (``postgresql://...``) gets one table per source,
        replaced, in one transaction.
    format : {"parquet", "csv"}

    Returns
    -------
    list of Path or str
        The files (or table names) written.

    Raises
    ------
    PrivacyError
        When a personal column holds raw (non-pseudonymised) values, or a table is for
        an undeclared source or has undeclared columns (which could hold personal
        data). The message names source and column, never a value.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from riskml.records import from_frames, read, write
    >>> raw = from_frames({"complaints": pd.DataFrame({
    ...     "complaint_id": ["K1"], "entity_id": ["E0000001"], "received": ["2024-01-02"],
    ...     "resolved": ["2024-01-09"], "channel": ["online"], "substantiated": [True],
    ...     "complainant_phone": ["13800000000"]})})
    >>> write(raw, tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml.records._privacy.PrivacyError: refusing to write raw personal values (complaints.complainant_phone: 1 ...
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if not isinstance(records, Records):
        raise TypeError(f"write expects Records, got {type(records).__name__}")
    catalog = records.catalog
    undeclared = sorted(n for n in records.tables if n not in catalog)
    if undeclared:
        raise PrivacyError(
            f"refusing to write undeclared source(s) {undeclared}: riskml writes only declared "
            "sources, whose personal columns are known; declare them or drop them"
        )
    extra = {n: [c for c in t.columns if c not in catalog[n].columns] for n, t in records.tables.items()}
    extra = {n: cols for n, cols in extra.items() if cols}
    if extra:
        raise PrivacyError(
            f"refusing to write undeclared column(s) {extra}: they could hold personal data; "
            "declare them in the sources, or validate the records (which drops them)"
        )
    raw = _personal_values_raw(records.tables, catalog)
    if raw:
        listed = ", ".join(f"{k}: {n:,} value(s)" for k, n in raw.items())
        raise PrivacyError(
            f"refusing to write raw personal values ({listed}); validate the records first, which pseudonymises them"
        )

    if is_database_url(path):
        return write_database(str(path), records.tables)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in records.tables.items():
        target = folder / f"{name}.{format}"
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".{format}", dir=folder)
        os.close(fd)
        try:
            if format == "parquet":
                to_parquet(table, tmp)
            else:
                write_csv(table, tmp, index=False, date_format="%Y-%m-%d", encoding="utf-8")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        written.append(target)
    logger.info("wrote %d source file(s) to %s", len(written), folder)
    return written
