"""Spark without friction: riskml's Parquet files and Python workers need no setup.

A folder written by ``riskml synth`` is read by ``spark.read.parquet`` (microsecond
timestamps) and its panel built on a session from :func:`riskml.spark.session` with
``PYSPARK_PYTHON`` unset, so the workers must find riskml by themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from riskml.cli import app

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]


def test_import_riskml_reaches_spark_lazily_without_pyspark():
    code = ("import sys, riskml; assert 'pyspark' not in sys.modules; import riskml.spark; "
            "assert 'pyspark' not in sys.modules; print(riskml.spark.session.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert out.stdout.strip() == "riskml.spark._session"


def test_synth_folder_is_read_by_spark_with_no_pyspark_python(tmp_path, monkeypatch):
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime (java not on PATH and JAVA_HOME unset)")
    folder = tmp_path / "records"
    result = CliRunner().invoke(app, ["synth", "--out", str(folder), "--entities", "300", "--years", "2"])
    assert result.exit_code == 0, result.output
    written = sorted(folder.glob("*.parquet")) + sorted((folder / "_truth").glob("*.parquet"))
    timestamps = [f.type for p in written for f in pq.read_schema(p) if str(f.type).startswith("timestamp")]
    assert timestamps and all(str(t).startswith("timestamp[us") for t in timestamps)

    for name in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):  # unset, and restored after the session sets them
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    import riskml

    spark = riskml.spark.session("riskml-friction", "local[1]", {"spark.ui.enabled": "false",
                                                                 "spark.sql.shuffle.partitions": "2"})
    try:
        workers = spark.sparkContext.parallelize([0], 1).map(lambda _: sys.executable).collect()
        assert workers == [sys.executable]  # the running interpreter, not whatever python3 is on PATH
        sources = {p.stem: spark.read.parquet(str(p)) for p in sorted(folder.glob("*.parquet"))}
        truth = spark.read.parquet(str(folder / "_truth" / "entity_quarters.parquet"))
        assert truth.count() == len(pd.read_parquet(folder / "_truth" / "entity_quarters.parquet"))
        panel = riskml.spark.build_panel(spark, sources, ["2024-07-01"], buckets=2)
        rows = panel.frame.count()  # runs the kernel in Python workers that must import riskml
        local = riskml.build_panel(riskml.records.read(folder), ["2024-07-01"])
        assert rows == len(local.frame) > 0
    finally:
        spark.stop()
