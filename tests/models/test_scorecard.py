"""The scorecard model kind: a published points table that is the model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import riskml
from riskml._specs import load_yaml, resolve_spec
from riskml.grading import GradePolicy
from riskml.models import ScorecardModel, fit_model
from riskml.models._scorecard import PointsTable, spreadsheet_safe
from riskml.models._testing import toy_panel

BACKTEST = {"test_dates": "last 1", "min_train_dates": 2}
CREDIT_POLICY = GradePolicy.from_model_spec("credit")


def _spec(**model) -> dict:
    return {**load_yaml(resolve_spec("models", "credit")), "model": {"kind": "scorecard", **model}}


@pytest.fixture(scope="module")
def card():
    """A scorecard on the toy panel."""
    panel, labels = toy_panel(n_entities=1_000, n_dates=16, seed=3)
    return panel, labels, fit_model(panel, labels, _spec(), backtest=BACKTEST)


def _interval_points(table: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Points of each row read from the published table alone (parsing its ``bin`` column)."""
    total = np.zeros(len(frame))
    for feature, rows in table[table["feature"] != "base"].groupby("feature", sort=False):
        values = frame[feature]
        got = np.full(len(frame), np.nan)
        for label, points in zip(rows["bin"], rows["points"], strict=True):
            if label in ("missing", "missing or other"):
                got = np.where(np.isnan(got), points, got)  # whatever no range took
            elif label.startswith(("[", "(")):
                lo, hi = (float(x) for x in label[1:-1].split(", "))
                x = values.to_numpy(dtype=np.float64, na_value=np.nan)
                got = np.where((x >= lo) & (x < hi), points, got)
            else:
                got = np.where(values.astype("str").isin(label.split(", ")).to_numpy(), points, got)
        total += got
    return total


def test_score_is_base_plus_the_published_points_for_every_entity(card, tmp_path):
    panel, _, result = card
    model = result.model
    published = pd.read_csv(model.export_points_table(tmp_path / "points.csv"), encoding="utf-8-sig")
    base = float(published.loc[published["feature"] == "base", "points"].iloc[0])
    expected = base + _interval_points(published, panel.frame)
    np.testing.assert_array_equal(model.score(panel.frame)["score"].to_numpy(), expected)  # exact


CATEGORIES = ["retail", "food", "wholesale", "services", "transport"]


@st.composite
def tables_and_rows(draw: st.DrawFn) -> tuple[PointsTable, pd.DataFrame]:
    """A points table of one numeric and one categorical feature, and rows that hit every kind of bin."""
    finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
    edges = sorted(draw(st.sets(finite, min_size=1, max_size=5)))
    whole = st.integers(-120, 120).map(float)
    order = draw(st.permutations(CATEGORIES))
    cut = draw(st.integers(1, len(CATEGORIES)))
    groups = [order[:cut], *([order[cut:]] if cut < len(CATEGORIES) - 1 else [])]
    rows = {"x": {"edges": edges, "points": draw(st.lists(whole, min_size=len(edges) + 1, max_size=len(edges) + 1)),
                  "missing": draw(whole)},
            "kind": {"groups": groups, "points": draw(st.lists(whole, min_size=len(groups), max_size=len(groups))),
                     "missing": draw(whole)}}
    table = PointsTable(features=("x", "kind", "unused"), base=draw(whole), offset=427.07, factor=57.71, rows=rows)
    n = draw(st.integers(1, 30))
    x = draw(st.lists(st.one_of(st.sampled_from(edges), finite, st.just(float("nan"))), min_size=n, max_size=n))
    kinds = draw(st.lists(st.sampled_from([*CATEGORIES, "unseen", None]), min_size=n, max_size=n))
    frame = pd.DataFrame({"x": x, "kind": pd.Categorical(kinds), "unused": 0.0})
    return table, frame


@settings(max_examples=60, deadline=None)
@given(tables_and_rows())
def test_any_published_table_adds_up_to_the_score_exactly(tmp_path_factory, case):
    """Values on a bin edge, outside every range, missing or unseen: the CSV a business reads gives the score."""
    from riskml.models._scorecard import export_points_table

    table, frame = case
    path = export_points_table(table.table(), tmp_path_factory.mktemp("t") / "points.csv")
    published = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    base = float(published.loc[published["feature"] == "base", "points"].iloc[0])
    np.testing.assert_array_equal(table.score(frame), base + _interval_points(published, frame))


