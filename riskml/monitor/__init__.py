"""Monitoring (模型监测): drift, grade migration, group fairness and rule warnings.

:func:`~riskml.monitor._drift.score_psi` and :func:`~riskml.monitor._drift.feature_psi`
measure distribution shift with :func:`riskml.tracking.psi`; :func:`migration_matrix`
and :func:`~riskml.monitor._drift.grade_distribution` follow grades over quarters;
:func:`~riskml.monitor._groups.group_metrics` compares flag rates across districts,
industries and entity types (which cannot tell bias from risk), and
:func:`fairness_audit` compares error rates (false negative, false positive, false
discovery) where outcomes are known, with bootstrap intervals; :func:`migration_report`
explains every grade change in points and records and
:func:`~riskml.monitor._migration.migration_alarms` fires on the migration itself;
:func:`~riskml.monitor._report.check_thresholds` turns the thresholds of
``experiments/monitor.yaml`` into warnings; :func:`monitor` ties these into a
:class:`MonitorReport` that logs itself to MLflow. :func:`rule_warnings` issues the
bureau's rule-based warnings of ``models/warnings.yaml`` (all-zero annual report,
abnormal list, licence expiry).

Examples
--------
>>> import pandas as pd
>>> from riskml.monitor import migration_matrix
>>> prev = pd.DataFrame({"entity_id": ["E1", "E2"], "grade": ["A", "B"]})
>>> cur = pd.DataFrame({"entity_id": ["E1", "E2"], "grade": ["A", "C"]})
>>> migration_matrix(prev, cur).loc[("B", "C"), "count"]
np.int64(1)
"""

from __future__ import annotations

from riskml.monitor._drift import migration_matrix
from riskml.monitor._fairness import fairness_audit
from riskml.monitor._migration import migration_report, record_events
from riskml.monitor._report import MonitorReport, monitor
from riskml.monitor._warnings import rule_warnings

__all__ = [
    "MonitorReport",
    "fairness_audit",
    "migration_matrix",
    "migration_report",
    "monitor",
    "record_events",
    "rule_warnings",
]
