"""The real-data benchmark's measurement: paired bootstrap intervals and the cross-fit decision rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from benchmarks.real_data import KINDS, adopt_cross_fit, measure, paired_bootstrap, render
from riskml.models._metrics import expected_calibration_error

STEPS = [-0.02, -0.004, 0.0, 0.004, 0.02]


def _pred(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(risk - 1)))).astype(int)
    noisy = {c: 1 / (1 + np.exp(-(risk + rng.normal(scale=s, size=n) - 1)))
             for c, s in (("lightgbm_riskml", 0.5), ("scorecard_riskml", 0.7), ("lightgbm_plain", 0.5),
                          ("scorecard_plain", 0.7), ("lightgbm_crossfit", 0.4), ("scorecard_crossfit", 0.6),
                          ("logistic", 0.5), ("lightgbm", 0.9))}
    return pd.DataFrame({"label": y, **noisy})


def test_every_model_is_scored_on_the_same_draw_with_sklearns_auc():
    pred = _pred()
    y, p, q = pred["label"].to_numpy(), pred["logistic"].to_numpy(), pred["lightgbm"].to_numpy()
    boot = paired_bootstrap(y, {"p": p, "same": p.copy(), "q": q}, draws=50, seed=3)
    # a model against its copy differs by exactly zero in every draw: the draws are paired
    assert (boot["auc"]["p"] == boot["auc"]["same"]).all() and (boot["ece"]["p"] == boot["ece"]["same"]).all()
    rows = np.random.default_rng(3).integers(0, len(y), size=len(y))  # the first draw, redrawn
    assert boot["auc"]["q"].iloc[0] == roc_auc_score(y[rows], q[rows])
    assert boot["ece"]["q"].iloc[0] == expected_calibration_error(y[rows], q[rows], 10)


def test_the_intervals_hold_the_pooled_differences_and_narrow_with_more_rows():
    small, large = measure(_pred(300), draws=60), measure(_pred(3000), draws=60)
    for row in (small, large):
        for kind in KINDS:
            best = max(row["logistic AUC"], row["lightgbm AUC"])
            low, high = row[f"riskml {kind} AUC - best 95%"]
            assert low <= row[f"riskml {kind} AUC"] - best <= high
    width = {n: np.diff(r["riskml scorecard AUC - best 95%"])[0] for n, r in ((300, small), (3000, large))}
    assert width[3000] < width[300]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STEPS), st.sampled_from(STEPS), st.booleans(), st.booleans()),
                min_size=3, max_size=3))
def test_cross_fit_is_adopted_only_when_it_helps_both_kinds_on_two_datasets_and_is_nowhere_worse(changes):
    records = []
    for i, (d_auc, d_ece, auc_worse, ece_worse) in enumerate(changes):
        row = {"key": f"d{i}"}
        for kind in KINDS:
            row |= {f"riskml {kind} AUC": 0.75, f"riskml {kind} ECE": 0.05,
                    f"riskml {kind}, cross-fit, AUC": 0.75 + d_auc, f"riskml {kind}, cross-fit, ECE": 0.05 + d_ece,
                    f"riskml {kind} cross-fit - holdout auc 95%": (-0.03, -0.01) if auc_worse else (-0.02, 0.03),
                    f"riskml {kind} cross-fit - holdout ece 95%": (0.01, 0.02) if ece_worse else (-0.02, 0.01)}
        records.append(row)
    helped = sum(d_auc > 0 and d_ece < 0 for d_auc, d_ece, _, _ in changes)
    worse = any(a or e for _, _, a, e in changes)
    adopted, reasons = adopt_cross_fit(records)
    assert adopted == (helped >= 2 and not worse) and len(reasons) == len(KINDS)


def test_the_doc_section_reports_the_intervals_and_the_decision():
    rows = []
    for i, n in enumerate((300, 900)):
        row = {"dataset": f"data {i}", "key": f"d{i}", "test rows": n, "test positives": 60,
               "calibration rows (first split)": 100, "calibration positives (first split)": 30,
               "scorecard training rows (first split)": 200, "booster refit rows (first split)": 300, "seconds": 60.0,
               **measure(_pred(n, seed=i), draws=40)}
        rows.append(row)
    text = render(pd.DataFrame(rows), ["d0", "d1"])
    adopted, _ = adopt_cross_fit(rows)
    assert "| d0 | 300 (60) | booster |" in text and "Width of the 95% AUC intervals" in text
    assert "Decided before its numbers were seen" in text
    assert ("this benchmark's setting." in text) == adopted