def test_points_are_monotone_in_each_features_declared_direction(card):
    panel, _, result = card
    table = result.model.points_table()
    checked = 0
    for feature, rows in table[table["feature"] != "base"].groupby("feature"):
        direction = int(panel.catalog.loc[feature, "direction"])
        points = rows.loc[~rows["bin"].isin(["missing", "missing or other"]), "points"].to_numpy()
        if direction == 0 or feature == "industry":
            continue
        steps = np.diff(points) * direction  # more risk -> fewer points
        assert (steps <= 0).all(), (feature, points)
        checked += 1
    assert checked >= 3


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.sampled_from([1, -1, 0]), min_size=3, max_size=3),
       st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3), st.floats(0.2, 3.0))
def test_fitted_points_follow_every_declared_direction_whatever_the_data(seed, directions, effects, slope):
    """Declared directions hold even where the data disagree (a wrong declaration gets flat points, never reversed)."""
    from riskml.models._scorecard import WoeRegression, fit_woe_regression
    from riskml.models._spec import ModelKindSpec

    rng = np.random.default_rng(seed)
    names = ["a", "b", "c"]
    X = pd.DataFrame({n: np.round(rng.gamma(2.0, 2.0, 3000), 1) for n in names})
    X.loc[rng.random(3000) < 0.05, "b"] = np.nan
    logit = -2.0 + sum(e * (X[n].fillna(4.0) - 4.0) / 3.0 for n, e in zip(names, effects, strict=True))
    y = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(int)
    catalog = pd.DataFrame({"direction": directions}, index=names)
    fit = fit_woe_regression(X, y, catalog, [], ModelKindSpec(kind="scorecard", min_iv=0.0))
    assert isinstance(fit, WoeRegression)
    table = fit.points_table(CREDIT_POLICY, slope, 0.0)
    for name, direction in zip(names, directions, strict=True):
        if name not in table.rows or direction == 0:
            continue
        points = np.asarray(table.rows[name]["points"])
        assert (np.diff(points) * direction <= 0).all(), (name, direction, points)


def test_scorecard_saves_loads_and_explains_in_table_points(card, tmp_path):
    from riskml.explain import tree_contributions
    from riskml.explain._points import points_from_contributions
    from riskml.models._pyfunc import predict_frame

    panel, _, result = card
    model = result.model
    loaded = ScorecardModel.load(model.save(tmp_path / "m"))
    rows = panel.frame.tail(300).reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded.score(rows), model.score(rows))
    from riskml.models import ModelFileError

    (tmp_path / "m" / "scorecard.json").write_text('{"format": "riskml.ScorecardModel/1", "rows"', encoding="utf-8")
    with pytest.raises(ModelFileError, match="scorecard.json"):
        ScorecardModel.load(tmp_path / "m")
    assert predict_frame(loaded, rows)["score"].tolist() == model.score(rows)["score"].tolist()
    # explanations are the table's rows: each feature's points are the points of the entity's bin
    base, points = points_from_contributions(tree_contributions(model.booster, model.matrix(rows)), model.policy,
                                             model.calib_a, model.calib_b)
    applied = model.applied_rows(rows).pivot(index="row", columns="feature", values="points")
    by_feature = pd.DataFrame(points, columns=list(model.features))[applied.columns]
    np.testing.assert_allclose(by_feature.to_numpy(), applied.to_numpy(), atol=1e-9)
    assert np.allclose(base, model.booster.base, atol=1e-9)


def test_scorecard_grades_by_the_specs_bands_then_its_overrides(card):
    panel, _, result = card
    model = result.model
    scores = model.score(panel.frame)
    names, mins = list(model.policy.grade_names), np.append(model.policy.min_scores, -np.inf)
    # the band of each published score: the best grade whose minimum it reaches
    band = np.array(names)[np.argmax(scores["score"].to_numpy()[:, None] >= mins[None, :], axis=1)]
    assert (scores["grade_by_score"].astype("str").to_numpy() == band).all()
    serious = panel.frame["serious_violations_on_list"].to_numpy() >= 1
    abnormal = (panel.frame["abnormal_list_on_list"].to_numpy() >= 1) & ~serious
    assert serious.sum() >= 10 and abnormal.sum() >= 10
    assert (scores.loc[serious, "grade"].astype("str") == "D").all()
    lowered = serious & (scores["grade_by_score"].astype("str").to_numpy() != "D")  # the override moved these
    assert lowered.sum() >= 5 and scores.loc[lowered, "override"].str.contains("serious_violation_list").all()
    assert scores.loc[abnormal, "grade"].astype("str").isin(["C", "D"]).all()
    clean = ~serious & ~abnormal
    assert (scores.loc[clean, "grade"].astype("str") == scores.loc[clean, "grade_by_score"].astype("str")).all()
    assert (scores.loc[clean, "override"] == "").all()


