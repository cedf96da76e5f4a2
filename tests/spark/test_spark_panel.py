"""The Spark path gives the local panel and the local scores, value for value.

One local[2] SparkSession serves the module (UI off, two shuffle partitions); the
tests skip with a message when pyspark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zlib

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
]

N_ENTITIES = 1500
BUCKETS = 3


def _java_missing() -> str | None:
    java = shutil.which("java") or (os.environ.get("JAVA_HOME") and os.path.join(os.environ["JAVA_HOME"], "bin", "java"))
    if not java:
        return "no Java runtime (java not on PATH and JAVA_HOME unset)"
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"Java runtime at {java} does not run: {exc}"
    return None


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install riskml[spark])")
    reason = _java_missing()
    if reason:
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    # Python workers must run this environment (riskml, LightGBM, MLflow).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("riskml-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def market():
    from riskml.synth import make_market

    return make_market(n_entities=N_ENTITIES, seed=0)


@pytest.fixture(scope="module")
def local_panel(market):
    from riskml.features import build_panel

    return build_panel(market.records)


@pytest.fixture(scope="module")
def spark_panel(spark, market):
    from riskml.spark import build_panel

    panel = build_panel(spark, market.records, buckets=BUCKETS)
    # Cached: the comparison and the scoring read the same rows without rebuilding them.
    panel.frame.cache()
    yield panel
    panel.frame.unpersist()


@pytest.fixture(scope="module")
def spark_frame(spark_panel):
    return spark_panel.to_pandas()


def test_bucket_of_known_ids_is_fixed_and_matches_python_crc32():
    from riskml.features._buckets import bucket_of

    ids = ["E0000001", "E0000002", "E0000003", "E0123456"]
    assert bucket_of(ids, 16).tolist() == [1, 11, 13, 0]
    assert bucket_of(ids, 16).tolist() == [zlib.crc32(i.encode()) % 16 for i in ids]


def test_bucket_of_rejects_a_non_positive_bucket_count():
    from riskml.features._buckets import bucket_of

    with pytest.raises(ValueError, match="positive integer, got 0"):
        bucket_of(["E0000001"], 0)


def test_spark_buckets_equal_python_buckets(spark):
    from riskml.features._buckets import bucket_of
    from riskml.spark._buckets import bucket_column

    df = spark.range(1, 2001).selectExpr("format_string('E%07d', id) AS entity_id")
    got = df.select("entity_id", bucket_column("entity_id", 7).alias("b")).toPandas()
    assert got["b"].tolist() == bucket_of(got["entity_id"], 7).tolist()
    # Balanced enough to size buckets by entity count.
    counts = np.bincount(got["b"], minlength=7)
    assert counts.min() > 0.8 * counts.mean()


def test_spark_panel_equals_local_panel_row_for_row(local_panel, spark_frame, market):
    expected = local_panel.frame
    assert len(market.records["invoices"]) > 10_000  # the cross-entity features have something to do
    assert list(spark_frame.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(spark_frame, expected, check_exact=True)


def test_spark_panel_carries_the_local_catalog_and_spec_hash(local_panel, spark_panel):
    assert spark_panel.spec_hash == local_panel.spec_hash
    pd.testing.assert_frame_equal(spark_panel.catalog, local_panel.catalog)
    assert spark_panel.as_of_dates.equals(local_panel.as_of_dates)


def test_cross_entity_features_are_not_trivial_in_the_compared_panel(spark_frame):
    # Equality would prove little if the counterparty features were all missing.
    assert spark_frame["invoice_on_cycle_365d"].sum() > 0
    assert spark_frame["shared_legal_rep_entities"].max() > 0
    assert spark_frame["invoice_young_counterparty_value_share_365d"].gt(0).any()


def test_spark_panel_from_spark_tables_with_dates_equals_local(spark, market):
    from riskml.features import build_panel as local_build
    from riskml.features import load_feature_spec
    from riskml.spark import build_panel

    spec = load_feature_spec().subset(["entity_age_years", "penalties_count_365d", "abnormal_list_on_list"])
    records = {n: market.records[n] for n in ("entities", "penalties", "abnormal_list")}
    as_of = ["2021-01-01", "2022-07-01"]
    sources = {}
    for name, table in records.items():
        dates = [c for c in table.columns if pd.api.types.is_datetime64_dtype(table[c])]
        keep = [c for c in table.columns if c not in dates and not isinstance(table[c].dtype, pd.CategoricalDtype)]
        plain = table[keep].assign(**{c: table[c].dt.strftime("%Y-%m-%d") for c in dates})
        sdf = spark.createDataFrame(plain.astype(object).where(plain.notna(), None))
        # Spark-native dates and timestamps, as a bureau's tables would have them.
        for i, c in enumerate(dates):
            kind = "date" if i % 2 == 0 else "timestamp"
            sdf = sdf.withColumn(c, sdf[c].cast(kind))
        sources[name] = sdf
    got = build_panel(spark, sources, as_of, spec, buckets=2).to_pandas()
    pd.testing.assert_frame_equal(got, local_build(records, as_of, spec).frame, check_exact=True)


def test_spark_panel_names_a_missing_source(spark, market):
    from riskml.spark import build_panel

    records = {n: t for n, t in market.records.items() if n != "penalties"}
    with pytest.raises(ValueError, match=r"no table for sources \['penalties'\]"):
        build_panel(spark, records, buckets=2)


@pytest.fixture(scope="module")
def logged_model(local_panel, tmp_path_factory):
    """A real calibrated LightGBM model on the panel's features, logged as a pyfunc."""
    from riskml._specs import load_yaml, resolve_spec
    from riskml.models import RiskModel
    from riskml.tracking import configure
    from riskml.tracking._registry import log_model

    frame = local_panel.frame
    features = local_panel.feature_names
    rng = np.random.default_rng(0)
    logit = -3 + 0.8 * frame["penalties_count_365d"].fillna(0) + 1.5 * frame["abnormal_list_on_list"].fillna(0)
    y = (rng.uniform(size=len(frame)) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 7},
                        lgb.Dataset(frame[features], y), 15)
    model = RiskModel.from_parts("credit", booster, frame[features], spec_hash=local_panel.spec_hash,
                                 calib_a=1.0, calib_b=0.0, model_spec=load_yaml(resolve_spec("models", "credit")))
    configure(tmp_path_factory.mktemp("spark-mlflow"))
    return model, log_model(model)


