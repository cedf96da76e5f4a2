"""MLflow tracking, the model registry and gated promotion (模型跟踪与晋级).

MLflow is riskml's system of record. :func:`configure` points MLflow at the embedded
store under the riskml home (or at the server in ``MLFLOW_TRACKING_URI``);
:func:`~riskml.tracking._runs.log_training_run` logs a trained model with its backtest
and registers it as ``riskml-<target>`` with alias ``challenger``; :func:`promote` moves
``champion`` when the gates of ``experiments/promotion.yaml`` pass; :func:`load_model`
returns the champion (or any version) as a RiskModel, cached per process, and
:func:`~riskml.tracking._resolve.resolve_model` reads the ``model=`` argument of the
verbs (a model, a version, an alias or the champion). The nested runs of a tuning study
are written by ``riskml.tracking._tuning.TuningRuns`` for :func:`riskml.tune`. Tracking
logs the artifacts it is given and never imports :mod:`riskml.explain`, which sits above
it.

Examples
--------
>>> from riskml.tracking import psi
>>> psi([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], bins=2)
0.0
"""

from __future__ import annotations

from riskml.tracking._health import TrackingUnreachableError, fail_orphaned_runs
from riskml.tracking._promotion import PromotionDecision, promote
from riskml.tracking._psi import psi
from riskml.tracking._registry import load_model, resolve_version
from riskml.tracking._store import configure

__all__ = [
    "PromotionDecision",
    "TrackingUnreachableError",
    "configure",
    "fail_orphaned_runs",
    "load_model",
    "promote",
    "psi",
    "resolve_version",
]
