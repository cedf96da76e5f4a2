"""Scoring a Spark panel with a registered model: scores and top reasons per entity.

The model is the one a local :func:`riskml.predict` uses: the pyfunc logged by
:mod:`riskml.tracking` (champion alias by default, or any ``models:/`` URI). It is
loaded once on the driver to check the panel (feature columns and spec hash, with a
clear error before any job starts). With reasons (``explain > 0``, the default) the
model travels to the executors inside a ``mapInPandas`` function that runs, per Arrow
batch, the same scoring and the same TreeSHAP reasons as a local
:func:`riskml.predict`; without them the pyfunc runs through
``mlflow.pyfunc.spark_udf``. The workers' Python must be the driver's environment
(``PYSPARK_PYTHON``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskml.explain._batch import model_reasons
from riskml.spark._panel import SparkPanel
from riskml.tracking import configure
from riskml.tracking._store import registered_model_name
from riskml.tracking._registry import verify_model_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkDataFrame, SparkSession

__all__ = ["SCORE_COLUMNS", "predict"]

logger = logging.getLogger(__name__)

#: Columns of the scores, after ``entity_id`` and ``as_of``.
SCORE_COLUMNS: tuple[str, ...] = ("probability", "score", "grade_by_score", "grade", "override", "points_to_next_grade")
_STRING_COLUMNS = frozenset({"grade_by_score", "grade", "override"})


def _model_uri(target: str, model: str | None, alias: str) -> str:
    if model is not None:
        if not isinstance(model, str) or not model.strip():
            raise TypeError(f"model must be None or a model URI like 'models:/riskml-credit/3', got {model!r}")
        return model
    return f"models:/{registered_model_name(target)}@{alias}"


def predict(
    spark: SparkSession,
    panel: SparkPanel | SparkDataFrame,
    target: str = "credit",
    model: str | None = None,
    *,
    alias: str = "champion",
    explain: int = 3,
) -> SparkDataFrame:
    """Score a Spark panel with a registered model on the executors, with top reasons.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session (its workers must run riskml's Python environment).
    panel : SparkPanel or pyspark.sql.DataFrame
        From :func:`riskml.spark.build_panel`, or a Spark DataFrame with
        ``entity_id``, ``as_of`` and the model's features (categoricals as strings).
    target : str, default "credit"
        Model target; the registered model is ``riskml-<target>``.
    model : str, optional
        A model URI (``models:/riskml-credit/3``, ``models:/m-<id>``, ``runs:/...``);
        default the registry alias ``alias`` of ``riskml-<target>``.
    alias : str, default "champion"
        Registry alias used when ``model`` is None.
    explain : int, default 3
        Reasons per entity, as :func:`riskml.predict`'s ``explain`` (0: scores only,
        through ``mlflow.pyfunc.spark_udf``).

    Returns
    -------
    pyspark.sql.DataFrame
        ``entity_id``, ``as_of`` and :data:`SCORE_COLUMNS` (probability, score
        points, grade by score, final grade, the override that applied or ``""``,
        points to the next better grade), then ``reason_{j}_feature``,
        ``reason_{j}_points``, ``reason_{j}_text_zh``, ``reason_{j}_text_en`` for
        ``j = 1..explain``: the same values as :func:`riskml.predict` on the same rows.

    Raises
    ------
    ValueError
        When the panel lacks columns the model needs, or was built with another
        feature spec than the model's.
    LookupError
        When the registry has no such model or alias.

    Examples
    --------
    >>> from riskml.spark import build_panel, predict  # doctest: +SKIP
    >>> scores = predict(spark, build_panel(spark, records), "credit")  # doctest: +SKIP
    >>> scores.groupBy("grade").count().show()  # doctest: +SKIP
    """
    import mlflow.pyfunc
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    if isinstance(explain, bool) or not isinstance(explain, int) or explain < 0:
        raise ValueError(f"explain must be a whole number >= 0; got {explain!r}")
    configure()
    uri = _model_uri(target, model, alias)
    frame = panel.frame if isinstance(panel, SparkPanel) else panel
    if not hasattr(frame, "schema"):
        raise TypeError(f"panel must be a SparkPanel or a Spark DataFrame, not {type(panel).__name__}")
    verify_model_uri(uri)  # every file against its logged digest, before anything parses it
    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # MLflow raises several types for a missing model or alias
        raise LookupError(f"cannot load model {uri!r}: {exc}") from None
    risk_model = getattr(loaded.unwrap_python_model(), "model", None)
    if risk_model is None:
        raise ValueError(f"{uri} is not a riskml model (its pyfunc holds no RiskModel)")
    needed = ["entity_id", "as_of", *risk_model.features]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"the panel lacks {len(missing)} column(s) the {target} model {uri} needs: {missing[:10]}")
    if isinstance(panel, SparkPanel) and panel.spec_hash != risk_model.spec_hash:
        raise ValueError(
            f"the panel was built with feature spec {panel.spec_hash} but model {uri} was trained on spec "
            f"{risk_model.spec_hash}; rebuild the panel with the model's feature spec"
        )
    inputs = [F.col("entity_id"), F.col("as_of").cast("timestamp").alias("as_of")]
    inputs += [F.col(f"`{c}`") for c in risk_model.features]
    if explain:
        logger.info("scoring with %s (%d features) and %d reasons through mapInPandas", uri,
                    len(risk_model.features), explain)
        return _scores_with_reasons(frame.select(*inputs), risk_model, explain)
    udf = mlflow.pyfunc.spark_udf(spark, uri, result_type=T.StructType(_score_fields()), env_manager="local")
    logger.info("scoring with %s (%d features) through spark_udf", uri, len(risk_model.features))
    scored = frame.select("entity_id", "as_of", udf(*inputs).alias("_scores"))
    return scored.select("entity_id", "as_of", *[F.col(f"_scores.{c}").alias(c) for c in SCORE_COLUMNS])


def _score_fields() -> list[Any]:
    """Spark fields of :data:`SCORE_COLUMNS`."""
    from pyspark.sql import types as T

    return [T.StructField(c, T.StringType() if c in _STRING_COLUMNS else T.DoubleType()) for c in SCORE_COLUMNS]


def _reason_columns(k: int) -> list[tuple[str, bool]]:
    """(column, is_string) of the reason columns, as :func:`riskml.explain._reasons.reasons_frame` names them."""
    return [(f"reason_{j}_{part}", part != "points") for j in range(1, k + 1)
            for part in ("feature", "points", "text_zh", "text_en")]


def _scores_with_reasons(frame: Any, risk_model: Any, k: int) -> Any:
    """Scores and ``k`` reasons per row by ``mapInPandas``, the model shipped in the closure.

    ``frame`` holds ``entity_id``, ``as_of`` (timestamp) and the model's features.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from riskml.models._pyfunc import clean_rows, output_columns  # subclasses mlflow's PythonModel

    reason_columns = _reason_columns(k)
    fields = [T.StructField("entity_id", T.StringType()), T.StructField("as_of", T.TimestampType())]
    fields += _score_fields()
    fields += [T.StructField(c, T.StringType() if text else T.DoubleType()) for c, text in reason_columns]
    schema = T.StructType(fields)

    def run(batches: Any) -> Any:
        for batch in batches:
            rows = clean_rows(risk_model, batch)
            scores = output_columns(risk_model.score(rows))  # the pyfunc's own output, column for column
            yield pd.concat([rows[["entity_id", "as_of"]], scores, model_reasons(risk_model, rows, k)], axis=1)

    scored = frame.mapInPandas(run, schema)
    return scored.withColumn("as_of", F.to_date("as_of"))
