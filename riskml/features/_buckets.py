"""Stable assignment of entities to buckets (分桶): CRC-32 of the entity id, mod N.

A panel built in buckets (:func:`riskml.features.build_panel_in_buckets`, or on Spark
with :func:`riskml.spark.build_panel`) groups the records of a bucket of entities
together so the panel kernel runs once per bucket. The bucket of an entity must be the
same on every machine, in every run, with or without Spark (to find an entity's bucket
without Spark, or to re-run one bucket locally), so it is the CRC-32 of the id's UTF-8
bytes modulo the number of buckets: Spark's ``crc32`` and Python's :func:`zlib.crc32`
agree bit for bit. Python's ``hash()`` is salted per process and never used.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["bucket_of", "check_buckets"]


def check_buckets(buckets: Any) -> int:
    """``buckets`` as a positive int, or a ValueError saying what was given.

    Examples
    --------
    >>> check_buckets(8)
    8
    """
    if isinstance(buckets, bool) or not isinstance(buckets, int | np.integer) or int(buckets) < 1:
        raise ValueError(f"buckets must be a positive integer, got {buckets!r}")
    return int(buckets)


def bucket_of(entity_ids: Iterable[str], buckets: int) -> np.ndarray:
    """Bucket of each entity id: ``crc32(utf8(id)) mod buckets`` (int64).

    Parameters
    ----------
    entity_ids : iterable of str
        Entity ids, e.g. ``"E0000001"``.
    buckets : int
        Number of buckets.

    Returns
    -------
    ndarray of int64
        The same numbers :func:`riskml.spark._buckets.bucket_column` gives in Spark.

    Examples
    --------
    >>> bucket_of(["E0000001", "E0000002", "E0000003"], 16).tolist()
    [1, 11, 13]
    """
    n = check_buckets(buckets)
    return np.fromiter((zlib.crc32(str(e).encode("utf-8")) % n for e in entity_ids), dtype=np.int64)
