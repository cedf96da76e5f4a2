"""Scoring a Spark panel with a registered model's MLflow pyfunc (``spark_udf``)."""

from __future__ import annotations

SCORE_COLUMNS = ()


def predict(*args, **kwargs):  # placeholder replaced below
    raise NotImplementedError
