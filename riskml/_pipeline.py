"""The verbs: ``train``, ``promote``, ``predict``, composed from the parts.

Each verb is a thin path through the data flow of the design: records -> validated,
pseudonymised records -> panel -> labels -> model -> MLflow run -> champion -> scores.
The parts live in their own subpackages; nothing here computes anything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["TrainResult", "explain", "predict", "promote", "train"]

logger = logging.getLogger(__name__)


def _as_records(data: Any) -> Any:
    """Validated, pseudonymised Records from a Records, a dict of frames or a folder."""
    from riskml.records import Records, from_frames, read, validate

    if isinstance(data, str | Path):
        data = read(data)
    elif isinstance(data, Mapping) and not isinstance(data, Records):
        data = from_frames(dict(data))
    if not isinstance(data, Records):
        raise TypeError(
            "data must be riskml.records.Records, a dict of DataFrames, a records folder or a Panel; "
            f"got {type(data).__name__}"
        )
    return data if data.validated else validate(data, mode="strict")


def panel_and_labels(
    data: Any, spec: Any, *, labels: pd.DataFrame | None, as_of: Any, feature_spec: Any, show_progress: bool | None,
) -> tuple[Any, pd.DataFrame]:
    """The training panel and its labels from records, or a ready panel with its labels."""
    from riskml.features import build_panel
    from riskml.labels import make_labels

    if _is_panel(data):
        if labels is None:
            raise ValueError("a ready panel needs labels=; or pass the records instead")
        return data, labels
    records = _as_records(data)
    panel = build_panel(records, as_of, feature_spec, show_progress=show_progress)
    if labels is None:
        labels = make_labels(records, panel, spec.label)
    return panel, labels


def _is_panel(data: Any) -> bool:
    from riskml.features import Panel

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
    """

    fit: Any
    run_id: str | None
    panel: Any

    @property
    def model(self) -> Any:
        """The trained :class:`riskml.models.RiskModel`."""
        return self.fit.model

    @property
    def metrics(self) -> pd.DataFrame:
        """Backtest metrics, one row per split and population, one column per metric."""
        return self.fit.metric_table()


