"""Small generated panels and one trained model shared by the models tests."""

from __future__ import annotations

import pytest

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fit_settings import FAST_BACKTEST, FAST_PARAMS  # noqa: E402

from riskml.models import fit_model  # noqa: E402
from riskml.models._testing import toy_panel  # noqa: E402


@pytest.fixture(scope="session")
def toy():
    """A 1,500-entity x 16-quarter toy panel and its labels (last 4 dates incomplete)."""
    return toy_panel(n_entities=1_500, n_dates=16, seed=7)


@pytest.fixture(scope="session")
def fitted(toy):
    panel, labels = toy
    return fit_model(panel, labels, "credit", backtest=FAST_BACKTEST, params=FAST_PARAMS)
