"""riskml's version, in the base layer so that any module may record it (a model's metadata,
an explanation) without importing the package's top."""

from __future__ import annotations

__version__ = "0.1.0"
