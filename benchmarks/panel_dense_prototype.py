"""Prototype for the engine: count/sum windows on a small as-of grid without sorting.

Not part of the benchmark run. For count, sum, mean and share features over a grid of
``T`` as-of dates (24 quarters), each record counts from the first as-of after it is
known (``searchsorted(dates, known, 'right')``) until the first as-of ``t`` with
``t - w > known`` (``searchsorted(dates, known + w, 'right')``). Two ``np.bincount``
over ``as_of index * n_entities + entity code`` (with ``weights`` for sums) and a
``cumsum`` over the as-of axis of the dense ``(T + 1) x n_entities`` matrix give every
(entity, as-of) value; the alive grid then reads its cells. No sort of the records and
no searchsorted into them; entity codes come from ``pyarrow.compute.index_in``.

Usage: ``.venv/bin/python benchmarks/panel_dense_prototype.py N_ENTITIES`` prints the
riskml and prototype times on the benchmark subset and asserts equal values.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from benchmarks._data import make_records, CITY_RATES, SUBSET_SOURCES
from benchmarks.panel import write_subset_spec, SUBSET, WINDOWS, START, END
from riskml.features import build_panel
n = int(sys.argv[1])
recs = make_records(n, START, END, seed=5, sources=SUBSET_SOURCES, rates=CITY_RATES, columns="subset")
t0 = time.perf_counter()
panel = build_panel(recs, "quarterly", write_subset_spec(Path(tempfile.mkdtemp())))
t_riskml = time.perf_counter() - t0
t0 = time.perf_counter()
ents = recs["entities"]
ids = pa.array(ents["entity_id"].array)
NS = 86_400 * 10**9
est = ents["established"].to_numpy().view(np.int64) // NS
der = ents["deregistered"].to_numpy()
end = np.where(np.isnat(der), np.iinfo(np.int64).max, der.view(np.int64) // NS)
dates = np.unique(panel.frame["as_of"].to_numpy()).view(np.int64) // NS
T = len(dates)
alive = (est[None, :] < dates[:, None]) & (end[None, :] >= dates[:, None])   # T x E
t_idx, code = np.nonzero(alive)
out = {}
for source, key, known, amount in SUBSET:
    tab = recs[source]
    c = pc.index_in(pa.array(tab[key].array), value_set=ids).to_numpy(zero_copy_only=False)
    day = tab[known].to_numpy().view(np.int64) // NS
    ok = c >= 0  # (NaN handling omitted in the prototype)
    c, day = c[ok].astype(np.int64), day[ok]
    v = tab[amount].to_numpy()[ok] if amount else None
    # first as-of strictly after the record is known: it counts from there ...
    start = np.searchsorted(dates, day, side="right")
    base = start * len(ents) + c
    for w in WINDOWS:
        # ... until the first as-of t with t - w > day
        stop = np.searchsorted(dates, day + w, side="right")
        stop_key = stop * len(ents) + c
        size = (T + 1) * len(ents)
        cnt = np.bincount(base, minlength=size) - np.bincount(stop_key, minlength=size)
        cnt = np.cumsum(cnt.reshape(T + 1, -1), axis=0)[:T]
        out[f"{source}_count_{w}d"] = cnt[t_idx, code].astype(np.float64)
        if amount:
            s = np.bincount(base, weights=v, minlength=size) - np.bincount(stop_key, weights=v, minlength=size)
            s = np.cumsum(s.reshape(T + 1, -1), axis=0)[:T]
            out[f"{source}_{amount}_sum_{w}d"] = s[t_idx, code]
t_proto = time.perf_counter() - t0
# grid here is (date, code) with codes in registry order; riskml sorts by entity_id, same order for E0000001..
for k, a in out.items():
    assert np.array_equal(a, panel.frame[k].to_numpy()), k
print(f"n={n} records={sum(len(recs[s]) for s in SUBSET_SOURCES):,} riskml={t_riskml:.2f}s prototype={t_proto:.2f}s equal=True")
