"""Monitoring (模型监测): drift, grade migration, group fairness and rule warnings.

:func:`score_psi` and :func:`feature_psi` measure distribution shift with
:func:`riskml.tracking.psi`; :func:`migration_matrix` and :func:`grade_distribution`
follow grades over quarters; :func:`group_metrics` compares flag rates across districts, industries and entity
types (which cannot tell bias from risk), and :func:`fairness_audit` compares error
rates (false negative, false positive, false discovery) where outcomes are known, with
bootstrap intervals; :func:`migration_report` explains every grade change in points and
records and :func:`migration_alarms` fires on the migration itself;
:func:`check_thresholds` turns the thresholds of ``experiments/monitor.yaml`` into
warnings; :func:`monitor` ties these into a :class:`MonitorReport` that logs itself to
MLflow. :func:`rule_warnings` issues the bureau's rule-based warnings of
``models/warnings.yaml`` (all-zero annual report, abnormal list, licence expiry).

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

from riskml.monitor._drift import feature_psi, grade_distribution, migration_matrix, score_psi
from riskml.monitor._fairness import ERROR_RATES, FAIRNESS_METRICS, fairness_audit, fairness_warnings
from riskml.monitor._groups import GROUP_COLUMNS, flag_mask, group_metrics
from riskml.monitor._migration import MIGRATION_ALARMS, Migration, migration_alarms, migration_report, record_events
from riskml.monitor._report import MonitorReport, check_thresholds, monitor
from riskml.monitor._spec import MonitorSpec, Thresholds, load_monitor_spec
from riskml.monitor._warnings import WARNING_COLUMNS, WarningRule, WarningRules, load_warning_rules, rule_warnings

__all__ = [
    "ERROR_RATES",
    "FAIRNESS_METRICS",
    "GROUP_COLUMNS",
    "MIGRATION_ALARMS",
    "WARNING_COLUMNS",
    "MonitorReport",
    "Migration",
    "MonitorSpec",
    "Thresholds",
    "WarningRule",
    "WarningRules",
    "check_thresholds",
    "fairness_audit",
    "fairness_warnings",
    "feature_psi",
    "flag_mask",
    "grade_distribution",
    "group_metrics",
    "load_monitor_spec",
    "load_warning_rules",
    "migration_alarms",
    "migration_matrix",
    "migration_report",
    "monitor",
    "record_events",
    "rule_warnings",
    "score_psi",
]
