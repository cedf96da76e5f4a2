"""The verbs: ``train``, ``promote``, ``predict``, composed from the parts.

``riskml.tune`` sits beside them in ``riskml/_tune.py``; ``riskml.explain`` is the
explain package's own verb (``riskml/explain/_verb.py``).

Each verb is a thin path through the data flow of the design: records -> validated,
pseudonymised records -> panel -> labels -> model -> MLflow run -> champion -> scores.
The parts live in their own subpackages; nothing here computes anything itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._specs import SpecError
from riskml._time import as_of_dates, from_day_number
from riskml.explain._batch import model_reasons
from riskml.explain._artifacts import shap_artifacts
from riskml.explain._path import path_summaries
from riskml.features import FeatureSpec, Panel, build_panel, load_feature_spec
from riskml.features._engine import as_of_grid
from riskml.grading import score_from_logit
from riskml.grading._grades import white_list
from riskml.labels import make_labels
from riskml.models import ScorecardModel, fit_model, load_backtest_spec, load_model_spec, screen_features
from riskml.models._metrics import positives_shortfall
from riskml.models._scorecard import spreadsheet_safe
from riskml.monitor import rule_warnings
from riskml.monitor._warnings import WarningRules, load_warning_rules
from riskml.records._boundary import as_records
from riskml.records._spreadsheet import write_csv
from riskml.tracking._resolve import resolve_model
from riskml.tracking._runs import log_training_run
from riskml.tracking import configure
from riskml.tracking import promote as promote_gated

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from riskml._time import DatesLike
    from riskml.features._spec import FeatureSpecLike
    from riskml.models import FitResult, RiskModel
    from riskml.models._backtest import BacktestSpecLike
    from riskml.records._boundary import RecordsLike
    from riskml.tracking import PromotionDecision
    from riskml.tracking._resolve import ModelRef

__all__ = ["TrainResult", "is_panel", "panel_and_labels", "predict", "promote", "train"]

logger = logging.getLogger(__name__)


def panel_and_labels(
    data: Any, spec: Any, *, labels: pd.DataFrame | None, as_of: Any, feature_spec: Any, show_progress: bool | None,
) -> tuple[Any, pd.DataFrame]:
    """The training panel and its labels from records, or a ready panel with its labels."""
    if is_panel(data):
        if labels is None:
            raise ValueError("a ready panel needs labels=; or pass the records instead")
        return data, labels
    records = as_records(data)
    panel = build_panel(records, as_of, feature_spec, show_progress=show_progress)
    if labels is None:
        labels = make_labels(records, panel, spec.label)
    return panel, labels


def is_panel(data: Any) -> bool:
    """Whether ``data`` is a ready :class:`riskml.features.Panel` (rather than records)."""
    return isinstance(data, Panel)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    fit : riskml.models.FitResult
        The model, backtest metrics, out-of-time predictions and split table.
    run_id : str or None
        The MLflow run (None when ``log=False``).
    panel : riskml.features.Panel
        The training panel.

    Examples
    --------
    >>> import riskml
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> result = riskml.train(panel, "credit", labels=labels, backtest={"test_dates": "last 1", "min_train_dates": 2},
    ...                       params={"n_estimators": 20}, log=False)
    >>> result.run_id is None, result.model is result.fit.model, result.panel is panel
    (True, True, True)
    >>> sorted(result.metrics["population"].unique())
    ['all', 'random']
    """
    fit: FitResult
    run_id: str | None
    panel: Panel

    @property
    def model(self) -> RiskModel:
        """The trained :class:`riskml.models.RiskModel`."""
        return self.fit.model

    @property
    def metrics(self) -> pd.DataFrame:
        """Backtest metrics, one row per split and population, one column per metric."""
        return self.fit.metric_table()


