"""The monitoring report: drift, migration and group tables, threshold warnings, MLflow.

:func:`monitor` compares a current quarter's scores (and panel) with a reference
quarter's and returns a :class:`MonitorReport`; :func:`check_thresholds` reads the
``thresholds`` of ``experiments/monitor.yaml`` and lists every crossing as a warning;
:meth:`MonitorReport.log_to_mlflow` stores the tables (CSV and JSON), the warnings and
PNG plots on an MLflow run of the store :func:`riskml.tracking.configure` sets up.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml.monitor._drift import feature_psi, grade_distribution, migration_matrix, score_psi
from riskml.monitor._fairness import fairness_audit, fairness_warnings
from riskml.monitor._groups import group_metrics
from riskml.monitor._spec import MonitorSpec, Thresholds, load_monitor_spec
from riskml.records._spreadsheet import write_csv
from riskml.tracking import configure
from riskml.tracking._health import process_tags
from riskml.tracking._store import ensure_experiment
from riskml.tracking._plots import _figure
from riskml.tracking._plots import grade_distribution as grade_plot

if TYPE_CHECKING:
    from riskml.features import Panel
    from riskml.records import Records
    from riskml.monitor._spec import MonitorSpecLike

__all__ = ["MONITOR_EXPERIMENT", "MonitorReport", "check_thresholds", "monitor"]

logger = logging.getLogger(__name__)

#: Target name of the MLflow experiment (``riskml-monitor``) for reports logged without a run.
MONITOR_EXPERIMENT = "monitor"


@dataclass
class MonitorReport:
    """Monitoring tables of one comparison (reference quarter -> current quarter).

    Attributes
    ----------
    as_of_ref, as_of_cur : Timestamp or None
        The compared as-of dates.
    score_psi : float or None
        PSI of the scores.
    feature_psi : DataFrame or None
        Per-feature PSI (:func:`feature_psi`) when panels were given.
    migration : DataFrame
        Grade migration (:func:`migration_matrix`).
    grade_distribution : DataFrame
        Grade counts and shares at both dates (:func:`grade_distribution`).
    group_metrics : dict of str to DataFrame
        Group metrics of the current scores per group column (:func:`group_metrics`):
        flag rates, which cannot tell bias from risk.
    fairness : dict of str to DataFrame
        Error-rate audit per group column (:func:`fairness_audit`) of the rows with
        known outcomes (``outcomes``, or the current scores when labels were given).
    warnings : list of dict
        Threshold crossings (:func:`check_thresholds`).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.monitor import monitor
    >>> ref = pd.DataFrame({"entity_id": [f"E{i:07d}" for i in range(1, 5)], "score": [650.0, 610.0, 590.0, 520.0],
    ...                     "grade": ["A", "B", "B", "C"], "probability": [0.02, 0.04, 0.05, 0.15]})
    >>> cur = ref.assign(score=[640.0, 560.0, 585.0, 500.0], grade=["A", "C", "B", "D"])
    >>> report = monitor(ref, cur, groups=[])
    >>> int(report.migration.loc[("B", "C"), "count"]), [w["subject"] for w in report.warnings]
    (1, ['score', 'B', 'D'])
    """

    as_of_ref: pd.Timestamp | None
    as_of_cur: pd.Timestamp | None
    score_psi: float | None
    feature_psi: pd.DataFrame | None
    migration: pd.DataFrame
    grade_distribution: pd.DataFrame
    group_metrics: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    fairness: dict[str, pd.DataFrame] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by artifact name (``feature_psi``, ``migration``, ``group_<col>``...)."""
        out: dict[str, pd.DataFrame] = {
            "migration": self.migration.reset_index(),
            "grade_distribution": self.grade_distribution,
        }
        if self.feature_psi is not None:
            out["feature_psi"] = self.feature_psi.reset_index()
        for by, table in self.group_metrics.items():
            out[f"group_{by}"] = table.reset_index()
        for by, table in self.fairness.items():
            out[f"fairness_{by}"] = table.reset_index()
        return out

    def summary(self) -> dict[str, Any]:
        """Headline numbers: dates, score PSI, largest feature PSI, warning count."""
        top = None
        if self.feature_psi is not None and self.feature_psi["psi"].notna().any():
            top = {"feature": str(self.feature_psi["psi"].idxmax()), "psi": float(self.feature_psi["psi"].max())}
        return {
            "as_of_ref": None if self.as_of_ref is None else str(self.as_of_ref.date()),
            "as_of_cur": None if self.as_of_cur is None else str(self.as_of_cur.date()),
            "score_psi": self.score_psi,
            "max_feature_psi": top,
            "n_warnings": len(self.warnings),
        }

    def log_to_mlflow(self, run_id: str | None = None) -> str:
        """Log the report to an MLflow run; return the run id.

        Tables go under ``monitor/`` as CSV and JSON (records orient), the warnings
        and summary as JSON, plots (grade distribution, migration heat map, top
        feature PSI) as PNG; ``score_psi`` and ``n_warnings`` as metrics. Without a
        ``run_id`` a new run is started in experiment ``riskml-monitor``. The store
        is the one :func:`riskml.tracking.configure` sets up.

        Parameters
        ----------
        run_id : str, optional
            An existing run to log to.

        Returns
        -------
        str
            The run id.
        """
        from mlflow import MlflowClient

        config = configure()
        client = MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.registry_uri)
        if run_id is None:
            experiment_id = ensure_experiment(MONITOR_EXPERIMENT, config)
            run = client.create_run(experiment_id, tags={"riskml.kind": "monitor", **process_tags()},
                                    run_name=_run_name(self))
            run_id = run.info.run_id
            finish = True
        else:
            finish = False
        try:
            self._log_to_run(client, run_id)
        except BaseException:
            if finish:  # a run this call opened does not stay RUNNING after an error
                client.set_terminated(run_id, status="FAILED")
            raise
        if finish:
            client.set_terminated(run_id)
        logger.info("monitoring report logged to run %s (%d warnings)", run_id, len(self.warnings))
        return run_id

    def _log_to_run(self, client: Any, run_id: str) -> None:
        """The report's metrics and artifacts into run ``run_id``."""
        if self.score_psi is not None and math.isfinite(self.score_psi):
            client.log_metric(run_id, "monitor_score_psi", float(self.score_psi))
        client.log_metric(run_id, "monitor_n_warnings", float(len(self.warnings)))
        with tempfile.TemporaryDirectory(prefix="riskml-monitor-") as tmp:
            folder = Path(tmp) / "monitor"
            folder.mkdir()
            for name, table in self.tables().items():
                write_csv(table, folder / f"{name}.csv", index=False)
                (folder / f"{name}.json").write_text(table.to_json(orient="records", date_format="iso", force_ascii=False), encoding="utf-8")
            (folder / "warnings.json").write_text(json.dumps(self.warnings, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            (folder / "summary.json").write_text(json.dumps(self.summary(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            for name, figure in _plots(self).items():
                figure.savefig(folder / f"{name}.png")
            client.log_artifacts(run_id, str(folder), artifact_path="monitor")


def _run_name(report: MonitorReport) -> str:
    dates = [d for d in (report.as_of_ref, report.as_of_cur) if d is not None]
    return "monitor " + " -> ".join(str(d.date()) for d in dates) if dates else "monitor"


def _plots(report: MonitorReport) -> dict[str, Any]:
    dist = report.grade_distribution
    figures: dict[str, Any] = {}
    if len(dist):
        expanded = dist.loc[dist.index.repeat(dist["count"].to_numpy())]
        figures["grade_distribution"] = grade_plot(expanded["as_of"], expanded["grade"])
    moved = report.migration["row_share"].dropna()
    if len(moved):
        matrix = moved.unstack("grade_cur")
        figure = _figure(4.5, 4.0)
        ax = figure.add_subplot()
        image = ax.imshow(matrix.to_numpy(dtype=float), cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(matrix.shape[1]), matrix.columns)
        ax.set_yticks(range(matrix.shape[0]), matrix.index)
        ax.set_xlabel("current grade")
        ax.set_ylabel("previous grade")
        ax.set_title("Grade migration (row shares)")
        figure.colorbar(image, ax=ax)
        figure.tight_layout()
        figures["migration"] = figure
    if report.feature_psi is not None and report.feature_psi["psi"].notna().any():
        top = report.feature_psi["psi"].dropna().head(20)[::-1]
        figure = _figure(6.5, max(2.5, 0.25 * len(top) + 1))
        ax = figure.add_subplot()
        ax.barh(top.index.astype(str), top.to_numpy())
        ax.set_xlabel("PSI")
        ax.set_title("Feature PSI (top 20)")
        figure.tight_layout()
        figures["feature_psi"] = figure
    return figures


def _thresholds(thresholds: Thresholds | MonitorSpec | Mapping[str, Any] | None) -> Thresholds:
    if thresholds is None:
        return load_monitor_spec().thresholds
    if isinstance(thresholds, MonitorSpec):
        return thresholds.thresholds
    if isinstance(thresholds, Thresholds):
        return thresholds
    return Thresholds(**dict(thresholds))


def _warning(check: str, subject: str, value: float, threshold: Any, message: str) -> dict[str, Any]:
    return {"check": check, "subject": subject, "value": float(value), "threshold": threshold, "message": message}


def check_thresholds(
    report: MonitorReport | Mapping[str, Any],
    thresholds: Thresholds | MonitorSpec | Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Warnings for every monitoring number that crosses its threshold.

    Checks: ``score_psi`` above its maximum; each feature's PSI above
    ``feature_psi``; a grade's share changing by more than ``grade_share_change``
    between the two dates; a group's flag-rate ratio outside ``group_ratio`` (a
    flag rate alone cannot tell bias from risk, and the message says so); with
    outcomes, a group's false negative, false positive or false discovery rate ratio
    whose whole bootstrap interval lies outside ``group_ratio``
    (:func:`riskml.monitor._fairness.fairness_warnings`). Groups with fewer than
    ``min_group_size`` rows are not checked.

    Parameters
    ----------
    report : MonitorReport or mapping
        A report, or a mapping with any of the keys ``score_psi`` (float),
        ``feature_psi``, ``grade_distribution``, ``group_metrics`` and ``fairness``
        (dicts of tables).
    thresholds : Thresholds, MonitorSpec or mapping, optional
        Default: the ``thresholds`` of ``experiments/monitor.yaml``.

    Returns
    -------
    list of dict
        One dict per crossing: ``check``, ``subject``, ``value``, ``threshold``,
        ``message``.

    Examples
    --------
    >>> check_thresholds({"score_psi": 0.31})[0]["message"]
    'score PSI 0.310 > 0.25'
    >>> check_thresholds({"score_psi": 0.05})
    []
    """
    limits = _thresholds(thresholds)
    get = (lambda key: getattr(report, key, None)) if isinstance(report, MonitorReport) else (lambda key: report.get(key))
    out: list[dict[str, Any]] = []
    value = get("score_psi")
    if value is not None and np.isfinite(value) and value > limits.score_psi:
        out.append(_warning("score_psi", "score", value, limits.score_psi, f"score PSI {value:.3f} > {limits.score_psi}"))
    fpsi = get("feature_psi")
    if fpsi is not None and len(fpsi):
        over = fpsi.loc[fpsi["psi"] > limits.feature_psi, "psi"]
        out += [
            _warning("feature_psi", str(name), v, limits.feature_psi, f"feature {name} PSI {v:.3f} > {limits.feature_psi}")
            for name, v in over.items()
        ]
    dist = get("grade_distribution")
    if dist is not None and len(dist) and dist["as_of"].nunique() >= 2:
        dates = sorted(dist["as_of"].unique())
        shares = dist.pivot(index="grade", columns="as_of", values="share").fillna(0.0)
        change = shares[dates[-1]] - shares[dates[0]]
        for grade, v in change.loc[change.abs() > limits.grade_share_change].items():
            out.append(_warning(
                "grade_share_change", str(grade), v, limits.grade_share_change,
                f"grade {grade} share changed by {v:+.3f} (more than {limits.grade_share_change})",
            ))  # fmt: skip
    low, high = limits.group_ratio
    for by, table in (get("group_metrics") or {}).items():
        big = table.loc[table["n"] >= limits.min_group_size]
        # Precision and false-positive-rate ratios without intervals are left to the
        # outcome audit (fairness), which warns only when the interval excludes parity.
        values = big["flag_rate_ratio"].dropna()
        for group, v in values.loc[(values < low) | (values > high)].items():
            out.append(_warning(
                "group_flag_rate_ratio", f"{by}={group}", v, [low, high],
                f"{by} {group}: flag rate ratio {v:.2f} to {table.attrs.get('reference', 'reference')} outside "
                f"[{low}, {high}] (flag rate only: cannot tell bias from risk; audit error rates with outcomes)",
            ))  # fmt: skip
    for table in (get("fairness") or {}).values():
        out += fairness_warnings(table, limits.group_ratio, limits.min_group_size)
    return out


def _one_date(scores: pd.DataFrame, name: str) -> pd.Timestamp | None:
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"{name} must be a scores DataFrame, not {type(scores).__name__}")
    if "as_of" not in scores.columns:
        return None
    dates = scores["as_of"].unique()
    if len(dates) > 1:
        raise ValueError(f"{name} has {len(dates)} as-of dates; pass one date per frame")
    return pd.Timestamp(dates[0]) if len(dates) else None


def monitor(
    scores_ref: pd.DataFrame,
    scores_cur: pd.DataFrame,
    *,
    panel_ref: Panel | pd.DataFrame | None = None,
    panel_cur: Panel | pd.DataFrame | None = None,
    features: Iterable[str] | None = None,
    labels: pd.DataFrame | None = None,
    entities: pd.DataFrame | Records | None = None,
    groups: Iterable[str] | None = None,
    spec: MonitorSpecLike = "monitor",
    outcomes: pd.DataFrame | None = None,
) -> MonitorReport:
    """Compare a current quarter with a reference quarter and check the thresholds.

    Parameters
    ----------
    scores_ref, scores_cur : DataFrame
        Scores of one as-of date each (``entity_id``, ``score``, ``grade``,
        ``probability``).
    panel_ref, panel_cur : Panel or DataFrame, optional
        Panels of the same dates, for feature PSI.
    features : iterable of str, optional
        Features to compare (default all common ones).
    labels : DataFrame, optional
        Labels of the current rows, for group precision and false positive rates and
        the error-rate audit of the current rows.
    entities : DataFrame or Records, optional
        Where group columns come from when the scores lack them.
    groups : iterable of str, optional
        Group columns; default the spec's ``groups`` (those that can be found).
    spec : str, path, dict or MonitorSpec, default "monitor"
    outcomes : DataFrame, optional
        Scored rows with known outcomes, e.g. a backtest's out-of-time predictions
        (``FitResult.predictions``: ``entity_id``, ``as_of``, ``grade``,
        ``probability``, ``label``), for the error-rate audit by group
        (:func:`fairness_audit`); it wins over ``labels`` for the audit.

    Returns
    -------
    MonitorReport

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def scores(shift):
    ...     s = rng.normal(600 + shift, 40, 500)
    ...     return pd.DataFrame({"entity_id": [f"E{i:07d}" for i in range(500)], "score": s,
    ...         "grade": np.where(s >= 640, "A", np.where(s >= 580, "B", "C")), "probability": 0.1})
    >>> report = monitor(scores(0), scores(60), groups=[])
    >>> [w["check"] for w in report.warnings][:1]
    ['score_psi']
    """
    mspec = load_monitor_spec(spec)
    t_ref, t_cur = _one_date(scores_ref, "scores_ref"), _one_date(scores_cur, "scores_cur")
    spsi = score_psi(scores_ref, scores_cur, bins=mspec.psi_bins) if "score" in scores_ref.columns and "score" in scores_cur.columns else None
    fpsi = None
    if panel_ref is not None and panel_cur is not None:
        fpsi = feature_psi(panel_ref, panel_cur, features, bins=mspec.psi_bins)
    migration = migration_matrix(scores_ref, scores_cur)
    dist = grade_distribution({t_ref if t_ref is not None else pd.Timestamp(0): scores_ref,
                               t_cur if t_cur is not None else pd.Timestamp(1): scores_cur})  # fmt: skip
    tables: dict[str, pd.DataFrame] = {}
    for by in mspec.groups if groups is None else list(groups):
        if by not in scores_cur.columns and entities is None:
            logger.info("monitor: no %r column and no entities given; group metrics by %s skipped", by, by)
            continue
        tables[by] = group_metrics(scores_cur, labels, by, flag=mspec.flag, entities=entities)
    audited = outcomes if outcomes is not None else (scores_cur if labels is not None else None)
    fairness: dict[str, pd.DataFrame] = {}
    for by in tables if audited is not None else ():
        if by not in audited.columns and entities is None:
            logger.info("monitor: outcomes have no %r column and no entities given; fairness by %s skipped", by, by)
            continue
        fairness[by] = fairness_audit(audited, None if outcomes is not None else labels, by, flag=mspec.flag,
                                      entities=entities)
    report = MonitorReport(t_ref, t_cur, spsi, fpsi, migration, dist, tables, fairness=fairness)
    report.warnings = check_thresholds(report, mspec)
    for w in report.warnings:
        logger.warning("monitor: %s", w["message"])
    return report

