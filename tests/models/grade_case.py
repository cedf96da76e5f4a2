"""A small synthetic market with a credit model trained the library's way (point-in-time
booster plus the through-the-cycle grade model), shared by the grade tests.

Session-cached: the market, its validated records, the quarterly panel and the fit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from riskml.features import build_panel, load_feature_spec
from riskml.labels import make_labels
from riskml.models import FitResult, fit_model
from riskml.records import validate
from riskml.synth import make_market

KEY = "grade-tests-pseudonym-key-0123456789"
DATES = [str(d.date()) for d in pd.date_range("2021-07-01", "2025-01-01", freq="QS")]


@dataclass(frozen=True, eq=False)
class GradeCase:
    records: object
    spec: object
    panel: object
    labels: pd.DataFrame
    fit: FitResult


@functools.cache
def grade_case(n_entities: int = 1200, seed: int = 11) -> GradeCase:
    market = make_market(n_entities=n_entities, seed=seed)
    records = validate(market.records, now=market.end + pd.Timedelta(days=1), key=KEY)
    spec = load_feature_spec()
    panel = build_panel(records, DATES, spec)
    labels = make_labels(records, panel, "credit")
    fit = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
                    params={"n_estimators": 40, "learning_rate": 0.2, "min_child_samples": 40})
    return GradeCase(records=records, spec=spec, panel=panel, labels=labels, fit=fit)