def train(
    data: Any,
    target: str = "credit",
    *,
    labels: pd.DataFrame | None = None,
    as_of: Any = "quarterly",
    feature_spec: Any = None,
    backtest: Any = None,
    params: dict[str, Any] | None = None,
    truth: pd.DataFrame | None = None,
    features: Sequence[str] | None = None,
    weights: Any = None,
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
    from riskml.models import fit_model, load_model_spec

    sources = None
    if not _is_panel(data):
        data = _as_records(data)
        sources = data.catalog  # a label may read the records' own (custom) sources
    # a ready panel comes with its labels: the label's sources are not read, so they are
    # not checked against a catalog the records may not follow
    spec = load_model_spec(target, sources=sources, check_sources=not _is_panel(data))
    # refused before the panel is built: the weights could not follow its rows anyway
    if weights is not None and not _is_panel(data):
        raise ValueError("weights follow the rows of a panel: pass the panel (and its labels) with weights=")
    panel, labels = panel_and_labels(data, spec, labels=labels, as_of=as_of, feature_spec=feature_spec,
                                     show_progress=show_progress)
    fit = fit_model(panel, labels, spec, backtest=backtest, params=params, truth=truth, features=features,
                    weights=weights, show_progress=show_progress)
    run_id = None
    if log:
        run_id = _log(fit, panel, spec, backtest)
    return TrainResult(fit=fit, run_id=run_id, panel=panel)


def backtest_scores(fit: Any) -> Any:
    """Score points of the out-of-time backtest predictions, in their row order."""
    from riskml.grading import score_from_logit

    model = fit.model
    logit = model.calib_a * fit.predictions["raw_margin"].to_numpy() + model.calib_b
    return score_from_logit(logit, model.policy)


def _log(fit: Any, panel: Any, spec: Any, backtest: Any) -> str:
    from riskml.models import load_backtest_spec
    from riskml.tracking import log_training_run

    predictions = fit.predictions.assign(score=backtest_scores(fit))
    used = load_backtest_spec(backtest).for_target(spec.name)
    specs: dict[str, Any] = {"model": spec.raw, "backtest": used.model_dump(mode="json")}
    return log_training_run(fit, metrics=fit.metrics, specs=specs, panel_schema=panel, predictions=predictions,
                            artifacts=run_tables(fit, panel))


def run_tables(fit: Any, panel: Any) -> dict[str, str]:
    """Tables a training run logs besides the model: feature screening, a scorecard's points table."""
    import tempfile

    from riskml.models import ScorecardModel, screen_features
    from riskml.models._scorecard import spreadsheet_safe

    out: dict[str, str] = {}
    if len(fit.predictions):  # the backtest's test dates, where the labels are known
        screen = screen_features(panel, fit.predictions, features=list(fit.model.features))
        out["screening/features.csv"] = screen.to_csv(index=False)
    if isinstance(fit.model, ScorecardModel):
        out["scorecard/points.csv"] = spreadsheet_safe(fit.model.points_table()).to_csv(index=False)
        with tempfile.TemporaryDirectory(prefix="riskml-points-") as tmp:
            out["scorecard/points.html"] = fit.model.export_points_table(f"{tmp}/points.html").read_text(
                encoding="utf-8")
    return out


def promote(target: str = "credit", *, version: int | str | None = None) -> Any:
    """Promote the ``challenger`` (or ``version``) of ``target`` to ``champion`` if the gates pass.

    The gates are in ``experiments/promotion.yaml``: absolute bounds on AUC and
    calibration error, and, against the current champion on the same backtest, a
    maximum AUC loss, calibration error increase and score PSI. The decision, gate by
    gate, is recorded on the challenger's MLflow run.

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
    >>> import riskml
    >>> callable(riskml.promote)
    True
    """
    from riskml.tracking import promote as _promote

    return _promote(target, version=version)


def _resolve_model(target: str, model: Any) -> Any:
    from riskml.models import RiskModel
    from riskml.tracking import load_model

    if isinstance(model, RiskModel):
        return model
    if model is None:
        return load_model(target, alias="champion")
    if isinstance(model, int) or (isinstance(model, str) and model.isdigit()):
        return load_model(target, version=model)
    if isinstance(model, str):
        return load_model(target, alias=model)
    raise TypeError(f"model must be None, a RiskModel, a version number or an alias; got {type(model).__name__}")


def _scoring_panel(data: Any, as_of: Any, feature_spec: Any, show_progress: bool | None) -> Any:
    """The panel rows of one as-of date (default: the latest) from a panel or records."""
    from riskml.features import Panel, as_of_grid, build_panel, load_feature_spec

    if _is_panel(data):
        when = data.frame["as_of"].max() if as_of is None else pd.Timestamp(as_of)
        rows = data.frame.loc[data.frame["as_of"] == when].reset_index(drop=True)
        return Panel(frame=rows, catalog=data.catalog, spec_hash=data.spec_hash)
    records = _as_records(data)
    spec = load_feature_spec(feature_spec) if not hasattr(feature_spec, "features") else feature_spec
    if as_of is None:
        as_of = pd.Timestamp(as_of_grid(records, spec.sources, "quarterly")[-1], unit="D")
    return build_panel(records, [as_of], spec, show_progress=show_progress)


def predict(
    data: Any,
    *,
    target: str = "credit",
    as_of: Any = None,
    model: Any = None,
    explain: int = 3,
    fraud: bool = False,
    feature_spec: Any = None,
    show_progress: bool | None = None,
) -> pd.DataFrame:
    """Score entities: probability, score, grade, override and the top reasons.

    Parameters
    ----------
    data : Records, dict of DataFrame, path or Panel
        Records (a panel is built for ``as_of``) or a ready panel.
    target : str, default "credit"
    as_of : date, optional
        The as-of date; default the latest quarter start covered by the records (or
        the panel's latest date).
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

    Returns
    -------
    DataFrame
        One row per entity alive at ``as_of``: ``entity_id``, ``as_of``,
        ``probability``, ``score``, ``grade_by_score``, ``grade``, ``override``,
        ``points_to_next_grade``, then ``reason_{j}_feature``, ``reason_{j}_points``,
        ``reason_{j}_text_zh``, ``reason_{j}_text_en`` for ``j = 1..explain``.

    Raises
    ------
    ValueError
        When the panel's features or spec hash do not match the model.

    Examples
    --------
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=1500, seed=0)
    >>> result = riskml.train(market.records, "credit", params={"n_estimators": 30},
    ...                       backtest={"test_dates": "last 1"}, log=False)
    >>> scores = riskml.predict(market.records, model=result.model, explain=2)
    >>> set(scores["grade"]) <= {"A", "B", "C", "D"}
    True
    """
    if explain < 0:
        raise ValueError(f"explain must be >= 0; got {explain}")
    risk_model = _resolve_model(target, model)
    panel = _scoring_panel(data, as_of, feature_spec, show_progress)
    risk_model.check_panel(panel)
    frame = panel.frame
    if len(frame) == 0:
        when = as_of if as_of is not None else "the latest quarter of the records"
        raise ValueError(f"no entity is alive at {when}: nothing to score; pass as_of= a date inside the records")
    scores = risk_model.score(panel)
    if explain:
        from riskml.explain import model_reasons

        reasons = model_reasons(risk_model, frame, explain)
        scores = pd.concat([scores, reasons.set_index(scores.index)], axis=1)
    if fraud:
        fraud_model = _resolve_model("fraud", None)
        fraud_model.check_panel(panel)
        fraud_scores = fraud_model.score(panel)
        scores["fraud_probability"] = fraud_scores["probability"].to_numpy()
        scores["fraud_score"] = fraud_scores["score"].to_numpy()
        scores["fraud_grade"] = fraud_scores["grade"].to_numpy()
    return scores.reset_index(drop=True)


def explain(
    entity_id: str,
    as_of: Any,
    *,
    records: Any,
    target: str = "credit",
    model: Any = None,
    k: int = 5,
    feature_spec: Any = None,
    actions: Any = None,
) -> Any:
    """Explain one entity's grade at ``as_of``: points, reasons, evidence, what-ifs.

    The panel row is rebuilt from the records as they were known at ``as_of``, so the
    same model version, entity and date always give the same explanation, even after
    newer records arrive.

    Parameters
    ----------
    entity_id : str
        The (pseudonymised) entity id.
    as_of : date-like
        The as-of date of the grade.
    records : Records, dict of DataFrame or path
        The bureau's records (validated here if they are not yet).
    target : str, default "credit"
    model : RiskModel, int, str, optional
        A model, a registered version, or an alias; default the ``champion``.
    k : int, default 5
        Number of top reasons.
    feature_spec : path or FeatureSpec, optional
        The feature library the model was trained with (default: built-in).
    actions : path or mapping, optional
        What-if actions (default ``models/appeal_actions.yaml``; actions on sources
        the records do not have are skipped).

    Returns
    -------
    riskml.explain.Explanation
        With ``to_html(path)``, ``to_frame()`` and ``to_dict()``.

    Examples
    --------
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=1500, seed=0)
    >>> result = riskml.train(market.records, "credit", params={"n_estimators": 30},
    ...                       backtest={"test_dates": "last 1"}, log=False)
    >>> scores = riskml.predict(market.records, model=result.model, explain=0)
    >>> worst = scores.sort_values("score").iloc[0]
    >>> e = riskml.explain(worst["entity_id"], worst["as_of"], records=market.records, model=result.model)
    >>> bool(abs(e.base_points + e.to_frame()["points"].sum() - e.score) < 1e-6)
    True
    """
    from riskml.explain._explanation import explain_entity

    risk_model = _resolve_model(target, model)
    return explain_entity(entity_id, as_of, records=_as_records(records), model=risk_model, target=target, k=k,
                          spec=feature_spec, actions=actions)
