"""The synthetic market: contract of the records, stated rates, selectivity, fraud rings."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskml.records import Records, validate
from riskml.synth import Market, make_market

START, END = pd.Timestamp("2019-01-01"), pd.Timestamp("2024-12-31")
N = 6000
SHELL_SHARE = 0.03


@pytest.fixture(scope="module")
def market() -> Market:
    return make_market(n_entities=N, seed=3, shell_share=SHELL_SHARE)


def _hash(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=True).to_numpy()


def _alive_quarters(market: Market) -> pd.DataFrame:
    eq = market.truth.entity_quarters
    return eq.merge(market.records["entities"][["entity_id", "district", "registered_capital", "entity_type"]], on="entity_id")


# ----------------------------------------------------------------- reproducibility


def test_same_seed_gives_identical_records_and_truth_byte_for_byte():
    a = make_market(n_entities=800, seed=11)
    b = make_market(n_entities=800, seed=11)
    for name in a.records:
        np.testing.assert_array_equal(_hash(a.records[name]), _hash(b.records[name]), err_msg=name)
    np.testing.assert_array_equal(_hash(a.truth.entity_quarters), _hash(b.truth.entity_quarters))
    np.testing.assert_array_equal(_hash(a.truth.entities), _hash(b.truth.entities))


def test_different_seeds_give_different_markets():
    a = make_market(n_entities=800, seed=11)
    b = make_market(n_entities=800, seed=12)
    assert not a.records["entities"].equals(b.records["entities"])
    assert not a.records["invoices"].equals(b.records["invoices"])


# ----------------------------------------------------------------- the records contract


def test_every_table_has_exactly_the_declared_columns_and_dtypes(market):
    records = market.records
    assert isinstance(records, Records)
    assert list(records) == list(records.catalog)
    for name, table in records.items():
        spec = records.catalog[name]
        assert list(table.columns) == list(spec.columns), name
        for col, cs in spec.columns.items():
            dtype = table[col].dtype
            if cs.type == "str":
                assert dtype == "str", (name, col, dtype)
            elif cs.type == "date":
                assert dtype == "datetime64[ns]", (name, col, dtype)
                assert (table[col].dropna().dt.normalize() == table[col].dropna()).all()
            elif cs.type == "category":
                assert isinstance(dtype, pd.CategoricalDtype), (name, col)
                assert list(dtype.categories) == list(cs.categories), (name, col)
                assert table[col].notna().all(), (name, col)
            elif cs.type == "int":
                assert dtype == ("Int64" if cs.nullable else "int64"), (name, col, dtype)
            elif cs.type == "float":
                assert dtype == "float64", (name, col, dtype)
            else:
                assert dtype == "bool", (name, col, dtype)
            if not cs.nullable:
                assert table[col].notna().all(), (name, col)
            if cs.nonnegative:
                assert (table[col].dropna() >= 0).all(), (name, col)


def test_the_records_pass_strict_validation(market):
    clean = validate(market.records, mode="strict", now=END)
    assert clean.quarantine.empty
    assert (clean.counts["n_in"] == clean.counts["n_kept"]).all()


def test_record_ids_are_unique_and_numbered_with_a_prefix_per_source(market):
    prefixes = set()
    for name, table in market.records.items():
        ids = table[market.records.catalog[name].record_id]
        assert ids.is_unique, name
        if name != "entities" and len(ids):
            assert ids.str.fullmatch(r"[A-Z]\d{8}").all(), name
            prefixes.add(ids.iloc[0][0])
    assert len(prefixes) == len(market.records) - 1
    assert market.records["entities"]["entity_id"].str.fullmatch(r"E\d{7}").all()


def test_known_at_is_never_before_the_event_nor_after_the_end(market):
    for name, table in market.records.items():
        spec = market.records.catalog[name]
        known = table[spec.known_at]
        assert known.notna().all(), name
        assert (known <= END).all(), name
        if spec.event_at:
            assert (known >= table[spec.event_at]).all(), name
        if spec.valid_to:
            ends = table[spec.valid_to]
            assert (ends.isna() | (ends >= known)).all(), name
        for col in spec.date_columns:
            if spec.columns[col].nullable:
                assert (table[col].isna() | (table[col] <= END)).all(), (name, col)


def test_records_of_supervision_fall_while_the_entity_is_registered(market):
    ent = market.records["entities"].set_index("entity_id")
    for name, col in [("inspections", "inspected"), ("complaints", "received"), ("changes", "changed"), ("penalties", "decided")]:
        table = market.records[name]
        est = ent["established"].reindex(table["entity_id"]).to_numpy()
        dereg = ent["deregistered"].reindex(table["entity_id"]).to_numpy()
        day = table[col].to_numpy()
        assert (day >= est).all(), name
        assert (pd.isna(dereg) | (day < dereg)).all(), name


def test_personal_values_are_raw_and_realistic(market):
    ent = market.records["entities"]
    ids = ent["legal_rep_id"]
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    digits = np.array([list(map(int, s[:17])) for s in ids.iloc[:200]])
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    expected = np.array(list("10X98765432"))[(digits * weights).sum(axis=1) % 11]
    assert (ids.iloc[:200].str[17].to_numpy() == expected).all()
    assert ent["legal_rep_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all()
    phones = ent["legal_rep_phone"].dropna()
    assert phones.str.fullmatch(r"1\d{10}").all() and 0 < ent["legal_rep_phone"].isna().mean() < 0.2


# ----------------------------------------------------------------- stated rates


def test_individual_businesses_are_60_to_70_percent(market):
    share = (market.records["entities"]["entity_type"] == "individual").mean()
    assert 0.6 <= share <= 0.7


def test_yearly_penalty_and_abnormal_list_rates_are_between_half_and_ten_percent(market):
    eq = market.truth.entity_quarters
    alive = eq.groupby(eq["quarter_start"].dt.year)["entity_id"].nunique()
    for name, col in [("penalties", "published"), ("abnormal_list", "entered")]:
        table = market.records[name]
        rate = table.groupby(table[col].dt.year)["entity_id"].nunique() / alive
        assert rate.between(0.005, 0.10).all(), (name, rate.to_dict())


def test_shells_are_the_requested_share_of_enterprises(market):
    ents = market.truth.entities
    share = ents["is_shell"].sum() / (ents["entity_type"] == "enterprise").sum()
    assert share == pytest.approx(SHELL_SHARE, abs=0.003)
    assert (ents.loc[ents["is_shell"], "entity_type"] == "enterprise").all()
    assert ents.loc[ents["is_shell"], "ring"].notna().all() and ents.loc[~ents["is_shell"], "ring"].isna().all()


def test_new_entities_register_every_quarter_and_some_deregister(market):
    ent = market.records["entities"]
    new = ent.loc[ent["established"] >= START, "established"]
    assert new.dt.to_period("Q").nunique() == 24
    assert 0.1 < len(new) / len(ent) < 0.5
    assert 0.03 < ent["deregistered"].notna().mean() < 0.4
    assert (ent["established"] >= START - pd.DateOffset(years=15) - pd.Timedelta(days=1)).all()
    enterprise = ent["entity_type"] == "enterprise"
    assert ent.loc[enterprise, "registered_capital"].median() > 5 * ent.loc[~enterprise, "registered_capital"].median()


def test_riskier_entities_deregister_more(market):
    ents = market.truth.entities.merge(market.records["entities"][["entity_id", "deregistered"]], on="entity_id")
    normal = ents[~ents["is_shell"]]
    top = normal["latent_risk"] >= normal["latent_risk"].quantile(0.8)
    assert normal.loc[top, "deregistered"].notna().mean() > normal.loc[~top, "deregistered"].notna().mean()


# ----------------------------------------------------------------- inspections and blind spots


def test_inspections_are_uneven_across_districts(market):
    aq = _alive_quarters(market)
    rate = aq.groupby("district", observed=True)["inspected"].mean()
    assert rate.max() / rate.min() >= 2


def test_random_inspections_are_roughly_uniform_across_districts(market):
    aq = _alive_quarters(market)
    rate = aq.groupby("district", observed=True)["inspected_random"].mean()
    assert rate.max() / rate.min() < 1.6
    assert 0.03 <= 4 * aq["inspected_random"].mean() <= 0.05  # 3-5% a year


def test_larger_firms_are_inspected_more(market):
    aq = _alive_quarters(market)
    big = aq["registered_capital"] >= aq.groupby("entity_type", observed=True)["registered_capital"].transform("median")
    assert aq.loc[big, "inspected"].mean() > 1.2 * aq.loc[~big, "inspected"].mean()


def test_violations_are_selectively_observed_and_never_inspected_does_not_mean_safe(market):
    eq = market.truth.entity_quarters
    assert not (eq["observed"] & ~eq["violated"]).any()
    violations = eq[eq["violated"]]
    assert violations["observed"].mean() < 0.5
    ever = set(market.records["inspections"]["entity_id"])
    never = ~violations["entity_id"].isin(ever)
    assert never.sum() > 50  # violators no inspector ever visited
    assert violations.loc[never, "observed"].mean() < violations.loc[~never, "observed"].mean()


def test_observed_violations_are_the_published_penalties(market):
    eq = market.truth.entity_quarters
    pen = market.records["penalties"]
    assert eq["observed"].sum() == len(pen)


def test_targeted_inspections_follow_observable_signals(market):
    ins = market.records["inspections"]
    targeted = ins.loc[ins["kind"] == "targeted", ["entity_id", "inspected"]]
    base_rate = len(targeted) / len(market.truth.entity_quarters)  # per entity-quarter
    pen = market.records["penalties"].groupby("entity_id", as_index=False)["decided"].min()
    after = pen.merge(targeted, on="entity_id")
    window = (after["inspected"] > after["decided"] + pd.Timedelta(days=30)) & (after["inspected"] <= after["decided"] + pd.Timedelta(days=300))
    rate_after = window.sum() / (len(pen) * 3)  # ~three quarters per window
    assert rate_after > 2 * base_rate


# ----------------------------------------------------------------- knowledge lags, repair, precursors


def test_knowledge_lags_follow_the_bureaus_practice(market):
    pen = market.records["penalties"]
    lag = (pen["published"] - pen["decided"]).dt.days
    assert lag.between(5, 40).all()
    tax = market.records["tax_cases"]
    assert (tax["confirmed"] - tax["opened"]).dt.days.between(60, 300).all()
    jud = market.records["judicial"]
    assert ((jud["notified"] - jud["started"]).dt.days > 0).all()
    ins = market.records["inspections"]
    assert ((ins["closed"] - ins["inspected"]).dt.days > 0).all()


def test_some_minor_and_general_penalties_are_repaired_and_serious_rarely(market):
    pen = market.records["penalties"]
    repaired = pen["repaired"].notna()
    mild = pen["severity"].isin(["minor", "general"])
    assert 0.1 < repaired[mild].mean() < 0.6
    assert repaired[pen["severity"] == "serious"].mean() < repaired[mild].mean()
    gap = (pen.loc[repaired, "repaired"] - pen.loc[repaired, "published"]).dt.days
    assert gap.between(180, 731).all()


def test_annual_reports_are_filed_in_the_next_year_and_flagged_late_after_june(market):
    ar = market.records["annual_reports"]
    on_time = ar["filed"].dt.year == ar["year"] + 1
    assert on_time.mean() > 0.95
    june30 = pd.to_datetime((ar["year"] + 1).astype(str) + "-06-30")
    assert (ar["late"] == (ar["filed"] > june30)).all()
    assert 0.005 < ar["all_zero"].mean() < 0.15
    zero = ar[ar["all_zero"]]
    assert (zero[["revenue", "total_tax"]] == 0).all().all() and (zero["employees"] == 0).all()
    no_report = market.records["abnormal_list"]["reason"] == "no_annual_report"
    assert no_report.mean() > 0.5


def test_some_licences_lapse_while_the_entity_lives_on(market):
    lic = market.records["licences"]
    ent = market.records["entities"].set_index("entity_id")
    last = lic.sort_values("issued").groupby("entity_id").tail(1)
    expired = last[last["expiry"] < END]
    dereg = ent["deregistered"].reindex(expired["entity_id"]).to_numpy()
    lapsed = pd.isna(dereg) | (dereg > expired["expiry"].to_numpy())
    assert lapsed.sum() > 10
    assert lic["revoked"].notna().any() or (market.records["penalties"]["severity"] == "serious").sum() < 5


def test_riskier_entities_leave_more_precursors_and_fewer_good_signs(market):
    ents = market.truth.entities[~market.truth.entities["is_shell"]]
    risky = set(ents.loc[ents["latent_risk"] >= ents["latent_risk"].quantile(0.8), "entity_id"])
    sound = set(ents.loc[ents["latent_risk"] <= ents["latent_risk"].quantile(0.5), "entity_id"])

    def per_entity(table: pd.DataFrame, group: set) -> float:
        return table["entity_id"].isin(group).sum() / len(group)

    rec = market.records
    changes = rec["changes"][rec["changes"]["change_type"].isin(["legal_rep", "address"])]
    for table in (changes, rec["complaints"], rec["judicial"], rec["abnormal_list"]):
        assert per_entity(table, risky) > 2 * per_entity(table, sound)
    assert per_entity(rec["commendations"], sound) > per_entity(rec["commendations"], risky)
    late = rec["annual_reports"].groupby("entity_id")["late"].mean()
    assert late.reindex(list(risky)).mean() > 2 * late.reindex(list(sound)).mean()


# ----------------------------------------------------------------- fake invoicing


def _triangle_sellers(inv: pd.DataFrame) -> set:
    """Sellers on a directed 3-cycle A -> B -> C -> A of the invoice graph."""
    edges = inv[["seller_id", "buyer_id"]].drop_duplicates()
    ab = edges.rename(columns={"seller_id": "a", "buyer_id": "b"})
    bc = edges.rename(columns={"seller_id": "b", "buyer_id": "c"})
    path = ab.merge(bc, on="b")
    path = path[path["c"] != path["a"]]
    closed = path.merge(edges.rename(columns={"seller_id": "c", "buyer_id": "a"}), on=["c", "a"])
    return set(closed["a"])


def test_shells_issue_round_amounts_in_circular_flows(market):
    inv = market.records["invoices"]
    shells = set(market.truth.entities.loc[market.truth.entities["is_shell"], "entity_id"])
    by_shell = inv["seller_id"].isin(shells)
    round_amount = (inv["amount"] % 1000 == 0)
    assert round_amount[by_shell].mean() > 0.5 > 10 * round_amount[~by_shell].mean()
    circular = _triangle_sellers(inv)
    sellers = pd.Series(inv["seller_id"].unique())
    shell_sellers = sellers[sellers.isin(shells)]
    normal_sellers = sellers[~sellers.isin(shells)]
    assert shell_sellers.isin(circular).mean() > 0.5
    assert normal_sellers.isin(circular).mean() < 0.05


def test_normal_enterprises_trade_with_a_stable_set_of_counterparties(market):
    inv = market.records["invoices"]
    shells = set(market.truth.entities.loc[market.truth.entities["is_shell"], "entity_id"])
    buyers = inv.groupby("seller_id")["buyer_id"].nunique()
    invoices = inv.groupby("seller_id").size()
    normal = ~buyers.index.isin(shells)
    assert buyers[normal].max() <= 8
    assert (buyers[~normal] / invoices[~normal]).median() > (buyers[normal] / invoices[normal]).median()
    assert 0.005 < inv.loc[~inv["seller_id"].isin(shells), "voided"].mean() < 0.05
    assert inv["seller_id"].isin(set(market.records["entities"].query("entity_type == 'enterprise'")["entity_id"])).all()


def test_some_shells_are_caught_most_are_not_and_caught_shells_are_listed(market):
    ents = market.truth.entities
    shells = set(ents.loc[ents["is_shell"], "entity_id"])
    cases = market.records["tax_cases"]
    caught = set(cases["entity_id"]) & shells
    assert 0 < len(caught) < 0.6 * len(shells)
    assert cases["entity_id"].isin(shells).mean() > 0.5
    listed = market.records["serious_violations"]
    fake = set(listed.loc[listed["reason"] == "fake_invoicing", "entity_id"])
    assert fake <= caught and len(fake) > 0
    # Ring members share legal representatives and addresses.
    ent = market.records["entities"]
    ring = ents.loc[ents["is_shell"], ["entity_id", "ring"]].merge(ent, on="entity_id")
    per_ring = ring.groupby("ring").agg(n=("entity_id", "size"), reps=("legal_rep_id", "nunique"), addr=("address_id", "nunique"))
    assert (per_ring["reps"] <= 2).all() and (per_ring["addr"] <= 2).all() and (per_ring["n"] >= 3).all()


# ----------------------------------------------------------------- truth and the best possible model


def test_truth_has_one_row_per_alive_entity_quarter(market):
    eq = market.truth.entity_quarters
    assert not eq.duplicated(["entity_id", "quarter_start"]).any()
    assert list(eq.columns[:7]) == ["entity_id", "quarter_start", "p_violation", "violated", "observed", "inspected", "inspected_random"]
    assert eq["p_label_1y"].between(0, 1).all()
    assert eq["p_violation"].between(0, 1).all()
    ent = market.records["entities"].set_index("entity_id")
    est = ent["established"].reindex(eq["entity_id"]).to_numpy()
    dereg = ent["deregistered"].reindex(eq["entity_id"]).to_numpy()
    q_end = (eq["quarter_start"] + pd.offsets.QuarterBegin(startingMonth=1)).to_numpy()
    assert (est < q_end).all()
    assert (pd.isna(dereg) | (dereg > eq["quarter_start"].to_numpy())).all()
    assert len(market.truth.entities) == N
    yearly = eq.groupby([eq["quarter_start"].dt.year, "entity_id"])["violated"].any().mean()
    assert 0.02 < yearly < 0.12  # a few percent of entities violate each year
    assert eq["p_violation"].quantile(0.99) > 8 * eq["p_violation"].median()  # heavy tail


def _credit_label(market: Market) -> np.ndarray:
    """One-year credit label of models/credit.yaml at every entity-quarter start."""
    rec = market.records
    pen = rec["penalties"]
    qualifying = pen[(pen["amount"] >= 10_000) | pen["severity"].isin(["general", "serious"])]
    known = pd.concat([
        rec["abnormal_list"][["entity_id", "entered"]].set_axis(["entity_id", "known"], axis=1),
        rec["serious_violations"][["entity_id", "entered"]].set_axis(["entity_id", "known"], axis=1),
        qualifying[["entity_id", "published"]].set_axis(["entity_id", "known"], axis=1),
    ])  # fmt: skip
    eq = market.truth.entity_quarters[["entity_id", "quarter_start"]].reset_index()
    pairs = eq.merge(known, on="entity_id")
    hit = (pairs["known"] >= pairs["quarter_start"]) & (pairs["known"] < pairs["quarter_start"] + pd.Timedelta(days=365))
    positive = set(pairs.loc[hit, "index"])
    return eq["index"].isin(positive).to_numpy()


def test_best_possible_auc_of_the_credit_label_is_around_0_75_to_0_85(market):
    eq = market.truth.entity_quarters
    label = _credit_label(market)
    full_year = (eq["quarter_start"] <= END - pd.Timedelta(days=365)).to_numpy()
    score = market.truth.oracle_score().to_numpy()
    per_date = [roc_auc_score(label[full_year & (eq["quarter_start"] == t).to_numpy()],
                              score[full_year & (eq["quarter_start"] == t).to_numpy()])
                for t in eq.loc[full_year, "quarter_start"].unique()[-8:]]  # fmt: skip
    assert 0.74 <= np.median(per_date) <= 0.86, per_date
    assert 0.02 < label[full_year].mean() < 0.2


def test_fair_oracle_is_the_probability_of_the_observed_label(market):
    eq = market.truth.entity_quarters
    label = _credit_label(market)
    full_year = (eq["quarter_start"] <= END - pd.Timedelta(days=365)).to_numpy()
    p = market.truth.oracle_score().to_numpy()[full_year]
    y = label[full_year]
    assert p.mean() == pytest.approx(y.mean(), rel=0.08)
    # calibrated across its range, not only on average
    high = p >= np.quantile(p, 0.9)
    assert y[high].mean() == pytest.approx(p[high].mean(), rel=0.15)
    assert y[~high].mean() == pytest.approx(p[~high].mean(), rel=0.15)


def test_fair_oracle_uses_only_the_state_at_t_not_the_future():
    from riskml.synth import _dynamics, _oracle, _population, _tables

    rng = np.random.default_rng([5, 0])
    world = _population.draw_population(rng, 3000, _population.to_day(START), _population.to_day(END), 0.01)
    activity = _dynamics.simulate(world, rng, False)
    ctx = _tables.Context(world, activity, 5)
    filings = _tables.annual_filings(ctx)
    q = 12  # as-of 2022-01-01
    ent = np.flatnonzero(world.alive()[:, q])
    rows_q = np.full(len(ent), q)
    before = _oracle.label_probability(world, activity, filings, (ctx.mu, ctx.sd), ent, rows_q)
    # Rewrite the future (regimes from quarter q on, detections after t): the oracle at t must not move.
    activity.regime[:, q + 1:] = np.roll(activity.regime[:, q + 1:], 7, axis=0)
    activity.last_detected_q[:, q + 1:] = -100
    after = _oracle.label_probability(world, activity, filings, (ctx.mu, ctx.sd), ent, rows_q)
    np.testing.assert_array_equal(before, after)
    # ... while the regime the quarter before t does move it.
    activity.regime[:, q] = np.where(activity.regime[:, q] == 0, 2, 0)
    moved = _oracle.label_probability(world, activity, filings, (ctx.mu, ctx.sd), ent, rows_q)
    assert np.abs(moved - before).mean() > 0.01


def test_the_realised_future_score_differs_from_the_fair_oracle(market):
    eq = market.truth.entity_quarters
    realised = market.truth.realised_score()
    fair = market.truth.oracle_score()
    # the realised-future score knows the regime moves after t; the fair one does not
    assert np.corrcoef(fair, realised)[0, 1] < 0.99
    assert set(eq["regime"].cat.categories) == {"sound", "strained", "distressed"}


# ----------------------------------------------------------------- the surface


def test_summary_counts_rows_entities_and_known_at_range(market):
    summary = market.summary().set_index("source")
    assert list(summary.index) == list(market.records)
    assert summary.loc["entities", "rows"] == N
    assert summary.loc["invoices", "rows"] == summary["rows"].max()
    assert (summary["known_to"].dropna() <= END).all()
    assert summary.loc["penalties", "entities"] == market.records["penalties"]["entity_id"].nunique()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"n_entities": 0}, "n_entities"), ({"shell_share": 0.9}, "shell_share"), ({"start": "2024-01-01", "end": "2023-01-01"}, "after start")],
)
def test_invalid_arguments_are_rejected_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_market(**kwargs)


def test_a_market_without_shells_has_no_fraud(market):
    small = make_market(n_entities=500, seed=2, shell_share=0.0)
    assert not small.truth.entities["is_shell"].any()
    assert small.records["tax_cases"].empty


@pytest.mark.parametrize("module", ["riskml.synth._market", "riskml.synth._fake"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
