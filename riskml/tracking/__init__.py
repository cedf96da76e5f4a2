"""MLflow tracking, the model registry and gated promotion (模型跟踪与晋级).

MLflow is riskml's system of record. :func:`configure` points MLflow at the embedded
store under the riskml home (or at the server in ``MLFLOW_TRACKING_URI``);
:func:`log_training_run` logs a trained model with its backtest and registers it as
``riskml-<target>`` with alias ``challenger``; :func:`promote` moves ``champion`` when
the gates of ``experiments/promotion.yaml`` pass; :func:`load_model` returns the
champion (or any version) as a RiskModel, cached per process, and
:func:`resolve_model` reads the ``model=`` argument of the verbs (a model, a version,
an alias or the champion). The nested runs of a tuning study are written by
``riskml.tracking._tuning.TuningRuns`` for :func:`riskml.tune`. Tracking logs the
artifacts it is given and never imports :mod:`riskml.explain`, which sits above it.

Examples
--------
>>> from riskml.tracking import psi
>>> psi([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], bins=2)
0.0
"""

from __future__ import annotations

from riskml.tracking._health import TrackingUnreachableError, fail_orphaned_runs
from riskml.tracking._promotion import (
    GateResult,
    PromotionDecision,
    PromotionGates,
    evaluation_shortfall,
    load_gates,
    promote,
)
from riskml.tracking._psi import psi
from riskml.tracking._registry import clear_model_cache, load_model, log_model, resolve_version
from riskml.tracking._resolve import resolve_model
from riskml.tracking._runs import log_training_run, metric_table, panel_schema
from riskml.tracking._store import TrackingConfig, configure, ensure_experiment, experiment_name, registered_model_name

__all__ = [
    "GateResult",
    "PromotionDecision",
    "PromotionGates",
    "TrackingConfig",
    "TrackingUnreachableError",
    "clear_model_cache",
    "configure",
    "ensure_experiment",
    "evaluation_shortfall",
    "experiment_name",
    "fail_orphaned_runs",
    "load_gates",
    "load_model",
    "log_model",
    "log_training_run",
    "metric_table",
    "panel_schema",
    "promote",
    "psi",
    "registered_model_name",
    "resolve_model",
    "resolve_version",
]
