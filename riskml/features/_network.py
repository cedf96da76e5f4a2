"""Cross-entity features (关联特征): the VAT-invoice network and shared identities.

``features/network.yaml`` declares the features;
:func:`~riskml.features._network_spec.load_network_spec` validates it into a
:class:`NetworkSpec` and :func:`network_features` computes them for an entity x as-of
grid. Every feature is point-in-time: at ``as_of = t`` only invoices
and records known before ``t`` count, and a window of ``w`` days covers
``t - w <= known_at < t``. Sources and columns are named in the spec; keys, knowledge
time and list end dates come from the source catalog (``features/sources.yaml``).

The computation is a chain of small pure steps, each one a map, a join by key or an
aggregation by entity, so a distributed implementation (Spark) runs the same chain
as shuffling passes without collecting counterparty state to the driver:

1. **Edge table** (map): one row per invoice: seller code, buyer code, knowledge day,
   event day, amount, voided, round-amount flag, and the order-free pair key.
2. **Counterparty state joined by key** (join on the counterparty's entity key):
   the counterparty's registration day (young counterparty at the invoice date),
   its negative-list intervals (listed at the invoice date, or at ``t``), and the
   first day the pair was ever seen (a group-by on the pair key).
3. **Window edges** (filter): for each as-of date ``t`` and window ``w`` the edges
   known in ``[t - w, t)``; invoices sorted by knowledge day make this a slice.
4. **Aggregate by entity** (group by entity over the edge's two ends, seller view
   and buyer view): counts, value sums, distinct pairs, shares.
5. **Cycles** (two self-joins of the window's edges on the node key):
   ``i -> j`` is on a 2-cycle when ``j -> i`` exists and on a 3-cycle when a path
   ``j -> k -> i`` exists (:func:`riskml.features._graph.cycle_edges`), then
   aggregated by entity.
6. **Shared identities** (group by the identity value over entities alive at ``t``):
   how many other live entities share the legal representative or the address.
   The identity value itself never becomes a feature; only the count does.

Here the as-of dates are taken in ascending order and the state that needs distinct
keys (distinct counterparties, the cycle flags of the window's directed edges) is
carried from one date to the next and updated by the invoices that entered or left the
window (:mod:`riskml.features._network_windows`) rather than rebuilt per date. Sums of
amounts are never updated that way (float sums would then depend on the path): they
are taken over the window's slice in knowledge-day order at each date, the same sums a
single date gives.

The registry holds the current legal representative and address only, so shared
identity counts use today's values at every past ``t`` (a known limit of the data).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from riskml.features._graph import (
    listed_at_day,
    listed_on_days,
    pair_keys,
    ratio,
    window_slice,
)
from riskml._time import in_force
from riskml.features._kernels import NEVER, entity_codes, to_days
from riskml.features._network_spec import (
    _LIVE_ONLY,
    MEASURES,
    NetworkFeature,
    NetworkSpec,
    _default_catalog,
    check_network_spec,
)
from riskml.features._network_windows import CounterpartyWindow, CycleWindow, InvoiceKeys
from riskml.features._spec import CATALOG_COLUMNS
from riskml.features._windows import parse_window
from riskml.records._sources import SourceCatalog, SourceSpec

__all__ = ["network_catalog", "network_features"]

logger = logging.getLogger(__name__)

class _Invoices:
    """Step 1-2: the edge table with counterparty state joined, sorted by known day.

    Every measure but ``voided_share`` reads live (not voided) invoices only, so the
    live invoices have their own arrays: a window is then a slice of them (a view)
    rather than a selection. ``all_day`` and ``all_seller`` keep every invoice.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        src: SourceSpec,
        spec: NetworkSpec,
        parties: tuple[np.ndarray, np.ndarray],
        n: int,
        established: np.ndarray,
        registered_known: np.ndarray,
        lists: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    ) -> None:
        known = to_days(table[src.known_at].to_numpy(dtype="datetime64[ns]"))
        # Same-day invoices in record-id order: float sums then do not depend on the
        # input row order (which differs between local input and Spark buckets).
        order = _knowledge_order(known, table[src.record_id])
        if spec.invoices.voided is not None:
            voided = table[spec.invoices.voided].to_numpy(dtype=bool, na_value=False)[order]
        else:
            voided = np.zeros(len(order), dtype=bool)
        self.all_day = known[order]
        self.all_seller = parties[0][order].astype(np.int64)
        rows = order[~voided]
        self.day = known[rows]
        self.seller = parties[0][rows].astype(np.int64)
        self.buyer = parties[1][rows].astype(np.int64)
        event_col = src.event_at or src.known_at
        event = to_days(table[event_col].to_numpy(dtype="datetime64[ns]"))[rows]
        amount = table[spec.invoices.amount].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        self.amount = a = np.nan_to_num(amount, nan=0.0)
        # Counterparty state joined by key: is the other side young at the invoice date?
        # A registration counts only once the bureau knew it (known by the invoice's
        # knowledge day, itself before t), whatever the registration date column says.
        young_buyer = _young(event, self.day, self.buyer, established, registered_known, spec.young_counterparty_days)
        young_seller = _young(event, self.day, self.seller, established, registered_known, spec.young_counterparty_days)
        # ... and was it on a negative list at the invoice date?
        listed_buyer = np.zeros(len(rows), dtype=bool)
        listed_seller = np.zeros(len(rows), dtype=bool)
        for code, start, end in lists:
            listed_buyer |= listed_on_days(code, start, end, self.buyer, event)
            listed_seller |= listed_on_days(code, start, end, self.seller, event)
        # Per-invoice values the measures weigh by, computed once rather than per date.
        self.value_young = (a * young_buyer, a * young_seller)
        self.value_listed = (a * listed_buyer, a * listed_seller)
        self.value_round = a * _is_round(a, spec.round_multiples)
        # Order-free pairs and directed edges (seller -> buyer), each invoice with its
        # key's id and the key's previous and next invoice, for the sliding windows.
        self.pairs = InvoiceKeys(pair_keys(self.seller, self.buyer, n))
        self.edges = InvoiceKeys(self.seller * np.int64(n) + self.buyer)
        # The invoice that first joined two entities: its day is their first day.
        self.pair_new = ((self.pairs.prev < 0) & (self.seller != self.buyer)).astype(np.float64)

    def __len__(self) -> int:
        return len(self.all_day)


