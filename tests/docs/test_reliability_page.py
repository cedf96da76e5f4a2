"""docs/reliability.md names the tests that protect each guarantee: those tests exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reliability.md"


def _test_names() -> set[str]:
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


def test_every_test_the_reliability_page_names_exists():
    text = PAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:[\w/]+\.py::)?(test_\w+)`", text)) | set(re.findall(r"::(test_\w+)", text))
    assert len(named) >= 20
    assert sorted(named - _test_names()) == []


def test_every_test_file_the_reliability_page_names_exists():
    files = set(re.findall(r"`(tests/[\w/]+\.py)", PAGE.read_text(encoding="utf-8")))
    assert files and sorted(f for f in files if not (ROOT / f).is_file()) == []
