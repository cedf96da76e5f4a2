"""Missed filing deadlines (a source's ``due``): the overdue state in the panel and as news."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from _panel_data import make_records, naive_feature

from riskml import SpecError
from riskml.features import build_panel, load_feature_spec
from riskml.monitor import record_events
from riskml.records import load_sources

OVERDUE = "annual_reports_overdue_open_count"


@pytest.fixture(scope="module")
def spec():
    return load_feature_spec().subset([OVERDUE])


def _entities(established: list[str], deregistered: list[str | None] | None = None) -> pd.DataFrame:
    n = len(established)
    return pd.DataFrame({
        "entity_id": pd.Series([f"E{i:07d}" for i in range(1, n + 1)], dtype="str"),
        "entity_type": pd.Categorical(["enterprise"] * n, categories=["individual", "enterprise"]),
        "industry": ["retail"] * n, "district": ["D01"] * n, "registered_capital": [100.0] * n,
        "established": pd.to_datetime(established), "deregistered": pd.to_datetime(deregistered or [None] * n),
    })


def _reports(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    return pd.DataFrame({
        "report_id": [f"R{i}" for i in range(len(rows))], "entity_id": [r[0] for r in rows],
        "year": [r[1] for r in rows], "filed": pd.to_datetime([r[2] for r in rows]),
        "revenue": 1.0, "employees": 1, "total_tax": 1.0, "all_zero": False,
        "late": [pd.Timestamp(r[2]) > pd.Timestamp(r[1] + 1, 6, 30) for r in rows],
    })


def _random_reports(rng: np.random.Generator, entities: pd.DataFrame, n: int, years: tuple[int, int],
                    max_delay: int) -> pd.DataFrame:
    """``n`` reports of random entities for years in ``[years[0], years[1])``, filed 0..max_delay-1 days into the next year."""
    year = rng.integers(*years, n)
    filed = pd.to_datetime([f"{y + 1}-01-01" for y in year]) + pd.to_timedelta(rng.integers(0, max_delay, n), unit="D")
    ids = entities["entity_id"].to_numpy()[rng.integers(0, len(entities), n)]
    return _reports([(e, int(y), str(f.date())) for e, y, f in zip(ids, year, filed)])


def test_a_report_is_overdue_from_the_day_after_its_due_date_until_it_is_filed(spec):
    ents = _entities(["2019-05-01", "2022-02-01"])
    reports = _reports([("E0000001", 2019, "2020-03-01"),   # on time
                        ("E0000001", 2020, "2021-08-15"),   # late
                        ("E0000001", 2022, "2023-06-30")])  # on the last day: on time; 2021 never filed
    dates = pd.to_datetime(["2020-07-01", "2021-06-30", "2021-07-01", "2021-08-15", "2021-08-16", "2022-07-01",
                            "2023-07-01"])
    panel = build_panel({"entities": ents, "annual_reports": reports}, dates, spec)
    got = panel.frame.pivot(index="as_of", columns="entity_id", values=OVERDUE)
    assert got["E0000001"].tolist() == [0, 0, 1, 1, 0, 1, 1]
    # registered in 2022: nothing owed for 2021, the 2022 report is missing from 1 July 2023
    assert got["E0000002"].dropna().tolist() == [0, 1]


def test_overdue_matches_a_year_by_year_reference_on_random_reports(spec):
    catalog = load_sources()
    for seed in (3, 4):
        rng = np.random.default_rng(seed)
        tables = make_records(seed, n_entities=30, n_records=10)
        tables["annual_reports"] = _random_reports(rng, tables["entities"], 120, (2017, 2024), 500)
        dates = pd.to_datetime(["2020-07-01", "2021-10-01", "2023-01-01", "2024-07-01"])
        panel = build_panel(tables, dates, spec)
        f = spec.features[0]
        want = [naive_feature(f, tables, catalog, e, t) for e, t in zip(panel.frame["entity_id"], panel.frame["as_of"])]
        np.testing.assert_array_equal(panel.frame[OVERDUE].to_numpy(), np.array(want, dtype=float))
        assert panel.frame[OVERDUE].max() >= 1 and panel.frame[OVERDUE].eq(0).any()


def test_a_missed_deadline_is_news_exactly_when_the_overdue_state_rises_without_a_filing(spec):
    rng = np.random.default_rng(7)
    tables = make_records(7, n_entities=40, n_records=10)
    tables["annual_reports"] = _random_reports(rng, tables["entities"], 150, (2018, 2023), 400)
    dates = pd.date_range("2021-01-01", "2023-10-01", freq="QS")
    frame = build_panel(tables, dates, spec).frame.set_index(["as_of", "entity_id"])[OVERDUE]
    rose_somewhere = False
    for t1, t2 in zip(dates[:-1], dates[1:]):
        a, b = frame.loc[t1], frame.loc[t2]
        ids = a.index.intersection(b.index)
        events = record_events(tables, load_sources(), t1, t2, entities=ids)
        overdue = set(events.loc[events["event"] == "overdue", "entity_id"])
        moved = set(ids[(a[ids] != b[ids]).to_numpy()])
        filed_now = set(events.loc[(events["source"] == "annual_reports") & (events["event"] == "known"), "entity_id"])
        assert moved <= overdue | filed_now, (t1, moved - overdue - filed_now)
        rose = set(ids[(b[ids] > a[ids]).to_numpy()])
        assert rose <= overdue
        rose_somewhere |= bool(rose)
    assert rose_somewhere


def test_missed_deadlines_need_a_source_with_a_due_obligation(tmp_path):
    sources = load_sources()
    (tmp_path / "f.yaml").write_text(yaml.safe_dump({
        "dimension": "operation", "label_zh": "x", "label_en": "x",
        "features": [{"source": "penalties", "name": "late", "missed_deadlines": True, "state": ["open_count"]}]}))
    with pytest.raises(SpecError, match="a source with a 'due' obligation"):
        load_feature_spec(tmp_path, sources=sources)


def test_the_evidence_of_an_overdue_report_is_the_deadline_missed(spec):
    from riskml.explain._evidence import evidence_for

    ents = _entities(["2019-05-01"])
    reports = _reports([("E0000001", 2019, "2020-03-01"), ("E0000001", 2020, "2021-08-15")])
    records = {"entities": ents, "annual_reports": reports}
    ev = evidence_for(records, "E0000001", "2022-07-01", OVERDUE, spec=spec)
    assert ev["record_id"].tolist() == ["E0000001:2021"]
    assert ev["known_at"].tolist() == [pd.Timestamp("2022-06-30")]
    assert len(evidence_for(records, "E0000001", "2021-08-16", OVERDUE, spec=spec)) == 0


def test_a_due_obligation_names_an_int_column_and_a_month_day():
    from riskml.records._sources import Due, SourceSpec

    with pytest.raises(ValueError, match="MM-DD"):
        Due(period="year", last_day="30-06", first_period=2018)
    with pytest.raises(ValueError, match="due.period 'filed' must be a declared int column"):
        SourceSpec(entity_key="e", record_id="r", known_at="filed", due={"period": "filed", "first_period": 2018},
                   columns={"e": {"type": "str"}, "r": {"type": "str"}, "filed": {"type": "date"}})


def test_reports_filed_early_match_a_reference_and_never_fall_when_a_report_is_filed():
    early = load_feature_spec().subset(["annual_reports_early_count_all"])
    f = early.features[0]
    catalog = load_sources()
    rng = np.random.default_rng(5)
    tables = make_records(5, n_entities=30, n_records=10)
    tables["annual_reports"] = _random_reports(rng, tables["entities"], 120, (2017, 2024), 200)
    dates = pd.date_range("2020-01-01", "2024-10-01", freq="QS")
    frame = build_panel(tables, dates, early).frame
    want = [naive_feature(f, tables, catalog, e, t) for e, t in zip(frame["entity_id"], frame["as_of"])]
    np.testing.assert_array_equal(frame[f.name].to_numpy(), np.array(want, dtype=float))
    assert frame[f.name].max() >= 2
    # an all-history count of records: it only rises, and only when a report becomes known
    wide = frame.pivot(index="as_of", columns="entity_id", values=f.name)
    assert (wide.diff().fillna(0) >= 0).all().all()


def test_a_report_whose_year_is_no_calendar_year_counts_for_no_year(spec):
    from riskml.features._deadlines import filed_within

    reports = _reports([("E0000001", 2019, "2020-02-01")] * 3)
    reports["year"] = [2019.0, np.inf, -5.0]
    assert filed_within(reports, load_sources()["annual_reports"], 59).tolist() == [True, False, False]
    frame = build_panel({"entities": _entities(["2019-05-01"]), "annual_reports": reports},
                        pd.to_datetime(["2021-07-01"]), spec).frame
    assert frame[OVERDUE].tolist() == [1.0]  # 2019 filed, 2020 missing; the others are no year
