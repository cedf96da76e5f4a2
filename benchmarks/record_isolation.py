"""One infinite fine in a 1,500-entity market: how many panel rows of *other* entities change.

Run: ``python benchmarks/record_isolation.py``. Before the kernels kept non-finite values
to their own slices, the running sums carried ``inf - inf = NaN`` into every entity
sorted after the fined one.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

import riskml
warnings.simplefilter("ignore")
from riskml.features import build_panel
m = riskml.synth.make_market(n_entities=1500, seed=0).records
AS = "quarterly"
before = build_panel(m, AS, show_progress=False).frame
pen = m.tables["penalties"].copy()
row = int(np.argmin(pen["entity_id"].to_numpy()))
owner = pen["entity_id"].iloc[row]
pen.loc[row, "amount"] = np.inf
after = build_panel(dataclasses.replace(m, tables={**m.tables, "penalties": pen}), AS, show_progress=False).frame
o = before["entity_id"] != owner
a, b = before[o].reset_index(drop=True), after[after["entity_id"] != owner].reset_index(drop=True)
num = [c for c in a.columns if a[c].dtype.kind == "f"]
diff = np.zeros(len(a), bool); cols = []
for c in num:
    d = ~np.isclose(a[c].to_numpy(), b[c].to_numpy(), equal_nan=True) | (np.isnan(a[c].to_numpy()) != np.isnan(b[c].to_numpy()))
    if d.any(): cols.append(c); diff |= d
print(riskml.__file__, "rows of other entities changed:", int(diff.sum()), "entities:", a.loc[diff, "entity_id"].nunique(), "features:", cols)
