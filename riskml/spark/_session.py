"""A Spark session whose Python workers run riskml's own interpreter.

Spark starts its Python workers with ``PYSPARK_PYTHON`` (default ``python3`` on the
PATH), which on most machines is not the environment riskml is installed in: every
``applyInPandas`` then fails with ``No module named 'riskml'``. :func:`session` sets the
workers' (and the driver's) Python to the running interpreter before the Spark
context starts, unless the caller chose one explicitly, and sets the settings the
panel and scoring jobs rely on (UTC session time zone, Arrow transfers).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["session"]

#: Settings every riskml session gets (a caller's ``conf`` overrides them).
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def session(
    app_name: str = "riskml",
    master: str | None = "local[*]",
    conf: Mapping[str, str] | None = None,
    *,
    python: str | None = None,
) -> SparkSession:
    """Get or create a SparkSession whose Python workers run riskml's interpreter.

    Parameters
    ----------
    app_name : str, default "riskml"
    master : str or None, default "local[*]"
        The Spark master; None leaves it to ``spark-submit`` (on a cluster).
    conf : mapping of str to str, optional
        Extra Spark settings, applied after riskml's defaults.
    python : str, optional
        The workers' Python. Default: ``PYSPARK_PYTHON`` when set, else the running
        interpreter (``sys.executable``), which has riskml installed.

    Returns
    -------
    pyspark.sql.SparkSession

    Examples
    --------
    >>> import riskml.spark
    >>> spark = riskml.spark.session("riskml-docs", "local[1]")  # doctest: +SKIP
    >>> spark.conf.get("spark.sql.session.timeZone")  # doctest: +SKIP
    'UTC'
    """
    from pyspark.sql import SparkSession

    worker_python = python or os.environ.get("PYSPARK_PYTHON") or sys.executable
    # read by SparkContext when it starts; the config keys reach cluster executors
    os.environ["PYSPARK_PYTHON"] = worker_python
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    settings = {**DEFAULT_CONF, "spark.pyspark.python": worker_python,
                "spark.pyspark.driver.python": sys.executable, **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
