"""The panel built bucket by bucket of entities, in bounded memory, on one machine.

:func:`build_panel_in_buckets` gives the same values as :func:`build_panel`, but never
holds the per-entity working state of more than one bucket: entities go to buckets by
the stable CRC-32 of their id (:func:`riskml.features._buckets.bucket_of`, as on Spark), each
bucket's records are cut from the inputs through one sort of record positions per
source, and the same kernel Spark runs (:func:`compute_bucket`) computes the bucket.
The cross-entity features (``network.yaml``) need the whole invoice graph at each
as-of date: they are computed once for the whole grid, in compact dtypes, and each
bucket takes its rows.

Each bucket is written to Parquet as it is done (one row group per bucket; rows
sorted by ``as_of`` then ``entity_id`` within a bucket) or scattered into the final
columns, so the peak memory is the input records, the returned panel (when returned)
and one bucket's working state, not the whole city's working state.

Compact dtypes (the default): features whose aggregation always gives whole numbers
without missing values (counts, distinct counts, list flags, cycle flags, shared
identities) are stored as int32, and day counts that may be missing (days since,
days to expiry) as float32; both hold those values exactly, which is checked on every
bucket. Other features stay float64. ``compact=False`` keeps build_panel's dtypes.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._progress import track
from riskml._time import from_day_number
from riskml.features._buckets import bucket_of
from riskml.features._engine import (
    Panel,
    _alive_grid,
    _check_records,
    _effective_catalog,
    as_of_grid,
    compute_bucket,
    kernel_columns,
)
from riskml.features._kernels import NEVER, entity_codes, to_days
from riskml.features._network import network_features
from riskml.features._spec import FeatureSpec, load_feature_spec

if TYPE_CHECKING:
    from riskml._time import DatesLike

__all__ = ["COMPACT_FLOAT32", "COMPACT_INT32", "ENTITIES_PER_BUCKET", "build_panel_in_buckets", "read_panel"]

logger = logging.getLogger(__name__)

#: entities per bucket by default: a few hundred MB of working state for 24 as-of dates
ENTITIES_PER_BUCKET = 50_000
#: aggregations (or cross-entity measures) whose values are whole numbers, never missing
COMPACT_INT32 = frozenset({
    "count", "distinct", "distinct_count", "open_count", "on_list", "counterparties", "on_cycle", "shared_identity",
})
#: aggregations whose values are whole day counts that may be missing
COMPACT_FLOAT32 = frozenset({"days_since_last", "days_since_first", "days_to_expiry"})
_META_KEY = b"riskml.panel"


def _compact_dtypes(catalog: pd.DataFrame, frame_dtypes: pd.Series) -> dict[str, Any]:
    """Target dtype of each float64 feature under the compact rules."""
    out: dict[str, Any] = {}
    for name, agg in catalog["aggregation"].items():
        if name not in frame_dtypes.index or frame_dtypes[name] != np.float64:
            continue
        if agg in COMPACT_INT32:
            out[name] = np.int32
        elif agg in COMPACT_FLOAT32:
            out[name] = np.float32
    return out


def _compact(frame: pd.DataFrame, dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """``frame`` with the compact dtypes, refusing any cast that would change a value."""
    cast: dict[str, Any] = {}
    for name, dtype in dtypes.items():
        values = frame[name].to_numpy()
        if dtype is np.int32:
            ok = np.isfinite(values).all() and (np.abs(values) < 2**31).all() and (np.round(values) == values).all()
        else:
            ok = bool(((values.astype(np.float32).astype(np.float64) == values) | np.isnan(values)).all())
        if not ok:
            raise ValueError(
                f"feature {name!r} holds values that {np.dtype(dtype).name} cannot represent exactly; "
                "build the panel with compact=False"
            )
        cast[name] = values.astype(dtype)
    if not cast:
        return frame
    return frame.assign(**cast)


def _bucket_positions(codes: np.ndarray, n_buckets: int) -> list[np.ndarray]:
    """Positions of the rows of each bucket (``codes`` = bucket per row, -1 = none), ascending."""
    order = np.argsort(codes, kind="stable")
    edges = np.searchsorted(codes[order], np.arange(n_buckets + 1))
    return [order[edges[b]:edges[b + 1]] for b in range(n_buckets)]


def build_panel_in_buckets(
    records: Mapping[str, pd.DataFrame],
    as_of: DatesLike = "quarterly",
    spec: FeatureSpec | str | Path | None = None,
    *,
    entities_per_bucket: int = ENTITIES_PER_BUCKET,
    path: str | Path | None = None,
    compact: bool = True,
    show_progress: bool | None = None,
) -> Panel | Path:
    """Build the panel bucket by bucket of entities: the same values, bounded memory.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
        As for :func:`build_panel`.
    as_of : "quarterly" or list of dates
        As for :func:`build_panel`.
    spec : FeatureSpec, path or None
        As for :func:`build_panel`.
    entities_per_bucket : int, default 50,000
        Bucket size; the working memory grows with it, not with the number of entities.
    path : str or Path, optional
        Write the panel to this Parquet file as the buckets are done (one row group per
        bucket, rows sorted by ``as_of`` then ``entity_id`` within each) and return the
        path; :func:`read_panel` reads it back. Default: return the :class:`Panel`.
    compact : bool, default True
        Whole-number features as int32 and day counts as float32 (exact, checked);
        False keeps :func:`build_panel`'s float64.
    show_progress : bool, optional
        Progress bar over the buckets.

    Returns
    -------
    Panel or Path
        The panel, equal to :func:`build_panel`'s value for value (same rows in the
        same order; dtypes compact unless ``compact=False``), or ``path``.

    Raises
    ------
    ValueError
        As :func:`build_panel`; also when ``entities_per_bucket`` is not positive, or
        a compact dtype would change a value (then use ``compact=False``).

    Examples
    --------
    >>> import riskml
    >>> from riskml.features import build_panel, build_panel_in_buckets
    >>> market = riskml.synth.make_market(n_entities=400, seed=0)
    >>> small = build_panel_in_buckets(market.records, entities_per_bucket=100)
    >>> full = build_panel(market.records)
    >>> small.frame["penalties_count_365d"].dtype
    dtype('int32')
    >>> bool((small.frame.astype(full.frame.dtypes) == full.frame).where(full.frame.notna(), True).all().all())
    True
    """
    started = time.perf_counter()
    if isinstance(entities_per_bucket, bool) or not isinstance(entities_per_bucket, int) or entities_per_bucket < 1:
        raise ValueError(f"entities_per_bucket must be a positive integer, got {entities_per_bucket!r}")
    if spec is None or isinstance(spec, str | Path):
        spec = load_feature_spec(spec)
    elif not isinstance(spec, FeatureSpec):
        raise TypeError(f"spec must be None, a folder path or a FeatureSpec, not {type(spec).__name__}")
    catalog = _effective_catalog(records, spec)
    tables = _check_records(records, spec, catalog)
    as_of_days = np.unique(as_of_grid(tables, catalog, as_of))
    ent_spec = catalog.entities
    entities = tables[catalog.entity_source]
    key = entities[ent_spec.entity_key]
    if key.duplicated().any():
        raise ValueError(f"the entity registry has duplicate ids, e.g. {key[key.duplicated()].head(3).tolist()}")

    # The global grid in build_panel's order: as_of, then entity id.
    ids = pd.Index(key).astype("str")
    by_id = np.argsort(ids.to_numpy(dtype=object), kind="stable") if len(ids) else np.empty(0, np.int64)
    est = to_days(entities[ent_spec.known_at].to_numpy(dtype="datetime64[ns]"))[by_id]
    ended = (to_days(entities[ent_spec.valid_to].to_numpy(dtype="datetime64[ns]"))[by_id] if ent_spec.valid_to
             else np.full(len(ids), NEVER, dtype=np.int64))
    grid = _alive_grid(est, ended, as_of_days)
    n_buckets = max(1, -(-len(ids) // entities_per_bucket))
    entity_bucket = bucket_of(ids.to_numpy(dtype=object), n_buckets)  # by registry row
    grid_bucket = entity_bucket[by_id][grid.code]
    grid_rows = _bucket_positions(grid_bucket, n_buckets)
    entity_rows = _bucket_positions(entity_bucket, n_buckets)

    # Record positions of each bucket, per source: one sort per table.
    needed = kernel_columns(spec, catalog, record_ids=True)
    record_rows: dict[str, tuple[list[str], list[np.ndarray]]] = {}
    for source, cols in needed.items():
        if source == catalog.entity_source:
            continue
        table = tables[source]
        code = entity_codes(ids, table[catalog[source].entity_key])
        bucket = np.where(code >= 0, entity_bucket[np.maximum(code, 0)], -1)
        record_rows[source] = ([c for c in table.columns if c in cols], _bucket_positions(bucket, n_buckets))

    feature_catalog = spec.catalog()
    network = None
    if spec.network is not None:
        network = _network_values(spec, tables, entities, ids[by_id], grid, catalog, compact)
        feature_catalog = pd.concat([feature_catalog, spec.group(network[1])])
        network = network[0]

    sorted_ids = ids[by_id]
    sink = _Sink(path, len(grid.day), feature_catalog, spec.hash(),
                 keys=lambda: (pd.array(sorted_ids.to_numpy()[grid.code], dtype="str"),
                               from_day_number(grid.day)))
    for b in track(range(n_buckets), "panel buckets", show=show_progress):
        bucket_tables = {s: tables[s][cols].iloc[rows[b]] for s, (cols, rows) in record_rows.items()}
        frame = compute_bucket(bucket_tables, entities.iloc[entity_rows[b]], as_of_days, spec, catalog)
        if network is not None:
            frame = pd.concat([frame, network.iloc[grid_rows[b]].reset_index(drop=True)], axis=1)
        if compact:
            frame = _compact(frame, _compact_dtypes(feature_catalog, frame.dtypes))
        sink.add(frame, grid_rows[b])
    logger.info("panel in %d buckets: %d rows x %d features in %.2f s", n_buckets, len(grid.day),
                len(feature_catalog), time.perf_counter() - started)
    return sink.close()


def _network_values(
    spec: FeatureSpec, tables: dict[str, pd.DataFrame], entities: pd.DataFrame, sorted_ids: pd.Index, grid: Any,
    catalog: Any, compact: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-entity features of the whole grid (they read the whole invoice graph)."""
    frame = pd.DataFrame({"entity_id": pd.array(sorted_ids.to_numpy()[grid.code], dtype="str"),
                          "as_of_day": grid.day})
    values, net_catalog = network_features(tables, entities, frame, spec.network, catalog_sources=catalog)
    if compact:
        values = _compact(values, _compact_dtypes(net_catalog, values.dtypes))
    return values.reset_index(drop=True), net_catalog


