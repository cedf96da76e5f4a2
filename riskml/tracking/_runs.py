"""One MLflow run per training: params, per-split metrics, specs, schema, plots, model.

:func:`log_training_run` is the single place where a trained model enters MLflow. The
run holds

* params: the booster's training params, the calibration and the spec hash;
* metrics: one value per temporal split and population, named
  ``<metric>.split_<test as_of>.<population>`` (``auc.split_2024-01-01.all``), plus
  ``<metric>.latest.<population>`` for the latest split; a model with a
  through-the-cycle grade model logs that model's own backtest beside them under the
  prefix ``grade_model.`` (``grade_model.auc.split_2024-01-01.all``), which the
  promotion gates read too;
* artifacts: ``specs/<name>.yaml`` (the spec texts), ``panel/schema.json`` (columns,
  dtypes and spec hash; never values), ``plots/*.png`` (calibration, lift, grades),
  ``backtest/scores.parquet`` (test ``as_of`` and score only, the input of the
  promotion PSI gate), the pyfunc model, and whatever further artifacts the caller
  hands in: ``riskml.train`` adds ``explain/mean_abs_contribution.json`` and
  ``plots/shap_beeswarm.png`` (:func:`riskml.explain._artifacts.shap_artifacts`),
  computed above this layer, which logs explanations but never computes them.

The model is registered as ``riskml-<target>`` and gets the alias ``challenger``;
:func:`riskml.tracking.promote` decides whether it becomes ``champion``.

Nothing personal is logged: predictions lose their entity ids, the panel contributes
only its column names and dtypes, and the SHAP beeswarm ``riskml.train`` hands in
(shap's own plot of :meth:`riskml.explain.BatchExplanation.to_shap`, in score points)
shows a sample's contributions without any entity id.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from riskml.records._io import to_parquet
from riskml.tracking import _plots
from riskml.tracking._health import process_tags
from riskml.tracking._registry import log_pyfunc
from riskml.tracking._store import TrackingConfig, configure, ensure_experiment, registered_model_name

__all__ = ["GRADE_MODEL_PREFIX", "METRIC_KEY", "SCORES_ARTIFACT", "log_training_run", "metric_table", "panel_schema"]

logger = logging.getLogger(__name__)

METRIC_KEY = "{metric}.split_{split}.{population}"
LATEST_KEY = "{metric}.latest.{population}"
#: Prefix of the grade model's backtest metrics (``grade_model.auc.split_2024-01-01.all``).
GRADE_MODEL_PREFIX = "grade_model."
SCORES_ARTIFACT = "backtest/scores.parquet"
SCHEMA_ARTIFACT = "panel/schema.json"
_SPLIT_COLUMNS = ("split", "test_as_of", "as_of")
_POPULATION_COLUMNS = ("population", "sample")
_TAG_LIMIT = 5000


def metric_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Backtest metrics in long form: ``split`` (YYYY-MM-DD), ``population``, ``metric``, ``value``.

    Accepts a wide frame (one row per split and population, one column per metric)
    or a long one (``metric`` and ``value`` columns). The split column is the first of
    ``split``, ``test_as_of``, ``as_of``; the population column (``population`` or
    ``sample``) defaults to ``"all"``.

    Examples
    --------
    >>> wide = pd.DataFrame({"test_as_of": pd.to_datetime(["2023-01-01", "2024-01-01"]),
    ...                      "population": ["all", "all"], "auc": [0.71, 0.74]})
    >>> metric_table(wide).to_dict("records")[1]
    {'split': '2024-01-01', 'population': 'all', 'metric': 'auc', 'value': 0.74}
    """
    if not isinstance(metrics, pd.DataFrame):
        raise TypeError(f"metrics must be a DataFrame, got {type(metrics).__name__}")
    split_col = next((c for c in _SPLIT_COLUMNS if c in metrics.columns), None)
    if split_col is None:
        raise ValueError(f"metrics need a split column, one of {_SPLIT_COLUMNS}; got columns {list(metrics.columns)}")
    pop_col = next((c for c in _POPULATION_COLUMNS if c in metrics.columns), None)
    frame = metrics.rename(columns={split_col: "split"})
    if pop_col is None:
        frame = frame.assign(population="all")
    else:
        frame = frame.rename(columns={pop_col: "population"})
    if {"metric", "value"} <= set(frame.columns):
        long = frame[["split", "population", "metric", "value"]]
    else:
        value_cols = [c for c in frame.columns if c not in ("split", "population")
                      and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]
        if not value_cols:
            raise ValueError(f"metrics have no numeric metric columns; got {list(metrics.columns)}")
        long = frame.melt(id_vars=["split", "population"], value_vars=value_cols, var_name="metric")
    long = long.assign(
        split=pd.to_datetime(long["split"]).dt.strftime("%Y-%m-%d").astype("str"),
        population=long["population"].astype("str"),
        metric=long["metric"].astype("str"),
        value=pd.to_numeric(long["value"], errors="coerce").astype("float64"),
    )
    return long.dropna(subset=["value"]).sort_values(["split", "population", "metric"], ignore_index=True)


