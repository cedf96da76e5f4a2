"""Models: temporal backtest, calibrated LightGBM training and the RiskModel bundle.

:func:`fit_model` trains a model on a panel and its labels following a model spec
(``models/<target>.yaml``, see :func:`load_model_spec`) and a backtest spec
(``experiments/backtest.yaml``, see :func:`load_backtest_spec` and
:func:`plan_splits`); it returns a :class:`FitResult` holding the final
:class:`RiskModel`, backtest metrics (:func:`evaluate`, :func:`oracle_auc`) and
out-of-time predictions. A RiskModel scores panels (probability, score points,
grades) and saves as LightGBM text + JSON + Parquet. A model spec with
``model: {kind: scorecard}`` trains a :class:`ScorecardModel` instead: a publishable
points table on the same scale, grades and bundle (:func:`export_points_table`).
The tuning spec (:class:`TuningSpec`, :func:`load_tuning_spec`) is read here; the
verb that tunes is :func:`riskml.tune`.

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

from riskml.models._backtest import BacktestSpec, CalibrationSpec, Split, load_backtest_spec, plan_splits
from riskml.models._bundle import RiskModel
from riskml.models._integrity import ModelFileError, ModelIntegrityError
from riskml.models._metrics import (
    auc,
    brier,
    evaluate,
    expected_calibration_error,
    ks,
    lift_at_k,
    oracle_auc,
    positives_shortfall,
    precision_at_k,
    recall_at_k,
)
from riskml.models._screening import screen_features
from riskml.models._scorecard import PointsTable, ScorecardModel, export_points_table
from riskml.models._spec import ModelKindSpec, ModelSpec, TrainingSpec, load_model_spec
from riskml.models._train import FitResult, fit_model, fit_platt, monotone_constraints
from riskml.models._tune import TuningSpec, load_tuning_spec

__all__ = [
    "positives_shortfall",
    "BacktestSpec",
    "CalibrationSpec",
    "FitResult",
    "ModelKindSpec",
    "ModelSpec",
    "ModelFileError",
    "ModelIntegrityError",
    "PointsTable",
    "RiskModel",
    "ScorecardModel",
    "Split",
    "TrainingSpec",
    "TuningSpec",
    "auc",
    "brier",
    "evaluate",
    "expected_calibration_error",
    "export_points_table",
    "fit_model",
    "fit_platt",
    "ks",
    "lift_at_k",
    "load_backtest_spec",
    "load_model_spec",
    "load_tuning_spec",
    "monotone_constraints",
    "oracle_auc",
    "plan_splits",
    "precision_at_k",
    "recall_at_k",
    "screen_features",
]