def _young(event: np.ndarray, day: np.ndarray, who: np.ndarray, established: np.ndarray,
           registered_known: np.ndarray, young_days: int) -> np.ndarray:
    age = event - established[who]
    return (registered_known[who] <= day) & (age >= 0) & (age < young_days)


def _knowledge_order(known: np.ndarray, ids: pd.Series) -> np.ndarray:
    """Invoice order by knowledge day, same-day invoices by record id."""
    by_id = _id_order(ids)
    day = known[by_id]
    if len(day) and (day[1:] >= day[:-1]).all():  # records usually arrive in day order
        return by_id
    return by_id[np.argsort(day, kind="stable")]


def _id_order(ids: pd.Series) -> np.ndarray:
    """Stable order of string ids (UTF-8 byte order is code point order, as Python sorts)."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    text = pa.array(ids.astype("str").array)  # Arrow-backed strings convert without a copy
    if text.null_count == 0 and len(text) > 1 and pc.all(pc.less_equal(text[:-1], text[1:])).as_py():
        return np.arange(len(text), dtype=np.int64)  # already in id order
    return pc.sort_indices(text).to_numpy().astype(np.int64)


def _is_round(amount: np.ndarray, multiples: tuple[float, ...]) -> np.ndarray:
    out = np.zeros(len(amount), dtype=bool)
    for m in multiples:
        q = amount / m
        # Amounts are money with cents: within half a cent of a multiple is a multiple.
        out |= np.abs(q - np.round(q)) * m < 0.005
    return out & (amount > 0)


class _DateView:
    """Steps 3-5 at one as-of date: window slices and per-entity aggregates, cached.

    ``windows`` holds the sliding windows (:mod:`riskml.features._network_windows`),
    carried from date to date by the caller; dates must come in ascending order.
    """

    def __init__(self, inv: _Invoices, t: int, n: int, lists: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 windows: dict[tuple[str, float], CounterpartyWindow | CycleWindow]) -> None:
        self.inv, self.t, self.n, self.lists = inv, t, n, lists
        self.windows = windows
        self._cache: dict[tuple[str, float], Any] = {}

    def _memo(self, key: tuple[str, float], make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _window(self, kind: str, w: float) -> CounterpartyWindow | CycleWindow:
        key = (kind, w)
        if key not in self.windows:
            inv = self.inv
            if kind == "pairs":
                self.windows[key] = CounterpartyWindow(inv.day, inv.pairs, inv.seller, inv.buyer, self.n, w)
            else:
                self.windows[key] = CycleWindow(inv.day, inv.edges, self.n, w)
        return self.windows[key]

    def rows(self, w: float) -> slice:
        """The live invoices known in ``[t - w, t)``."""
        return self._memo(("rows", w), lambda: window_slice(self.inv.day, self.t, w))

    def counterparties(self, w: float) -> np.ndarray:
        """Distinct counterparties per entity in the window."""
        return self._memo(("pairs", w), lambda: self._window("pairs", w).at(self.t))

    def new_counterparties(self, w: float) -> np.ndarray:
        """Counterparties per entity first seen in the window (pairs whose first invoice is in it)."""
        return self._memo(("new_pairs", w), lambda: self.both_ends(w, self.inv.pair_new))

    def on_cycle(self, w: float) -> np.ndarray:
        """Per live invoice of the window: does it lie on a 2- or 3-cycle of the window's graph?

        Whether an invoice is on a cycle depends only on its directed edge, so the
        sliding :class:`CycleWindow` keeps the flags per edge.
        """
        def make() -> np.ndarray:
            return self._window("cycles", w).at(self.t)[self.inv.edges.ids[self.rows(w)]]

        return self._memo(("cycle", w), make)

    def by_side(self, w: float, seller_w: np.ndarray, buyer_w: np.ndarray) -> np.ndarray:
        """Per entity: ``seller_w`` over live invoices it sold plus ``buyer_w`` over those it bought."""
        r = self.rows(w)
        return self.by_side_rows(w, seller_w[r], buyer_w[r])

    def by_side_rows(self, w: float, seller_w: np.ndarray, buyer_w: np.ndarray) -> np.ndarray:
        """:meth:`by_side` with weights given on the window's invoices only."""
        r, inv, n = self.rows(w), self.inv, self.n
        return np.bincount(inv.seller[r], seller_w, minlength=n) + np.bincount(inv.buyer[r], buyer_w, minlength=n)

    def both_ends(self, w: float, weight: np.ndarray) -> np.ndarray:
        """Per entity: ``weight`` summed over its live invoices in the window, both ends."""
        return self.by_side(w, weight, weight)

    def both_ends_rows(self, w: float, weight: np.ndarray) -> np.ndarray:
        """:meth:`both_ends` with the weight given on the window's invoices only."""
        return self.by_side_rows(w, weight, weight)

    def sold(self, w: float, weight: np.ndarray | None = None) -> np.ndarray:
        """Per entity: ``weight`` summed (or invoices counted) over the live invoices it sold."""
        r = self.rows(w)
        return np.bincount(self.inv.seller[r], None if weight is None else weight[r], minlength=self.n)

    def bought(self, w: float, weight: np.ndarray | None = None) -> np.ndarray:
        """Per entity: ``weight`` summed (or invoices counted) over the live invoices it bought."""
        r = self.rows(w)
        return np.bincount(self.inv.buyer[r], None if weight is None else weight[r], minlength=self.n)

    def sold_count(self, w: float) -> np.ndarray:
        return self._memo(("sold_count", w), lambda: self.sold(w))

    def sold_value(self, w: float) -> np.ndarray:
        return self._memo(("sold_value", w), lambda: self.sold(w, self.inv.amount))

    def bought_value(self, w: float) -> np.ndarray:
        return self._memo(("bought_value", w), lambda: self.bought(w, self.inv.amount))

    def value(self, w: float) -> np.ndarray:
        """Per entity: live invoice value in the window, sold plus bought."""
        return self._memo(("value", w), lambda: self.sold_value(w) + self.bought_value(w))

    def sold_all(self, w: float) -> np.ndarray:
        """Per entity: invoices sold in the window, voided ones included."""
        s = window_slice(self.inv.all_day, self.t, w)
        return np.bincount(self.inv.all_seller[s], minlength=self.n)

    def listed_now(self) -> np.ndarray:
        def make() -> np.ndarray:
            out = np.zeros(self.n, dtype=bool)
            for code, start, end in self.lists:
                out |= listed_at_day(code, start, end, self.t, self.n)
            return out

        return self._memo(("listed", 0.0), make)