def train(
    data: RecordsLike | Panel,
    target: str = "credit",
    *,
    labels: pd.DataFrame | None = None,
    as_of: DatesLike = "quarterly",
    feature_spec: FeatureSpecLike = None,
    backtest: BacktestSpecLike = None,
    params: dict[str, Any] | None = None,
    truth: pd.DataFrame | None = None,
    features: Sequence[str] | None = None,
    weights: ArrayLike | None = None,
    log: bool = True,
    show_progress: bool | None = None,
) -> TrainResult:
    """Train a calibrated risk model with a temporal backtest, log it and register it.

    Parameters
    ----------
    data : Records, dict of DataFrame, path or Panel
        Records (validated here if they are not yet) or a ready panel. With a panel,
        ``labels`` must be given.
    target : str, default "credit"
        Model spec name in ``models/`` (``"credit"``, ``"fraud"``) or a YAML path.
    labels : DataFrame, optional
        Labels for the panel rows; by default made from the records with the model
        spec's label declaration.
    as_of : "quarterly" or list of dates
        The panel's as-of grid.
    feature_spec : path or FeatureSpec, optional
        The feature library (default: riskml's built-in ``features/``).
    backtest : path, dict or BacktestSpec, optional
        Backtest spec (default ``experiments/backtest.yaml``; a dict overrides some of
        its keys, e.g. ``{"test_dates": "last 1"}``).
    params : dict, optional
        LightGBM parameters overriding the model spec's.
    truth : DataFrame, optional
        The synthetic market's ``truth.entity_quarters``: adds the oracle AUC.
    features : sequence of str, optional
        Restrict the model to these features.
    weights : array-like, optional
        One training weight per panel row (see :func:`riskml.models.fit_model`);
        needs a ready panel, whose row order the weights follow.
    log : bool, default True
        Log the run to MLflow and register the model as ``challenger``.
    show_progress : bool, optional
        Progress bars (default: when attached to a terminal).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=1500, seed=0)
    >>> result = riskml.train(market.records, "credit", params={"n_estimators": 30},
    ...                       backtest={"test_dates": "last 1"}, log=False)
    >>> sorted(result.metrics["population"].unique())
    ['all', 'random']
    """
    if log:  # a tracking server that does not answer fails here, not after the fit
        configure()
    sources = None
    if not is_panel(data):
        data = as_records(data)
        sources = data.catalog  # a label may read the records' own (custom) sources
    # a ready panel comes with its labels: the label's sources are not read, so they are
    # not checked against a catalog the records may not follow
    spec = load_model_spec(target, sources=sources, check_sources=not is_panel(data))
    # refused before the panel is built: the weights could not follow its rows anyway
    if weights is not None and not is_panel(data):
        raise ValueError("weights follow the rows of a panel: pass the panel (and its labels) with weights=")
    panel, labels = panel_and_labels(data, spec, labels=labels, as_of=as_of, feature_spec=feature_spec,
                                     show_progress=show_progress)
    fit = fit_model(panel, labels, spec, backtest=backtest, params=params, truth=truth, features=features,
                    weights=weights, show_progress=show_progress)
    _warn_if_not_evaluable(fit, spec.name)
    run_id = None
    if log:
        run_id = _log(fit, panel, spec, backtest)
    return TrainResult(fit=fit, run_id=run_id, panel=panel)


def _warn_if_not_evaluable(fit: Any, target: str) -> str | None:
    """Log a warning (and return it) when the last test split has too few confirmed cases."""
    metrics = fit.metrics
    if metrics is None or len(metrics) == 0:
        return None
    last = metrics.loc[metrics["split"] == metrics["split"].max()]
    values = last.set_index(["population", "metric"])["value"]
    for population in ("random", "all"):
        if (population, "n") not in values.index:
            continue
        why = positives_shortfall(values[(population, "n")], values[(population, "base_rate")], population)
        if why:
            message = (f"riskml-{target}: {why} at the last test date {pd.Timestamp(last['split'].iloc[0]).date()}; "
                       "its metrics there mean little and promotion gates reading them refuse: train on more "
                       "quarters or more entities")
            logger.warning(message)
            return message
    return None


def backtest_scores(fit: Any) -> Any:
    """Score points of the out-of-time backtest predictions, in their row order."""
    model = fit.model
    logit = model.calib_a * fit.predictions["raw_margin"].to_numpy() + model.calib_b
    return score_from_logit(logit, model.policy)