class _Sink:
    """Where finished buckets go: a Parquet file as they come, or the final columns."""

    def __init__(self, path: str | Path | None, n_rows: int, catalog: pd.DataFrame, spec_hash: str,
                 keys: Any) -> None:
        self.path = Path(path) if path is not None else None
        self.keys = keys  # () -> (entity_id, as_of) of the whole grid, built once at the end
        self.n_rows, self.catalog, self.spec_hash = n_rows, catalog, spec_hash
        self.writer: Any = None
        self.columns: dict[str, np.ndarray] = {}
        self.template: pd.DataFrame | None = None

    def add(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        if self.path is not None:
            self._write(frame)
            return
        if self.template is None:
            self.template = frame.iloc[:0]
            for name in frame.columns:
                col = frame[name]
                if name in ("entity_id", "as_of"):
                    continue
                if isinstance(col.dtype, pd.CategoricalDtype):
                    self.columns[name] = np.full(self.n_rows, -1, dtype=col.cat.codes.dtype)
                else:
                    self.columns[name] = np.empty(self.n_rows, dtype=col.dtype)
        for name, out in self.columns.items():
            col = frame[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                out[rows] = col.cat.codes.to_numpy()
            else:
                out[rows] = col.to_numpy()

    def _write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa  # noqa: PLC0415
        import pyarrow.parquet as pq  # noqa: PLC0415

        frame = frame.assign(as_of=frame["as_of"].astype("datetime64[us]"))  # Spark reads microseconds
        if self.writer is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            meta = {**(table.schema.metadata or {}), _META_KEY: json.dumps({
                "spec_hash": self.spec_hash, "catalog": self.catalog.reset_index().to_json(orient="split")})}
            self.schema = table.schema.with_metadata(meta)
            self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False))

    def close(self) -> Panel | Path:
        if self.path is not None:
            if self.writer is not None:
                self.writer.close()
            return self.path
        template = self.template
        entity_id, as_of = self.keys()
        data: dict[str, Any] = {"entity_id": entity_id, "as_of": as_of}
        for name, values in self.columns.items():
            dtype = template[name].dtype  # type: ignore[index]
            if isinstance(dtype, pd.CategoricalDtype):
                data[name] = pd.Categorical.from_codes(values, dtype=dtype)
            else:
                data[name] = values
        return Panel(frame=pd.DataFrame(data, copy=False), catalog=self.catalog, spec_hash=self.spec_hash)