def panel_schema(panel: Any, spec_hash: str | None = None) -> dict[str, Any]:
    """Column names, dtypes and spec hash of a panel, without any of its values.

    Parameters
    ----------
    panel : Panel, DataFrame or mapping
        A ``riskml.features.Panel`` (its ``frame`` and ``spec_hash``), a panel frame,
        or an already built schema mapping (returned as a plain dict).
    spec_hash : str, optional
        Used when ``panel`` carries no spec hash of its own.

    Examples
    --------
    >>> frame = pd.DataFrame({"entity_id": ["E0000001"], "x": [1.0]})
    >>> panel_schema(frame, spec_hash="abc")
    {'spec_hash': 'abc', 'columns': [{'name': 'entity_id', 'dtype': 'str'}, {'name': 'x', 'dtype': 'float64'}]}
    """
    if isinstance(panel, Mapping):
        schema = dict(panel)
        if "columns" not in schema:
            raise ValueError(f"a panel schema mapping needs a 'columns' key; got keys {sorted(schema)}")
        schema.setdefault("spec_hash", spec_hash)
        return schema
    frame = getattr(panel, "frame", panel)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"panel_schema expects a Panel, a DataFrame or a mapping, got {type(panel).__name__}")
    # Category levels are values, so only the dtype's kind is kept.
    columns = [{"name": str(c), "dtype": "category" if isinstance(t, pd.CategoricalDtype) else str(t)}
               for c, t in frame.dtypes.items()]
    return {"spec_hash": getattr(panel, "spec_hash", None) or spec_hash, "columns": columns}


# ``log_training_run`` takes a parameter named ``panel_schema``; this name reaches the function.
_schema_of = panel_schema


