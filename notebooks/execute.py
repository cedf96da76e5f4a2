"""Run the notebooks and store their outputs in the paired ``.ipynb`` files.

Each notebook is a pair (``notebooks/jupytext.toml``): the percent-format ``.py`` is the
source a person edits and reviews, the ``.ipynb`` is the same cells with their outputs,
so a reader on a code host sees the tables and plots. This script reads each ``.py``,
executes it top to bottom in a fresh temporary folder, and writes the ``.ipynb``.

The stored outputs are made machine-independent: the notebooks create their folders
with ``tempfile.mkdtemp``, so the kernel gets its own ``TMPDIR`` and every path under it
is written as ``/tmp/<prefix>XXXXXXXX``; paths in the repository (a warning's source
file) are written relative to it and the interpreter's prefix as ``.venv``. Cell ids
are stable and no timings are stored, so re-running an unchanged notebook changes only
what the computation changed.

Usage::

    python notebooks/execute.py                    # every notebook
    python notebooks/execute.py 02-bring-your-own-data

``tests/docs/test_notebooks.py`` checks that each pair holds the same cells and runs
every notebook again.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbclient
import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIMEOUT_SECONDS = 600
# tempfile.mkdtemp's random suffix: eight characters of [a-z0-9_]
MKDTEMP = re.compile(r"/tmp/([A-Za-z-]+)[a-z0-9_]{8}")


def scrub(text: str, tmpdir: str) -> str:
    """``text`` without this machine's paths: temporary folders masked, repository paths relative."""
    text = text.replace(tmpdir, "/tmp").replace(f"{ROOT}/", "").replace(f"{sys.prefix}/", ".venv/")
    return MKDTEMP.sub(r"/tmp/\1XXXXXXXX", text)


def scrub_outputs(nb: nbformat.NotebookNode, tmpdir: str) -> None:
    """Mask temporary paths in every text output of ``nb``, in place."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(output["text"], tmpdir)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = scrub(value, tmpdir)


def execute(name: str) -> float:
    """Execute ``notebooks/<name>.py`` and write ``<name>.ipynb`` with outputs; return the seconds."""
    nb = jupytext.read(HERE / f"{name}.py")
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{i:02d}"
    with tempfile.TemporaryDirectory(prefix="riskml-notebook-") as folder:
        tmpdir = str(Path(folder) / "tmp")
        os.makedirs(tmpdir)
        workdir = Path(folder) / "work"
        workdir.mkdir()
        os.environ["TMPDIR"] = tmpdir  # the kernel inherits it; tempfile.mkdtemp uses it
        client = nbclient.NotebookClient(
            nb, kernel_name="python3", timeout=TIMEOUT_SECONDS, allow_errors=False, record_timing=False,
            resources={"metadata": {"path": str(workdir)}},
        )
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
    scrub_outputs(nb, tmpdir)
    nb.metadata.pop("widgets", None)
    jupytext.write(nb, HERE / f"{name}.ipynb")
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Execute the named notebooks (all by default); return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook names without extension (default: all)")
    args = parser.parse_args(argv)
    names = args.names or sorted(p.stem for p in HERE.glob("[0-9][0-9]-*.py"))
    os.environ.setdefault("RISKML_PROGRESS", "0")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MPLBACKEND", None)  # plots render inline
    for name in names:
        if not (HERE / f"{name}.py").is_file():
            print(f"no notebook {name}.py in {HERE}; choose from {sorted(p.stem for p in HERE.glob('*.py'))}",
                  file=sys.stderr)
            return 2
        print(f"{name}: {execute(name):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
