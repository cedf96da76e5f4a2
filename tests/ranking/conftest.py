"""Small hand-built records and scores for the ranking tests."""

from __future__ import annotations

import pandas as pd
import pytest
from ranking_data import AS_OF, ids


@pytest.fixture
def registry() -> pd.DataFrame:
    """Six entities: E0000005 deregistered before AS_OF, E0000006 established after it."""
    return pd.DataFrame(
        {
            "entity_id": pd.Series(ids(6), dtype="str"),
            "entity_type": pd.Categorical(["enterprise"] * 6, categories=["individual", "enterprise"]),
            "district": pd.Categorical(["D01", "D01", "D02", "D02", "D01", "D02"]),
            "established": pd.to_datetime(["2015-01-01"] * 5 + ["2024-02-01"]),
            "deregistered": pd.to_datetime([None, None, None, None, "2023-06-01", None]),
        }
    )


@pytest.fixture
def records(registry: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """E1 inspected 2023 (inside 3y), E2 penalised 2020 (outside 3y), E3 inspection
    known exactly on AS_OF (not before it), E4 untouched."""
    inspections = pd.DataFrame(
        {
            "inspection_id": pd.Series(["I1", "I2", "I3"], dtype="str"),
            "entity_id": pd.Series(["E0000001", "E0000003", "E0000004"], dtype="str"),
            "inspected": pd.to_datetime(["2023-04-01", "2023-12-20", "2024-03-01"]),
            "closed": pd.to_datetime(["2023-05-01", "2024-01-01", "2024-04-01"]),
            "kind": pd.Categorical(["targeted", "random", "random"], categories=["random", "targeted", "complaint"]),
        }
    )
    penalties = pd.DataFrame(
        {
            "penalty_id": pd.Series(["P1"], dtype="str"),
            "entity_id": pd.Series(["E0000002"], dtype="str"),
            "decided": pd.to_datetime(["2020-06-01"]),
            "published": pd.to_datetime(["2020-06-20"]),
            "amount": [5000.0],
        }
    )
    return {"entities": registry, "inspections": inspections, "penalties": penalties}


@pytest.fixture
def scores() -> pd.DataFrame:
    n = 6
    return pd.DataFrame(
        {
            "entity_id": pd.Series(ids(n), dtype="str"),
            "as_of": AS_OF,
            "probability": [0.5, 0.2, 0.3, 0.3, 0.9, 0.8],
            "score": [560.0, 620.0, 600.0, 600.0, 500.0, 510.0],
            "grade": ["C", "B", "B", "B", "D", "D"],
            "reason_1_feature": ["complaints_365d"] * n,
            "reason_1_points": [-12.0] * n,
        }
    )
