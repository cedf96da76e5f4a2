"""Metrics agree with scikit-learn and with hand computations on small fixtures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from riskml.models._metrics import (
    auc,
    brier,
    evaluate,
    expected_calibration_error,
    ks,
    lift_at_k,
    oracle_auc,
    precision_at_k,
    recall_at_k,
)


@pytest.fixture
def scored():
    rng = np.random.default_rng(1)
    p = np.round(rng.uniform(size=2_000), 2)  # rounding creates many ties
    y = (rng.uniform(size=2_000) < p).astype(int)
    return y, p


def test_auc_matches_sklearn_including_ties(scored):
    y, p = scored
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_ks_matches_the_largest_tpr_fpr_gap_of_the_roc_curve(scored):
    y, p = scored
    fpr, tpr, _ = roc_curve(y, p)
    assert ks(y, p) == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_brier_matches_sklearn(scored):
    y, p = scored
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_calibration_error_by_hand_on_equal_frequency_bins():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.9])
    # bins {0.1, 0.2}, {0.3, 0.4}, {0.5, 0.9}
    by_hand = (abs(0.15 - 0) + abs(0.35 - 0.5) + abs(0.7 - 1.0)) * 2 / 6
    assert expected_calibration_error(y, p, n_bins=3) == pytest.approx(by_hand)
    assert expected_calibration_error(y, y.astype(float), n_bins=3) == 0.0


def test_precision_recall_and_lift_at_k_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    p = np.linspace(1.0, 0.1, 10)
    assert precision_at_k(y, p, 3) == pytest.approx(2 / 3)
    assert recall_at_k(y, p, 3) == pytest.approx(2 / 3)
    assert lift_at_k(y, p, 3) == pytest.approx((2 / 3) / 0.3)
    assert precision_at_k(y, p, 0.2) == pytest.approx(0.5)  # 20% of 10 rows = top 2
    assert precision_at_k(y, p, 1_000) == pytest.approx(0.3)  # k beyond n: all rows


def test_top_k_rejects_meaningless_budgets():
    with pytest.raises(ValueError, match="share"):
        precision_at_k([0, 1], [0.1, 0.2], 1.5)
    with pytest.raises(ValueError, match="count"):
        precision_at_k([0, 1], [0.1, 0.2], 0)


def test_auc_is_nan_with_one_class_and_inputs_are_checked():
    assert np.isnan(auc([0, 0], [0.1, 0.2]))
    with pytest.raises(ValueError, match="0/1"):
        auc([0, 2], [0.1, 0.2])


def test_evaluate_reports_all_rows_and_the_random_inspection_sample():
    frame = pd.DataFrame({
        "probability": [0.9, 0.8, 0.3, 0.2, 0.1, 0.05],
        "label": [1, 0, 1, 0, 0, 0],
        "random_inspected": [False, True, True, True, True, False],
    })
    out = evaluate(frame, split=pd.Timestamp("2024-01-01"), top_k=[1])
    assert list(out.columns) == ["split", "population", "metric", "value"]
    got = out.set_index(["population", "metric"])["value"]
    assert got[("all", "auc")] == pytest.approx(roc_auc_score(frame["label"], frame["probability"]))
    sample = frame[frame["random_inspected"]]
    assert got[("random", "auc")] == pytest.approx(roc_auc_score(sample["label"], sample["probability"]))
    assert got[("random", "n")] == 4 and got[("random", "precision_at_1")] == 0.0
    assert not out["metric"].str.contains(r"[@.]").any()  # valid MLflow metric names


def test_oracle_auc_uses_the_true_risk_over_the_horizon():
    quarters = pd.date_range("2023-01-01", periods=4, freq="QS")
    truth = pd.DataFrame({
        "entity_id": np.repeat(["E1", "E2", "E3"], 4),
        "quarter_start": np.tile(quarters, 3),
        # E1 risky only outside a 180-day horizon from 2023-01-01; E2 risky inside it
        "p_violation": [0.0, 0.0, 0.9, 0.9, 0.3, 0.3, 0.0, 0.0, 0.1, 0.0, 0.0, 0.0],
    })
    labels = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "as_of": pd.Timestamp("2023-01-01"),
                           "label": [0, 1, 0], "random_inspected": [True, True, False],
                           "complete": True, "in_population": True})
    short = oracle_auc(truth, labels, horizon_days=180).set_index("population")
    assert short.loc["all", "oracle_auc"] == 1.0 and short.loc["all", "n"] == 3
    long = oracle_auc(truth, labels, horizon_days=365).set_index("population")
    # with a year's horizon E1 (1 - 0.1**2 = 0.99) outranks E2 (1 - 0.7**2 = 0.51)
    assert long.loc["all", "oracle_auc"] == 0.5
    assert long.loc["random", "n"] == 2
