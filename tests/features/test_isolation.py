"""A record can change only its own entity's features (and its declared counterparty's).

The guarantee holds for any value that reaches the panel engine, including values
validation would have refused (inf, -inf, NaN, huge, negative): the cumulative sums
of the kernels must not carry one entity's value into another entity's slice.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import riskml
from riskml.features import build_panel

AS_OF = ["2023-01-01", "2024-01-01"]
BAD_VALUES = [np.inf, -np.inf, np.nan, 1e300, -1e300, 1e18, -5.0, -1e9]


@functools.cache
def _market() -> riskml.records.Records:
    return riskml.synth.make_market(n_entities=150, seed=3).records


@functools.cache
def _baseline() -> pd.DataFrame:
    return build_panel(_market(), AS_OF, show_progress=False).frame


@functools.cache
def _planted() -> riskml.records.Records:
    """The market with one plain record planted in each empty source (a cell in every numeric column)."""
    records = _market()
    entity = records.tables["entities"][records.catalog.sources["entities"].entity_key].min()
    tables = dict(records.tables)
    for name, table in records.tables.items():
        if len(table):
            continue
        spec = records.catalog.sources[name]
        plain = {"int": 1, "float": 1.0, "bool": False, "date": pd.Timestamp("2022-06-01")}
        row = {col: entity if col == spec.entity_key else (cs.categories or [None])[0] if cs.type == "category"
               else plain.get(cs.type, f"{name}-1") for col, cs in spec.columns.items() if col in table.columns}
        tables[name] = pd.DataFrame([row]).astype(table.dtypes.to_dict())
    return dataclasses.replace(records, tables=tables)


@functools.cache
def _planted_baseline() -> pd.DataFrame:
    return build_panel(_planted(), AS_OF, show_progress=False).frame


def _numeric_columns(records: riskml.records.Records | None = None) -> list[tuple[str, str]]:
    records = records or _market()
    out = []
    for name, table in records.tables.items():
        spec = records.catalog.sources[name]
        for col, cspec in spec.columns.items():
            if cspec.type in ("int", "float") and col in table.columns and len(table):
                out.append((name, col))
    return out


def _owners(records: riskml.records.Records, source: str, row: int) -> set[str]:
    spec = records.catalog.sources[source]
    table = records.tables[source]
    owners = {str(table[spec.entity_key].iloc[row])}
    if spec.counterparty is not None:
        owners.add(str(table[spec.counterparty].iloc[row]))
    return owners


def _same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Equal cell by cell, NaN equal to NaN."""
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return False
    for col in a.columns:
        x, y = a[col], b[col]
        if x.dtype.kind == "f" and y.dtype.kind == "f":
            xv, yv = x.to_numpy(), y.to_numpy()
            if not np.array_equal(xv, yv, equal_nan=True):
                return False
        elif not x.reset_index(drop=True).equals(y.reset_index(drop=True)):
            return False
    return True


def _set(table: pd.DataFrame, column: str, row: int, value: float) -> pd.DataFrame:
    bad = table.copy()
    if bad[column].dtype.kind in "iu" or str(bad[column].dtype) == "Int64":
        bad[column] = bad[column].astype("float64")
    bad.loc[row, column] = value
    return bad


def _others(before: pd.DataFrame, after: pd.DataFrame, owners: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel rows of every entity other than ``owners``, before and after."""
    return (
        before[~before["entity_id"].isin(owners)].reset_index(drop=True),
        after[~after["entity_id"].isin(owners)].reset_index(drop=True),
    )


def _changed_others(source: str, column: str, row: int, value: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Panel rows of every entity other than the record's owners, before and after."""
    records = _market()
    bad = _set(records.tables[source], column, row, value)
    panel = build_panel(dataclasses.replace(records, tables={**records.tables, source: bad}), AS_OF, show_progress=False)
    return _others(_baseline(), panel.frame, _owners(records, source, row))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("value", [np.inf, 1e300])
def test_an_infinite_or_huge_fine_leaves_other_entities_penalty_features_alone(value):
    penalties = _market().tables["penalties"]
    row = int(np.argmin(penalties["entity_id"].to_numpy()))  # sorted first: every later entity at risk
    before, after = _changed_others("penalties", "amount", row, value)
    assert _same(before, after)


def test_every_numeric_column_of_every_source_is_covered():
    records = _planted()
    declared = {(name, col) for name, spec in records.catalog.sources.items()
                for col, cspec in spec.columns.items() if cspec.type in ("int", "float")}
    assert set(_numeric_columns(records)) == declared
    assert {"entities", "penalties", "invoices", "annual_reports", "tax_cases"} <= {s for s, _ in declared}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("value", BAD_VALUES, ids=repr)
def test_a_bad_value_in_every_numeric_column_changes_only_its_own_entities(value):
    """One bad cell in each numeric column of each source at once, in the record that sorts first."""
    records = _planted()
    tables, owners = dict(records.tables), set()
    for source, column in _numeric_columns(records):
        spec = records.catalog.sources[source]
        row = int(np.argmin(tables[source][spec.entity_key].to_numpy()))  # every later entity at risk
        tables[source] = _set(tables[source], column, row, value)
        owners |= _owners(records, source, row)
    panel = build_panel(dataclasses.replace(records, tables=tables), AS_OF, show_progress=False)
    before, after = _others(_planted_baseline(), panel.frame, owners)
    assert len(before) > 0.9 * len(_planted_baseline())
    assert _same(before, after)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
# No shrinking: every draw is already minimal (one value in one cell), and shrinking a
# panel build is slow.
@settings(
    max_examples=15,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_bad_value_changes_only_its_own_entity_and_counterparty(data):
    records = _market()
    source, column = data.draw(st.sampled_from(_numeric_columns()), label="column")
    table = records.tables[source]
    row = data.draw(st.integers(0, len(table) - 1), label="row")
    value = data.draw(st.sampled_from(BAD_VALUES), label="value")

    others_before, others_after = _changed_others(source, column, row, value)
    assert _same(others_before, others_after), f"{source}.{column}={value} at row {row} changed other entities"
