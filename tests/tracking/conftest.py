"""Shared fixtures: one MLflow store per session and small trained models.

The store is created once (migrations take seconds) under a session folder; each test
points RISKML_HOME at it and restores the environment afterwards, so other test
modules keep their own home.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from factory import make_panel, train  # noqa: E402

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@pytest.fixture(scope="session")
def tracking_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from riskml.tracking import configure

    home = tmp_path_factory.mktemp("tracking-home")
    saved = os.environ.pop("MLFLOW_TRACKING_URI", None)
    configure(home)
    if saved is not None:
        os.environ["MLFLOW_TRACKING_URI"] = saved
    return home


@pytest.fixture
def store(tracking_home: Path, monkeypatch: pytest.MonkeyPatch):
    """The session store as this test's riskml home (environment restored afterwards)."""
    from riskml.tracking import configure

    monkeypatch.setenv("RISKML_HOME", str(tracking_home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield configure()
    monkeypatch.undo()
    if "MLFLOW_TRACKING_URI" not in os.environ:
        configure()


@pytest.fixture(scope="session")
def panel():
    return make_panel(n_entities=400, seed=0)


@pytest.fixture(scope="session")
def good(panel):
    frame, label = panel
    return train(frame, label, rounds=30, seed=0)


@pytest.fixture(scope="session")
def also_good(panel):
    frame, label = panel
    return train(frame, label, rounds=32, seed=0)


@pytest.fixture(scope="session")
def bad(panel):
    frame, label = panel
    return train(frame, label, shuffle_labels=True, rounds=30, seed=0)