def _measure(f: NetworkFeature, view: _DateView, identities: dict[str, np.ndarray], alive: np.ndarray) -> np.ndarray:
    """Step 4-6: the values of feature ``f`` for every entity code at one date."""
    inv, n, w = view.inv, view.n, f.window_days
    m = f.measure
    if m == "shared_identity":
        codes = identities[f.column or ""]
        known = codes >= 0
        counts = np.bincount(codes[alive & known], minlength=int(codes.max(initial=-1)) + 1)
        own = np.zeros(len(codes))
        own[known] = counts[codes[known]] - alive[known]
        return np.concatenate([own, np.zeros(n - len(codes))])
    if m == "counterparties":
        return view.counterparties(w)
    if m == "new_counterparty_share":
        return ratio(view.new_counterparties(w), view.counterparties(w))
    if m == "young_counterparty_share":
        young_buyer, young_seller = inv.value_young
        return ratio(view.by_side(w, young_buyer, young_seller), view.value(w))
    if m == "in_out_log_ratio":
        active = (view.sold_count(w) + view.bought(w)) > 0
        return np.where(active, np.log1p(view.bought_value(w)) - np.log1p(view.sold_value(w)), np.nan)
    if m == "round_amount_share":
        return ratio(view.sold(w, inv.value_round), view.sold_value(w))
    if m == "burstiness":
        base = parse_window(f.baseline or "")
        return ratio(view.sold_count(w).astype(np.float64) / w, view.sold_count(base).astype(np.float64) / base)
    if m == "voided_share":
        sold = view.sold_all(w)
        return ratio((sold - view.sold_count(w)).astype(np.float64), sold.astype(np.float64))
    if m in ("cycle_value_share", "on_cycle"):
        on = view.on_cycle(w)
        if m == "on_cycle":
            return (view.both_ends_rows(w, on.astype(np.float64)) > 0).astype(np.float64)
        return ratio(view.both_ends_rows(w, inv.amount[view.rows(w)] * on), view.value(w))
    if m == "negative_counterparty_share":
        if f.when == "invoice":
            num = view.by_side(w, *inv.value_listed)
        else:
            listed, r, a = view.listed_now(), view.rows(w), inv.amount
            num = view.by_side_rows(w, a[r] * listed[inv.buyer[r]], a[r] * listed[inv.seller[r]])
        return ratio(num, view.value(w))
    raise ValueError(f"unknown measure {m!r}; expected one of {sorted(MEASURES)}")  # pragma: no cover


