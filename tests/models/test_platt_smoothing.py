"""Platt's small-sample targets for the calibrator: ``calibration.smooth_targets`` of the backtest spec."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from riskml._specs import load_yaml, resolve_spec
from riskml.models import fit_model, load_backtest_spec
from riskml.models._train import fit_platt
from riskml.models._testing import toy_panel

BACKTEST = {"test_dates": "last 2", "min_train_dates": 2, "calibration": {"early_stopping_rounds": 0}}


def _slice(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    margin = rng.normal(size=n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(2.0 * margin - 1.0)))).astype(int)
    return margin, y


def test_smoothed_targets_are_the_maximum_likelihood_fit_to_platts_targets():
    margin, y = _slice()
    weight = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    n_pos, n_neg = float(weight @ y), float(weight @ (1 - y))
    target = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(theta: np.ndarray) -> float:
        z = theta[0] * margin + theta[1]
        return float(weight @ (np.logaddexp(0.0, z) - target * z))

    expected = minimize(loss, np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
    a, b = fit_platt(margin, y, weight=weight, smooth_targets=True)
    assert a == pytest.approx(expected[0], abs=1e-5) and b == pytest.approx(expected[1], abs=1e-5)
    # the prior pulls the slope of a small slice toward zero; the default is plain maximum likelihood
    assert a < fit_platt(margin, y, weight=weight)[0]


def test_the_option_is_off_by_default_and_read_from_the_backtest_spec():
    assert load_backtest_spec().calibration.smooth_targets is False
    assert load_backtest_spec({"calibration": {"smooth_targets": True}}).calibration.smooth_targets is True


@pytest.mark.parametrize("kind", ["lightgbm", "scorecard"])
def test_the_backtest_calibrates_with_smoothed_targets_when_asked(kind):
    panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    spec = {"model": {"kind": kind}, "training": {"calibration_min_positives": 0}}
    on = {**BACKTEST, "calibration": {**BACKTEST["calibration"], "smooth_targets": True}}
    params = {"n_estimators": 20} if kind == "lightgbm" else None
    plain = fit_model(panel, labels, _credit(spec), backtest=BACKTEST, params=params)
    smooth = fit_model(panel, labels, _credit(spec), backtest=on, params=params)
    # the same model on the same rows; only the calibrator's slope and intercept move
    assert (plain.splits["rounds"] == smooth.splits["rounds"]).all()
    assert (plain.splits["calib_a"] != smooth.splits["calib_a"]).all()
    if kind == "scorecard":
        return  # its points are rounded after calibration, so ties may differ
    # each test date has its own calibrator: the order within a date is the booster's
    ranks = [r.predictions.sort_values(["as_of", "entity_id"]).groupby("as_of")["probability"].rank()
             for r in (plain, smooth)]
    assert np.array_equal(ranks[0].to_numpy(), ranks[1].to_numpy())


def _credit(overrides: dict) -> dict:
    spec = load_yaml(resolve_spec("models", "credit"))
    spec["model"] = overrides["model"]
    spec["training"] = {**spec["training"], **overrides["training"]}
    return spec
