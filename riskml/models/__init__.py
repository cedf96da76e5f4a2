"""Models: temporal backtest, calibrated LightGBM training and the RiskModel bundle.

:func:`fit_model` trains a model on a panel and its labels following a model spec
(``models/<target>.yaml``, see :func:`load_model_spec`) and a backtest spec
(``experiments/backtest.yaml``, see :func:`load_backtest_spec` and
:func:`~riskml.models._backtest.plan_splits`); it returns a :class:`FitResult` holding
the final :class:`RiskModel`, backtest metrics
(:func:`~riskml.models._metrics.evaluate`, :func:`~riskml.models._metrics.oracle_auc`)
and out-of-time predictions. A RiskModel scores panels (probability, score points,
grades) and saves as LightGBM text + JSON + Parquet. A model spec with ``model: {kind:
scorecard}`` trains a :class:`ScorecardModel` instead: a publishable points table on the
same scale, grades and bundle (:func:`~riskml.models._scorecard.export_points_table`).
The tuning spec (:class:`TuningSpec`, :func:`load_tuning_spec`) is read here; the verb
that tunes is :func:`riskml.tune`.

Examples
--------
>>> from riskml.models import fit_model
>>> from riskml.models._testing import toy_panel
>>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
>>> result = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
...                    params={"n_estimators": 20})
>>> result.model.score(panel.frame.head(2))["grade"].isin(["A", "B", "C", "D"]).all()
np.True_
"""

from __future__ import annotations

from riskml.models._backtest import BacktestSpec, load_backtest_spec
from riskml.models._bundle import RiskModel
from riskml.models._integrity import ModelFileError, ModelIntegrityError
from riskml.models._screening import screen_features
from riskml.models._scorecard import ScorecardModel
from riskml.models._spec import ModelSpec, load_model_spec
from riskml.models._train import FitResult, fit_model
from riskml.models._tune import TuningSpec, load_tuning_spec

__all__ = [
    "BacktestSpec",
    "FitResult",
    "ModelFileError",
    "ModelIntegrityError",
    "ModelSpec",
    "RiskModel",
    "ScorecardModel",
    "TuningSpec",
    "fit_model",
    "load_backtest_spec",
    "load_model_spec",
    "load_tuning_spec",
    "screen_features",
]
