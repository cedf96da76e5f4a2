"""Every notebook in ``notebooks/`` runs top to bottom without an error, and is built.

The notebooks execute headless with nbclient in a kernel that runs *this* interpreter
(a kernelspec written to a temporary folder and put first on ``JUPYTER_PATH``), so the
test needs no kernel installed anywhere and never writes outside its temporary folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
KERNEL_NAME = "riskml-test-python"
# Budget per notebook on a loaded 2-core machine; a notebook that needs more has
# outgrown "small market, small model".
TIMEOUT_SECONDS = 600


@pytest.fixture()
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for the running interpreter, first on JUPYTER_PATH; returns its name."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "riskml test kernel",
        "language": "python",
    }), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    # Kernel runtime files (connection files) go to the temporary folder too.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("RISKML_PROGRESS", "0")
    # Plots render inline; the test suite's Agg default would hide them.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return KERNEL_NAME


def test_there_are_four_notebooks() -> None:
    assert [p.name for p in NOTEBOOK_PATHS] == [
        "01-quick-start.ipynb",
        "02-bring-your-own-data.ipynb",
        "03-blind-spots-and-plans.ipynb",
        "04-reviewing-an-appeal.ipynb",
    ]


def test_committed_notebooks_equal_their_build_and_hold_no_outputs() -> None:
    done = subprocess.run([sys.executable, str(NOTEBOOKS / "build.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for path in NOTEBOOK_PATHS:
        nb = nbformat.read(path, as_version=4)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        assert code_cells, path.name
        assert all(not c.outputs and c.execution_count is None for c in code_cells), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=[p.stem for p in NOTEBOOK_PATHS])
def test_notebook_runs_top_to_bottom(path: Path, kernel_env: str, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    workdir = tmp_path / "work"
    workdir.mkdir()
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_env, timeout=TIMEOUT_SECONDS, allow_errors=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError naming the cell and the traceback
    seconds = time.perf_counter() - started
    print(f"{path.name}: {seconds:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    if path.stem in ("01-quick-start", "03-blind-spots-and-plans", "04-reviewing-an-appeal"):
        assert images, f"{path.name} shows no plot"
