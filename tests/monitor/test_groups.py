"""Group metrics: flag rate, precision, false positive rate and ratios, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.monitor._groups import group_metrics


@pytest.fixture
def scored() -> tuple[pd.DataFrame, pd.DataFrame]:
    # D01: 6 entities, flagged E1 (pos), E2 (neg); positives E1, E3.
    # D02: 4 entities, flagged E7 (neg), E8 (neg), E9 (pos); positives E9.
    ids = [f"E{i}" for i in range(1, 11)]
    scores = pd.DataFrame({
        "entity_id": ids, "as_of": pd.Timestamp("2024-01-01"),
        "grade": ["D", "D", "A", "B", "A", "A", "D", "D", "D", "C"],
        "probability": [0.5, 0.4, 0.1, 0.2, 0.01, 0.02, 0.6, 0.45, 0.7, 0.25],
    })
    labels = pd.DataFrame({"entity_id": ids, "as_of": pd.Timestamp("2024-01-01"),
                           "label": [1, 0, 1, 0, 0, 0, 0, 0, 1, 0], "complete": True, "in_population": True})
    return scores, labels


def test_group_metrics_match_hand_computations(scored):
    scores, labels = scored
    entities = pd.DataFrame({"entity_id": scores["entity_id"], "district": ["D01"] * 6 + ["D02"] * 4})
    g = group_metrics(scores, labels, "district", flag="D", entities=entities)
    assert g.attrs["reference"] == "D01"  # the largest group
    assert g.loc["D01", ["n", "flagged", "positives"]].tolist() == [6, 2, 2]
    assert g.loc["D01", "flag_rate"] == pytest.approx(2 / 6)
    assert g.loc["D01", "precision"] == pytest.approx(1 / 2)
    assert g.loc["D01", "false_positive_rate"] == pytest.approx(1 / 4)
    assert g.loc["D01", "recall"] == pytest.approx(1 / 2)
    assert g.loc["D02", "flag_rate"] == pytest.approx(3 / 4)
    assert g.loc["D02", "precision"] == pytest.approx(1 / 3)
    assert g.loc["D02", "false_positive_rate"] == pytest.approx(2 / 3)
    assert g.loc["D02", "flag_rate_ratio"] == pytest.approx((3 / 4) / (2 / 6))
    assert g.loc["D02", "precision_ratio"] == pytest.approx((1 / 3) / (1 / 2))
    assert g.loc["D02", "false_positive_rate_ratio"] == pytest.approx((2 / 3) / (1 / 4))
    assert g.loc["D01", "flag_rate_ratio"] == 1.0


def test_group_metrics_with_a_probability_flag_an_explicit_reference_and_records(scored):
    scores, labels = scored
    records = {"entities": pd.DataFrame({"entity_id": scores["entity_id"], "industry": ["retail"] * 5 + ["catering"] * 5})}
    g = group_metrics(scores, labels, "industry", flag={"min_probability": 0.45}, reference="catering", entities=records)
    # flagged: E1 (0.5) in retail; E7, E8, E9 in catering
    assert g.loc["retail", "flagged"] == 1 and g.loc["catering", "flagged"] == 3
    assert g.loc["catering", "flag_rate_ratio"] == 1.0
    assert g.loc["retail", "flag_rate_ratio"] == pytest.approx((1 / 5) / (3 / 5))


def test_rows_with_incomplete_labels_are_left_out_and_labels_are_optional(scored):
    scores, labels = scored
    labels = labels.assign(complete=[False] + [True] * 9)
    scores = scores.assign(district=["D01"] * 6 + ["D02"] * 4)
    g = group_metrics(scores, labels, "district")
    assert g.loc["D01", "n"] == 5
    no_labels = group_metrics(scores, None, "district")
    assert no_labels.loc["D01", "flag_rate"] == pytest.approx(2 / 6)
    assert np.isnan(no_labels.loc["D01", "precision"])


def test_group_metrics_refuse_a_missing_group_column_or_reference(scored):
    scores, labels = scored
    with pytest.raises(ValueError, match="no 'district' column"):
        group_metrics(scores, labels, "district")
    with pytest.raises(ValueError, match="reference group 'D09'"):
        group_metrics(scores.assign(district="D01"), labels, "district", reference="D09")
