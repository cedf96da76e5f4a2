"""tree_contributions equals LightGBM's pred_contrib (exact TreeSHAP) on real boosters."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest

import riskml.explain._treeshap as treeshap
from riskml.explain import tree_contributions

TOL = 1e-9


def _assert_exact(booster, X) -> np.ndarray:  # type: ignore[no-untyped-def]
    fast = tree_contributions(booster, X, min_rows=0)
    reference = booster.predict(X, pred_contrib=True)
    assert fast.shape == reference.shape
    assert np.abs(fast - reference).max() <= TOL
    return fast


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pred_contrib_with_categories_and_missing_values(make_market, make_booster, seed: int) -> None:
    X, y = make_market(3000, seed)
    booster = make_booster(X, y, seed)
    dump = booster.dump_model()
    assert any("==" in str(t["tree_structure"]) for t in dump["tree_info"])  # categorical splits exist
    fresh, _ = make_market(2500, seed + 100)  # rows the model has not seen, incl. NaN categories
    contrib = _assert_exact(booster, fresh)
    np.testing.assert_allclose(contrib.sum(axis=1), booster.predict(fresh, raw_score=True), atol=1e-9)


def test_values_exactly_on_split_thresholds_and_in_the_zero_band(make_market, make_booster) -> None:
    X, y = make_market(3000, 7)
    booster = make_booster(X, y, 7)
    trees = booster.trees_to_dataframe()
    numeric = trees[trees["decision_type"] == "<="].dropna(subset=["threshold"])
    probe = X.iloc[:2000].copy()
    rng = np.random.default_rng(0)
    for _, split in numeric.sample(200, random_state=0, replace=True).iterrows():
        rows = rng.integers(0, len(probe), 20)
        probe.loc[probe.index[rows], split["split_feature"]] = float(split["threshold"])
    probe.iloc[:50, 0] = 1e-36
    probe.iloc[50:100, 0] = -0.0
    probe.iloc[100:150, 13] = -1e-36
    _assert_exact(booster, probe)


@pytest.mark.parametrize(
    "params",
    [
        {"zero_as_missing": True},
        {"use_missing": False},
        {"num_leaves": 63, "min_data_in_leaf": 5, "rounds": 15},
        {"max_cat_to_onehot": 64},  # one-vs-rest categorical splits
    ],
)
def test_missing_value_modes_and_deep_trees(make_market, make_booster, params: dict) -> None:
    X, y = make_market(3000, 3)
    booster = make_booster(X, y, 3, **dict(params))
    _assert_exact(booster, make_market(2000, 4)[0])


def test_numpy_input_with_integer_coded_categories(make_market, make_booster) -> None:
    X, y = make_market(3000, 5)
    matrix = X.assign(
        industry=X["industry"].cat.codes.replace(-1, np.nan).astype(float),
        district=X["district"].cat.codes.astype(float),
    ).to_numpy()
    n = matrix.shape[1]
    booster = make_booster(matrix, y, 5, categorical_feature=[n - 2, n - 1])
    probe = matrix[:2000].copy()
    probe[:30, n - 2] = -0.5  # truncates to category 0 in LightGBM
    probe[30:60, n - 2] = -3.0  # negative: goes right
    probe[60:90, n - 2] = 99.0  # unseen category
    probe[90:120, n - 2] = 2.7  # truncates to 2
    probe[120:150, n - 2] = -1.0  # the first value the cast makes negative: goes right
    probe[150:180, n - 2] = -0.99  # still category 0
    probe[180:210, n - 1] = 1e10  # past int range: goes right
    probe[210:240, n - 1] = 4e3  # past every bitset word
    _assert_exact(booster, probe)


def test_leaves_computed_without_tables_are_exact(make_market, make_booster, monkeypatch) -> None:
    X, y = make_market(3000, 8)
    booster = make_booster(X, y, 8, num_leaves=31, min_data_in_leaf=5, rounds=10)
    monkeypatch.setattr(treeshap, "_CACHE", OrderedDict())
    monkeypatch.setattr(treeshap, "MAX_TABLE_DEPTH", 2)
    prepared = treeshap._prepared_for(booster)
    assert isinstance(prepared, treeshap._Prepared)
    assert (prepared.table_offset < 0).any()
    _assert_exact(booster, X.iloc[:1500])


def test_tabulated_leaves_equal_leaves_computed_on_the_fly_bit_for_bit(make_market, make_booster, monkeypatch) -> None:
    # Both read the same per-leaf formula and add in the same order: any slip in how the
    # tables are laid out or indexed (patterns, categorical splits) shows as a difference.
    X, y = make_market(3000, 11)
    booster = make_booster(X, y, 11, num_leaves=31, min_data_in_leaf=5, rounds=15)
    probe, _ = make_market(2500, 12)
    monkeypatch.setattr(treeshap, "_CACHE", OrderedDict())
    tabulated = tree_contributions(booster, probe, min_rows=0)
    assert (treeshap._prepared_for(booster).table_offset >= 0).all()
    monkeypatch.setattr(treeshap, "_CACHE", OrderedDict())
    monkeypatch.setattr(treeshap, "MAX_TABLE_DEPTH", 0)
    on_the_fly = tree_contributions(booster, probe, min_rows=0)
    assert (treeshap._prepared_for(booster).table_offset < 0).all()
    np.testing.assert_array_equal(tabulated, on_the_fly)


def test_small_inputs_and_unsupported_boosters_use_pred_contrib(make_market, make_booster) -> None:
    X, y = make_market(1500, 9)
    booster = make_booster(X, y, 9, rounds=5)
    np.testing.assert_allclose(tree_contributions(booster, X.iloc[:3]), booster.predict(X.iloc[:3], pred_contrib=True))
    multi = make_booster(X, y % 3 + (X["flag"].to_numpy() > 0), 9, objective="multiclass", num_class=3, rounds=3)
    out = tree_contributions(multi, X, min_rows=0)
    np.testing.assert_allclose(out, multi.predict(X, pred_contrib=True), atol=TOL)


def test_single_leaf_trees_add_only_to_the_base_value(make_booster) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = (rng.random(500) < 0.3).astype(int)
    booster = make_booster(X, y, 0, min_data_in_leaf=400, rounds=3)  # no split possible
    _assert_exact(booster, X)


def test_bad_inputs_give_clear_errors(make_market, make_booster) -> None:
    X, y = make_market(1500, 10)
    booster = make_booster(X, y, 10, rounds=3)
    with pytest.raises(ValueError, match="expects 17 features"):
        tree_contributions(booster, X.iloc[:, :-3].astype(float).to_numpy())
    with pytest.raises(TypeError, match="category"):
        tree_contributions(booster, X.assign(district=X["district"].astype(str)))
    with pytest.raises(ValueError, match="categorical"):
        tree_contributions(booster, X.assign(industry=X["industry"].cat.codes.astype(float)))


def test_concurrent_calls_from_threads_agree(make_market, make_booster) -> None:
    from concurrent.futures import ThreadPoolExecutor

    X, y = make_market(2500, 13)
    booster = make_booster(X, y, 13, rounds=10)
    with ThreadPoolExecutor(max_workers=3) as pool:
        outs = list(pool.map(lambda _: tree_contributions(booster, X, min_rows=0), range(3)))
    reference = booster.predict(X, pred_contrib=True)
    for out in outs:
        assert np.abs(out - reference).max() <= TOL
