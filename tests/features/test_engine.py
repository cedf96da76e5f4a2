"""The panel engine: exact windows, credit repair, state features, custom sources,
determinism and agreement with a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from _panel_data import make_records, naive_feature

from riskml.features import Panel, build_panel, load_feature_spec
from riskml.records import load_sources

T = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def spec():
    return load_feature_spec()


def _entities(ids=("E0000001",), established="2020-01-01", deregistered=None) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "entity_id": pd.Series(list(ids), dtype="str"),
            "entity_type": pd.Categorical(["enterprise"] * n, categories=["individual", "enterprise"]),
            "industry": ["retail"] * n,
            "district": ["D01"] * n,
            "registered_capital": [100.0] * n,
            "established": pd.to_datetime([established] * n),
            "deregistered": pd.to_datetime([deregistered] * n),
        }
    )


def _penalties(published, repaired=None, severity="general", amount=1000.0) -> pd.DataFrame:
    n = len(published)
    repaired = repaired if repaired is not None else [None] * n
    return pd.DataFrame(
        {
            "penalty_id": [f"P{i}" for i in range(n)],
            "entity_id": ["E0000001"] * n,
            "published": pd.to_datetime(published),
            "amount": [amount] * n,
            "severity": pd.Categorical([severity] * n, categories=["minor", "general", "serious"]),
            "cause": pd.Categorical(["other"] * n),
            "repaired": pd.to_datetime(repaired),
        }
    )


def _row(panel: Panel, entity_id: str = "E0000001", as_of: pd.Timestamp = T) -> pd.Series:
    frame = panel.frame
    return frame[(frame["entity_id"] == entity_id) & (frame["as_of"] == as_of)].iloc[0]


def test_panel_matches_a_brute_force_reference_on_random_records(spec):
    for seed in (11, 12):
        tables = make_records(seed, n_entities=20, n_records=160)
        as_of = pd.to_datetime(["2020-10-01", "2022-04-01", "2024-01-01"])
        panel = build_panel(tables, as_of, spec)
        for f in spec.features:
            got = panel.frame[f.name]
            expected = [naive_feature(f, tables, spec.sources, e, t) for e, t in zip(panel.frame["entity_id"], panel.frame["as_of"])]
            if f.categorical:
                assert [None if pd.isna(v) else v for v in got] == expected, f.name
            else:
                np.testing.assert_allclose(got.to_numpy(), np.array(expected, dtype=float), rtol=1e-9, err_msg=f.name)


def test_exact_window_edges(spec):
    sub = spec.subset(["penalties_count_90d", "penalties_days_since_last_all"])
    for days_before, inside in [(90, 1.0), (91, 0.0), (0, 0.0), (1, 1.0)]:
        pens = _penalties([T - pd.Timedelta(days=days_before)])
        panel = build_panel({"entities": _entities(), "penalties": pens}, [T], sub)
        assert _row(panel)["penalties_count_90d"] == inside, days_before
    # a record known on t is not yet known: no "last" penalty either
    panel = build_panel({"entities": _entities(), "penalties": _penalties([T])}, [T], sub)
    assert np.isnan(_row(panel)["penalties_days_since_last_all"])


def test_repaired_penalty_leaves_penalty_counts_and_enters_repaired_count_at_repair_date(spec):
    names = ["penalties_count_365d", "penalties_count_all", "penalties_repaired_count_all", "penalties_amount_sum_365d"]
    pens = _penalties(["2023-06-01", "2023-09-01"], repaired=["2023-12-01", None])
    dates = pd.to_datetime(["2023-12-01", "2023-12-02"])
    panel = build_panel({"entities": _entities(), "penalties": pens}, dates, spec.subset(names))
    before, after = _row(panel, as_of=dates[0]), _row(panel, as_of=dates[1])
    # on the repair day itself the penalty still counts (repaired < t is required)
    assert (before["penalties_count_365d"], before["penalties_repaired_count_all"]) == (2.0, 0.0)
    assert (after["penalties_count_365d"], after["penalties_repaired_count_all"]) == (1.0, 1.0)
    assert after["penalties_count_all"] == 1.0
    assert after["penalties_amount_sum_365d"] == 1000.0


def test_state_features_on_hand_computed_fixtures(spec):
    ents = _entities()
    abnormal = pd.DataFrame(
        {
            "listing_id": ["A1", "A2"],
            "entity_id": ["E0000001"] * 2,
            "entered": pd.to_datetime(["2022-01-01", "2023-11-01"]),
            "exited": pd.to_datetime(["2022-06-01", None]),
            "reason": pd.Categorical(["no_annual_report"] * 2),
        }
    )
    licences = pd.DataFrame(
        {
            "licence_id": ["L1", "L2", "L3", "L4"],
            "entity_id": ["E0000001"] * 4,
            "licence_type": pd.Categorical(["food", "general", "drug", "food"]),
            "issued": pd.to_datetime(["2021-01-01", "2022-01-01", "2023-01-01", "2023-05-01"]),
            "expiry": pd.to_datetime(["2024-03-01", "2023-12-31", "2024-02-01", "2026-01-01"]),
            "revoked": pd.to_datetime([None, None, "2023-10-01", None]),
        }
    )
    reports = pd.DataFrame(
        {
            "report_id": ["R1", "R2", "R3"],
            "entity_id": ["E0000001"] * 3,
            "year": [2021, 2022, 2023],
            "filed": pd.to_datetime(["2022-05-01", "2023-08-01", "2024-03-01"]),
            "revenue": [10.0, 20.0, 30.0],
            "employees": pd.array([3, None, 5], dtype="Int64"),
            "total_tax": [1.0, 0.0, 2.0],
            "all_zero": [False, True, False],
            "late": [False, True, False],
        }
    )
    tables = {"entities": ents, "abnormal_list": abnormal, "licences": licences, "annual_reports": reports}
    names = [
        "abnormal_list_on_list", "licences_open_count", "licences_days_to_expiry", "annual_report_latest_revenue",
        "annual_report_latest_employees", "annual_report_latest_late", "entity_age_years",
    ]
    dates = pd.to_datetime(["2022-03-01", "2022-06-02", "2024-01-01"])
    panel = build_panel(tables, dates, spec.subset(names))
    early, exited, now = (_row(panel, as_of=d) for d in dates)
    assert early["abnormal_list_on_list"] == 1.0
    assert exited["abnormal_list_on_list"] == 0.0  # exited 2022-06-01 < t
    assert now["abnormal_list_on_list"] == 1.0
    # at 2024-01-01: L2 expired 2023-12-31, L3 revoked; L1 (60 days left) and L4 open
    assert now["licences_open_count"] == 2.0
    assert now["licences_days_to_expiry"] == 60.0
    # the 2023 report is filed after t: the latest known is the 2022 one
    assert now["annual_report_latest_revenue"] == 20.0
    assert np.isnan(now["annual_report_latest_employees"])
    assert now["annual_report_latest_late"] == 1.0
    assert np.isnan(early["annual_report_latest_revenue"])
    assert exited["annual_report_latest_revenue"] == 10.0
    assert now["entity_age_years"] == pytest.approx(1461 / 365.25)


def test_rows_are_alive_entities_sorted_with_contract_dtypes(spec):
    ents = pd.concat(
        [
            _entities(["E0000003"], "2019-01-01"),
            _entities(["E0000001"], "2019-01-01", deregistered="2024-01-01"),
            _entities(["E0000002"], "2024-01-01"),  # established on t: not yet alive
            _entities(["E0000004"], "2019-01-01", deregistered="2023-12-31"),
        ],
        ignore_index=True,
    )
    panel = build_panel({"entities": ents, "penalties": _penalties([])}, [T, pd.Timestamp("2023-01-01")], spec.subset(["penalties_count_365d", "district"]))
    frame = panel.frame
    assert list(zip(frame["as_of"].dt.strftime("%Y-%m-%d"), frame["entity_id"], strict=True)) == [
        ("2023-01-01", "E0000001"), ("2023-01-01", "E0000003"), ("2023-01-01", "E0000004"),
        ("2024-01-01", "E0000001"), ("2024-01-01", "E0000003"),
    ]
    assert frame["entity_id"].dtype == "str"
    assert frame["as_of"].dtype == "datetime64[ns]"
    assert frame["penalties_count_365d"].dtype == "float64"
    assert list(frame["district"].cat.categories) == list(load_sources()["entities"].columns["district"].categories)
    assert panel.feature_names == ["penalties_count_365d", "district"]
    assert list(panel.catalog.index) == panel.feature_names


def test_quarterly_grid_uses_quarter_starts_within_the_records(spec):
    tables = make_records(3, n_entities=10, n_records=40)
    panel = build_panel(tables, "quarterly", spec.subset(["penalties_count_365d"]))
    dates = panel.as_of_dates
    assert all(d.day == 1 and d.month in (1, 4, 7, 10) for d in dates)
    first_record = min(t[load_sources()[n].known_at].min() for n, t in tables.items() if n != "entities")
    last_record = max(t[load_sources()[n].known_at].max() for n, t in tables.items())
    assert dates[0] - pd.DateOffset(months=3) <= first_record < dates[0]
    assert dates[-1] <= last_record + pd.Timedelta(days=1) < dates[-1] + pd.DateOffset(months=3)
    assert len(dates) == len(pd.date_range(dates[0], dates[-1], freq="QS"))


def test_identical_input_gives_identical_panels(spec):
    tables = make_records(5, n_entities=15, n_records=80)
    first = build_panel(tables, "quarterly", spec)
    second = build_panel({k: v.copy() for k, v in tables.items()}, "quarterly", load_feature_spec())
    pd.testing.assert_frame_equal(first.frame, second.frame)
    pd.testing.assert_frame_equal(first.catalog, second.catalog)
    assert first.spec_hash == second.spec_hash


def test_custom_source_with_its_own_spec_flows_through_build_panel(tmp_path):
    sources = {
        "sources": {
            "fire_inspections": {
                "label_zh": "消防检查", "label_en": "Fire inspections",
                "entity_key": "entity_id", "record_id": "check_id", "known_at": "checked",
                "columns": {
                    "check_id": {"type": "str"}, "entity_id": {"type": "str"}, "checked": {"type": "date"},
                    "hazards": {"type": "int", "nonnegative": True},
                    "outcome": {"type": "category", "categories": ["pass", "fail"]},
                },
            }
        }
    }
    features = {
        "dimension": "penalties",
        "features": [
            {"source": "fire_inspections", "name": "fire_failed", "label_zh": "消防检查不合格", "label_en": "Failed fire checks",
             "where": {"outcome": "fail"}, "windows": ["365d"], "aggregations": ["count"]},
            {"source": "fire_inspections", "name": "fire", "column": "hazards", "windows": ["all"], "aggregations": ["sum", "max"]},
        ],
    }
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    (tmp_path / "fire.yaml").write_text(yaml.safe_dump(features, allow_unicode=True), encoding="utf-8")
    checks = pd.DataFrame(
        {
            "check_id": ["F1", "F2", "F3"],
            "entity_id": ["E0000001"] * 3,
            "checked": pd.to_datetime(["2023-03-01", "2023-06-01", "2024-02-01"]),
            "hazards": [2, 5, 9],
            "outcome": pd.Categorical(["fail", "pass", "fail"], categories=["pass", "fail"]),
        }
    )
    panel = build_panel({"entities": _entities(), "fire_inspections": checks}, [T], tmp_path)
    row = _row(panel)
    assert (row["fire_failed_count_365d"], row["fire_hazards_sum_all"], row["fire_hazards_max_all"]) == (1.0, 7.0, 5.0)
    assert panel.catalog.loc["fire_failed_count_365d", "label_zh"] == "近365天消防检查不合格次数"
    assert panel.catalog.loc["fire_hazards_sum_all", "source"] == "fire_inspections"


def test_missing_tables_and_wrong_dtypes_are_refused_with_clear_errors(spec):
    sub = spec.subset(["penalties_count_365d"])
    with pytest.raises(ValueError, match=r"no table for sources \['penalties'\]"):
        build_panel({"entities": _entities()}, [T], sub)
    pens = _penalties(["2023-06-01"]).astype({"published": "str"})
    with pytest.raises(TypeError, match=r"records\['penalties'\]\['published'\] must be datetime64"):
        build_panel({"entities": _entities(), "penalties": pens}, [T], sub)
    with pytest.raises(ValueError, match="'quarterly' or a list of dates"):
        build_panel({"entities": _entities(), "penalties": _penalties([])}, ["not a date"], sub)


def test_row_order_of_the_input_does_not_change_the_panel(spec):
    tables = make_records(9, n_entities=12, n_records=120)
    # same-day records make "latest" depend on a tie-break
    reports = tables["annual_reports"]
    reports["filed"] = reports["filed"].dt.to_period("Y").dt.start_time.astype("datetime64[ns]")
    shuffled = {k: v.sample(frac=1.0, random_state=1).reset_index(drop=True) for k, v in tables.items()}
    as_of = ["2021-06-01", "2024-01-01"]
    pd.testing.assert_frame_equal(build_panel(tables, as_of, spec).frame, build_panel(shuffled, as_of, spec).frame)


def test_an_as_of_date_with_no_entity_alive_gives_an_empty_panel_with_every_feature():
    tables = make_records(1, n_entities=10, n_records=40)
    panel = build_panel(tables, ["1900-01-01"])
    assert len(panel.frame) == 0
    assert list(panel.frame.columns) == ["entity_id", "as_of", *panel.feature_names]
