"""Imports flow one way: no riskml module imports a layer above its own, none sits in a cycle.

The layers follow the data flow of DESIGN.md (``docs/architecture.md`` draws them):

    base (_specs, _progress, _time, _version) < records < synth < features < labels < grading
    < models < tracking < explain < ranking < monitor < ledger < spark
    < top (_pipeline, _tune, _job, _demo, cli, riskml/__init__)

A module may import its own layer or a lower one. Every riskml import counts, wherever it
sits: at module level, inside a function or under ``TYPE_CHECKING`` (which closes no
cycle, as it never runs). riskml's own modules are imported at module level; only the
third-party libraries in ``LAZY`` (and ``LAZY_MODULES``, which subclass one of them) may be
imported inside functions, so ``import riskml`` stays fast. The checker reads the source
with :mod:`ast` (nothing is imported), and each rule is shown to fail on a planted
violation in a small package written to a temporary folder.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "riskml"

#: Bottom to top. A package's name maps to its layer; ``riskml._x`` modules are named in full.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_specs", "_progress", "_time", "_version"),
    ("records",),
    ("synth",),
    ("features",),
    ("labels",),
    ("grading",),
    ("models",),
    ("tracking",),
    ("explain",),
    ("ranking",),
    ("monitor",),
    ("ledger",),
    ("spark",),
    ("_pipeline", "_tune", "_job", "_demo", "cli", "__init__"),
)
LAYER_NAMES = ("base",) + tuple(group[0] for group in LAYERS[1:-1]) + ("top",)

#: Third-party libraries that may be imported inside the function that needs them: heavy or
#: optional ones, plus ``rich`` progress bars and ``requests`` (a server health check), which
#: only one path needs. Every other import sits at the top of its module.
LAZY = frozenset(
    {
        "lightgbm", "mlflow", "optuna", "pyspark", "shap", "matplotlib", "sklearn", "scipy",
        "fairlearn", "optbinning", "sqlalchemy", "adbc_driver_postgresql", "adbc_driver_manager",
        "jinja2", "psycopg", "duckdb", "openpyxl", "pyarrow", "rich", "requests",
    }
)  # fmt: skip

#: riskml modules that subclass a lazy library's class when imported, so they load lazily
#: too (checked: each imports a ``LAZY`` library at module level).
LAZY_MODULES = frozenset({"riskml.models._pyfunc"})  # mlflow.pyfunc.PythonModel

#: Heavy libraries that ``import riskml`` must not load ...
HEAVY = ("lightgbm", "mlflow", "optuna", "pyspark", "shap", "sklearn", "scipy", "matplotlib",
         "fairlearn", "optbinning", "sqlalchemy")  # fmt: skip
#: ... and that the light subpackages (records, features, explain) must not load either.
HEAVIEST = ("lightgbm", "mlflow", "optuna", "pyspark", "shap")


@dataclass(frozen=True)
class Import:
    """One import statement's target, where it sits, and how."""

    module: str  # the importing module, e.g. ``riskml.models._train``
    path: Path
    line: int
    target: str  # the imported module, e.g. ``riskml.features`` or ``lightgbm``
    in_function: bool
    type_checking: bool

    def where(self) -> str:
        return f"{self.path}:{self.line} ({self.module}) imports {self.target}"


def module_name(path: Path, root: Path) -> str:
    """``<root>/models/_train.py`` -> ``<package>.models._train``; ``__init__`` names its package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(name: str, root: Path) -> bool:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _targets(node: ast.ImportFrom, module: str, is_package: bool, root: Path) -> list[str]:
    """The modules a ``from ... import ...`` loads: ``from riskml import records`` -> ``riskml.records``."""
    if node.level == 0:
        base = node.module or ""
    else:
        parts = module.split(".")
        if not is_package:
            parts = parts[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    out = []
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        out.append(sub if base.split(".")[0] == root.name and _is_module(sub, root) else base)
    return sorted(set(out))


def imports(root: Path = ROOT) -> list[Import]:
    """Every import statement under ``root`` (a package folder), with where it sits."""
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        is_package = path.name == "__init__.py"

        def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
            for child in ast.iter_child_nodes(node):
                func = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                tc = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
                if isinstance(child, ast.Import):
                    targets = [alias.name for alias in child.names]
                elif isinstance(child, ast.ImportFrom):
                    targets = _targets(child, module, is_package, root)  # noqa: B023
                else:
                    targets = []
                found.extend(Import(module, path, child.lineno, t, func, tc) for t in targets)  # noqa: B023
                visit(child, func, tc)

        visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)), False, False)
    return found


def layer_of(module: str) -> int:
    """The layer index of a module of the package (``riskml.models._train`` -> 6)."""
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "__init__"
    for index, group in enumerate(LAYERS):
        if name in group:
            return index
    raise AssertionError(
        f"{module} belongs to no layer: add its package or module to LAYERS in tests/test_architecture.py "
        "and its paragraph to docs/architecture.md"
    )


def upward_imports(root: Path = ROOT) -> list[str]:
    """Imports of a higher layer than the importer's own, as ``file:line (module) imports target``."""
    own = [i for i in imports(root) if i.target.split(".")[0] == root.name]
    return [
        f"{i.where()}: layer {LAYER_NAMES[layer_of(i.module)]} may not import layer {LAYER_NAMES[layer_of(i.target)]}"
        for i in own
        if layer_of(i.target) > layer_of(i.module)
    ]


