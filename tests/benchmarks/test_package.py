"""The benchmarks are a package: each is ``python -m benchmarks.<name>`` from the repository
root, imports its helpers as ``benchmarks._data`` (no ``sys.path`` edits), and every
benchmark command the docs name exists."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
MODULES = sorted(p.stem for p in BENCHMARKS.glob("*.py") if p.stem != "__init__")
DOCUMENTS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "Makefile"]


def test_no_benchmark_edits_sys_path() -> None:
    assert [p.name for p in BENCHMARKS.glob("*.py") if "sys.path" in p.read_text(encoding="utf-8")] == []


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("name", MODULES)
def test_every_benchmark_imports_its_siblings_through_the_package(name: str) -> None:
    # Parsed, not imported: importing the benchmarks loads their heavy libraries.
    imported = _imported_modules(BENCHMARKS / f"{name}.py")
    assert not imported & set(MODULES), f"import these as benchmarks.<name>: {sorted(imported & set(MODULES))}"
    ours = {m.split(".")[1] for m in imported if m.startswith("benchmarks.")}
    assert ours <= set(MODULES), f"no such module in benchmarks/: {sorted(ours - set(MODULES))}"


def test_panel_runs_with_python_m_from_the_root() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks.panel", "--help"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--sizes" in done.stdout


def test_docs_name_benchmark_commands_that_exist() -> None:
    named, old_form = set(), []
    for doc in DOCUMENTS:
        text = doc.read_text(encoding="utf-8")
        named |= set(re.findall(r"-m benchmarks\.(\w+)", text))
        old_form += [f"{doc.name}: {m}" for m in re.findall(r"python benchmarks/\w+\.py", text)]
    assert not old_form, f"write these as python -m benchmarks.<name>: {old_form}"
    assert named and named <= set(MODULES), f"no such benchmark: {sorted(named - set(MODULES))}"


def test_duckdb_queries_come_from_the_sql_files() -> None:
    from benchmarks.panel import duckdb_sql

    templates = {p.stem: p.read_text(encoding="utf-8") for p in (BENCHMARKS / "sql").glob("*.sql")}
    assert {"query", "grid", "delta_source", "range_source", "quarter_index"} <= set(templates)
    for method, block in (("delta", "delta_source"), ("range", "range_source")):
        sql = duckdb_sql(method, 2024 * 4)
        first_comment = templates[block].splitlines()[0]
        assert first_comment.startswith("--") and sql.count(first_comment) == 4  # one block per source