# ----------------------------------------------------------------------------- entry point


def network_features(
    tables: Mapping[str, pd.DataFrame],
    entities: pd.DataFrame,
    grid: pd.DataFrame,
    spec: NetworkSpec,
    catalog_sources: SourceCatalog | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compute the cross-entity features for an entity x as-of grid.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Validated record tables by source name (dates as datetime64).
    entities : DataFrame
        The entity registry (the catalog's entity source).
    grid : DataFrame
        Columns ``entity_id`` (str) and ``as_of_day`` (int64 days since 1970-01-01),
        one row per (entity, as-of) in the caller's order.
    spec : NetworkSpec
        From :func:`~riskml.features._network_spec.load_network_spec`.
    catalog_sources : SourceCatalog, optional
        Source declarations (keys, ``known_at``, ``valid_to``). Default: the built-in
        sources plus a ``sources.yaml`` beside the spec file.

    Returns
    -------
    values : DataFrame
        One float64 column per feature, rows aligned with ``grid`` (RangeIndex).
    catalog : DataFrame
        Indexed by feature name, columns ``CATALOG_COLUMNS``; kind ``cross``,
        dimension ``network`` (grouped by :meth:`FeatureSpec.group`).

    Raises
    ------
    ValueError
        When a table or column the spec reads is missing, or the grid names entities
        the registry does not hold.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml._specs import bundled_dir
    >>> from riskml.features._network_spec import load_network_spec
    >>> spec = load_network_spec(bundled_dir("features") / "network.yaml")
    >>> ents = pd.DataFrame({"entity_id": ["E0000001", "E0000002"],
    ...     "established": pd.to_datetime(["2020-01-01", "2023-11-01"]), "deregistered": pd.to_datetime([None, None]),
    ...     "legal_rep_id": ["p1", "p1"], "address_id": ["a1", "a2"]})
    >>> inv = pd.DataFrame({"invoice_id": ["I1", "I2"], "seller_id": ["E0000001", "E0000002"],
    ...     "buyer_id": ["E0000002", "E0000001"], "issued": pd.to_datetime(["2023-12-01", "2023-12-05"]),
    ...     "amount": [5000.0, 1234.5], "voided": [False, False]})
    >>> empty = pd.DataFrame({"listing_id": [], "entity_id": [], "entered": pd.to_datetime([]),
    ...     "exited": pd.to_datetime([])})
    >>> tables = {"entities": ents, "invoices": inv, "abnormal_list": empty, "serious_violations": empty}
    >>> from riskml._time import day_number
    >>> grid = pd.DataFrame({"entity_id": ["E0000001"], "as_of_day": [day_number("2024-01-01")]})
    >>> values, catalog = network_features(tables, ents, grid, spec)
    >>> values.loc[0, ["invoice_on_cycle_365d", "invoice_young_counterparty_value_share_365d",
    ...     "shared_legal_rep_entities"]].tolist()
    [1.0, 1.0, 1.0]
    >>> catalog.loc["invoice_counterparties_90d", ["kind", "dimension"]].tolist()
    ['cross', 'network']
    """
    started = time.perf_counter()
    catalog = catalog_sources if catalog_sources is not None else _default_catalog(spec)
    check_network_spec(spec, catalog)
    ent_spec = catalog.entities
    inv_spec = catalog[spec.invoices.source]
    _require(tables, spec, catalog, entities)

    reg_ids = pd.Index(entities[ent_spec.entity_key].astype("str"))
    invoices = tables[spec.invoices.source]
    # One hash pass codes every party: factorize numbers values in order of first
    # appearance, so the (unique) registry ids take codes 0..R-1 and registry arrays
    # index codes directly; invoice parties missing from the registry follow.
    codes, uniques = pd.factorize(
        pd.concat(
            [reg_ids.to_series(), invoices[inv_spec.entity_key].astype("str"), invoices[inv_spec.counterparty].astype("str")],
            ignore_index=True,
        )
    )
    vocab = pd.Index(uniques)
    n = len(vocab)
    r, m = len(reg_ids), len(invoices)
    if (codes[r:] < 0).any():
        raise ValueError(f"records[{spec.invoices.source!r}] has missing seller or buyer ids; both are required")
    parties = (codes[r : r + m], codes[r + m :])
    grid_code = entity_codes(vocab, grid["entity_id"])
    if (grid_code < 0).any() or (grid_code >= len(reg_ids)).any():
        bad = grid.loc[(grid_code < 0) | (grid_code >= len(reg_ids)), "entity_id"].head(3).tolist()
        raise ValueError(f"the grid names entities that are not in the registry, e.g. {bad}")

    est_col = spec.established or ent_spec.known_at
    established = np.full(n, NEVER, dtype=np.int64)
    established[: len(reg_ids)] = to_days(entities[est_col].to_numpy(dtype="datetime64[ns]"))
    known = to_days(entities[ent_spec.known_at].to_numpy(dtype="datetime64[ns]"))
    ended = (
        to_days(entities[ent_spec.valid_to].to_numpy(dtype="datetime64[ns]"))
        if ent_spec.valid_to
        else np.full(len(reg_ids), NEVER, dtype=np.int64)
    )
    registered_known = np.full(n, NEVER, dtype=np.int64)
    registered_known[: len(reg_ids)] = known
    # "On a negative list" means on any of them: their listings join as one table.
    per_list = [_listings(tables[name], catalog[name], vocab) for name in spec.negative_lists]
    lists = [tuple(np.concatenate(parts) for parts in zip(*per_list, strict=True))] if per_list else []
    inv = _Invoices(invoices, inv_spec, spec, parties, n, established, registered_known, lists)
    identities = {
        f.column: pd.factorize(entities[f.column], use_na_sentinel=True)[0].astype(np.int64)
        for f in spec.features
        if f.measure == "shared_identity" and f.column
    }

    days = grid["as_of_day"].to_numpy(dtype=np.int64)
    out = np.full((len(grid), len(spec.features)), np.nan, order="F")  # filled column by column
    order = np.argsort(days, kind="stable")
    dates, starts = np.unique(days[order], return_index=True)
    groups = np.split(order, starts[1:]) if len(order) else []  # an empty grid has no dates
    windows: dict[tuple[str, float], CounterpartyWindow | CycleWindow] = {}  # carried from date to date
    for t, rows in zip(dates, groups, strict=True):
        t = int(t)
        view = _DateView(inv, t, n, lists, windows)
        alive = in_force(known, ended, t)
        codes = grid_code[rows]
        for k, f in enumerate(spec.features):
            out[rows, k] = _measure(f, view, identities, alive)[codes]
    values = pd.DataFrame(out, columns=spec.feature_names)
    logger.info(
        "cross-entity features: %d features x %d rows over %d dates from %d invoices in %.2f s",
        len(spec.features), len(grid), len(dates), len(inv), time.perf_counter() - started,
    )
    return values, network_catalog(spec, catalog)


def _listings(table: pd.DataFrame, src: SourceSpec, vocab: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code = entity_codes(vocab, table[src.entity_key])
    start = to_days(table[src.known_at].to_numpy(dtype="datetime64[ns]"))
    end = (
        to_days(table[src.valid_to].to_numpy(dtype="datetime64[ns]"))
        if src.valid_to
        else np.full(len(table), NEVER, dtype=np.int64)
    )
    # Listed entities that never invoice and are not registered play no part.
    keep = code >= 0
    return code[keep], start[keep], end[keep]


def _require(tables: Mapping[str, pd.DataFrame], spec: NetworkSpec, catalog: SourceCatalog, entities: pd.DataFrame) -> None:
    inv = catalog[spec.invoices.source]
    needed: dict[str, set[str]] = {
        spec.invoices.source: {inv.entity_key, inv.counterparty or "", inv.known_at, inv.event_at or inv.known_at,
                               spec.invoices.amount} | ({spec.invoices.voided} if spec.invoices.voided else set()),
    }
    for name in spec.negative_lists:
        src = catalog[name]
        needed[name] = {src.entity_key, src.known_at} | ({src.valid_to} if src.valid_to else set())
    ent = catalog.entities
    ent_cols = {ent.entity_key, ent.known_at, spec.established or ent.known_at}
    ent_cols |= {ent.valid_to} if ent.valid_to else set()
    ent_cols |= {f.column for f in spec.features if f.measure == "shared_identity" and f.column}
    absent = sorted(ent_cols - set(entities.columns))
    if absent:
        raise ValueError(f"the entity registry lacks columns {absent} used by the cross-entity features; has {list(entities.columns)}")
    missing = sorted(s for s in needed if s not in tables)
    if missing:
        raise ValueError(
            f"records have no table for sources {missing} that the cross-entity features (network.yaml) read; "
            f"present: {sorted(tables)}. Pass those tables (they may be empty) or use a spec without network.yaml."
        )
    for name, cols in needed.items():
        table = tables[name]
        absent = sorted(c for c in cols if c not in table.columns)
        if absent:
            raise ValueError(f"records[{name!r}] lacks columns {absent} used by the cross-entity features; has {list(table.columns)}")
        for c in cols:
            if catalog[name].columns[c].type == "date" and not pd.api.types.is_datetime64_dtype(table[c]):
                raise TypeError(f"records[{name!r}][{c!r}] must be datetime64 (declared date), not {table[c].dtype}")


def network_catalog(spec: NetworkSpec, catalog: SourceCatalog | None = None) -> pd.DataFrame:
    """The feature catalog rows of the cross-entity features (``CATALOG_COLUMNS``).

    Examples
    --------
    >>> from riskml._specs import bundled_dir
    >>> from riskml.features._network_spec import load_network_spec
    >>> spec = load_network_spec(bundled_dir("features") / "network.yaml")
    >>> cat = network_catalog(spec)
    >>> cat.loc["shared_address_entities", ["source", "column", "kind"]].tolist()
    ['entities', 'address_id', 'cross']
    """
    catalog = catalog if catalog is not None else _default_catalog(spec)
    inv = spec.invoices
    live = json.dumps({inv.voided: False}, ensure_ascii=False) if inv.voided else ""
    rows = []
    for f in spec.features:
        if f.measure == "shared_identity":
            source, column, where = catalog.entity_source, f.column or "", ""
        else:
            source = inv.source
            column = inv.voided if f.measure == "voided_share" else inv.amount
            if f.measure in ("counterparties", "new_counterparty_share", "burstiness", "on_cycle"):
                column = catalog[inv.source].counterparty or ""
            where = live if f.measure in _LIVE_ONLY else ""
        rows.append(
            {
                "name": f.name,
                "source": source,
                "dimension": "network",  # indicator group from the dimension file (FeatureSpec.group)
                "label_zh": f.label_zh,
                "label_en": f.label_en,
                "direction": int(f.direction),
                "kind": "cross",
                "aggregation": f.measure if f.measure != "negative_counterparty_share" else f"{f.measure}_at_{f.when}",
                "column": column or "",
                "window_days": f.window_days,
                "where": where,
                "inspection_driven": False,
                "status": "all",
            }
        )
    frame = pd.DataFrame(rows, columns=["name", *CATALOG_COLUMNS])
    frame["direction"] = frame["direction"].astype("int64")
    frame["window_days"] = frame["window_days"].astype("float64")
    frame["inspection_driven"] = frame["inspection_driven"].astype(bool)
    return frame.set_index("name")
