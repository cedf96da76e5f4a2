"""Cross-entity features on Spark: shuffling passes, then the local steps per bucket.

A counterparty feature of entity ``e`` needs the state of *other* entities. On Spark
that state travels to ``e``'s bucket through joins by key, never through the driver:

* **invoices of the bucket**: every invoice with the seller *or* the buyer in the
  bucket (rows tagged by the seller's bucket, plus those tagged by the buyer's bucket
  when it differs);
* **counterparty state** (join on the counterparty key): the registry rows and the
  negative-list rows of every counterparty outside the bucket;
* **cycles** (self-joins of the window's edges on the node key, per as-of date): the
  directed edges on a 2- or 3-hop cycle, tagged to both ends' buckets;
* **shared identities** (group by the identity value and as-of date over live
  entities): the number of other live entities sharing the legal representative or
  address, tagged to the entity's bucket.

Inside the bucket, :func:`bucket_network_features` runs
:func:`riskml.features._network.network_features` (the same code as a local run) on
the bucket's invoices and the counterparties' state for every measure that only
needs an entity's own invoices and its counterparties' state; cycle and shared
identity measures, which need the whole graph or the whole registry, are read from
the passes above and aggregated with the same formulas and summation order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from riskml._time import in_force
from riskml.features._graph import ratio, window_slice
from riskml.features._kernels import to_days
from riskml.features._network import network_features
from riskml.records._sources import SourceCatalog
from riskml.spark._buckets import BUCKET_COLUMN, bucket_column
from riskml.spark._pack import Part, part_for

__all__ = ["GLOBAL_MEASURES", "NetworkPlan", "bucket_network_features", "network_parts"]

logger = logging.getLogger(__name__)

#: Measures that need the whole graph or registry: computed by Spark passes.
GLOBAL_MEASURES = frozenset({"cycle_value_share", "on_cycle", "shared_identity"})
BUYER_SUFFIX = "@buyer"
COUNTERPARTY_SUFFIX = "@cp"
CYCLES_PART = "@cycles"
SHARED_PART = "@shared"


@dataclass(frozen=True)
class NetworkPlan:
    """What the bucket needs to know about the cross-entity spec and its parts.

    Attributes
    ----------
    spec : NetworkSpec
        The cross-entity spec.
    catalog : SourceCatalog
        Source declarations.
    registry_columns : tuple of str
        Registry columns the local measures read.
    """

    spec: Any
    catalog: SourceCatalog
    registry_columns: tuple[str, ...]

    @property
    def local_features(self) -> tuple[Any, ...]:
        """Features computed in the bucket by the local code."""
        return tuple(f for f in self.spec.features if f.measure not in GLOBAL_MEASURES)

    @property
    def cycle_windows(self) -> list[int]:
        """Distinct windows (days) of the cycle measures."""
        return sorted({int(f.window_days) for f in self.spec.features if f.measure in ("cycle_value_share", "on_cycle")})

    @property
    def shared_features(self) -> tuple[Any, ...]:
        """The shared identity features."""
        return tuple(f for f in self.spec.features if f.measure == "shared_identity")


def needed_columns(spec: Any, catalog: SourceCatalog) -> dict[str, set[str]]:
    """Columns per source the cross-entity spec reads (keys and times included).

    Examples
    --------
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec()
    >>> sorted(needed_columns(spec.network, spec.sources)["invoices"])
    ['amount', 'buyer_id', 'invoice_id', 'issued', 'seller_id', 'voided']
    """
    inv = catalog[spec.invoices.source]
    cols: dict[str, set[str]] = {
        spec.invoices.source: {inv.entity_key, inv.record_id, inv.counterparty or "", inv.known_at,
                               inv.event_at or inv.known_at, spec.invoices.amount}
        | ({spec.invoices.voided} if spec.invoices.voided else set())
    }
    for name in spec.negative_lists:
        src = catalog[name]
        cols[name] = {src.entity_key, src.known_at} | ({src.valid_to} if src.valid_to else set())
    ent = catalog.entities
    cols[catalog.entity_source] = {ent.entity_key, ent.known_at, spec.established or ent.known_at} | (
        {ent.valid_to} if ent.valid_to else set()
    ) | {f.column for f in spec.features if f.measure == "shared_identity" and f.column}
    return {k: {c for c in v if c} for k, v in cols.items()}


def network_parts(spark_tables: Mapping[str, Any], parts: Mapping[str, Part], plan: NetworkPlan,
                  as_of_days: np.ndarray, buckets: int) -> list[tuple[Part, Any]]:
    """The tagged Spark tables the cross-entity features add to the bucket shuffle.

    Parameters
    ----------
    spark_tables : mapping of str to Spark DataFrame
        Normalised tables (dates as int days) by source name, at least the invoice
        source, the negative lists and the registry.
    parts : mapping of str to Part
        The parts of those tables (their columns).
    plan : NetworkPlan
    as_of_days : ndarray of int
        The as-of grid.
    buckets : int

    Returns
    -------
    list of (Part, Spark DataFrame)
        Buyer-side invoices, counterparty registry and list rows, cycle edges and
        shared identity counts, each with the bucket column.
    """
    from pyspark.sql import functions as F

    spec, catalog = plan.spec, plan.catalog
    inv_name = spec.invoices.source
    inv_spec = catalog[inv_name]
    seller, buyer = inv_spec.entity_key, inv_spec.counterparty or ""
    inv = spark_tables[inv_name]
    b_seller, b_buyer = bucket_column(seller, buckets), bucket_column(buyer, buckets)
    out: list[tuple[Part, Any]] = []

    cross = inv.where(b_buyer != b_seller)  # invoices between two buckets
    by_buyer = cross.withColumn(BUCKET_COLUMN, b_buyer)
    out.append((replace(parts[inv_name], name=inv_name + BUYER_SUFFIX), by_buyer))

    # Counterparties living in another bucket: (bucket, id) pairs, the join key of
    # every piece of counterparty state shipped to the bucket.
    other = "_other"
    cp = (
        cross.select(b_seller.alias(BUCKET_COLUMN), F.col(buyer).alias(other))
        .unionByName(cross.select(b_buyer.alias(BUCKET_COLUMN), F.col(seller).alias(other)))
        .where(F.col(other).isNotNull())
        .distinct()
    )
    ent_name = catalog.entity_source
    ent_key = catalog.entities.entity_key
    registry = spark_tables[ent_name].select(*plan.registry_columns)
    ent_part = part_for(catalog.entities, plan.registry_columns, ent_name + COUNTERPARTY_SUFFIX)
    out.append((ent_part, registry.join(cp, registry[ent_key] == cp[other], "inner").drop(other)))
    for name in spec.negative_lists:
        table = spark_tables[name]
        key = catalog[name].entity_key
        listed = table.join(cp, table[key] == cp[other], "inner").drop(other)
        out.append((replace(parts[name], name=name + COUNTERPARTY_SUFFIX), listed))

    if plan.cycle_windows:
        edges = _cycle_edges(inv, plan, as_of_days)
        tagged = (
            edges.withColumn(BUCKET_COLUMN, bucket_column("seller", buckets))
            .unionByName(edges.withColumn(BUCKET_COLUMN, bucket_column("buyer", buckets)))
            .distinct()
        )
        out.append((Part(CYCLES_PART, {"window": "int", "as_of_day": "int", "seller": "str", "buyer": "str"}), tagged))

    if plan.shared_features:
        shared = _shared_identities(spark_tables[ent_name], plan, as_of_days)
        columns = {"entity_id": "str", "as_of_day": "int", **{f.name: "int" for f in plan.shared_features}}
        out.append((Part(SHARED_PART, columns), shared.withColumn(BUCKET_COLUMN, bucket_column("entity_id", buckets))))
    return out


def _date_array(as_of_days: np.ndarray) -> Any:
    from pyspark.sql import functions as F

    # One SQL literal: a Column per date would cost one JVM call each.
    return F.expr("array(" + ", ".join(f"CAST({int(d)} AS INT)" for d in as_of_days) + ")")


def _cycle_edges(inv: Any, plan: NetworkPlan, as_of_days: np.ndarray) -> Any:
    """Distinct ``(window, as_of_day, seller, buyer)`` edges on a directed 2- or 3-hop cycle.

    Per as-of date ``t`` and window ``w`` the graph holds the live invoices known in
    ``[t - w, t)`` (self-loops dropped); nodes without both an in- and an out-edge
    are pruned once (they cannot be on a cycle), then edge ``i -> j`` is on a cycle
    when ``j -> i`` exists (a self-join) or a path ``j -> k -> i`` exists (a join of
    the edges with themselves on ``k``, then a semi-join on ``(i, j)``).
    """
    from pyspark.sql import functions as F

    spec, catalog = plan.spec, plan.catalog
    src = catalog[spec.invoices.source]
    known = F.col(src.known_at)
    live = inv.where(F.col(src.entity_key) != F.col(src.counterparty or ""))
    if spec.invoices.voided:
        live = live.where(~F.coalesce(F.col(spec.invoices.voided), F.lit(False)))
    dates = _date_array(as_of_days)
    found = None
    for w in plan.cycle_windows:
        # An invoice known on day d is in the window of every t with d < t <= d + w.
        edges = live.select(
            F.col(src.entity_key).alias("seller"),
            F.col(src.counterparty or "").alias("buyer"),
            F.explode(F.filter(dates, lambda t: (t > known) & (t <= known + F.lit(w)))).alias("as_of_day"),  # noqa: B023
        ).distinct()
        outs = edges.select("as_of_day", F.col("seller").alias("node"))
        ins = edges.select("as_of_day", F.col("buyer").alias("node"))
        both = outs.intersect(ins)
        # Materialised once: the pass reads the pruned edges four times.
        edges = (
            edges.join(both.withColumnRenamed("node", "seller"), ["as_of_day", "seller"], "left_semi")
            .join(both.withColumnRenamed("node", "buyer"), ["as_of_day", "buyer"], "left_semi")
        ).localCheckpoint(eager=True)
        e, r = edges.alias("e"), edges.alias("r")
        two = e.join(
            r,
            (F.col("e.as_of_day") == F.col("r.as_of_day")) & (F.col("e.seller") == F.col("r.buyer"))
            & (F.col("e.buyer") == F.col("r.seller")),
            "left_semi",
        )
        a, b = edges.alias("a"), edges.alias("b")
        paths = a.join(b, (F.col("a.as_of_day") == F.col("b.as_of_day")) & (F.col("a.buyer") == F.col("b.seller"))).select(
            F.col("a.as_of_day").alias("p_day"), F.col("a.seller").alias("p_from"), F.col("b.buyer").alias("p_to")
        )
        three = e.join(
            paths,
            (F.col("e.as_of_day") == F.col("p_day")) & (F.col("e.buyer") == F.col("p_from"))
            & (F.col("e.seller") == F.col("p_to")),
            "left_semi",
        )
        on = two.unionByName(three).distinct().select(F.lit(w).cast("int").alias("window"), "as_of_day", "seller", "buyer")
        found = on if found is None else found.unionByName(on)
    return found


def _shared_identities(registry: Any, plan: NetworkPlan, as_of_days: np.ndarray) -> Any:
    """Per live (entity, as-of): other live entities with the same identity value."""
    from pyspark.sql import functions as F

    ent = plan.catalog.entities
    known = F.col(ent.known_at)

    def alive_at(t: Any) -> Any:
        # A missing end never ends: coalesced to t itself it keeps the entity alive at t.
        return in_force(known, F.coalesce(F.col(ent.valid_to), t) if ent.valid_to else t, t)

    columns = sorted({f.column for f in plan.shared_features})
    alive = registry.select(
        F.col(ent.entity_key).alias("entity_id"), *columns,
        F.explode(F.filter(_date_array(as_of_days), alive_at)).alias("as_of_day"),
    )
    out = alive
    for f in plan.shared_features:
        counts = alive.where(F.col(f.column).isNotNull()).groupBy("as_of_day", f.column).agg(F.count("*").alias("_n"))
        out = out.join(counts, ["as_of_day", f.column], "left").withColumn(
            f.name, F.coalesce(F.col("_n") - 1, F.lit(0)).cast("bigint")
        ).drop("_n")
    return out.select("entity_id", "as_of_day", *[f.name for f in plan.shared_features])


# ----------------------------------------------------------------------------- in the bucket


def bucket_network_features(tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame, plan: NetworkPlan) -> pd.DataFrame:
    """The cross-entity features of one bucket's grid rows (one float64 column each).

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The unpacked bucket: registry, invoice source, negative lists and the parts
        added by :func:`network_parts`.
    grid : DataFrame
        ``entity_id`` and ``as_of_day`` of the bucket's panel rows.
    plan : NetworkPlan

    Returns
    -------
    DataFrame
        Rows aligned with ``grid``, columns in spec order.
    """
    spec, catalog = plan.spec, plan.catalog
    inv_name = spec.invoices.source
    inv_spec = catalog[inv_name]
    ent_name = catalog.entity_source
    cols = list(plan.registry_columns)
    invoices = pd.concat([tables[inv_name], tables[inv_name + BUYER_SUFFIX]], ignore_index=True)
    # Record-id order, as a validated local table has: sums then add up in the same order.
    invoices = invoices.sort_values(inv_spec.record_id, kind="stable", ignore_index=True)
    registry = pd.concat([tables[ent_name][cols], tables[ent_name + COUNTERPARTY_SUFFIX][cols]], ignore_index=True)
    local_tables: dict[str, pd.DataFrame] = {inv_name: invoices, ent_name: registry}
    for name in spec.negative_lists:
        local_tables[name] = pd.concat([tables[name], tables[name + COUNTERPARTY_SUFFIX]], ignore_index=True)

    columns: dict[str, np.ndarray] = {}
    if plan.local_features:
        local_spec = spec.model_copy(update={"features": plan.local_features})
        values, _ = network_features(local_tables, registry, grid, local_spec, catalog)
        columns.update({c: values[c].to_numpy() for c in values.columns})
    if plan.cycle_windows:
        columns.update(_cycle_values(invoices, tables[CYCLES_PART], grid, plan))
    if plan.shared_features:
        shared = tables[SHARED_PART]
        index = pd.MultiIndex.from_arrays([shared["entity_id"], shared["as_of_day"].astype(np.int64)])
        at = index.get_indexer(pd.MultiIndex.from_arrays([grid["entity_id"], grid["as_of_day"].astype(np.int64)]))
        if (at < 0).any():
            raise RuntimeError(f"{int((at < 0).sum())} panel rows have no shared identity counts; registry rows differ")
        for f in plan.shared_features:
            columns[f.name] = shared[f.name].to_numpy(dtype=np.float64)[at]
    return pd.DataFrame({f.name: columns[f.name] for f in spec.features}, index=pd.RangeIndex(len(grid)))


def _cycle_values(invoices: pd.DataFrame, cycles: pd.DataFrame, grid: pd.DataFrame, plan: NetworkPlan) -> dict[str, np.ndarray]:
    """``cycle_value_share`` and ``on_cycle`` from the cycle edges the Spark pass found.

    Same formulas and summation order as the local measures: per entity, sums over
    its live invoices of the window in knowledge-day order, at both ends.
    """
    spec = plan.spec
    src = plan.catalog[spec.invoices.source]
    known = to_days(invoices[src.known_at].to_numpy(dtype="datetime64[ns]"))
    order = np.argsort(known, kind="stable")
    day = known[order]
    vocab = pd.Index(pd.concat([grid["entity_id"], invoices[src.entity_key], invoices[src.counterparty or ""]],
                               ignore_index=True).astype("str").unique())
    n = len(vocab)
    seller = vocab.get_indexer(invoices[src.entity_key].astype("str"))[order].astype(np.int64)
    buyer = vocab.get_indexer(invoices[src.counterparty or ""].astype("str"))[order].astype(np.int64)
    amount = np.nan_to_num(invoices[spec.invoices.amount].to_numpy(dtype=np.float64, na_value=np.nan)[order], nan=0.0)
    if spec.invoices.voided:
        live = ~invoices[spec.invoices.voided].to_numpy(dtype=bool, na_value=False)[order]
    else:
        live = np.ones(len(order), dtype=bool)
    cyc_key = vocab.get_indexer(cycles["seller"]).astype(np.int64) * n + vocab.get_indexer(cycles["buyer"])
    cyc_day = cycles["as_of_day"].to_numpy(dtype=np.int64)
    cyc_window = cycles["window"].to_numpy(dtype=np.int64)

    days = grid["as_of_day"].to_numpy(dtype=np.int64)
    grid_code = vocab.get_indexer(grid["entity_id"].astype("str"))
    feats = [f for f in spec.features if f.measure in ("cycle_value_share", "on_cycle")]
    out = {f.name: np.full(len(grid), np.nan) for f in feats}
    rows_by_day = pd.Series(np.arange(len(days))).groupby(days).indices
    for t, rows in rows_by_day.items():
        for f in feats:
            w = int(f.window_days)
            s = window_slice(day, int(t), w)
            idx = np.arange(s.start, s.stop)
            r = idx[live[idx]]
            keys = cyc_key[(cyc_day == t) & (cyc_window == w)]
            on = np.isin(seller[r] * n + buyer[r], keys)
            if f.measure == "on_cycle":
                hits = np.bincount(seller[r], on.astype(np.float64), minlength=n) + np.bincount(buyer[r], on.astype(np.float64), minlength=n)
                values = (hits > 0).astype(np.float64)
            else:
                a = amount[r]
                num = np.bincount(seller[r], a * on, minlength=n) + np.bincount(buyer[r], a * on, minlength=n)
                den = np.bincount(seller[r], a, minlength=n) + np.bincount(buyer[r], a, minlength=n)
                values = ratio(num, den)
            out[f.name][rows] = values[grid_code[rows]]
    return out
