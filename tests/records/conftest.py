"""Fixtures for the records tests."""

from __future__ import annotations

import pandas as pd
import pytest
from records_fixtures import make_frames


@pytest.fixture
def frames() -> dict[str, pd.DataFrame]:
    """One small valid table per built-in source."""
    return make_frames()
