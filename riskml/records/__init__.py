"""Records: reading, validating and pseudonymising the bureau's record sources.

Raw records come from :func:`read` (a folder of Parquet/CSV files) or
:func:`from_frames` (a dict of DataFrames); :func:`validate` checks them against the
sources declaration, quarantines or rejects bad rows and pseudonymises personal
columns; :func:`write` stores validated records; :func:`as_records` is the one boundary
the verbs use to turn any of these inputs into validated records. See ``features/sources.yaml`` for the
built-in sources and their time semantics, and ``docs/data.md``.
"""

from __future__ import annotations

from riskml.records._boundary import as_records
from riskml.records._coerce import coerce_column
from riskml.records._io import FORMATS, RecordsFileError, from_frames, read, to_parquet, write
from riskml.records._privacy import KEY_ENV_VAR, PrivacyError, is_pseudonym, pseudonymise
from riskml.records._records import COUNT_COLUMNS, QUARANTINE_COLUMNS, Records
from riskml.records._sources import (
    ColumnSpec,
    Coverage,
    Period,
    SourceCatalog,
    SourceSpec,
    example_sources_path,
    load_sources,
)
from riskml.records._spreadsheet import neutralise_formulas
from riskml.records._validate import MAX_MAGNITUDE, MODES, REASONS, Problem, RecordsError, validate

__all__ = [
    "COUNT_COLUMNS",
    "FORMATS",
    "KEY_ENV_VAR",
    "MAX_MAGNITUDE",
    "MODES",
    "QUARANTINE_COLUMNS",
    "REASONS",
    "ColumnSpec",
    "Coverage",
    "Period",
    "PrivacyError",
    "Problem",
    "Records",
    "RecordsError",
    "RecordsFileError",
    "SourceCatalog",
    "SourceSpec",
    "as_records",
    "coerce_column",
    "example_sources_path",
    "from_frames",
    "is_pseudonym",
    "load_sources",
    "neutralise_formulas",
    "pseudonymise",
    "read",
    "to_parquet",
    "validate",
    "write",
]