def test_spark_scores_equal_local_pyfunc_scores(spark, spark_panel, local_panel, logged_model):
    import mlflow.pyfunc

    from riskml.models._pyfunc import pyfunc_input
    from riskml.spark import predict
    from riskml.spark._predict import SCORE_COLUMNS

    _, uri = logged_model
    last = spark_panel.as_of_dates[-1]
    from pyspark.sql import functions as F

    sample = spark_panel.frame.where(F.col("as_of") == F.lit(last.date()))
    got = predict(spark, sample, "credit", model=uri, explain=0).toPandas()
    local = local_panel.frame[local_panel.frame["as_of"] == last].reset_index(drop=True)
    expected = mlflow.pyfunc.load_model(uri).predict(pyfunc_input(local))
    got = got.assign(as_of=pd.to_datetime(got["as_of"]).astype("datetime64[ns]"))
    got = got.sort_values("entity_id", ignore_index=True)
    assert got["entity_id"].tolist() == local["entity_id"].tolist()
    assert list(got.columns) == ["entity_id", "as_of", *SCORE_COLUMNS]
    pd.testing.assert_frame_equal(got[list(SCORE_COLUMNS)], expected[list(SCORE_COLUMNS)], check_exact=True,
                                  check_dtype=False)
    assert set(got["grade"]) <= {"A", "B", "C", "D"}


def test_spark_scores_and_reasons_equal_riskml_predict(spark, spark_panel, local_panel, logged_model):
    import riskml
    from riskml.features import Panel
    from riskml.spark import predict
    from riskml.spark._predict import SCORE_COLUMNS

    model, uri = logged_model
    last = spark_panel.as_of_dates[-1]
    from pyspark.sql import functions as F

    sample = spark_panel.frame.where(F.col("as_of") == F.lit(last.date()))
    got = predict(spark, sample, "credit", model=uri, explain=3).toPandas()
    got = got.sort_values("entity_id", ignore_index=True)
    local = riskml.predict(Panel(local_panel.frame, local_panel.catalog, local_panel.spec_hash), as_of=last,
                           model=model, explain=3)
    local = local.sort_values("entity_id", ignore_index=True)
    assert got["entity_id"].tolist() == local["entity_id"].tolist()
    assert pd.to_datetime(got["as_of"]).eq(last).all()
    reasons = [f"reason_{j}_{part}" for j in (1, 2, 3) for part in ("feature", "points", "text_zh", "text_en")]
    assert list(got.columns) == ["entity_id", "as_of", *SCORE_COLUMNS, *reasons]
    for column in (*SCORE_COLUMNS, *reasons):
        expected = local[column]
        if expected.dtype.kind == "f":
            np.testing.assert_array_equal(got[column].to_numpy(dtype=float), expected.to_numpy(dtype=float),
                                          err_msg=column)
        else:
            assert got[column].fillna("").astype(str).tolist() == expected.fillna("").astype(str).tolist(), column
    # the model leans on penalties and the abnormal list: some entities carry a reason
    assert (got["reason_1_feature"] != "").any()


def test_predict_refuses_a_panel_built_with_another_spec(spark, spark_panel, logged_model):
    import dataclasses

    from riskml.spark import predict

    _, uri = logged_model
    other = dataclasses.replace(spark_panel, spec_hash="0000000000000000")
    with pytest.raises(ValueError, match="built with feature spec 0000000000000000"):
        predict(spark, other, "credit", model=uri)
