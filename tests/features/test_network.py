"""Cross-entity features: hand-computed fixtures for every measure, point in time,
the spec's errors and the panel contract."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskml._specs import SpecError, bundled_dir
from riskml.features._graph import cycle_edges, listed_on_days
from riskml.features._network import network_catalog, network_features
from riskml.features._network_spec import load_network_spec
from riskml.features._spec import CATALOG_COLUMNS
from riskml.features._dimensions import load_dimension_spec

T = pd.Timestamp("2024-01-01")
T_DAY = T.value // 86_400_000_000_000
SPEC = load_network_spec(bundled_dir("features") / "network.yaml")


def ids(*nums: int) -> list[str]:
    return [f"E{n:07d}" for n in nums]


def registry(n: int, established: dict[int, pd.Timestamp] | None = None, deregistered: dict[int, pd.Timestamp] | None = None,
             reps: dict[int, str] | None = None, addresses: dict[int, str] | None = None) -> pd.DataFrame:
    established = established or {}
    deregistered = deregistered or {}
    reps = reps or {}
    addresses = addresses or {}
    nums = range(1, n + 1)
    return pd.DataFrame(
        {
            "entity_id": pd.Series(ids(*nums), dtype="str"),
            "established": pd.to_datetime([established.get(i, pd.Timestamp("2015-01-01")) for i in nums]),
            "deregistered": pd.to_datetime([deregistered.get(i) for i in nums]).astype("datetime64[ns]"),
            "legal_rep_id": pd.Series([reps.get(i, f"rep{i}") for i in nums], dtype="str"),
            "address_id": pd.Series([addresses.get(i, f"addr{i}") for i in nums], dtype="str"),
        }
    )


def invoices(rows: list[tuple[int, int, int, float, bool]]) -> pd.DataFrame:
    """Rows (seller, buyer, days before T, amount, voided)."""
    return pd.DataFrame(
        {
            "invoice_id": pd.Series([f"I{i}" for i in range(len(rows))], dtype="str"),
            "seller_id": pd.Series([ids(r[0])[0] for r in rows], dtype="str"),
            "buyer_id": pd.Series([ids(r[1])[0] for r in rows], dtype="str"),
            "issued": (T - pd.to_timedelta([r[2] for r in rows], unit="D")).astype("datetime64[ns]"),
            "amount": np.array([r[3] for r in rows], dtype=np.float64),
            "tax": np.zeros(len(rows)),
            "voided": np.array([r[4] for r in rows], dtype=bool),
        }
    )


def listings(rows: list[tuple[int, int, int | None]] = ()) -> pd.DataFrame:
    """Rows (entity, days before T entered, days before T exited or None)."""
    return pd.DataFrame(
        {
            "listing_id": pd.Series([f"L{i}" for i in range(len(rows))], dtype="str"),
            "entity_id": pd.Series([ids(r[0])[0] for r in rows], dtype="str"),
            "entered": (T - pd.to_timedelta([r[1] for r in rows], unit="D")).astype("datetime64[ns]"),
            "exited": pd.to_datetime([None if r[2] is None else T - pd.Timedelta(days=r[2]) for r in rows]).astype("datetime64[ns]"),
        }
    )


def compute(ents: pd.DataFrame, inv: pd.DataFrame, abnormal: pd.DataFrame | None = None,
            serious: pd.DataFrame | None = None, at: list[pd.Timestamp] | None = None,
            who: list[str] | None = None) -> pd.DataFrame:
    """Features at ``at`` (default T) for ``who`` (default every entity), indexed by id."""
    who = who if who is not None else ents["entity_id"].tolist()
    at = at or [T]
    grid = pd.DataFrame(
        {
            "entity_id": pd.Series([e for _ in at for e in who], dtype="str"),
            "as_of_day": np.array([d.value // 86_400_000_000_000 for d in at for _ in who], dtype=np.int64),
        }
    )
    tables = {
        "entities": ents, "invoices": inv,
        "abnormal_list": abnormal if abnormal is not None else listings(),
        "serious_violations": serious if serious is not None else listings(),
    }
    values, _ = network_features(tables, ents, grid, SPEC)
    values.index = pd.MultiIndex.from_arrays([grid["entity_id"], grid["as_of_day"]])
    return values.xs(T_DAY, level=1) if at == [T] else values


# ----------------------------------------------------------------------------- cycles


def test_cycle_edges_counts_two_and_three_hop_cycles_but_not_four():
    # 0<->1; 2->3->4->2; 5->6->7->8->5; 0->5 hangs off a cycle.
    src = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    dst = np.array([1, 0, 3, 4, 2, 6, 7, 8, 5, 5])
    assert cycle_edges(src, dst, 9).tolist() == [True] * 5 + [False] * 5


def test_cycle_edges_ignores_self_invoices_and_repeated_edges():
    src = np.array([0, 0, 0, 1])
    dst = np.array([0, 1, 1, 2])
    assert not cycle_edges(src, dst, 3).any()
    assert cycle_edges(np.array([0, 0, 1]), np.array([1, 1, 0]), 2).all()


def test_cycle_value_share_by_hand():
    ents = registry(9)
    inv = invoices([
        (1, 2, 10, 1000.0, False), (2, 1, 20, 500.0, False),  # 2-cycle 1<->2
        (3, 4, 30, 100.0, False), (4, 5, 40, 100.0, False), (5, 3, 50, 100.0, False),  # 3-cycle
        (6, 7, 30, 100.0, False), (7, 8, 30, 100.0, False), (8, 9, 30, 100.0, False), (9, 6, 30, 100.0, False),  # 4-cycle
        (1, 6, 60, 300.0, False),  # off-cycle edge
        (8, 6, 30, 777.0, True),  # voided: would close 6->7->8->6, must not
        (2, 1, 400, 50.0, False),  # outside the 365d window
    ])
    got = compute(ents, inv)
    share = got["invoice_cycle_value_share_365d"]
    assert share[ids(1)[0]] == pytest.approx(1500 / 1800)
    assert share[ids(2)[0]] == pytest.approx(1.0)
    assert share[ids(3, 4, 5)].tolist() == [1.0, 1.0, 1.0]
    assert share[ids(6, 7, 8, 9)].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert got["invoice_on_cycle_365d"].tolist() == [1.0] * 5 + [0.0] * 4


def test_cycle_that_closes_after_as_of_does_not_count_before():
    ents = registry(2)
    inv = invoices([(1, 2, 30, 100.0, False), (2, 1, 0, 100.0, False)])  # the return invoice is known at T
    got = compute(ents, inv)
    assert got["invoice_on_cycle_365d"].tolist() == [0.0, 0.0]
    later = compute(ents, inv, at=[T + pd.Timedelta(days=1)])
    assert later["invoice_on_cycle_365d"].tolist() == [1.0, 1.0]


# ----------------------------------------------------------------------------- activity


def activity_fixture() -> tuple[pd.DataFrame, pd.DataFrame]:
    ents = registry(6)
    inv = invoices([
        (1, 2, 400, 700.0, False),  # first seen long ago, outside 365d
        (1, 2, 30, 2000.0, False),  # round (1,000)
        (1, 3, 90, 10000.0, False),  # exactly 90 days before T: inside the 90d window; new pair
        (4, 1, 91, 500.0, False),  # bought; 91 days: outside 90d, inside 365d
        (1, 5, 200, 1234.56, False),
        (1, 6, 10, 3000.0, True),  # voided: counts only for the voided share
        (3, 1, 0, 9999.0, False),  # known at T: not yet
    ])
    return ents, inv


def test_counterparty_counts_by_hand():
    ents, inv = activity_fixture()
    x = compute(ents, inv).loc[ids(1)[0]]
    assert x["invoice_counterparties_365d"] == 4.0  # E2, E3, E4, E5 (E6 voided)
    assert x["invoice_counterparties_90d"] == 2.0  # E2, E3


def test_new_counterparty_share_uses_history_before_the_window():
    ents, inv = activity_fixture()
    x = compute(ents, inv).loc[ids(1)[0]]
    assert x["invoice_new_counterparty_share_90d"] == 0.5  # E3 new, E2 seen 400 days ago
    e3 = compute(ents, inv).loc[ids(3)[0]]
    assert e3["invoice_new_counterparty_share_90d"] == 1.0


def test_value_ratios_by_hand():
    ents, inv = activity_fixture()
    x = compute(ents, inv).loc[ids(1)[0]]
    sold = 2000 + 10000 + 1234.56
    assert x["invoice_in_out_log_ratio_365d"] == pytest.approx(math.log1p(500) - math.log1p(sold))
    assert x["invoice_round_amount_share_365d"] == pytest.approx(12000 / sold)
    assert x["invoice_burstiness_90d"] == pytest.approx((2 / 90) / (3 / 365))
    assert x["invoice_voided_share_365d"] == pytest.approx(1 / 4)


def test_entities_without_invoices_get_nan_shares_and_zero_counts():
    ents, inv = activity_fixture()
    got = compute(registry(7), inv).loc[ids(7)[0]]
    assert got["invoice_counterparties_365d"] == 0.0
    assert got["invoice_on_cycle_365d"] == 0.0
    for name in ("invoice_round_amount_share_365d", "invoice_voided_share_365d", "invoice_burstiness_90d",
                 "invoice_in_out_log_ratio_365d", "invoice_cycle_value_share_365d"):
        assert np.isnan(got[name]), name


# ----------------------------------------------------------------------------- counterparty state


def test_young_counterparty_share_counts_counterparties_registered_under_180_days():
    # The invoice is 200 days before T; counterparties' ages at that date:
    # E2 100 days (young), E3 300 (old), E4 exactly 180 (old), E5 179 (young).
    est = {2: T - pd.Timedelta(days=300), 3: T - pd.Timedelta(days=500), 4: T - pd.Timedelta(days=380),
           5: T - pd.Timedelta(days=379)}
    ents = registry(5, established=est)
    inv = invoices([(1, 2, 200, 1000.0, False), (3, 1, 200, 3000.0, False), (1, 4, 200, 1000.0, False),
                    (5, 1, 200, 500.0, False)])
    got = compute(ents, inv)["invoice_young_counterparty_value_share_365d"]
    assert got[ids(1)[0]] == pytest.approx(1500 / 5500)
    assert got[ids(2)[0]] == 0.0  # E1 is old


def test_negative_list_share_respects_entered_and_exited_dates():
    ents = registry(6)
    inv = invoices([(1, k, 100, 1000.0, False) for k in (2, 3, 4, 5, 6)])
    abnormal = listings([
        (2, 200, None),  # on the list at the invoice and at T
        (4, 200, 10),  # exited before T: only at the invoice
        (5, 0, None),  # enters at T: not known before T
        (6, 300, 0),  # exits on T: still on the list at T (and at the invoice)
    ])
    serious = listings([(3, 50, None)])  # entered after the invoice: only at T
    got = compute(ents, inv, abnormal, serious).loc[ids(1)[0]]
    assert got["invoice_negative_counterparty_value_share_365d"] == pytest.approx(3000 / 5000)  # E2, E3, E6
    assert got["invoice_listed_counterparty_value_share_365d"] == pytest.approx(3000 / 5000)  # E2, E4, E6


def test_listed_on_days_joins_several_listings_per_entity():
    code, start, end = np.array([1, 1, 2]), np.array([0, 100, 0]), np.array([10, 200, 5])
    who, day = np.array([1, 1, 1, 2, 0]), np.array([5, 50, 150, 5, 5])
    assert listed_on_days(code, start, end, who, day).tolist() == [True, False, True, True, False]


def test_shared_identity_counts_other_live_entities_only():
    reps = {1: "r1", 2: "r1", 3: "r1", 4: "r1", 5: "r2"}
    addresses = {1: "a1", 2: "a9", 5: "a1"}
    ents = registry(
        5, established={4: T}, deregistered={3: T - pd.Timedelta(days=10)}, reps=reps, addresses=addresses
    )
    got = compute(ents, invoices([]), who=ids(1, 2, 5))
    # E3 is deregistered before T, E4 is established on T: neither is alive at T.
    assert got["shared_legal_rep_entities"].tolist() == [1.0, 1.0, 0.0]
    assert got["shared_address_entities"].tolist() == [1.0, 0.0, 1.0]


# ----------------------------------------------------------------------------- point in time


@st.composite
def _late_changes(draw: st.DrawFn) -> list[tuple[int, int, int, float, bool]]:
    n = draw(st.integers(1, 8))
    return [
        (draw(st.integers(1, 6)), draw(st.integers(1, 6)), -draw(st.integers(0, 400)),
         float(draw(st.sampled_from([1000.0, 55.5, 20000.0]))), draw(st.booleans()))
        for _ in range(n)
    ]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(late=_late_changes(), seed=st.integers(0, 10_000))
def test_invoices_known_at_or_after_as_of_change_nothing(late, seed):
    rng = np.random.default_rng(seed)
    early = [
        (int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 500)),
         float(rng.choice([1000.0, 333.3, 10000.0])), bool(rng.random() < 0.2))
        for _ in range(25)
    ]
    ents = registry(6, established={6: T - pd.Timedelta(days=100)}, reps={1: "r", 2: "r"})
    abnormal = listings([(2, 300, 20)])
    base = compute(ents, invoices(early), abnormal)
    # Later invoices, and later list entries, may involve entities unknown to the registry.
    more = invoices(early + late + [(9, 1, -5, 1000.0, False)])
    later_lists = listings([(2, 300, 20), (3, 0, None), (9, -10, None)])
    after = compute(ents, more, later_lists)
    pd.testing.assert_frame_equal(base, after)


def test_grid_order_is_kept_and_dates_are_independent():
    ents, inv = activity_fixture()
    dates = [T, T - pd.Timedelta(days=100), T + pd.Timedelta(days=30)]
    together = compute(ents, inv, at=dates)
    for d in dates:
        alone = compute(ents, inv, at=[d])
        day = d.value // 86_400_000_000_000
        np.testing.assert_array_equal(
            together.xs(day, level=1).to_numpy(), (alone.xs(day, level=1) if d != T else alone).to_numpy()
        )
    shuffled = pd.DataFrame({"entity_id": pd.Series(ids(3, 1, 2), dtype="str"), "as_of_day": [T_DAY] * 3})
    tables = {"entities": ents, "invoices": inv, "abnormal_list": listings(), "serious_violations": listings()}
    values, _ = network_features(tables, ents, shuffled, SPEC)
    expected = compute(ents, inv).loc[ids(3, 1, 2)].reset_index(drop=True)
    pd.testing.assert_frame_equal(values, expected)


# ----------------------------------------------------------------------------- spec and contract


def test_catalog_follows_the_panel_contract():
    cat = network_catalog(SPEC)
    assert list(cat.columns) == list(CATALOG_COLUMNS)
    assert list(cat.index) == SPEC.feature_names
    assert set(cat["kind"]) == {"cross"} and set(cat["dimension"]) == {"network"}
    assert set(load_dimension_spec().assign(cat)["dimension"]) == {"related"}  # SAMR: 关联关系信息
    assert not cat["inspection_driven"].any()
    assert set(cat["direction"]) <= {-1, 0, 1}
    assert cat.loc["invoice_counterparties_90d", "window_days"] == 90.0
    assert np.isnan(cat.loc["shared_legal_rep_entities", "window_days"])
    assert cat.loc["invoice_round_amount_share_365d", "where"] == '{"voided": false}'
    assert (cat["label_zh"].str.len() > 0).all() and (cat["label_en"].str.len() > 0).all()


def test_values_are_float64_with_a_range_index():
    ents, inv = activity_fixture()
    grid = pd.DataFrame({"entity_id": pd.Series(ids(1, 2), dtype="str"), "as_of_day": [T_DAY, T_DAY]})
    tables = {"entities": ents, "invoices": inv, "abnormal_list": listings(), "serious_violations": listings()}
    values, _ = network_features(tables, ents, grid, SPEC)
    assert isinstance(values.index, pd.RangeIndex)
    assert (values.dtypes == "float64").all()
    assert "rep1" not in values.to_string()


def _write(tmp_path, text: str):
    path = tmp_path / "network.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_errors_name_file_key_and_expectation(tmp_path):
    feature = "features:\n  - {name: x, measure: counterparties, window: 90d, label_zh: 甲, label_en: x, direction: 1}\n"
    with pytest.raises(SpecError, match=r"network.yaml: invoices.source: expected a declared source"):
        load_network_spec(_write(tmp_path, "invoices: {source: bills}\n" + feature))
    with pytest.raises(SpecError, match=r"invoices.amount: expected a column of type int or float"):
        load_network_spec(_write(tmp_path, "invoices: {source: invoices, amount: issued}\n" + feature))
    with pytest.raises(SpecError, match=r"features.0: .*needs a 'window'"):
        load_network_spec(_write(tmp_path, "features:\n  - {name: x, measure: voided_share, label_zh: 甲, label_en: x, direction: 1}\n"))
    with pytest.raises(SpecError, match=r"invoices.source: expected a source with a 'counterparty'"):
        load_network_spec(_write(tmp_path, "invoices: {source: penalties}\n" + feature))
    with pytest.raises(SpecError, match=r"features.0.measure"):
        load_network_spec(_write(tmp_path, feature.replace("counterparties", "pagerank")))


def test_missing_table_is_a_clear_error():
    ents, inv = activity_fixture()
    grid = pd.DataFrame({"entity_id": pd.Series(ids(1), dtype="str"), "as_of_day": [T_DAY]})
    with pytest.raises(ValueError, match=r"no table for sources \['abnormal_list', 'serious_violations'\]"):
        network_features({"entities": ents, "invoices": inv}, ents, grid, SPEC)


def test_custom_invoice_source_is_read_through_the_catalog(tmp_path):
    from riskml.records import load_sources

    (tmp_path / "sources.yaml").write_text(
        "sources:\n  bills:\n    entity_key: payee\n    counterparty: payer\n    record_id: bill_id\n"
        "    known_at: booked\n    columns:\n      bill_id: {type: str}\n      payee: {type: str}\n"
        "      payer: {type: str}\n      booked: {type: date}\n      value: {type: float}\n",
        encoding="utf-8",
    )
    spec = load_network_spec(_write(tmp_path, (
        "invoices: {source: bills, amount: value, voided: null}\n"
        "features:\n  - {name: bills_cycle, measure: on_cycle, window: 30d, label_zh: 循环, label_en: cycle, direction: 1}\n"
    )))
    ents = registry(2)
    bills = pd.DataFrame({"bill_id": ["b1", "b2"], "payee": ids(1, 2), "payer": ids(2, 1),
                          "booked": pd.to_datetime([T - pd.Timedelta(days=5)] * 2), "value": [1.0, 2.0]})
    grid = pd.DataFrame({"entity_id": pd.Series(ids(1, 2), dtype="str"), "as_of_day": [T_DAY, T_DAY]})
    from riskml.features._sources import resolve_sources

    catalog = resolve_sources(tmp_path, None)
    assert "bills" not in load_sources()
    values, cat = network_features({"entities": ents, "bills": bills}, ents, grid, spec, catalog)
    assert values["bills_cycle"].tolist() == [1.0, 1.0]
    assert cat.loc["bills_cycle", "source"] == "bills"


def test_spec_without_features_gives_no_columns(tmp_path):
    spec = load_network_spec(_write(tmp_path, "features: []\n"))
    ents, inv = activity_fixture()
    grid = pd.DataFrame({"entity_id": pd.Series(ids(1), dtype="str"), "as_of_day": [T_DAY]})
    tables = {"entities": ents, "invoices": inv, "abnormal_list": listings(), "serious_violations": listings()}
    values, cat = network_features(tables, ents, grid, spec)
    assert values.shape == (1, 0) and cat.empty and list(cat.columns) == list(CATALOG_COLUMNS)


def test_registration_not_yet_known_does_not_make_a_counterparty_young(tmp_path):
    # A registry whose knowledge time is later than the registration date.
    ents = registry(2, established={2: T - pd.Timedelta(days=300)})
    ents["published"] = ents["established"]
    ents.loc[1, "published"] = T + pd.Timedelta(days=5)
    from riskml.records import load_sources

    base = load_sources()
    catalog = base.model_copy(update={"sources": {**base.sources, "entities": base.entities.model_copy(update={
        "known_at": "published",
        "columns": {**base.entities.columns, "published": base.entities.columns["established"]},
    })}})
    inv = invoices([(1, 2, 200, 1000.0, False)])
    grid = pd.DataFrame({"entity_id": pd.Series(ids(1), dtype="str"), "as_of_day": [T_DAY]})
    tables = {"entities": ents, "invoices": inv, "abnormal_list": listings(), "serious_violations": listings()}
    values, _ = network_features(tables, ents, grid, SPEC, catalog)
    assert values.loc[0, "invoice_young_counterparty_value_share_365d"] == 0.0


@settings(max_examples=50, deadline=None)
@given(edges=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=30))
def test_cycle_edges_agree_with_brute_force(edges):
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    have = {(i, j) for i, j in edges if i != j}
    expected = [
        i != j and ((j, i) in have or any((j, k) in have and (k, i) in have for k in range(8) if k not in (i, j)))
        for i, j in edges
    ]
    assert cycle_edges(src, dst, 8).tolist() == expected


def test_shell_companies_stand_out_on_the_synthetic_market():
    synth = pytest.importorskip("riskml.synth")
    if not hasattr(synth, "make_market"):
        pytest.skip("riskml.synth.make_market is not available")
    market = synth.make_market(n_entities=4000, seed=1, shell_share=0.05)
    ents = market.records["entities"]
    days = pd.date_range("2021-01-01", "2024-10-01", freq="QS").to_numpy(dtype="datetime64[D]").astype(np.int64)
    est = ents["established"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    ended = ents["deregistered"].to_numpy(dtype="datetime64[D]")
    ended = np.where(np.isnat(ended), np.iinfo(np.int64).max, ended.astype(np.int64))
    grid = pd.concat(
        [pd.DataFrame({"entity_id": ents["entity_id"][(est < t) & (ended >= t)].to_numpy(), "as_of_day": t}) for t in days],
        ignore_index=True,
    )
    grid["entity_id"] = grid["entity_id"].astype("str")
    values, _ = network_features(dict(market.records.items()), ents, grid, SPEC, market.records.catalog)
    truth = market.truth.entities
    shell = grid["entity_id"].map(dict(zip(truth["entity_id"].astype(str), truth["is_shell"], strict=True))).astype(bool)
    trading = values["invoice_counterparties_365d"] > 0
    assert (shell & trading).sum() > 20
    shells, others = values[shell & trading].mean(), values[~shell & trading].mean()
    for name in ("invoice_cycle_value_share_365d", "invoice_round_amount_share_365d", "invoice_voided_share_365d",
                 "invoice_new_counterparty_share_90d", "invoice_young_counterparty_value_share_365d"):
        assert shells[name] > others[name] + 0.05, name


@st.composite
def _graph_history(draw: st.DrawFn) -> list[tuple[int, int, int, float, bool]]:
    """Invoices among 8 entities over ~3 years: repeated pairs, cycles, voids, self-invoices."""
    n = draw(st.integers(0, 60))
    return [
        (draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(st.integers(-30, 1200)),
         float(draw(st.sampled_from([1000.0, 55.5, 20000.0, 0.01]))), draw(st.booleans()))
        for _ in range(n)
    ]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_graph_history(), offsets=st.sets(st.integers(-1, 1300), min_size=2, max_size=6))
def test_windows_carried_from_date_to_date_equal_windows_rebuilt_per_date(rows, offsets):
    # network_features updates each window from the previous as-of date; computed one
    # date at a time every window is built from scratch. Both must agree exactly, on
    # any as-of grid (dates close together, far apart, before the first invoice).
    ents = registry(8, established={7: T - pd.Timedelta(days=400)}, deregistered={8: T - pd.Timedelta(days=300)})
    inv = invoices(rows)
    lists = listings([(2, 500, 100), (5, 50, None)])
    dates = [T - pd.Timedelta(days=k) for k in sorted(offsets)]
    together = compute(ents, inv, lists, at=dates)
    for d in dates:
        alone = compute(ents, inv, lists, at=[d])
        day = d.value // 86_400_000_000_000
        np.testing.assert_array_equal(together.xs(day, level=1).to_numpy(),
                                      (alone.xs(day, level=1) if d != T else alone).to_numpy())


def _reference(rows: list[tuple[int, int, int, float, bool]], e: int, t: int) -> dict[str, float]:
    """The invoice measures of entity ``e`` at day ``t``, from the invoice list as written."""
    def window(w: int, live: bool = True) -> list[tuple[int, int, int, float, bool]]:
        return [r for r in rows if t - w <= T_DAY - r[2] < t and not (live and r[4])]

    def share(num: float, den: float) -> float:
        return num / den if den > 0 else math.nan

    def counterparties(rs: list) -> set[int]:
        return {r[1] if r[0] == e else r[0] for r in rs if e in r[:2] and r[0] != r[1]}

    first: dict[frozenset[int], int] = {}  # first day a pair traded (live invoices)
    for s, b, ago, _, voided in rows:
        if not voided:
            first[frozenset((s, b))] = min(first.get(frozenset((s, b)), T_DAY - ago), T_DAY - ago)
    w90, w365 = window(90), window(365)
    edges = {(s, b) for s, b, *_ in w365 if s != b}
    nodes = {n for edge in edges for n in edge}

    def on_cycle(s: int, b: int) -> bool:
        return (b, s) in edges or any((b, k) in edges and (k, s) in edges for k in nodes)

    sold = sum(r[3] for r in w365 if r[0] == e)
    bought = sum(r[3] for r in w365 if r[1] == e)
    mine = [r for r in w365 if r[0] == e] + [r for r in w365 if r[1] == e]  # a self-invoice at both ends
    sold_all = [r for r in window(365, live=False) if r[0] == e]
    cp90 = counterparties(w90)
    return {
        "invoice_counterparties_90d": float(len(cp90)),
        "invoice_counterparties_365d": float(len(counterparties(w365))),
        "invoice_new_counterparty_share_90d": share(sum(first[frozenset((e, c))] >= t - 90 for c in cp90), len(cp90)),
        "invoice_in_out_log_ratio_365d": math.log1p(bought) - math.log1p(sold) if mine else math.nan,
        "invoice_round_amount_share_365d": share(sum(r[3] for r in w365 if r[0] == e and r[3] in (1000.0, 20000.0)), sold),
        "invoice_burstiness_90d": share(sum(r[0] == e for r in w90) / 90, sum(r[0] == e for r in w365) / 365),
        "invoice_voided_share_365d": share(sum(r[4] for r in sold_all), len(sold_all)),
        "invoice_cycle_value_share_365d": share(sum(r[3] for r in mine if r[0] != r[1] and on_cycle(*r[:2])), sold + bought),
        "invoice_on_cycle_365d": float(any(r[0] != r[1] and on_cycle(*r[:2]) for r in mine)),
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_graph_history(), offsets=st.sets(st.integers(-1, 1300), min_size=2, max_size=5))
def test_invoice_measures_equal_a_plain_reference_at_every_date(rows, offsets):
    # The windows carried from date to date, the live-invoice slices and the counts
    # derived from them (voided = all - live, new pairs = pairs whose first invoice is
    # in the window) against each measure's definition, entity by entity.
    ents = registry(8)
    dates = [T - pd.Timedelta(days=k) for k in sorted(offsets)]
    got = compute(ents, invoices(rows), at=dates)
    for d in dates:
        t = d.value // 86_400_000_000_000
        for e in range(1, 9):
            want = _reference(rows, e, t)
            row = got.loc[(ids(e)[0], t), list(want)].to_numpy(dtype=np.float64)
            np.testing.assert_allclose(row, list(want.values()), rtol=1e-12, err_msg=f"E{e} at {d.date()}")