def log_training_run(
    fit_result_or_model: Any,
    *,
    metrics: pd.DataFrame,
    specs: Mapping[str, str | os.PathLike[str] | Mapping[str, Any]],
    panel_schema: Any,
    predictions: pd.DataFrame | None = None,
    plots: bool = True,
    tags: Mapping[str, str] | None = None,
    register: bool = True,
    config: TrackingConfig | None = None,
    artifacts: Mapping[str, Any] | None = None,
    grade_metrics: pd.DataFrame | None = None,
) -> str:
    """Log a trained model and its backtest as one MLflow run; register it as challenger.

    Parameters
    ----------
    fit_result_or_model : RiskModel or object with ``.model``
        The trained model, or a fit result holding it in ``.model`` (and, optionally,
        its backtest predictions in ``.predictions``).
    metrics : pandas.DataFrame
        Backtest metrics per temporal split (and population); see :func:`metric_table`.
    specs : mapping of name -> path, YAML text or dict
        The specs used (e.g. ``{"features": ..., "model": ..., "backtest": ...}``),
        logged as ``specs/<name>.yaml``.
    panel_schema : Panel, DataFrame or mapping
        The training panel (only its columns, dtypes and spec hash are logged) or a
        ready schema.
    predictions : pandas.DataFrame, optional
        Out-of-time predictions with ``as_of`` and ``score`` (for the PSI gate), and
        ``probability``/``label``/``grade`` for the plots. Entity ids are never logged.
    plots : bool, default True
        Log PNG plots of the predictions (calibration, grade distribution, lift).
    tags : mapping, optional
        Extra run tags.
    register : bool, default True
        Register the model as ``riskml-<target>`` with alias ``challenger``.
    config : TrackingConfig, optional
        Result of :func:`configure`.
    artifacts : mapping of path -> text, bytes, dict or figure, optional
        More files of the run, logged as given at their path: text or bytes as the
        file (``screening/features.csv``, ``scorecard/points.html``), a dict as JSON
        (``explain/mean_abs_contribution.json``), a matplotlib figure as an image
        (``plots/shap_beeswarm.png``).
    grade_metrics : pandas.DataFrame, optional
        Backtest metrics of the through-the-cycle grade model (same forms as
        ``metrics``), logged as ``grade_model.<metric>.split_<date>.<population>``;
        default the fit result's ``.grade.metrics`` when it has a grade model.

    Returns
    -------
    str
        The MLflow run id.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> from riskml.tracking import configure
    >>> cfg = configure(tempfile.mkdtemp())
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"], "population": ["all"], "auc": [0.81],
    ...                         "calibration_error": [0.02], "n": [1000], "base_rate": [0.05]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           predictions=scores, plots=False, config=cfg)
    >>> run = cfg.client().get_run(run_id)
    >>> run.data.metrics["auc.split_2024-01-01.all"], run.data.tags["riskml.target"]
    (0.81, 'fraud')
    >>> grade = metrics.assign(auc=[0.77])
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           grade_metrics=grade, plots=False, register=False, config=cfg)
    >>> cfg.client().get_run(run_id).data.metrics["grade_model.auc.split_2024-01-01.all"]
    0.77
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    import mlflow

    model = _unwrap_model(fit_result_or_model)
    if predictions is None:
        predictions = getattr(fit_result_or_model, "predictions", None)
    if grade_metrics is None:
        grade_metrics = getattr(getattr(fit_result_or_model, "grade", None), "metrics", None)
    config = config or configure()
    long = metric_table(metrics)
    schema = _schema_of(panel_schema, spec_hash=model.spec_hash)
    experiment_id = ensure_experiment(model.target, config)
    run_tags = {"riskml.target": model.target, "riskml.spec_hash": str(model.spec_hash),
                "riskml.version": _riskml_version(), **process_tags(),
                **{str(k): str(v) for k, v in (tags or {}).items()}}
    with mlflow.start_run(experiment_id=experiment_id, tags=run_tags) as run:
        mlflow.log_params(_params(model))
        mlflow.log_metrics(_metric_values(long))
        if grade_metrics is not None and len(grade_metrics):
            mlflow.log_metrics(_metric_values(metric_table(grade_metrics), prefix=GRADE_MODEL_PREFIX))
        for name, spec in specs.items():
            mlflow.log_text(_spec_text(name, spec), f"specs/{name}.yaml")
        mlflow.log_text(json.dumps(schema, indent=1, ensure_ascii=False, default=str), SCHEMA_ARTIFACT)
        if predictions is not None:
            _log_scores(predictions)
        if plots and predictions is not None:
            _log_plots(predictions)
        for path, content in (artifacts or {}).items():
            _log_artifact(content, path)
        info = log_pyfunc(model, registered_model_name=registered_model_name(model.target) if register else None,
                          config=config)
        run_id = run.info.run_id
    if register:
        client = config.client()
        name, version = registered_model_name(model.target), str(info.registered_model_version)
        for key, value in _version_tags(model, long, run_id).items():
            client.set_model_version_tag(name, version, key, value)
        client.set_registered_model_alias(name, "challenger", version)
        logger.info("registered %s version %s as challenger (run %s)", name, version, run_id)
    return run_id


def _unwrap_model(obj: Any) -> Any:
    if hasattr(obj, "booster") and hasattr(obj, "save"):
        return obj
    inner = getattr(obj, "model", None)
    if inner is not None and hasattr(inner, "booster"):
        return inner
    raise TypeError(f"expected a RiskModel or a fit result with a .model, got {type(obj).__name__}")


def _riskml_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("riskml")
    except metadata.PackageNotFoundError:
        return "unknown"


def _params(model: Any) -> dict[str, str]:
    params: dict[str, Any] = {f"lgb.{k}": v for k, v in dict(model.metadata.get("params") or {}).items()}
    params.update({"target": model.target, "spec_hash": model.spec_hash, "n_features": len(model.features),
                   "calib_a": model.calib_a, "calib_b": model.calib_b})
    return {k: str(v)[:6000] for k, v in params.items()}


def _metric_values(long: pd.DataFrame, prefix: str = "") -> dict[str, float]:
    values = {prefix + METRIC_KEY.format(metric=m, split=s, population=p): v
              for s, p, m, v in long.itertuples(index=False, name=None)}
    if not long.empty:
        latest = long[long["split"] == long["split"].max()]
        values.update({prefix + LATEST_KEY.format(metric=m, population=p): v
                       for _, p, m, v in latest.itertuples(index=False, name=None)})
    return values


def _spec_text(name: str, spec: Any) -> str:
    if isinstance(spec, Mapping):
        return yaml.safe_dump(dict(spec), allow_unicode=True, sort_keys=False)
    if hasattr(spec, "model_dump"):
        return yaml.safe_dump(spec.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    path = Path(spec)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    if isinstance(spec, str) and "\n" in spec:
        return spec
    raise FileNotFoundError(f"spec {name!r}: {spec!r} is neither an existing file, a dict nor YAML text")


def _version_tags(model: Any, long: pd.DataFrame, run_id: str) -> dict[str, str]:
    tags = {"target": model.target, "spec_hash": str(model.spec_hash), "run_id": run_id}
    for key, value in dict(model.metadata).items():
        if key in ("metrics", "params"):
            continue
        if isinstance(value, (str, int, float, bool)) or (isinstance(value, (list, tuple)) and len(value) <= 50):
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            tags[f"meta.{key}"] = text[:_TAG_LIMIT]
    if not long.empty:
        latest = long[long["split"] == long["split"].max()]
        tags["latest_split"] = str(latest["split"].iloc[0])
        tags.update({f"metric.{m}.{p}": f"{v:.6g}" for _, p, m, v in latest.itertuples(index=False, name=None)})
    return tags


def _log_scores(predictions: pd.DataFrame) -> None:
    missing = [c for c in ("as_of", "score") if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions need columns as_of and score for the promotion PSI gate; missing {missing}")
    # Only the date and the score: no entity id leaves the training process.
    scores = pd.DataFrame({"as_of": pd.to_datetime(predictions["as_of"]).astype("datetime64[ns]").to_numpy(),
                           "score": predictions["score"].astype("float64").to_numpy()})
    buffer = io.BytesIO()
    to_parquet(scores, buffer)
    _log_bytes(buffer.getvalue(), SCORES_ARTIFACT)


def _log_bytes(data: bytes, artifact_file: str) -> None:
    import tempfile

    import mlflow

    directory, _, filename = artifact_file.rpartition("/")
    with tempfile.TemporaryDirectory(prefix="riskml-artifact-") as tmp:
        path = Path(tmp) / filename
        path.write_bytes(data)
        mlflow.log_artifact(str(path), artifact_path=directory or None)


def _log_artifact(content: Any, path: str) -> None:
    import mlflow

    if isinstance(content, Mapping):
        mlflow.log_dict(dict(content), path)
    elif hasattr(content, "savefig"):  # a matplotlib figure
        mlflow.log_figure(content, path)
    elif isinstance(content, str | bytes):
        _log_bytes(content.encode("utf-8") if isinstance(content, str) else content, path)
    else:
        raise TypeError(f"artifact {path!r}: expected text, bytes, a dict or a matplotlib figure, "
                        f"got {type(content).__name__}")


def _log_plots(predictions: pd.DataFrame) -> None:
    import mlflow

    figures: dict[str, Any] = {}
    latest = predictions[pd.to_datetime(predictions["as_of"]) == pd.to_datetime(predictions["as_of"]).max()]
    if {"probability", "label"} <= set(latest.columns):
        figures["calibration"] = _plots.calibration_curve(latest["probability"], latest["label"])
        figures["lift"] = _plots.lift_curve(latest["probability"], latest["label"])
    if "grade" in predictions.columns:
        figures["grades"] = _plots.grade_distribution(predictions["as_of"], predictions["grade"])
    for name, figure in figures.items():
        mlflow.log_figure(figure, f"plots/{name}.png")
