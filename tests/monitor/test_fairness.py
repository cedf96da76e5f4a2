"""Fairness with outcomes: error rates per group, ratios, bootstrap intervals, warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate

from riskml.monitor import fairness_audit, monitor
from riskml.monitor._fairness import fairness_warnings
from riskml.monitor._groups import group_metrics
from riskml.monitor._report import check_thresholds


def _backtest(base_rate: dict[str, float], hit_rate: dict[str, float], false_alarm: float = 0.05,
              n: int = 3000, dates: int = 3, seed: int = 0) -> pd.DataFrame:
    """Backtest-like rows: every entity on ``dates`` test dates, flagged D by its label at group rates."""
    rng = np.random.default_rng(seed)
    groups = np.array(list(base_rate))
    district = np.repeat(groups, n)
    ids = np.array([f"E{i:06d}" for i in range(len(district))])
    rows = []
    for d in range(dates):
        label = (rng.random(len(ids)) < np.vectorize(base_rate.get)(district)).astype(int)
        hit = rng.random(len(ids)) < np.where(label == 1, np.vectorize(hit_rate.get)(district), false_alarm)
        rows.append(pd.DataFrame({"entity_id": ids, "as_of": pd.Timestamp("2023-01-01") + pd.DateOffset(months=3 * d),
                                  "district": district, "label": label, "grade": np.where(hit, "D", "B")}))
    return pd.concat(rows, ignore_index=True)


def test_point_values_are_fairlearns_and_match_hand_counts():
    s = pd.DataFrame({"entity_id": list("abcdefghij"), "district": ["D01"] * 6 + ["D02"] * 4,
                      "grade": ["D", "D", "A", "B", "A", "A", "D", "D", "D", "C"],
                      "label": [1, 0, 1, 0, 0, 0, 0, 0, 1, 0]})
    audit = fairness_audit(s, by="district", n_boot=50)
    assert audit.attrs["reference"] == "D01"
    d01, d02 = audit.loc["D01"], audit.loc["D02"]
    assert [d01["flag_rate"], d01["false_negative_rate"], d01["false_positive_rate"], d01["false_discovery_rate"]] == \
        pytest.approx([2 / 6, 1 / 2, 1 / 4, 1 / 2])
    assert [d02["flag_rate"], d02["false_negative_rate"], d02["false_positive_rate"], d02["false_discovery_rate"]] == \
        pytest.approx([3 / 4, 0.0, 2 / 3, 2 / 3])
    assert d02["false_positive_rate_ratio"] == pytest.approx((2 / 3) / (1 / 4))
    flagged = s["grade"] == "D"
    mf = MetricFrame(metrics={"fr": selection_rate, "fnr": false_negative_rate, "fpr": false_positive_rate},
                     y_true=s["label"], y_pred=flagged, sensitive_features=s["district"])
    np.testing.assert_allclose(audit[["flag_rate", "false_negative_rate", "false_positive_rate"]].to_numpy(),
                               mf.by_group.to_numpy(dtype=float))


def test_intervals_are_seeded_hold_the_point_and_the_reference_ratio_is_one():
    rows = _backtest({"D01": 0.1, "D02": 0.1}, {"D01": 0.6, "D02": 0.6})
    a = fairness_audit(rows, by="district", n_boot=200, seed=1)
    pd.testing.assert_frame_equal(a, fairness_audit(rows, by="district", n_boot=200, seed=1))
    for m in ("flag_rate", "false_negative_rate", "false_positive_rate", "false_discovery_rate"):
        assert (a[f"{m}_low"] <= a[m]).all() and (a[m] <= a[f"{m}_high"]).all()
    ref = a.attrs["reference"]
    assert a.loc[ref, ["false_negative_rate_ratio_low", "false_negative_rate_ratio_high"]].tolist() == [1.0, 1.0]
    assert a.loc["D02", "entities"] == 3000 and a.loc["D02", "n"] == 9000


def test_more_risk_is_not_bias_flag_rates_warn_error_rates_do_not():
    # D02 holds twice the violators; the model catches violators and spares compliant rows alike everywhere.
    rows = _backtest({"D01": 0.08, "D02": 0.16, "D03": 0.08}, {"D01": 0.6, "D02": 0.6, "D03": 0.6})
    flag_view = group_metrics(rows.loc[rows["as_of"] == rows["as_of"].max()], None, "district")
    old = check_thresholds({"group_metrics": {"district": flag_view}})
    assert ("group_flag_rate_ratio", "district=D02") in {(w["check"], w["subject"]) for w in old}
    assert "cannot tell bias from risk" in old[0]["message"] and "caveat" in flag_view.attrs
    audit = fairness_audit(rows, by="district", n_boot=300)
    checks = {w["check"] for w in fairness_warnings(audit)}
    assert not checks & {"fairness_false_negative_rate_ratio", "fairness_false_positive_rate_ratio"}


def test_missed_violators_in_one_group_warn_with_an_interval_excluding_parity():
    rows = _backtest({"D01": 0.1, "D02": 0.1}, {"D01": 0.6, "D02": 0.2})
    audit = fairness_audit(rows, by="district", n_boot=300)
    warnings = fairness_warnings(audit)
    fnr = [w for w in warnings if w["check"] == "fairness_false_negative_rate_ratio"]
    assert [w["subject"] for w in fnr] == ["district=D02"]
    low, high = fnr[0]["interval"]
    assert low > 1.25 and low <= fnr[0]["value"] <= high
    assert fnr[0]["value"] == pytest.approx(0.8 / 0.4, rel=0.15)
    assert fairness_warnings(audit, min_group_size=10**9) == []


def test_a_ratio_below_parity_warns_as_well():
    # D02's violators are caught far more often: its false negative rate is a fraction of D01's
    rows = _backtest({"D01": 0.1, "D02": 0.1}, {"D01": 0.4, "D02": 0.9})
    fnr = [w for w in fairness_warnings(fairness_audit(rows, by="district", n_boot=300))
           if w["check"] == "fairness_false_negative_rate_ratio"]
    assert [w["subject"] for w in fnr] == ["district=D02"]
    low, high = fnr[0]["interval"]
    assert high < 0.8 and low <= fnr[0]["value"] <= high
    assert fnr[0]["value"] == pytest.approx(0.1 / 0.6, rel=0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_from_one_process_do_not_warn(seed):
    rows = _backtest({"D01": 0.1, "D02": 0.1, "D03": 0.1, "D04": 0.1}, dict.fromkeys(["D01", "D02", "D03", "D04"], 0.5),
                     n=2000, seed=seed)
    assert fairness_warnings(fairness_audit(rows, by="district", n_boot=200, seed=seed)) == []


def test_monitor_audits_backtest_outcomes_and_says_why():
    rows = _backtest({"D01": 0.1, "D02": 0.1}, {"D01": 0.6, "D02": 0.2}, n=1500)
    cur = rows.loc[rows["as_of"] == rows["as_of"].max()].drop(columns="label").assign(score=600.0, probability=0.1)
    report = monitor(cur, cur, groups=["district"], outcomes=rows)
    assert set(report.fairness) == {"district"} and "fairness_district" in report.tables()
    assert "fairness_false_negative_rate_ratio" in {w["check"] for w in report.warnings}
    with pytest.raises(ValueError, match="needs outcomes"):
        fairness_audit(cur, by="district")