def _log(fit: Any, panel: Any, spec: Any, backtest: Any) -> str:
    predictions = fit.predictions.assign(score=backtest_scores(fit))
    used = load_backtest_spec(backtest).for_target(spec.name)
    specs: dict[str, Any] = {"model": spec.raw, "backtest": used.model_dump(mode="json")}
    # the explanations are computed here, above tracking, which only logs what it is given
    artifacts = {**shap_artifacts(fit.model, panel.frame), **run_tables(fit, panel)}
    return log_training_run(fit, metrics=fit.metrics, specs=specs, panel_schema=panel, predictions=predictions,
                            artifacts=artifacts)


def run_tables(fit: Any, panel: Any) -> dict[str, str]:
    """Tables a training run logs besides the model: feature screening, a scorecard's points table."""
    import tempfile

    out: dict[str, str] = {}
    if len(fit.predictions):  # the backtest's test dates, where the labels are known
        screen = screen_features(panel, fit.predictions, features=list(fit.model.features))
        out["screening/features.csv"] = write_csv(screen, index=False)
    if fit.grade is not None and len(fit.grade.metrics):
        # the through-the-cycle grade model's own backtest, beside the point-in-time model's
        out["grade_model/metrics.csv"] = write_csv(fit.grade.metrics, index=False)
        out["grade_model/ranking_kept.json"] = json.dumps(_ranking_kept(fit.metrics, fit.grade.metrics), indent=2)
    if isinstance(fit.model, ScorecardModel):
        out["scorecard/points.csv"] = spreadsheet_safe(fit.model.points_table()).to_csv(index=False)
        with tempfile.TemporaryDirectory(prefix="riskml-points-") as tmp:
            out["scorecard/points.html"] = fit.model.export_points_table(f"{tmp}/points.html").read_text(
                encoding="utf-8")
    return out


def _ranking_kept(pit: pd.DataFrame, grade: pd.DataFrame) -> dict[str, Any]:
    """Mean backtest AUC (all rows) of the point-in-time model and of the grade model, and the gap."""
    def mean_auc(table: pd.DataFrame) -> float:
        rows = table[(table["metric"] == "auc") & (table["population"] == "all")]
        return float(rows["value"].mean()) if len(rows) else float("nan")

    auc_pit, auc_grade = mean_auc(pit), mean_auc(grade)
    return {"auc_point_in_time": auc_pit, "auc_grade": auc_grade, "auc_gap": auc_pit - auc_grade}


