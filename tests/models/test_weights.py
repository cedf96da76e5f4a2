"""Training weights: all-ones weights change nothing, real weights reach booster and calibrator."""

from __future__ import annotations

import numpy as np
import pytest

from riskml.models import fit_model
from riskml.models._train import fit_platt
from riskml.models._testing import toy_panel

BACKTEST = {"test_dates": "last 1", "min_train_dates": 2}
PARAMS = {"n_estimators": 20}


@pytest.fixture(scope="module")
def toy():
    return toy_panel(n_entities=400, n_dates=16, seed=3)


def test_unit_weights_give_the_unweighted_model_exactly(toy):
    panel, labels = toy
    plain = fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS)
    ones = fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS, weights=np.ones(len(panel.frame)))
    assert plain.model.booster.model_to_string() == ones.model.booster.model_to_string()
    assert (plain.model.calib_a, plain.model.calib_b) == (ones.model.calib_a, ones.model.calib_b)


def test_weights_change_the_booster_and_the_calibrator(toy):
    panel, labels = toy
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.2, 5.0, len(panel.frame))
    plain = fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS)
    weighted = fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS, weights=weights)
    assert plain.model.booster.model_to_string() != weighted.model.booster.model_to_string()
    assert plain.model.calib_b != weighted.model.calib_b
    # backtest metrics are computed on the test rows as they are, one row each
    assert len(weighted.predictions) == len(plain.predictions)


def test_integer_weights_calibrate_like_repeated_rows():
    rng = np.random.default_rng(1)
    margin = rng.normal(size=4000)
    y = (rng.uniform(size=margin.size) < 1 / (1 + np.exp(-(0.8 * margin - 1.5)))).astype(int)
    counts = rng.integers(1, 4, margin.size)
    weighted = fit_platt(margin, y, weight=counts.astype(float))
    repeated = fit_platt(np.repeat(margin, counts), np.repeat(y, counts))
    assert weighted == pytest.approx(repeated, abs=1e-6)  # both converge to the same optimum


@pytest.mark.parametrize("bad, match", [
    (np.ones(3), "one value per panel row"),
    (-1.0, "one value per panel row"),
    ("negative", "non-negative"),
    ("nan", "finite"),
])
def test_bad_weights_are_refused_with_what_was_wrong(toy, bad, match):
    panel, labels = toy
    if isinstance(bad, str):
        bad = np.ones(len(panel.frame))
        bad[5] = -1.0 if match == "non-negative" else np.nan
    with pytest.raises(ValueError, match=match):
        fit_model(panel, labels, "credit", backtest=BACKTEST, params=PARAMS, weights=bad)
