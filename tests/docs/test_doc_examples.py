"""The documentation is true: its code runs, its spec reference is current, its API has examples.

* Every ```python block of ``README.md`` and ``docs/*.md`` runs, in file order, one
  namespace per file, in a fresh process with a temporary working folder and a
  temporary ``RISKML_HOME``. Blocks marked ```python no-run are only shown; they are
  kept for what cannot run here (a Spark cluster, an MLflow server).
* ``docs/specs.md`` equals a fresh ``docs/gen_spec_reference.py`` generation.
* Every public function (and class) in the ``__all__`` of riskml's subpackages has an
  Examples section in its docstring.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SUBPACKAGES = ("records", "synth", "features", "labels", "models", "grading", "explain", "tracking", "ranking",
               "monitor", "spark", "ledger")
FENCE = re.compile(r"^```(\S*)\s*(.*)$")

# Blocks that cannot run but are not marked ```python no-run in their file. Keyed by
# (file, first line of the block). Each should be marked no-run in its page instead;
# an entry that no longer matches a block fails the test so the list stays short.
UNMARKED_NO_RUN: dict[tuple[str, str], str] = {
    ("docs/data.md", "import riskml.records as rr"): "illustrative: reads a data/ folder and elides frames (...)",
}

# Public classes whose docstring has no Examples section yet. New public functions and
# classes must have one; remove a name here once its docstring gains one.
CLASSES_WITHOUT_EXAMPLES: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    file: str
    line: int
    language: str
    options: str
    source: str

    @property
    def runs(self) -> bool:
        if self.language != "python" or "no-run" in self.options.split():
            return False
        return (self.file, self.source.splitlines()[0] if self.source else "") not in UNMARKED_NO_RUN


def code_blocks(path: Path) -> list[Block]:
    """Every fenced block of a markdown file, in order."""
    rel = path.relative_to(ROOT).as_posix()
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        blocks.append(Block(rel, start + 1, match.group(1), match.group(2), "\n".join(body) + "\n"))
        i += 1
    return blocks


# Runs a file's blocks in one namespace; a failing block is named by file and line.
RUNNER = """
import json, sys, traceback
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {"__name__": "__main__"}
for block in blocks:
    code = compile("\\n" * (block["line"] - 1) + block["source"], block["file"], "exec")
    try:
        exec(code, namespace)
    except BaseException:
        traceback.print_exc()
        sys.exit(f"block at {block['file']}:{block['line']} failed")
"""


def _runnable_files() -> list[Path]:
    return [p for p in DOC_FILES if any(b.runs for b in code_blocks(p))]


def test_every_page_with_python_blocks_is_collected() -> None:
    names = [p.relative_to(ROOT).as_posix() for p in _runnable_files()]
    for page in ("README.md", "docs/getting-started.md", "docs/concepts.md", "docs/scoring-job.md",
                 "docs/appeals.md"):
        assert page in names


def test_unmarked_no_run_entries_still_match_a_block() -> None:
    firsts = {(b.file, b.source.splitlines()[0]) for p in DOC_FILES for b in code_blocks(p) if b.source.strip()}
    stale = sorted(set(UNMARKED_NO_RUN) - firsts)
    assert not stale, f"remove from UNMARKED_NO_RUN (no such block any more): {stale}"


def test_no_run_is_kept_for_what_cannot_run_here() -> None:
    # no-run is for a Spark cluster or an MLflow server; anything else must run.
    for path in DOC_FILES:
        for block in code_blocks(path):
            if block.language == "python" and "no-run" in block.options.split():
                assert re.search(r"pyspark|SparkSession|MLFLOW_TRACKING_URI|mlflow server", block.source), (
                    f"{block.file}:{block.line} is marked no-run but needs neither Spark nor an MLflow server")


@pytest.mark.slow
@pytest.mark.parametrize("path", _runnable_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_of_the_page_run(path: Path, tmp_path: Path) -> None:
    blocks = [b.__dict__ for b in code_blocks(path) if b.runs]
    (tmp_path / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(RISKML_HOME=str(tmp_path / "home"), RISKML_PROGRESS="0", MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.setdefault("RISKML_PSEUDONYM_KEY", "riskml-doc-examples-key-not-for-production")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "blocks.json")],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    print(f"{path.name}: {len(blocks)} block(s), {time.perf_counter() - started:.1f} s")
    assert done.returncode == 0, f"{done.stderr[-4000:]}\n--- stdout ---\n{done.stdout[-2000:]}"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_spec_reference", ROOT / "docs" / "gen_spec_reference.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_spec_reference_is_generated_from_the_current_spec_models() -> None:
    generator = _load_generator()
    committed = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "docs/specs.md is stale: run python docs/gen_spec_reference.py"


def test_spec_reference_covers_every_spec_model() -> None:
    text = (ROOT / "docs" / "specs.md").read_text(encoding="utf-8")
    for name in ("SourceCatalog", "SourceSpec", "ColumnSpec", "FeatureFile", "FeatureEntry", "NetworkSpec",
                 "LabelSpec", "TrainingSpec", "Scorecard", "GradeBand", "GradeOverride", "WhiteListRule",
                 "BacktestSpec", "CalibrationSpec", "PromotionGates", "MonitorSpec", "TuningSpec", "ParamSpec"):
        assert f"#### {name}\n" in text, name
    # every field of a documented model has a row
    from riskml.models import BacktestSpec

    for field in BacktestSpec.model_fields:
        assert f"| `{field}` |" in text


def _public(kind: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for sub in SUBPACKAGES:
        if sub == "spark":
            pytest.importorskip("pyspark")
        module = importlib.import_module(f"riskml.{sub}")
        for name in module.__all__:
            obj = getattr(module, name)
            if (kind == "function" and inspect.isfunction(obj)) or (kind == "class" and inspect.isclass(obj)):
                found[f"riskml.{sub}.{name}"] = obj
    return found


def _has_examples(obj: object) -> bool:
    return bool(re.search(r"^Examples\n-{8}", inspect.getdoc(obj) or "", flags=re.MULTILINE))


def test_every_public_function_has_an_examples_section() -> None:
    missing = sorted(name for name, obj in _public("function").items() if not _has_examples(obj))
    assert not missing, f"public functions without an Examples section: {missing}"


def test_every_public_class_has_an_examples_section_or_is_a_listed_exception() -> None:
    classes = _public("class")
    missing = {name for name, obj in classes.items() if not _has_examples(obj)}
    new = sorted(missing - CLASSES_WITHOUT_EXAMPLES)
    fixed = sorted(CLASSES_WITHOUT_EXAMPLES - missing)
    assert not new, f"public classes without an Examples section: {new}"
    assert not fixed, f"these now have Examples (or are gone): remove them from CLASSES_WITHOUT_EXAMPLES: {fixed}"
