"""Records: reading, validating and pseudonymising the bureau's record sources.

Raw records come from :func:`read` (a folder of Parquet/CSV files) or
:func:`from_frames` (a dict of DataFrames); :func:`validate` checks them against the
sources declaration, quarantines or rejects bad rows and pseudonymises personal columns;
:func:`write` stores validated records; :func:`~riskml.records._boundary.as_records` is
the one boundary the verbs use to turn any of these inputs into validated records. See
``features/sources.yaml`` for the built-in sources and their time semantics, and
``docs/data.md``.
"""

from __future__ import annotations

from riskml.records._io import RecordsFileError, from_frames, read, write
from riskml.records._privacy import PrivacyError, pseudonymise
from riskml.records._records import Records
from riskml.records._sources import SourceCatalog, SourceSpec, example_sources_path, load_sources
from riskml.records._spreadsheet import neutralise_formulas
from riskml.records._validate import RecordsError, validate

__all__ = [
    "PrivacyError",
    "Records",
    "RecordsError",
    "RecordsFileError",
    "SourceCatalog",
    "SourceSpec",
    "example_sources_path",
    "from_frames",
    "load_sources",
    "neutralise_formulas",
    "pseudonymise",
    "read",
    "validate",
    "write",
]
