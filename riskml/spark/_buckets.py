"""The bucket of an entity as a Spark column: the same CRC-32 rule as in Python.

Spark groups the records of a bucket of entities together so the panel kernel runs
once per bucket. :func:`bucket_column` is the Spark expression of
:func:`riskml.features._buckets.bucket_of` (``crc32(utf8(id)) mod buckets``): Spark's
``crc32`` and Python's :func:`zlib.crc32` agree bit for bit, so an entity lands in the
same bucket on Spark and without it.
"""

from __future__ import annotations

from typing import Any

from riskml.features._buckets import check_buckets

__all__ = ["BUCKET_COLUMN", "bucket_column"]

#: Name of the bucket column the Spark passes add to tagged rows.
BUCKET_COLUMN = "_bucket"


def bucket_column(column: Any, buckets: int) -> Any:
    """Spark column expression of the bucket of ``column`` (an entity-id column).

    Parameters
    ----------
    column : str or pyspark.sql.Column
        The entity-id column.
    buckets : int
        Number of buckets.

    Returns
    -------
    pyspark.sql.Column
        ``pmod(crc32(id), buckets)`` as int.

    Examples
    --------
    >>> from pyspark.sql import SparkSession  # doctest: +SKIP
    >>> spark = SparkSession.builder.master("local[1]").getOrCreate()  # doctest: +SKIP
    >>> df = spark.createDataFrame([("E0000001",), ("E0000002",)], "entity_id string")  # doctest: +SKIP
    >>> [r[0] for r in df.select(bucket_column("entity_id", 16)).collect()]  # doctest: +SKIP
    [1, 11]
    """
    from pyspark.sql import functions as F

    n = check_buckets(buckets)
    col = F.col(column) if isinstance(column, str) else column
    return F.pmod(F.crc32(col.cast("string").cast("binary")), F.lit(n)).cast("int")
