"""Records: reading, validating and pseudonymising the bureau's record sources.

See ``features/sources.yaml`` for the built-in sources and their time semantics.
"""

from __future__ import annotations

from riskml.records._records import QUARANTINE_COLUMNS, Records
from riskml.records._sources import ColumnSpec, SourceCatalog, SourceSpec, load_sources

__all__ = ["QUARANTINE_COLUMNS", "ColumnSpec", "Records", "SourceCatalog", "SourceSpec", "load_sources"]
