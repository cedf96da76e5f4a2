"""One infinite fine in a 1,500-entity market: how many panel rows of *other* entities change.

Run: ``python -m benchmarks.record_isolation``. Before the kernels kept non-finite values
to their own slices, the running sums carried ``inf - inf = NaN`` into every entity
sorted after the fined one.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

import riskml
from riskml.features import build_panel


def main() -> None:
    warnings.simplefilter("ignore")
    records = riskml.synth.make_market(n_entities=1500, seed=0).records
    before = build_panel(records, "quarterly", show_progress=False).frame
    penalties = records.tables["penalties"].copy()
    row = int(np.argmin(penalties["entity_id"].to_numpy()))  # sorted first: every later entity at risk
    owner = penalties["entity_id"].iloc[row]
    penalties.loc[row, "amount"] = np.inf
    tampered = dataclasses.replace(records, tables={**records.tables, "penalties": penalties})
    after = build_panel(tampered, "quarterly", show_progress=False).frame
    a = before[before["entity_id"] != owner].reset_index(drop=True)
    b = after[after["entity_id"] != owner].reset_index(drop=True)
    changed = np.zeros(len(a), dtype=bool)
    columns = []
    for col in (c for c in a.columns if a[c].dtype.kind == "f"):
        x, y = a[col].to_numpy(), b[col].to_numpy()
        differs = ~np.isclose(x, y, equal_nan=True) | (np.isnan(x) != np.isnan(y))
        if differs.any():
            columns.append(col)
            changed |= differs
    print(f"rows of other entities changed: {int(changed.sum()):,} "
          f"({a.loc[changed, 'entity_id'].nunique():,} entities); features: {columns}")


if __name__ == "__main__":
    main()