def test_exports_are_spreadsheet_safe_and_html_escapes(tmp_path):
    table = PointsTable(features=("x",), base=600.0, offset=427.07, factor=57.71,
                        rows={"x": {"groups": [["=cmd|' /C calc'!A0"], ["<b>ok</b>"]], "points": [-5.0, 5.0],
                                    "missing": 0.0}}).table()
    from riskml.models._scorecard import export_points_table

    text = export_points_table(table, tmp_path / "t.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text
    page = export_points_table(table, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;ok&lt;/b&gt;" in page and "<b>ok</b>" not in page
    xlsx = pd.read_excel(export_points_table(table, tmp_path / "t.xlsx"))
    assert xlsx["bin"].str.startswith("'=").any()
    with pytest.raises(ValueError, match=r"\.csv, \.xlsx or \.html"):
        export_points_table(table, tmp_path / "t.pdf")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6))
def test_spreadsheet_safe_leaves_no_cell_a_spreadsheet_would_run(cells):
    safe = spreadsheet_safe(pd.DataFrame({"c": cells}))["c"]
    assert not safe.str.startswith(("=", "+", "-", "@", "\t", "\r")).any()
    assert [s.removeprefix("'") if c != s else s for c, s in zip(cells, safe, strict=True)] == cells


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=6), st.floats(0.1, 3), st.floats(-2, 2))
def test_scaling_keeps_points_in_the_woe_order(woe, a, b):
    """Points follow -WoE * coefficient (< 0) * slope (> 0): a bin with more events never gets more points."""
    from riskml.models._scorecard import WoeRegression

    woe = sorted(woe, reverse=True)  # event rate ascending
    fit = WoeRegression(features=("x",), rows={"x": {"edges": list(range(len(woe) - 1)), "woe": woe,
                                                     "missing_woe": 0.0}},
                        coef={"x": -0.8}, intercept=-2.0, iv={})
    table = fit.points_table(CREDIT_POLICY, a, b)
    assert math.isfinite(table.base) and float(table.base).is_integer()
    if "x" not in table.rows:  # every bin worth less than half a point: nothing published
        assert np.all(np.abs(0.8 * a * CREDIT_POLICY.factor * np.asarray(woe)) <= 0.5)
        return
    points = table.rows["x"]["points"]
    assert all(p >= q for p, q in zip(points, points[1:], strict=False))
    assert all(float(p).is_integer() for p in points)


