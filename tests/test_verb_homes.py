"""The verbs live at the top; the layers below them never import upwards.

``tune`` and ``train`` are top-level verbs; ``riskml.explain`` is callable through the
explain package's own verb; tracking logs what it is given and never imports explain.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import riskml

PACKAGE = Path(riskml.__file__).resolve().parent
TOP = {"riskml._pipeline", "riskml._tune", "riskml._job", "riskml._demo", "riskml.cli"}


def _imported(package: str) -> set[str]:
    """Every riskml module a package's files import, at module level or inside functions."""
    found: set[str] = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("riskml"):
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name.startswith("riskml"))
    return found


@pytest.mark.parametrize("package", ["models", "tracking", "explain"])
def test_models_tracking_and_explain_never_import_the_verbs(package):
    assert not {m for m in _imported(package) if m in TOP or any(m.startswith(f"{t}.") for t in TOP)}


def test_tracking_never_imports_explain():
    assert not {m for m in _imported("tracking") if m == "riskml.explain" or m.startswith("riskml.explain.")}


def test_the_model_layer_writes_no_mlflow_run():
    assert not {m for m in _imported("models") if m.startswith("riskml.tracking")}
    tree = ast.parse((PACKAGE / "models" / "_tune.py").read_text(encoding="utf-8"))
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in modules if m.split(".")[0] == "mlflow"}


def test_the_top_level_verbs_are_where_they_are_documented():
    from riskml._pipeline import train
    from riskml._tune import TuneResult, tune
    from riskml.explain._verb import explain

    assert (riskml.tune, riskml.TuneResult, riskml.train) == (tune, TuneResult, train)
    assert callable(riskml.explain) and type(riskml.explain).__call__ is explain
