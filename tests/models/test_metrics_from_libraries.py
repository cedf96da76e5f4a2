"""AUC, KS, Brier and PSI from scikit-learn and scipy equal the formulas riskml used before."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskml.models._metrics import auc, brier, ks
from riskml.tracking import psi


# ---- frozen copies of the hand-written formulas these functions replaced -------------
def auc_before(y: np.ndarray, p: np.ndarray) -> float:
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ks_before(y: np.ndarray, p: np.ndarray) -> float:
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(-p, kind="mergesort")
    ys, ps = y[order], p[order]
    tpr = np.cumsum(ys) / n_pos
    fpr = np.cumsum(1 - ys) / n_neg
    last = np.r_[ps[1:] != ps[:-1], True]
    return float(np.max(np.abs(tpr[last] - fpr[last])))


def brier_before(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2)) if len(y) else float("nan")


def psi_before(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    e, a = expected[np.isfinite(expected)], actual[np.isfinite(actual)]
    inner = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=inner.size + 1) / e.size
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=inner.size + 1) / a.size
    e_share, a_share = np.maximum(e_share, 1e-4), np.maximum(a_share, 1e-4)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))
# ---------------------------------------------------------------------------------------


@st.composite
def outcomes_and_scores(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    levels = draw(st.sampled_from([3, 20, 0]))  # few distinct scores (ties), many, continuous
    p = rng.integers(0, levels, n) / levels if levels else rng.random(n)
    y = (rng.random(n) < draw(st.floats(0.0, 1.0))).astype(np.float64)
    return y, p


@settings(max_examples=200, deadline=None)
@given(outcomes_and_scores())
def test_auc_ks_and_brier_equal_the_formulas_they_replaced(data):
    y, p = data
    np.testing.assert_allclose(auc(y, p), auc_before(y, p), rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(ks(y, p), ks_before(y, p), rtol=0, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(brier(y, p), brier_before(y, p), rtol=0, atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 20), st.floats(-2.0, 2.0), st.sampled_from([0, 5]))
def test_psi_equals_the_formula_it_replaced(seed, bins, shift, levels):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=int(rng.integers(5, 2000)))
    a = rng.normal(shift, 1.0 + abs(shift) / 4, size=int(rng.integers(5, 2000)))
    if levels:  # heavy ties merge quantile edges and leave bins empty on one side
        e, a = np.round(e * levels) / levels, np.round(a * levels) / levels
    assert abs(psi(e, a, bins) - psi_before(e, a, bins)) < 1e-12


def test_metrics_on_fixed_inputs_keep_their_values():
    y = np.array([0, 0, 1, 1, 0, 1, 0, 0])
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.05, 0.2])
    assert auc(y, p) == auc_before(y, p) and ks(y, p) == ks_before(y, p)
    assert abs(brier(y, p) - brier_before(y, p)) < 1e-15