def test_predict_and_explain_with_a_scorecard_champion(tmp_path, monkeypatch):
    monkeypatch.setenv("RISKML_HOME", str(tmp_path / "home"))
    market = riskml.synth.make_market(n_entities=500, seed=5)
    records = riskml.records.validate(market.records, mode="strict")
    spec = tmp_path / "credit.yaml"
    spec.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    features = ["penalties_count_365d", "complaints_count_365d", "abnormal_list_on_list",
                "serious_violations_on_list", "registered_capital", "industry"]
    result = riskml.train(records, spec, features=features, backtest={"test_dates": "last 1"})
    assert isinstance(result.model, ScorecardModel)
    assert riskml.promote("credit").promoted
    scores = riskml.predict(records, target="credit", explain=2)
    assert set(scores["grade"].astype(str)) <= {"A", "B", "C", "D"}
    panel = riskml.build_panel(records, [scores["as_of"].iloc[0]])
    np.testing.assert_array_equal(scores["score"].to_numpy(), result.model.score(panel)["score"].to_numpy())
    worst = scores.sort_values(["score", "entity_id"]).iloc[0]
    explanation = riskml.explain(worst["entity_id"], worst["as_of"], records=records)
    assert explanation.score == pytest.approx(worst["score"], abs=1e-9)
    # its feature rows are the table rows that applied, with the table's points
    rows = explanation.to_frame().query("bin != ''").set_index("feature")
    table = result.model.points_table().set_index(["feature", "bin"])["points"]
    for feature, row in rows.iterrows():
        assert row["points"] == pytest.approx(table[(feature, row["bin"])], abs=1e-9)
    assert len(rows) == result.model.points_table()["feature"].nunique() - 1
    # its reasons are traced to the entity's own records, as a LightGBM model's are
    catalog = result.model.catalog
    counted = 0
    for reason in explanation.reasons:
        evidence = reason["evidence"]
        assert (evidence["entity_id"].astype("str") == str(worst["entity_id"])).all()
        assert (evidence["known_at"] < pd.Timestamp(worst["as_of"])).all()
        if catalog.loc[reason["feature"], "aggregation"] == "count":
            assert len(evidence) == reason["value"], reason["feature"]
            counted += 1
    assert counted >= 1
    # the run carries the points table and the feature screening
    from riskml.tracking import configure, resolve_version

    client = configure().client()
    logged = {a.path for d in ("scorecard", "screening", "plots") for a in client.list_artifacts(result.run_id, d)}
    assert {"scorecard/points.csv", "scorecard/points.html", "screening/features.csv",
            "plots/shap_beeswarm.png"} <= logged
    # the promotion gates read a scorecard champion's logged backtest like any other
    card_version = str(resolve_version("credit", alias="champion").version)
    booster = riskml.train(records, "credit", features=features, backtest={"test_dates": "last 1"},
                           params={"n_estimators": 20})
    decision = riskml.promote("credit")
    assert decision.champion_version == card_version and decision.challenger_version != card_version
    gates = {g.name: g for g in decision.gates}
    assert {"max_auc_drop", "max_calibration_error_increase", "max_score_psi"} <= set(gates)

    def on_split(fit, metric):
        m = fit.fit.metrics
        rows = m[(m["metric"] == metric) & (m["population"] == "all")]
        return float(rows.loc[pd.to_datetime(rows["split"]) == pd.Timestamp(decision.split), "value"].item())

    assert gates["max_auc_drop"].value == pytest.approx(on_split(result, "auc") - on_split(booster, "auc"), abs=1e-9)
    assert gates["max_calibration_error_increase"].value == pytest.approx(
        on_split(booster, "calibration_error") - on_split(result, "calibration_error"), abs=1e-9)
    assert gates["max_score_psi"].value is not None and gates["max_score_psi"].value >= 0
    assert decision.promoted == all(g.passed for g in decision.gates)
    assert "plots/shap_beeswarm.png" in {a.path for a in client.list_artifacts(booster.run_id, "plots")}


def test_a_feature_whose_points_all_round_to_zero_is_not_published():
    from riskml.grading import GradePolicy
    from riskml.models._scorecard import WoeRegression

    fit = WoeRegression(features=("x", "y"), rows={
        "x": {"edges": [1.0], "woe": [0.5, -0.5], "missing_woe": 0.0},
        "y": {"edges": [1.0], "woe": [0.001, -0.001], "missing_woe": 0.0}},
        coef={"x": -0.8, "y": -0.01}, intercept=-2.0, iv={})
    table = fit.points_table(GradePolicy.from_model_spec("credit"), 1.0, 0.0)
    assert set(table.rows) == {"x"} and set(table.table()["feature"]) == {"base", "x"}


def test_the_model_kind_is_checked_where_the_spec_is_read(tmp_path):
    from riskml import SpecError
    from riskml import tune
    from riskml.models import load_model_spec

    with pytest.raises(SpecError, match="model.kind"):
        load_model_spec({**_spec(), "model": {"kind": "xgboost"}})
    with pytest.raises(SpecError, match="model.max_bins"):
        load_model_spec(_spec(max_bins=1))
    assert load_model_spec("credit").model.kind == "lightgbm"
    panel, labels = toy_panel(n_entities=50, n_dates=16, seed=0)
    spec = tmp_path / "credit.yaml"
    spec.write_text(yaml.safe_dump(_spec()), encoding="utf-8")
    with pytest.raises(ValueError, match="model kind 'scorecard'"):
        tune(panel, str(spec), labels=labels, n_trials=1, log=False)
    with pytest.raises(ValueError, match="LightGBM parameters"):
        fit_model(panel, labels, _spec(), backtest=BACKTEST, params={"n_estimators": 5})
