"""Builders of small scores frames for the ranking tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF = pd.Timestamp("2024-01-01")


def ids(n: int, start: int = 1) -> list[str]:
    return [f"E{i:07d}" for i in range(start, start + n)]



def graded_scores(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` entities with grades A/B/C/D in shares 50/30/15/5% and probabilities."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 15, n)
    grade = np.select([p < 0.05, p < 0.1, p < 0.2], ["A", "B", "C"], "D")
    return pd.DataFrame(
        {"entity_id": pd.Series(ids(n), dtype="str"), "as_of": AS_OF, "probability": p, "grade": grade}
    )
