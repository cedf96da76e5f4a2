"""Scoring a Spark panel with a registered model's MLflow pyfunc (``spark_udf``).

The model is the one a local :func:`riskml.predict` uses: the pyfunc logged by
:mod:`riskml.tracking` (champion alias by default, or any ``models:/`` URI). It is
loaded once on the driver to check the panel (feature columns and spec hash, with a
clear error before any job starts), then applied to the rows by
``mlflow.pyfunc.spark_udf``, which runs the same ``predict`` as a local call on
Arrow batches of the panel. The workers' Python must be the driver's environment
(``PYSPARK_PYTHON``), since ``env_manager="local"``.
"""

from __future__ import annotations

import logging
from typing import Any

from riskml.spark._panel import SparkPanel

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
    from riskml.tracking import registered_model_name

    return f"models:/{registered_model_name(target)}@{alias}"


def predict(
    spark: Any,
    panel: SparkPanel | Any,
    target: str = "credit",
    model: str | None = None,
    *,
    alias: str = "champion",
) -> Any:
    """Score a Spark panel with a model's MLflow pyfunc, row by row on the executors.

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

    Returns
    -------
    pyspark.sql.DataFrame
        ``entity_id``, ``as_of`` and :data:`SCORE_COLUMNS` (probability, score
        points, grade by score, final grade, the override that applied or ``""``,
        points to the next better grade). The pyfunc gives no reasons: explain
        single entities with :mod:`riskml.explain`.

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

    from riskml.tracking import configure

    configure()
    uri = _model_uri(target, model, alias)
    frame = panel.frame if isinstance(panel, SparkPanel) else panel
    if not hasattr(frame, "schema"):
        raise TypeError(f"panel must be a SparkPanel or a Spark DataFrame, not {type(panel).__name__}")
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
    result_type = T.StructType(
        [T.StructField(c, T.StringType() if c in _STRING_COLUMNS else T.DoubleType()) for c in SCORE_COLUMNS]
    )
    udf = mlflow.pyfunc.spark_udf(spark, uri, result_type=result_type, env_manager="local")
    inputs = [F.col("entity_id"), F.col("as_of").cast("timestamp").alias("as_of")]
    inputs += [F.col(f"`{c}`") for c in risk_model.features]
    logger.info("scoring with %s (%d features) through spark_udf", uri, len(risk_model.features))
    scored = frame.select("entity_id", "as_of", udf(*inputs).alias("_scores"))
    return scored.select("entity_id", "as_of", *[F.col(f"_scores.{c}").alias(c) for c in SCORE_COLUMNS])
