"""Settings for every test and doctest: a test pseudonymisation key, a temporary riskml
home, no progress bars."""

from __future__ import annotations

import os

import pytest

# A fixed test key: pseudonymised values are stable across the suite, and the key is
# never a production one.
os.environ.setdefault("RISKML_PSEUDONYM_KEY", "riskml-test-key-not-for-production")
os.environ.setdefault("RISKML_PROGRESS", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


@pytest.fixture(autouse=True, scope="session")
def _riskml_home(tmp_path_factory: pytest.TempPathFactory):
    """Every test session writes MLflow stores and caches under a temporary home."""
    if "RISKML_HOME" not in os.environ:
        os.environ["RISKML_HOME"] = str(tmp_path_factory.mktemp("riskml-home"))
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    yield
