"""Sphinx configuration of riskml's API reference (``make docs``).

The reference is built from the numpydoc docstrings of the public names: each
package's ``__all__`` (autodoc documents exactly those members). Built with ``-W``
(warnings are errors) by ``make docs`` and by ``tests/docs/test_api_reference.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RISKML_PROGRESS", "0")

project = "riskml"
author = "riskml contributors"
copyright = "riskml contributors"  # noqa: A001 (Sphinx's name)

extensions = ["sphinx.ext.autodoc", "numpydoc"]

root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []

# autodoc: members in source order, nothing private.
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}

# numpydoc: the Parameters/Returns/Examples sections; no autosummary tables of members.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()
