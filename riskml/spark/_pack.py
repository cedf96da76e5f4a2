"""Typed record tables in and out of Spark, and packing many tables into one shuffle.

A bucket's kernel needs the rows of many tables at once (the registry, every record
source, and for the cross-entity features the counterparties' state), but
``applyInPandas`` hands a function one DataFrame per group. So every table is
*packed* into one narrow schema of typed slots before the shuffle: its string
columns go to ``s0, s1, ...``, its dates (as days since 1970) to ``i0, i1, ...``,
integers to ``l*``, floats to ``d*`` and booleans to ``b*``, with ``_part`` naming the
table. The width is the largest count per type over the tables, not their sum, so
rows stay small on the wire. On the executor, :func:`unpack` splits the group by part
and restores the declared pandas dtypes (``str``, ``datetime64[ns]`` at midnight,
Categorical with the declared categories in declared order, ``int64``/``Int64``,
``float64``, ``bool``), so the kernel sees exactly what a local run sees.

Dates cross into Spark as whole days (int), never as timestamps, so no session or
machine time zone can shift them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskml.records._sources import SourceSpec

__all__ = ["Layout", "Part", "pack", "part_for", "to_spark", "unpack"]

logger = logging.getLogger(__name__)

#: Slot prefix and Spark SQL type of each declared column type.
SLOTS: dict[str, tuple[str, str]] = {
    "str": ("s", "string"),
    "category": ("s", "string"),
    "date": ("i", "int"),
    "int": ("l", "bigint"),
    "float": ("d", "double"),
    "bool": ("b", "boolean"),
}
PART_COLUMN = "_part"


@dataclass(frozen=True)
class Part:
    """One table inside a packed shuffle: its name and typed columns.

    Attributes
    ----------
    name : str
        Name of the table in the bucket (a source name, or e.g. ``"invoices@buyer"``).
    columns : dict of str to str
        Column name -> declared type (``str``, ``category``, ``date``, ``int``,
        ``float``, ``bool``), in output order.
    categories : dict of str to tuple of str
        Declared categories of the category columns.
    nullable : frozenset of str
        Columns declared nullable (int columns restore as ``Int64`` then).

    Examples
    --------
    >>> Part("t", {"entity_id": "str", "known": "date"}).slot_types
    {'entity_id': 's', 'known': 'i'}
    """

    name: str
    columns: dict[str, str]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    nullable: frozenset[str] = frozenset()

    @property
    def slot_types(self) -> dict[str, str]:
        """Column -> slot prefix."""
        return {c: SLOTS[t][0] for c, t in self.columns.items()}


def part_for(spec: SourceSpec, columns: Sequence[str], name: str | None = None) -> Part:
    """The :class:`Part` of ``columns`` of a declared source (declared order kept).

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> p = part_for(load_sources()["penalties"], ["severity", "entity_id", "published"])
    >>> p.columns
    {'entity_id': 'str', 'published': 'date', 'severity': 'category'}
    """
    wanted = set(columns)
    unknown = sorted(wanted - set(spec.columns))
    if unknown:
        raise ValueError(f"source {spec.name!r} declares no columns {unknown}; declared: {sorted(spec.columns)}")
    ordered = [c for c in spec.columns if c in wanted]
    return Part(
        name=name or spec.name,
        columns={c: spec.columns[c].type for c in ordered},
        categories={c: tuple(spec.columns[c].categories or ()) for c in ordered if spec.columns[c].type == "category"},
        nullable=frozenset(c for c in ordered if spec.columns[c].nullable),
    )


# ----------------------------------------------------------------------------- into Spark


def _days(values: pd.Series) -> pd.arrays.IntegerArray:
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    missing = np.isnat(days)
    ints = np.where(missing, 0, days.astype(np.int64)).astype(np.int32)
    return pd.arrays.IntegerArray(ints, missing)


def _pandas_normal(table: pd.DataFrame, part: Part) -> pd.DataFrame:
    out: dict[str, Any] = {}
    for c, t in part.columns.items():
        col = table[c]
        if t == "date":
            if not pd.api.types.is_datetime64_dtype(col):
                raise TypeError(f"{part.name}[{c!r}] must be datetime64 (declared date), not {col.dtype}")
            out[c] = _days(col)
        elif t in ("str", "category"):
            out[c] = pd.array(col.astype("object").where(col.notna(), None), dtype="str")
        elif t == "int":
            out[c] = pd.array(col, dtype="Int64")
        elif t == "float":
            out[c] = pd.to_numeric(col, errors="raise").astype("float64")
        else:
            out[c] = pd.array(col, dtype="boolean")
    return pd.DataFrame(out, index=pd.RangeIndex(len(table)))


def _spark_normal(df: Any, part: Part) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    fields = {f.name: f.dataType for f in df.schema.fields}
    exprs = []
    for c, t in part.columns.items():
        kind = fields[c]
        col = F.col(c)
        if t == "date":
            if isinstance(kind, T.DateType):
                col = F.unix_date(col)
            elif isinstance(kind, T.TimestampType | T.TimestampNTZType | T.StringType):
                col = F.unix_date(F.to_date(col))
            else:
                raise TypeError(f"{part.name}[{c!r}] must be a date, timestamp or ISO string column (declared date), not {kind}")
        exprs.append(col.cast(SLOTS[t][1]).alias(c))
    return df.select(*exprs)


def to_spark(spark: Any, table: Any, part: Part) -> Any:
    """``table`` (pandas or Spark) as a Spark DataFrame of ``part``'s columns, normalised.

    Dates become int days since 1970-01-01, categories strings; other types are cast
    to their Spark type.

    Raises
    ------
    ValueError
        When a column of ``part`` is absent.
    TypeError
        When a date column is not a date.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.spark._pack import Part, _pandas_normal
    >>> part = Part("t", {"entity_id": "str", "known": "date"})
    >>> _pandas_normal(pd.DataFrame({"entity_id": ["E1"], "known": pd.to_datetime(["1970-01-03"])}), part)["known"].tolist()
    [2]
    """
    columns = list(table.columns)
    absent = [c for c in part.columns if c not in columns]
    if absent:
        raise ValueError(f"records[{part.name!r}] lacks columns {absent} the features read; has {columns}")
    if isinstance(table, pd.DataFrame):
        from pyspark.sql import types as T

        schema = T.StructType([T.StructField(c, _spark_type(SLOTS[t][1]), True) for c, t in part.columns.items()])
        return spark.createDataFrame(_pandas_normal(table, part), schema=schema)
    if hasattr(table, "schema") and hasattr(table, "select"):
        return _spark_normal(table, part)
    raise TypeError(f"records[{part.name!r}] must be a pandas or Spark DataFrame, not {type(table).__name__}")


def _spark_type(name: str) -> Any:
    from pyspark.sql import types as T

    return {"string": T.StringType(), "int": T.IntegerType(), "bigint": T.LongType(),
            "double": T.DoubleType(), "boolean": T.BooleanType()}[name]


# ----------------------------------------------------------------------------- pack / unpack


@dataclass(frozen=True)
class Layout:
    """Where each part's columns sit in the packed schema.

    Attributes
    ----------
    parts : tuple of Part
        In ``_part`` index order.
    slots : dict of str to dict of str to str
        Part name -> column -> slot name (``s0``, ``i1``, ...).
    width : dict of str to int
        Slot prefix -> number of slots.

    Examples
    --------
    >>> lay = Layout.of([Part("a", {"x": "str", "d": "date"}), Part("b", {"y": "str", "z": "str"})])
    >>> lay.slots["b"], lay.width
    ({'y': 's0', 'z': 's1'}, {'s': 2, 'i': 1, 'l': 0, 'd': 0, 'b': 0})
    """

    parts: tuple[Part, ...]
    slots: dict[str, dict[str, str]]
    width: dict[str, int]

    @classmethod
    def of(cls, parts: Sequence[Part]) -> Layout:
        """Assign slots to the columns of ``parts``."""
        names = [p.name for p in parts]
        if len(set(names)) != len(names):
            raise ValueError(f"part names must be unique, got {names}")
        width = {prefix: 0 for prefix in ("s", "i", "l", "d", "b")}
        slots: dict[str, dict[str, str]] = {}
        for part in parts:
            used = dict.fromkeys(width, 0)
            mine = {}
            for c, prefix in part.slot_types.items():
                mine[c] = f"{prefix}{used[prefix]}"
                used[prefix] += 1
            slots[part.name] = mine
            width = {k: max(width[k], used[k]) for k in width}
        return cls(parts=tuple(parts), slots=slots, width=width)

    def slot_names(self) -> list[tuple[str, str]]:
        """``(slot, spark type)`` of every slot, in schema order."""
        types = {"s": "string", "i": "int", "l": "bigint", "d": "double", "b": "boolean"}
        return [(f"{p}{i}", types[p]) for p in ("s", "i", "l", "d", "b") for i in range(self.width[p])]


def pack(tagged: Sequence[tuple[Part, Any]], bucket_column: str) -> tuple[Any, Layout]:
    """Union tagged tables into one Spark DataFrame of typed slots.

    Parameters
    ----------
    tagged : sequence of (Part, Spark DataFrame)
        Each DataFrame holds the part's normalised columns and ``bucket_column``.
    bucket_column : str
        Name of the bucket column kept as is.

    Returns
    -------
    packed : Spark DataFrame
        ``bucket_column``, ``_part`` and the slots.
    layout : Layout
    """
    layout = Layout.of([p for p, _ in tagged])
    packed = None
    for index, (part, df) in enumerate(tagged):
        mine = {slot: c for c, slot in layout.slots[part.name].items()}
        # SQL strings: one call into the JVM per table instead of one per slot.
        exprs = [f"`{bucket_column}`", f"CAST({index} AS INT) AS {PART_COLUMN}"]
        for slot, kind in layout.slot_names():
            source = f"`{mine[slot]}`" if slot in mine else "NULL"
            exprs.append(f"CAST({source} AS {kind}) AS {slot}")
        rows = df.selectExpr(*exprs)
        packed = rows if packed is None else packed.unionByName(rows)
    return packed, layout


def _restore(values: pd.Series, kind: str, categories: tuple[str, ...], nullable: bool) -> Any:
    if kind == "str":
        return pd.array(values.astype("object").where(values.notna(), None), dtype="str")
    if kind == "category":
        return pd.Categorical(values.astype("object").where(values.notna(), None), categories=list(categories))
    if kind == "date":
        days = values.to_numpy(dtype="float64", na_value=np.nan)
        out = np.full(len(days), np.datetime64("NaT"), dtype="datetime64[ns]")
        ok = ~np.isnan(days)
        out[ok] = days[ok].astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
        return out
    if kind == "int":
        ints = pd.array(values, dtype="Int64")
        return ints if nullable or ints.isna().any() else ints.to_numpy(dtype=np.int64)
    if kind == "float":
        return values.to_numpy(dtype="float64", na_value=np.nan)
    flags = pd.array(values, dtype="boolean")
    return flags if flags.isna().any() else flags.to_numpy(dtype=bool)


def unpack(group: pd.DataFrame, layout: Layout) -> dict[str, pd.DataFrame]:
    """Split a packed group into one pandas table per part, with declared dtypes.

    Parts absent from the group come back as empty tables of the right dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> lay = Layout.of([Part("a", {"entity_id": "str", "known": "date"}), Part("b", {"n": "int"})])
    >>> group = pd.DataFrame({"_part": [0, 1], "s0": ["E1", None], "i0": [3.0, None], "l0": [None, 7.0]})
    >>> tables = unpack(group, lay)
    >>> tables["a"]["known"].tolist(), tables["b"]["n"].tolist(), str(tables["a"]["entity_id"].dtype)
    ([Timestamp('1970-01-04 00:00:00')], [7], 'str')
    """
    parts = group[PART_COLUMN].to_numpy()
    out: dict[str, pd.DataFrame] = {}
    for index, part in enumerate(layout.parts):
        rows = group.loc[parts == index]
        cols = {}
        for c, kind in part.columns.items():
            slot = layout.slots[part.name][c]
            values = rows[slot] if slot in rows.columns else pd.Series([None] * len(rows), dtype="object")
            cols[c] = _restore(values.reset_index(drop=True), kind, part.categories.get(c, ()), c in part.nullable)
        out[part.name] = pd.DataFrame(cols, index=pd.RangeIndex(len(rows)))
    return out

