"""Labels a user can state and trust: coverage, exact horizons, thresholds, observation.

The records here are a world of their own (custom sources): restaurants (``shops``)
and their yearly ``inspections`` with a 0-100 ``inspection_score``. The source is
called ``inspections`` on purpose: riskml's built-in source of that name has no score.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import riskml
from riskml import SpecError
from riskml.labels import LabelSpec, load_label_spec, make_labels
from riskml.records import from_frames, validate

SOURCES = {
    "version": 1,
    "entity_source": "shops",
    "sources": {
        "shops": {"entity_key": "shop_id", "record_id": "shop_id", "known_at": "opened",
                  "columns": {"shop_id": {"type": "str"}, "opened": {"type": "date"}}},
        "inspections": {"entity_key": "shop_id", "record_id": "inspection_id", "known_at": "inspected",
                        "columns": {"inspection_id": {"type": "str"}, "shop_id": {"type": "str"},
                                    "inspected": {"type": "date"},
                                    "inspection_score": {"type": "float", "nullable": True}}},
    },
}


def _world(tmp_path, inspections: pd.DataFrame, n_shops: int, coverage: dict | None = None):
    declared = yaml.safe_load(yaml.safe_dump(SOURCES))
    if coverage is not None:
        declared["sources"]["inspections"]["coverage"] = coverage
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(declared), encoding="utf-8")
    shops = pd.DataFrame({"shop_id": [f"S{i:04d}" for i in range(n_shops)],
                          "opened": pd.Timestamp("2010-01-01")})
    return validate(from_frames({"shops": shops, "inspections": inspections}, sources=path), mode="strict")


def _yearly(n_shops: int, years, seed: int = 0, day: str = "12-31") -> pd.DataFrame:
    """One inspection per shop per year, all known on the same day of the year."""
    rng = np.random.default_rng(seed)
    years = list(years)
    shop = np.tile([f"S{i:04d}" for i in range(n_shops)], len(years))
    when = np.repeat(pd.to_datetime([f"{y}-{day}" for y in years]), n_shops)
    return pd.DataFrame({"inspection_id": [f"I{i:06d}" for i in range(len(shop))], "shop_id": shop,
                         "inspected": when, "inspection_score": rng.uniform(60, 100, len(shop)).round(1)})


def _grid(n_shops: int, dates) -> pd.DataFrame:
    dates = pd.to_datetime(list(dates))
    return pd.DataFrame({"entity_id": np.tile([f"S{i:04d}" for i in range(n_shops)], len(dates)),
                         "as_of": np.repeat(dates, n_shops)})


def _spec(**label) -> LabelSpec:
    return LabelSpec(name="hygiene", **{"horizon_months": 12, "positive_when": [{"source": "inspections"}], **label})


def test_a_gap_year_is_dropped_with_a_warning_never_labeled_0(tmp_path, caplog):
    # every shop is inspected on 31 December of every year but 2017, whose records were lost
    recs = _world(tmp_path, _yearly(40, [2014, 2015, 2016, 2018, 2019, 2020]), 40)
    grid = _grid(40, [f"{y}-01-01" for y in range(2015, 2021)])
    with caplog.at_level(logging.WARNING, logger="riskml.labels"):
        labels = make_labels(recs, grid, _spec())
    by_year = labels.groupby(labels["as_of"].dt.year)
    assert not by_year["complete"].all()[2017]  # the gap year: unlabeled, not 40 zeros
    assert by_year["complete"].all()[[2015, 2016, 2018, 2019, 2020]].all()
    assert (by_year["label"].mean()[[2015, 2016, 2018, 2019, 2020]] == 1).all()
    text = caplog.text
    assert "2017-01-01: label horizon 2017-01-01..2017-12-31 falls in a gap of inspections" in text
    assert "derived" in text and "declare `coverage:`" in text
    with pytest.raises(ValueError, match="2017-01-01: label horizon .* falls in a gap of inspections"):
        make_labels(recs, grid, _spec(), coverage="refuse")


def test_a_declared_gap_and_end_are_honoured(tmp_path, caplog):
    recs = _world(tmp_path, _yearly(10, range(2014, 2021)), 10,
                  coverage={"end": "2019-12-31", "gaps": [{"start": "2016-03-01", "end": "2016-04-30"}]})
    grid = _grid(10, [f"{y}-01-01" for y in range(2015, 2021)])
    with caplog.at_level(logging.WARNING, logger="riskml.labels"):
        labels = make_labels(recs, grid, _spec())
    complete = labels.groupby(labels["as_of"].dt.year)["complete"].all()
    assert complete.to_dict() == {2015: True, 2016: False, 2017: True, 2018: True, 2019: True, 2020: False}
    assert "2020-01-01: label horizon 2020-01-01..2020-12-31 runs past the end of inspections (last day 2019-12-31, declared)" in caplog.text


def test_a_feature_window_reaching_into_a_gap_leaves_the_date_unlabeled(tmp_path, caplog):
    recs = _world(tmp_path, _yearly(10, range(2014, 2022)), 10,
                  coverage={"gaps": [{"start": "2016-03-01", "end": "2016-04-30"}]})
    spec_dir = tmp_path / "features"
    spec_dir.mkdir()
    (spec_dir / "sources.yaml").write_text((tmp_path / "sources.yaml").read_text(), encoding="utf-8")
    (spec_dir / "hygiene.yaml").write_text(yaml.safe_dump({"dimension": "operation", "features": [
        {"source": "inspections", "name": "inspections", "windows": ["365d"], "aggregations": ["count"],
         "direction": 1}]}), encoding="utf-8")
    panel = riskml.build_panel(recs, as_of=pd.to_datetime(["2016-01-01", "2017-01-01", "2017-06-01", "2018-01-01"]),
                               spec=riskml.features.load_feature_spec(spec_dir))
    with caplog.at_level(logging.WARNING, logger="riskml.labels"):
        labels = make_labels(recs, panel, _spec())
    complete = labels.groupby("as_of")["complete"].all()
    # 2016-01-01: label horizon in the gap; 2017-01-01: the 365-day feature window is
    assert complete.tolist() == [False, False, True, True]
    assert "2017-01-01: 365-day feature window 2016-01-02..2016-12-31 falls in a gap of inspections" in caplog.text


@pytest.mark.parametrize("year", [2019, 2020, 2021, 2024])
def test_a_yearly_horizon_labels_the_31_december_record_in_leap_years_too(tmp_path, year):
    recs = _world(tmp_path, _yearly(5, range(2018, 2026)), 5)
    labels = make_labels(recs, _grid(5, [f"{year}-01-01"]), _spec())
    assert labels["label"].tolist() == [1] * 5 and labels["complete"].all()


def test_a_365_day_horizon_on_a_yearly_grid_warns_about_the_day_it_misses(tmp_path, caplog):
    recs = _world(tmp_path, _yearly(5, range(2018, 2026)), 5)
    grid = _grid(5, [f"{y}-01-01" for y in range(2019, 2024)])
    with caplog.at_level(logging.WARNING, logger="riskml.labels"):
        labels = make_labels(recs, grid, LabelSpec(horizon_days=365, positive_when=[{"source": "inspections"}]))
    assert labels.loc[labels["as_of"].dt.year == 2020, "label"].eq(0).all()  # the record of 2020-12-31 is missed
    assert "use horizon_months" in caplog.text and "2020-12-31" in caplog.text


@settings(max_examples=20, deadline=None)
@given(pairs=st.lists(st.tuples(
    st.dates(min_value=pd.Timestamp("2012-01-01").date(), max_value=pd.Timestamp("2030-12-31").date()),
    st.integers(min_value=-3, max_value=800)), min_size=1, max_size=40),
    months=st.sampled_from([1, 3, 6, 12, 24]))
def test_a_record_is_in_the_horizon_iff_it_is_known_in_t_to_t_plus_months(pairs, months):
    # one entity per (as-of, record day) pair, all labeled in one call
    t = pd.to_datetime([p[0] for p in pairs])
    known = t + pd.to_timedelta([p[1] for p in pairs], unit="D")
    ids = [f"E{i:07d}" for i in range(len(pairs))]
    records = {"entities": pd.DataFrame({"entity_id": ids, "established": pd.Timestamp("2000-01-01")}),
               "tax_cases": pd.DataFrame({"case_id": ids, "entity_id": ids, "confirmed": known})}
    spec = LabelSpec(name="x", horizon_months=months, positive_when=[{"source": "tax_cases"}])
    out = make_labels(records, pd.DataFrame({"entity_id": ids, "as_of": t}), spec)
    expected = [int(a <= k < a + pd.DateOffset(months=months)) for a, k in zip(t, known, strict=True)]
    assert out["label"].tolist() == expected


OPS = {"at_least": lambda a, v: a >= v, "at_most": lambda a, v: a <= v, "above": lambda a, v: a > v,
       "below": lambda a, v: a < v}


@pytest.mark.parametrize(("aggregation", "op", "value"), [
    ("mean", "below", 80.0), ("min", "below", 70.0), ("max", "at_least", 95.0), ("sum", "above", 250.0),
    ("count", "at_least", 3.0), ("count", "at_most", 1.0),
])
def test_a_threshold_label_on_a_custom_source_equals_pandas(tmp_path, aggregation, op, value):
    rng = np.random.default_rng(1)
    n, shops = 1500, 60
    inspections = pd.DataFrame({
        "inspection_id": [f"I{i:05d}" for i in range(n)],
        "shop_id": rng.choice([f"S{i:04d}" for i in range(shops)], n),
        "inspected": pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D"),
        "inspection_score": np.where(rng.uniform(size=n) < 0.05, np.nan, rng.uniform(40, 100, n).round(1)),
    })
    recs = _world(tmp_path, inspections, shops)
    grid = _grid(shops, pd.date_range("2015-01-01", "2019-10-01", freq="QS"))
    column = None if aggregation == "count" else "inspection_score"
    rule = {"source": "inspections", "aggregation": aggregation, "column": column, op: value}
    labels = make_labels(recs, grid, LabelSpec(name="x", horizon_days=365, positive_when=[rule]))

    ins = recs["inspections"]
    expected = []
    for t in pd.to_datetime(grid["as_of"].unique()):
        window = ins[(ins["inspected"] >= t) & (ins["inspected"] < t + pd.Timedelta(days=365))]
        window = window if column is None else window.dropna(subset=[column])
        agg = (window.groupby("shop_id").size() if column is None
               else window.groupby("shop_id")[column].agg(aggregation))
        at_t = grid.loc[grid["as_of"] == t, "entity_id"]
        got = agg.reindex(at_t).fillna(0 if aggregation in ("count", "sum") else np.nan).to_numpy()
        with np.errstate(invalid="ignore"):
            expected.append(OPS[op](got, value) & ~np.isnan(got))
    assert labels["label"].to_numpy().astype(bool).tolist() == np.concatenate(expected).tolist()
    assert 0 < labels["label"].sum() < len(labels)


def test_threshold_rules_are_validated_against_the_records_own_sources(tmp_path):
    recs = _world(tmp_path, _yearly(3, [2015]), 3)
    spec = {"name": "hygiene", "label": {"horizon_days": 365, "positive_when": [
        {"source": "inspections", "aggregation": "mean", "column": "score", "below": 90}]}}
    path = tmp_path / "hygiene.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_label_spec(path, sources=recs.catalog)
    message = str(info.value)
    assert str(path) in message and info.value.key == "label.positive_when.0.column"
    assert "numeric columns: ['inspection_score']" in message and "the records' source declarations" in message
    # against the built-in sources, the message says so and how to use one's own
    with pytest.raises(SpecError, match="riskml's built-in sources .*pass the records' own declarations"):
        load_label_spec(path)
    for bad, match in [({"aggregation": "mean", "below": 1}, "needs a 'column'"),
                       ({"aggregation": "count"}, "needs exactly one of"),
                       ({"below": 3}, "aggregation 'any' takes no column or threshold")]:
        with pytest.raises(ValueError, match=match):
            LabelSpec(horizon_days=1, positive_when=[{"source": "inspections", **bad}])
    with pytest.raises(ValueError, match="exactly one of horizon_days"):
        LabelSpec(horizon_days=365, horizon_months=12, positive_when=[{"source": "inspections"}])


def test_unobserved_rows_are_unlabeled(tmp_path):
    # half the shops are inspected in 2016; the label "mean score below 80" says nothing of the others
    ins = _yearly(20, [2016], day="06-30")
    ins = ins[ins["shop_id"] < "S0010"]
    later = _yearly(20, [2018]).assign(inspection_id=lambda d: "J" + d["inspection_id"])
    recs = _world(tmp_path, pd.concat([ins, later], ignore_index=True), 20)
    spec = _spec(positive_when=[{"source": "inspections", "aggregation": "mean", "column": "inspection_score",
                                 "below": 80}], observed_when=[{"source": "inspections"}])
    labels = make_labels(recs, _grid(20, ["2016-01-01"]), spec)
    assert labels["observed"].tolist() == [True] * 10 + [False] * 10
    assert labels.loc[~labels["observed"], "label"].eq(0).all() and labels["complete"].all()


def test_a_declared_end_lets_the_last_full_year_be_used(tmp_path):
    # the records end with the 2019 checks, but the source is known complete to the end of 2020
    grid = _grid(5, ["2020-01-01"])
    derived = make_labels(_world(tmp_path, _yearly(5, range(2015, 2020)), 5), grid, _spec())
    declared = make_labels(_world(tmp_path, _yearly(5, range(2015, 2020)), 5, coverage={"end": "2020-12-31"}),
                           grid, _spec())
    assert not derived["complete"].any()
    assert declared["complete"].all() and declared["label"].eq(0).all()  # a known clean year, not a guess