def cycles(root: Path = ROOT) -> list[str]:
    """Module import cycles of any length (each reported once, as ``a -> b -> ... -> a``).

    Imports under ``TYPE_CHECKING`` never run, so they close no cycle (a module may name the
    type of a module that imports it, as ``explain._report`` names ``Explanation``); they
    still may not go up a layer.
    """
    graph: dict[str, set[str]] = {}
    for i in imports(root):
        if i.target.split(".")[0] == root.name and i.target != i.module and not i.type_checking:
            graph.setdefault(i.module, set()).add(i.target)
    found = []
    while True:
        try:
            graphlib.TopologicalSorter(graph).prepare()
            return found
        except graphlib.CycleError as error:
            cycle = error.args[1]  # [a, b, ..., a]: each node imports the one before it
            found.append(" -> ".join(reversed(cycle)))
            graph[cycle[1]].discard(cycle[0])  # break it to find the next


def imports_inside_functions(root: Path = ROOT) -> list[str]:
    """Imports inside functions of anything but the standard library, ``LAZY`` and ``LAZY_MODULES``."""
    return [
        i.where()
        for i in imports(root)
        if i.in_function and not i.type_checking and i.target.split(".")[0] not in LAZY
        and i.target.split(".")[0] not in sys.stdlib_module_names and i.target not in LAZY_MODULES
    ]  # fmt: skip


# ----------------------------------------------------------------------------- riskml itself


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == []


def test_no_modules_import_each_other_in_a_cycle():
    assert cycles() == []


def test_riskml_modules_are_imported_at_module_level():
    assert imports_inside_functions() == []


def test_every_module_belongs_to_a_layer():
    for path in ROOT.rglob("*.py"):
        layer_of(module_name(path, ROOT))


def test_each_lazy_module_really_wraps_a_lazy_library():
    wrapped = {i.module for i in imports() if not i.in_function and not i.type_checking and i.target.split(".")[0] in LAZY}
    assert LAZY_MODULES <= wrapped


@pytest.mark.parametrize(
    ("module", "heavy"),
    [("riskml", HEAVY), ("riskml.records", HEAVIEST), ("riskml.features", HEAVIEST), ("riskml.explain", HEAVIEST)],
)
def test_importing_riskml_loads_no_heavy_library(module, heavy):
    code = f"import sys, {module}; print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []


# ----------------------------------------------------------------------------- planted violations


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write a tiny package named ``riskml`` into ``tmp_path`` and return its folder."""
    root = tmp_path / "riskml"
    for name, text in {"__init__.py": "", "records/__init__.py": "", "models/__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_clean_planted_package_passes(tmp_path):
    root = _plant(
        tmp_path,
        {
            "records/_io.py": "import pandas\n",
            "models/_train.py": "from riskml.records import _io\n\ndef fit():\n    import lightgbm\n",
        },
    )
    assert (upward_imports(root), cycles(root), imports_inside_functions(root)) == ([], [], [])


@pytest.mark.parametrize(
    "statement",
    [
        "from riskml.models import _train\n",
        "from riskml import models\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import riskml.models._train\n",
        "def read():\n    from ..models._train import fit\n",
    ],
)
def test_an_upward_import_fails_naming_file_line_and_module(tmp_path, statement):
    root = _plant(tmp_path, {"records/_io.py": statement, "models/_train.py": "def fit():\n    pass\n"})
    [problem] = upward_imports(root)
    assert "records/_io.py:" in problem and "imports riskml.models" in problem
    assert "layer records may not import layer models" in problem


def test_a_cycle_of_three_modules_fails(tmp_path):
    root = _plant(
        tmp_path,
        {
            "models/_a.py": "from riskml.models import _b\n",
            "models/_b.py": "from . import _c\n",
            "models/_c.py": "def f():\n    pass\n\nfrom riskml.models._a import f as g\n",
        },
    )
    [cycle] = cycles(root)
    assert set(cycle.split(" -> ")) == {"riskml.models._a", "riskml.models._b", "riskml.models._c"}


def test_a_type_checking_import_closes_no_cycle(tmp_path):
    root = _plant(
        tmp_path,
        {
            "models/_a.py": "from riskml.models import _b\n",
            "models/_b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from riskml.models._a import A\n",
        },
    )
    assert cycles(root) == []


def test_a_riskml_import_inside_a_function_fails_but_a_heavy_library_may_wait(tmp_path):
    root = _plant(
        tmp_path,
        {
            "records/_io.py": "",
            "models/_train.py": "def fit():\n    import lightgbm\n    from riskml.records._io import read\n",
        },
    )
    [problem] = imports_inside_functions(root)
    assert "models/_train.py:3" in problem and problem.endswith("imports riskml.records._io")


def test_a_module_outside_every_layer_fails(tmp_path):
    root = _plant(tmp_path, {"_stray.py": "", "records/_io.py": "from riskml import _stray\n"})
    with pytest.raises(AssertionError, match="riskml._stray belongs to no layer"):
        upward_imports(root)


def test_no_two_test_modules_share_a_basename():
    """pytest imports test folders without ``__init__.py`` by basename: two of one name break the whole suite."""
    tests = Path(__file__).resolve().parent
    seen: dict[str, list[str]] = {}
    for path in tests.rglob("test_*.py"):
        seen.setdefault(path.name, []).append(str(path.relative_to(tests)))
    assert {name: paths for name, paths in seen.items() if len(paths) > 1} == {}