def read_panel(path: str | Path) -> Panel:
    """Read a panel that :func:`build_panel_in_buckets` wrote to Parquet.

    Rows come in the file's order (bucket by bucket); the catalog and spec hash come
    from the file's metadata.

    Raises
    ------
    ValueError
        When the file was not written by :func:`build_panel_in_buckets`.

    Examples
    --------
    >>> import tempfile, riskml
    >>> from riskml.features import build_panel_in_buckets, read_panel
    >>> market = riskml.synth.make_market(n_entities=300, seed=0)
    >>> folder = tempfile.mkdtemp()
    >>> path = build_panel_in_buckets(market.records, entities_per_bucket=100, path=f"{folder}/panel.parquet")
    >>> panel = read_panel(path)
    >>> panel.frame["penalties_count_365d"].dtype, len(panel.catalog) == len(panel.feature_names)
    (dtype('int32'), True)
    """
    import pyarrow.parquet as pq  # noqa: PLC0415

    table = pq.read_table(path)
    meta = (table.schema.metadata or {}).get(_META_KEY)
    if meta is None:
        raise ValueError(f"{path} has no riskml panel metadata; write it with build_panel_in_buckets(path=...)")
    info = json.loads(meta)
    catalog = pd.read_json(io.StringIO(info["catalog"]), orient="split")
    catalog = catalog.set_index(catalog.columns[0])
    frame = table.to_pandas()
    frame["as_of"] = frame["as_of"].astype("datetime64[ns]")
    frame["entity_id"] = frame["entity_id"].astype("str")
    return Panel(frame=frame, catalog=catalog, spec_hash=info["spec_hash"])
