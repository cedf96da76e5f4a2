"""riskml on Apache Spark (分布式): the same panel and the same scores, at country scale.

:func:`build_panel` runs the local panel kernel (:func:`riskml.features._engine.compute_bucket`)
once per bucket of entities through ``groupBy(bucket).applyInPandas``, with the
cross-entity features computed by shuffling passes (counterparty state joined by
key, cycles by self-joins, shared identities by group-by); it returns a
:class:`SparkPanel`. :func:`predict` scores a Spark panel with the MLflow pyfunc of a
registered model through ``mlflow.pyfunc.spark_udf``. :func:`session` starts a
session whose Python workers run the current interpreter (no ``PYSPARK_PYTHON`` to
set). Entities go to buckets by the CRC-32 of their id, identical in Spark and in
Python. ``import riskml.spark`` does not import pyspark.

Examples
--------
>>> from riskml import spark
>>> spark.__all__
['SparkPanel', 'build_panel', 'predict', 'session']
"""

from __future__ import annotations

from riskml.spark._panel import SparkPanel, build_panel
from riskml.spark._predict import predict
from riskml.spark._session import session

__all__ = [
    "SparkPanel",
    "build_panel",
    "predict",
    "session",
]
