"""The API reference builds from the docstrings without a warning and covers the public surface.

``docs/api`` (Sphinx, autodoc + numpydoc) is built the way ``make docs`` builds it, with
``-W`` (a warning is an error: a malformed numpydoc section, an unknown directive, a
name that does not import), into a temporary folder. Every name of every package's
``__all__`` must be documented there: an entry of its own (``id="riskml.<pkg>.<name>"``),
or, for a verb ``riskml`` re-exports from a package, its name in the verbs section.
"""

from __future__ import annotations

import html
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("records", "synth", "features", "labels", "models", "grading", "explain", "tracking", "ranking",
            "monitor", "ledger", "spark")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("api")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "RISKML_PROGRESS": "0"}
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                           str(ROOT / "docs" / "api"), str(out)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    assert done.returncode == 0, f"the API reference does not build cleanly:\n{done.stderr[-4000:]}"
    return (out / "index.html").read_text(encoding="utf-8")


def test_every_public_name_of_a_package_has_its_own_entry(built: str) -> None:
    ids = set(re.findall(r'id="(riskml\.[\w.]+)"', built))
    missing = [f"riskml.{pkg}.{name}" for pkg in PACKAGES
               for name in importlib.import_module(f"riskml.{pkg}").__all__ if f"riskml.{pkg}.{name}" not in ids]
    assert not missing, f"public names missing from the API reference: {missing}"


def test_every_verb_of_riskml_is_documented(built: str) -> None:
    import riskml

    ids = set(re.findall(r'id="([\w.-]+)"', built))
    text = html.unescape(re.sub(r"<[^>]+>", "", built))
    missing = []
    for name in riskml.__all__:
        obj = getattr(riskml, name)
        if inspect.ismodule(obj):
            if f"module-riskml.{name}" not in ids:
                missing.append(name)
        elif name != "__version__" and f"riskml.{name}" not in ids and f"riskml.{name}" not in text:
            missing.append(name)
    assert not missing, f"riskml's public names missing from the API reference: {missing}"


def test_the_reference_renders_the_numpydoc_sections_and_typed_seams(built: str) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", "", built))
    train = text[text.index("riskml.train("):][:2000]
    assert "data: RecordsLike | Panel" in train
    assert "Parameters" in train and "Examples" in text
