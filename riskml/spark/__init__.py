"""riskml on Apache Spark (分布式): the same panel and the same scores, at country scale.

:func:`build_panel` runs the local panel kernel (:func:`riskml.features.compute_bucket`)
once per bucket of entities through ``groupBy(bucket).applyInPandas``, with the
cross-entity features computed by shuffling passes (counterparty state joined by
key, cycles by self-joins, shared identities by group-by); it returns a
:class:`SparkPanel`. :func:`predict` scores a Spark panel with the MLflow pyfunc of a
registered model through ``mlflow.pyfunc.spark_udf``. :func:`session` starts a
session whose Python workers run the current interpreter (no ``PYSPARK_PYTHON`` to
set). Entities go to buckets by :func:`bucket_of` (CRC-32 of the id, identical in
Spark and in Python). ``import riskml.spark`` does not import pyspark.

Examples
--------
>>> from riskml.spark import bucket_of
>>> bucket_of(["E0000001"], 16).tolist()
[1]
"""

from __future__ import annotations

from riskml.features._buckets import bucket_of
from riskml.spark._buckets import bucket_column
from riskml.spark._panel import BUCKETS_PER_CORE, ENTITIES_PER_BUCKET, SparkPanel, build_panel
from riskml.spark._predict import SCORE_COLUMNS, predict
from riskml.spark._session import session

__all__ = ["BUCKETS_PER_CORE", "ENTITIES_PER_BUCKET", "SCORE_COLUMNS", "SparkPanel", "bucket_column", "bucket_of", "build_panel", "predict", "session"]