def promote(target: str = "credit", *, version: int | str | None = None) -> PromotionDecision:
    """Promote the ``challenger`` (or ``version``) of ``target`` to ``champion`` if the gates pass.

    The gates are in ``experiments/promotion.yaml``: absolute bounds on AUC and
    calibration error, and, against the current champion on the same backtest, a
    maximum AUC loss, calibration error increase and score PSI. When the grade comes
    from a through-the-cycle grade model, its own backtest passes the AUC and
    calibration gates too (gates ``grade_model_*``). The decision, gate by gate, is
    recorded on the challenger's MLflow run.

    Parameters
    ----------
    target : str, default "credit"
    version : int or str, optional
        A registered version; default the ``challenger``.

    Returns
    -------
    riskml.tracking.PromotionDecision
        ``promoted`` (bool), the gates with values and thresholds, and the versions.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> import riskml
    >>> from riskml.tracking import configure
    >>> home = os.environ.get("RISKML_HOME")
    >>> os.environ["RISKML_HOME"] = tempfile.mkdtemp()
    >>> cfg = configure()
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"], "population": ["all"], "auc": [0.81],
    ...                         "calibration_error": [0.02], "n": [1000], "base_rate": [0.05]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           predictions=scores, plots=False, config=cfg)
    >>> riskml.promote("fraud").promoted
    True
    >>> riskml.promote("credit")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    LookupError: registered model 'riskml-credit' has no alias 'challenger' in ... (train and register a model first, ...
    >>> if home: os.environ["RISKML_HOME"] = home
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    return promote_gated(target, version=version)


def feature_spec_of(feature_spec: FeatureSpecLike) -> FeatureSpec:
    """``feature_spec`` as a loaded :class:`riskml.features.FeatureSpec` (None: the built-in library)."""
    return load_feature_spec(feature_spec) if not hasattr(feature_spec, "features") else feature_spec


def latest_quarter(records: Any, spec: FeatureSpec) -> pd.Timestamp:
    """The latest quarter start the records cover: the as-of date scored by default."""
    return from_day_number(as_of_grid(records, spec.sources, "quarterly")[-1])


def _scoring_panel(data: Any, as_of: Any, feature_spec: Any, show_progress: bool | None) -> tuple[Any, Any]:
    """The panel rows to score and the records behind them (None for a ready panel).

    A ready panel is scored at every as-of date it holds (or at the ``as_of`` dates
    asked for, which it must hold); records at ``as_of`` (default: the latest quarter).
    """
    if is_panel(data):
        if as_of is None:
            return data, None
        held = pd.DatetimeIndex(data.frame["as_of"].unique()).sort_values()
        wanted = as_of_dates(as_of)
        missing = [str(d.date()) for d in wanted if d not in held]
        if missing:
            raise ValueError(f"the panel has no rows at {missing}; its as-of dates are "
                             f"{[str(d.date()) for d in held]}")
        rows = data.frame.loc[data.frame["as_of"].isin(wanted)].reset_index(drop=True)
        return Panel(frame=rows, catalog=data.catalog, spec_hash=data.spec_hash), None
    records = as_records(data)
    spec = feature_spec_of(feature_spec)
    dates = [latest_quarter(records, spec)] if as_of is None else as_of_dates(as_of)
    return build_panel(records, dates, spec, show_progress=show_progress), records


def _white_list_column(risk_model: Any, scores: pd.DataFrame, frame: pd.DataFrame) -> pd.Series | None:
    rule = risk_model.policy.white_list
    if rule is None or any(name not in frame.columns for name in rule.exclude_when_positive):
        return None
    return white_list(scores, frame.reset_index(drop=True).set_index(scores.index), risk_model.policy)


def warning_hits(records: Any, dates: pd.DatetimeIndex) -> pd.Series | None:
    """Rule warnings per (entity_id, as_of) at ``dates``, from the rules whose sources the records hold."""
    try:
        rules = load_warning_rules("warnings", sources=records.catalog)
    except SpecError as exc:  # a custom catalog the bundled rules do not fit
        logger.info("no rule warnings: %s", exc)
        return None
    usable = [rule for rule in rules.rules if rule.source in records]
    if not usable:
        return None
    hits = rule_warnings(records, dates, WarningRules(rules=usable))
    return hits.groupby(["entity_id", "as_of"]).size()


def warnings_per_row(hits: pd.Series, scores: pd.DataFrame) -> np.ndarray:
    """The :func:`warning_hits` count of each scored row (0 where none)."""
    keys = pd.MultiIndex.from_arrays([scores["entity_id"].astype(str), pd.to_datetime(scores["as_of"])])
    return hits.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)


def _warning_counts(records: Any, scores: pd.DataFrame) -> np.ndarray | None:
    """Rule warnings per scored row, from the rules whose sources the records hold."""
    hits = warning_hits(records, pd.DatetimeIndex(scores["as_of"].unique()))
    return None if hits is None else warnings_per_row(hits, scores)


def predict(
    data: RecordsLike | Panel,
    *,
    target: str = "credit",
    as_of: DatesLike | None = None,
    model: ModelRef = None,
    explain: int = 3,
    fraud: bool = False,
    feature_spec: FeatureSpecLike = None,
    show_progress: bool | None = None,
    paths: bool = False,
) -> pd.DataFrame:
    """Score entities: probability, score, grade, override, white list, warnings and top reasons.

    Parameters
    ----------
    data : Records, dict of DataFrame, path or Panel
        Records (a panel is built for ``as_of``) or a ready panel.
    target : str, default "credit"
    as_of : date or list of dates, optional
        The as-of date(s) to score. With records, default the latest quarter start
        the records cover. With a ready panel, default **every** as-of date of the
        panel (one row per entity and date); dates the panel lacks are refused with
        the list of the dates it holds.
    model : RiskModel, int, str, optional
        A model, a registered version number, or an alias; default the ``champion``
        of ``riskml-<target>`` (loaded once per process).
    explain : int, default 3
        Number of reasons per entity (0 for none): the features that lowered the
        score most, in points, with Chinese and English text.
    fraud : bool, default False
        Also score the fraud ``champion``: adds ``fraud_probability``,
        ``fraud_score`` and ``fraud_grade``.
    feature_spec : path or FeatureSpec, optional
        The feature library the model was trained with (default: built-in).
    show_progress : bool, optional
    paths : bool, default False
        With ``explain`` and records: add each entity's path to the next grade
        (:func:`riskml.explain.path_to_next_grade`): ``path_status``,
        ``path_actions``, ``path_text_zh``, ``path_text_en``. A search per entity
        (tens of milliseconds each): meant for the entities a reviewer reads.

    Returns
    -------
    DataFrame
        One row per entity alive at each scored as-of date: ``entity_id``, ``as_of``,
        ``probability`` (point-in-time: inspection priority, blind spots, plans), ``score``
        (the grade's own through-the-cycle score when the model has a grade model),
        ``grade_by_score``, ``grade``, ``override``,
        ``points_to_next_grade``, ``white_list`` (when the model's policy has a white
        list: may the entity be offered credit-based lending, 以信授贷), ``warnings``
        (with records: the number of rule warnings of ``models/warnings.yaml`` at that
        date, see :func:`riskml.monitor.rule_warnings`), then ``reason_{j}_feature``,
        ``reason_{j}_points``, ``reason_{j}_text_zh``, ``reason_{j}_text_en`` for
        ``j = 1..explain``; with ``paths``: ``path_status``, ``path_actions``,
        ``path_text_zh``, ``path_text_en``.

    Raises
    ------
    ValueError
        When the panel's features or spec hash do not match the model, or the panel
        lacks an ``as_of`` date asked for.
    LookupError
        When the target has no champion; when that is because the test split held
        too few confirmed cases (a rare target on a small market), the message says
        so ("too few confirmed cases to evaluate on the random sample: ...").

    Examples
    --------
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=1500, seed=0)
    >>> result = riskml.train(market.records, "credit", params={"n_estimators": 30},
    ...                       backtest={"test_dates": "last 1"}, log=False)
    >>> scores = riskml.predict(market.records, model=result.model, explain=2)
    >>> set(scores["grade"]) <= {"A", "B", "C", "D"}, scores["warnings"].dtype.kind
    (True, 'i')
    >>> every_date = riskml.predict(result.panel, model=result.model, explain=0)
    >>> every_date["as_of"].nunique() == result.panel.frame["as_of"].nunique()
    True
    """
    if explain < 0:
        raise ValueError(f"explain must be >= 0; got {explain}")
    risk_model = resolve_model(target, model)
    fraud_model = resolve_model("fraud", None) if fraud else None  # before any work: fail fast
    panel, records = _scoring_panel(data, as_of, feature_spec, show_progress)
    risk_model.check_panel(panel)
    frame = panel.frame
    if len(frame) == 0:
        when = as_of if as_of is not None else "the latest quarter of the records"
        raise ValueError(f"no entity is alive at {when}: nothing to score; pass as_of= a date inside the records")
    scores = risk_model.score(panel)
    listed = _white_list_column(risk_model, scores, frame)
    if listed is not None:
        scores["white_list"] = listed.to_numpy()
    if records is not None:
        counts = _warning_counts(records, scores)
        if counts is not None:
            scores["warnings"] = counts
    if explain:
        reasons = model_reasons(risk_model, frame, explain)
        scores = pd.concat([scores, reasons.set_index(scores.index)], axis=1)
        if paths:
            if is_panel(data):
                raise ValueError("paths=True searches the records: pass records, not a panel")
            spec = feature_spec_of(feature_spec)
            found = [path_summaries(records, rows["entity_id"], when, risk_model, spec).set_index(rows.index)
                     for when, rows in scores.groupby("as_of", sort=False)]
            scores = pd.concat([scores, pd.concat(found).drop(columns="entity_id").loc[scores.index]], axis=1)
    if fraud_model is not None:
        fraud_model.check_panel(panel)
        fraud_scores = fraud_model.score(panel)
        scores["fraud_probability"] = fraud_scores["probability"].to_numpy()
        scores["fraud_score"] = fraud_scores["score"].to_numpy()
        scores["fraud_grade"] = fraud_scores["grade"].to_numpy()
    return scores.reset_index(drop=True)
