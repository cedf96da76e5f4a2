"""The panel benchmark's generator, DuckDB baseline and report writer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks._data import CITY_RATES, SUBSET_SOURCES, make_records
from benchmarks.panel import (
    START,
    END,
    run_duckdb,
    subset_features,
    write_section,
    write_subset_spec,
)
from riskml.features import build_panel, load_feature_spec


@pytest.fixture(scope="module")
def subset_records() -> dict[str, pd.DataFrame]:
    return make_records(400, START, END, seed=7, sources=SUBSET_SOURCES, rates=CITY_RATES, columns="subset")


def _sorted(table) -> pd.DataFrame:
    frame = table.to_pandas()
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    return frame.sort_values(["as_of", "entity_id"], ignore_index=True)


def test_generator_gives_contract_dtypes_for_every_declared_column() -> None:
    recs = make_records(300, seed=1)
    assert recs["entities"]["entity_id"].dtype == "str"
    assert recs["entities"]["entity_id"].iloc[-1] == "E0000300"
    pen = recs["penalties"]
    assert str(pen["published"].dtype) == "datetime64[ns]"
    assert isinstance(pen["severity"].dtype, pd.CategoricalDtype)
    assert list(pen["severity"].cat.categories) == ["minor", "general", "serious"]
    assert pen["penalty_id"].is_unique
    assert recs["annual_reports"]["employees"].dtype == "Int64"
    # Amounts are whole yuan so every engine sums them exactly.
    assert (pen["amount"] == pen["amount"].round()).all()


def test_generator_is_reproducible_and_records_are_known_while_the_entity_is_alive() -> None:
    a = make_records(500, seed=3, sources=["complaints"], rates={"complaints": 8.0}, columns="subset")
    b = make_records(500, seed=3, sources=["complaints"], rates={"complaints": 8.0}, columns="subset")
    pd.testing.assert_frame_equal(a["complaints"], b["complaints"])
    ents = a["entities"].set_index("entity_id")
    comp = a["complaints"]
    est = ents.loc[comp["entity_id"], "established"].to_numpy()
    dereg = ents.loc[comp["entity_id"], "deregistered"].to_numpy()
    known = comp["resolved"].to_numpy()
    assert (known > est).all()
    assert ((known < dereg) | np.isnat(dereg)).all()
    # Appended in time order, not grouped by entity.
    assert comp["resolved"].is_monotonic_increasing
    assert not comp["entity_id"].is_monotonic_increasing


def test_subset_spec_folder_defines_exactly_the_compared_features(tmp_path) -> None:
    spec = load_feature_spec(write_subset_spec(tmp_path / "spec"))
    assert sorted(spec.feature_names) == sorted(subset_features())
    assert len(subset_features()) == 18


@pytest.mark.parametrize("method", ["delta", "range"])
def test_duckdb_query_equals_riskml_panel(subset_records, tmp_path, method) -> None:
    panel = build_panel(subset_records, "quarterly", write_subset_spec(tmp_path / "spec"))
    table, _, _ = run_duckdb(subset_records, panel.as_of_dates, method)
    ours = _sorted(table)
    assert ours["entity_id"].tolist() == panel.frame["entity_id"].tolist()
    for name in subset_features():
        np.testing.assert_array_equal(ours[name].to_numpy(), panel.frame[name].to_numpy(), err_msg=name)


@pytest.mark.parametrize("method", ["delta", "range"])
def test_duckdb_windows_include_the_record_known_exactly_w_days_before(method) -> None:
    t = pd.Timestamp("2024-04-01")
    ents = pd.DataFrame({"entity_id": pd.array(["E0000001"], dtype="str"),
                         "established": pd.to_datetime(["2020-01-01"]),
                         "deregistered": pd.to_datetime([None])})
    known = [t - pd.Timedelta(days=d) for d in (91, 90, 1, 0)]
    empty = {"entity_id": pd.array([], dtype="str")}
    recs = {
        "entities": ents,
        "penalties": pd.DataFrame({"entity_id": pd.array(["E0000001"] * 4, dtype="str"), "published": known,
                                   "amount": [1.0, 2.0, 4.0, 8.0]}),
        "complaints": pd.DataFrame({**empty, "resolved": pd.to_datetime([])}),
        "inspections": pd.DataFrame({**empty, "closed": pd.to_datetime([])}),
        "invoices": pd.DataFrame({"seller_id": pd.array([], dtype="str"), "issued": pd.to_datetime([]),
                                  "amount": pd.Series([], dtype="float64")}),
    }
    table, _, _ = run_duckdb(recs, pd.DatetimeIndex([t]), method)
    row = _sorted(table).iloc[0]
    assert row["penalties_count_90d"] == 2  # t-90 and t-1; not t-91, not t itself
    assert row["penalties_amount_sum_90d"] == 6.0
    assert row["penalties_count_365d"] == 3


def test_write_section_replaces_only_the_panel_section(tmp_path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Training\n\nkeep me\n\n## Panel\n\nold numbers\n\n## Scoring\n\nkeep too\n")
    write_section("## Panel\n\nnew numbers\n", doc)
    text = doc.read_text()
    assert "old numbers" not in text and "new numbers" in text
    assert text.index("keep me") < text.index("new numbers") < text.index("keep too")
    write_section("## Panel\n\nnewer\n", tmp_path / "fresh.md")
    assert (tmp_path / "fresh.md").read_text().startswith("# Benchmarks")


def test_featuretools_time_is_extrapolated_along_the_line_through_the_samples() -> None:
    from benchmarks.panel import extrapolate

    runs = [{"sample_rows": 100, "seconds": 12.0, "full_rows": 1000}, {"sample_rows": 300, "seconds": 32.0, "full_rows": 1000}]
    assert extrapolate(runs) == pytest.approx({"full_seconds": 102.0, "extrapolated": True})
    assert extrapolate([{"sample_rows": 1000, "seconds": 7.0, "full_rows": 1000}]) == {"full_seconds": 7.0, "extrapolated": False}
