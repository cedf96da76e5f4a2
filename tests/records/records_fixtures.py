"""Small, valid records for every built-in source, made from features/sources.yaml."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskml.records import SourceCatalog, SourceSpec, load_sources

NOW = pd.Timestamp("2025-01-01")
START = pd.Timestamp("2021-01-01")


def entity_ids(n: int) -> list[str]:
    return [f"E{i:07d}" for i in range(1, n + 1)]


def fake_personal(column: str, k: int) -> str:
    """A made-up personal value that looks like its column (ID number, name, phone)."""
    if column.endswith("_name"):
        return f"张{k:04d}"
    if column.endswith("_phone"):
        return f"139{k:08d}"
    return f"11010119900101{k:04d}"


def make_table(spec: SourceSpec, n: int, n_entities: int, *, entity_source: bool = False) -> pd.DataFrame:
    """A valid table of ``n`` rows: dates in order, known_at >= event_at, all before NOW."""
    ents = np.array(entity_ids(n_entities), dtype=object)
    i = np.arange(n)
    cols: dict[str, object] = {}
    event = START + pd.to_timedelta(i % 700, unit="D")
    for col, c in spec.columns.items():
        if c.type == "str":
            if entity_source and col == spec.entity_key:
                cols[col] = ents[:n]
            elif col in (spec.entity_key, spec.counterparty):
                shift = 1 if col == spec.counterparty else 0
                cols[col] = ents[(i + shift) % n_entities]
            elif col == spec.record_id:
                cols[col] = np.char.add(spec.name[:3].upper(), np.char.zfill(i.astype(str), 7))
            elif c.personal:
                # Fake identifiers; every third one shared, as legal representatives are.
                cols[col] = [fake_personal(col, k // 3) for k in i]
            else:
                cols[col] = [f"{col}-{k % 7}" for k in i]
        elif c.type == "int":
            cols[col] = (i % 10 + 1).astype("int64")
        elif c.type == "float":
            cols[col] = (i * 10.5).astype("float64")
        elif c.type == "bool":
            cols[col] = i % 2 == 0
        elif c.type == "category":
            cats = list(c.categories or ())
            cols[col] = pd.Categorical.from_codes(i % len(cats), categories=cats)
        elif c.type == "date":
            if col == spec.known_at:
                cols[col] = event + pd.Timedelta(days=5) if spec.event_at and spec.event_at != col else event
            elif col == spec.event_at:
                cols[col] = event
            elif c.nullable:
                cols[col] = pd.Series(pd.NaT, index=i, dtype="datetime64[ns]")
            else:
                cols[col] = event + pd.Timedelta(days=30)
    frame = pd.DataFrame(cols)
    for col, c in spec.columns.items():
        if c.type == "date":
            frame[col] = frame[col].astype("datetime64[ns]")
        if c.type == "str":
            frame[col] = frame[col].astype("str")
    return frame


def make_frames(catalog: SourceCatalog | None = None, n: int = 12, n_entities: int = 10) -> dict[str, pd.DataFrame]:
    """One valid table per declared source (the entity source has ``n_entities`` rows)."""
    catalog = catalog or load_sources()
    frames = {}
    for name, spec in catalog.sources.items():
        if name == catalog.entity_source:
            frames[name] = make_table(spec, n_entities, n_entities, entity_source=True)
        else:
            frames[name] = make_table(spec, n, n_entities)
    return frames
