"""The credit grade's through-the-cycle model: what it reads, how it is calibrated,
and that no compliant act can lower its score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskml.explain._whatif import _apply, entity_records, entity_row, load_actions, negative_sources
from riskml.models import RiskModel
from riskml.models._grade_model import compliant_effect, grade_features, grade_score_spec
from riskml.models._policy import grade_frame
from grade_case import grade_case
from lgbm_threads import lightgbm_thread_counts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _case():
    return grade_case()


def test_grade_model_reads_only_conduct_features_monotone_in_their_direction():
    case = _case()
    grade = case.fit.model.grade_model
    assert grade is not None
    cat = case.panel.catalog.loc[list(grade.features)]
    conduct = cat[cat["kind"] != "static"]
    assert len(conduct) > 10
    assert all(compliant_effect(r.aggregation, int(r.direction), r.status) == "never_lowers"
               for r in conduct.itertuples())
    assert not cat["aggregation"].isin(["days_since_last", "days_since_first", "days_to_expiry", "share",
                                        "latest", "age"]).any()
    constraints = grade.booster.dump_model()["monotone_constraints"]
    assert constraints == [int(d) if k != "static" or d else 0 for d, k in zip(cat["direction"], cat["kind"])]


def test_point_in_time_drop_features_leave_the_grade_models_features_alone():
    """credit.yaml drops the filing-deadline features from the point-in-time model only:
    the grade model still reads them through its grade_score section."""
    from riskml.models import load_model_spec

    case = _case()
    dropped = load_model_spec("credit").model.drop_features
    assert dropped, "models/credit.yaml declares drop_features"
    model = case.fit.model
    assert not set(dropped) & set(model.features)
    assert set(dropped) <= set(model.grade_model.features)


def test_probability_is_point_in_time_and_score_is_the_grade_models():
    case = _case()
    model = case.fit.model
    rows = case.panel.frame[case.panel.frame["as_of"] == pd.Timestamp(DATES_LAST)].reset_index(drop=True)
    scored = model.score(rows)
    np.testing.assert_allclose(scored["probability"], model.predict_proba(rows))
    own = model.grade_model.score(rows)
    np.testing.assert_allclose(scored["score"], own["score"])
    assert scored["grade"].tolist() == own["grade"].tolist()


def test_grade_model_is_calibrated_to_the_long_run_rate():
    case = _case()
    grade = case.fit.model.grade_model
    assert grade.metadata["calibration"] == "long_run"
    lab = case.labels
    frame = case.panel.frame
    train_to = pd.Timestamp(case.fit.grade.splits["train_to"].iloc[-1])
    cal = pd.to_datetime(str(case.fit.grade.splits["calibration_as_of"].iloc[-1]).split(","))
    rows = (lab["complete"] & lab["in_population"]).to_numpy() & ((frame["as_of"] <= train_to) | frame["as_of"].isin(cal)).to_numpy()
    mean_p = grade.predict_proba(frame.loc[rows]).mean()
    assert mean_p == pytest.approx(lab["label"].to_numpy()[rows].mean(), rel=1e-6)


def test_grade_model_round_trips_through_save_and_load(tmp_path):
    model = _case().fit.model
    loaded = RiskModel.load(model.save(tmp_path / "m"))
    rows = _case().panel.frame.head(200)
    pd.testing.assert_frame_equal(loaded.score(rows), model.score(rows))


def test_grade_score_section_is_validated():
    from riskml import SpecError

    with pytest.raises(SpecError, match="grade_score.aggregations"):
        grade_score_spec({"grade_score": {"aggregations": ["share"]}})
    cat = pd.DataFrame({"aggregation": ["share"], "direction": [1], "kind": ["window"], "status": ["all"]}, index=["s"])
    with pytest.raises(ValueError, match="no feature of the catalog fits"):
        grade_features(cat, grade_score_spec({"grade_score": {}}))


DATES_LAST = "2024-07-01"
AS_OFS = ["2023-10-01", "2024-04-01", "2024-07-01", "2025-01-01"]


def _all_changes(case, entity_id: str, as_of: pd.Timestamp):
    """Every declared action on every record of the entity it applies to (not only top reasons)."""
    sources = case.spec.sources
    negative = negative_sources(case.fit.model.grade_model.catalog)
    own = entity_records(case.records, entity_id, sources)
    day = int(as_of.value // 86_400_000_000_000)
    for action in load_actions(sources=sources).actions:
        if action.kind == "add_record":
            yield action, {action.source: _apply(action, own[action.source], None, entity_id, day, sources, action.source)}
            continue
        names = [action.source] if action.source != "*" else sorted(negative & set(own))
        for name in names:
            table, src = own[name], sources[name]
            known = table[table[src.known_at] < as_of]
            if action.kind == "set_date":
                known = known[known[action.column].isna()]
            for record_id in known[src.record_id].astype("str").head(2):
                yield action, {name: _apply(action, table, record_id, entity_id, day, sources, name)}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(min_value=0, max_value=10**9), when=st.sampled_from(AS_OFS))
def test_no_compliant_act_ever_lowers_the_grade_score(pick, when):
    case = _case()
    model = case.fit.model
    as_of = pd.Timestamp(when)
    frame = case.panel.frame
    alive = frame.loc[frame["as_of"] == as_of, "entity_id"].astype("str").to_numpy()
    # half the draws from entities with negative records, where most actions apply
    pens = case.records["penalties"]
    flagged = np.intersect1d(alive, pens.loc[pens["published"] < as_of, "entity_id"].astype("str").unique())
    pool = flagged if (pick % 2 and len(flagged)) else alive
    entity_id = str(pool[pick % len(pool)])
    sources = case.spec.sources
    base = entity_row(case.records, entity_id, as_of, case.spec, sources)
    before = float(model.score(base)["score"].iloc[0])
    rows = [entity_row(case.records, entity_id, as_of, case.spec, sources, changed=changed)
            for _, changed in _all_changes(case, entity_id, as_of)]
    assert rows, "every entity can at least file a report"
    after = model.score(pd.concat(rows, ignore_index=True))["score"].to_numpy()
    assert (after >= before - 1e-9).all(), (entity_id, when, before, after.min())


OVERDUE = "annual_reports_overdue_open_count"


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pick=st.integers(min_value=0, max_value=10**9), when=st.sampled_from(AS_OFS))
def test_for_an_entity_with_an_overdue_report_filing_never_raises_it_and_no_compliant_act_costs_points(pick, when):
    case = _case()
    model = case.fit.model
    assert OVERDUE in model.grade_model.features  # the grade reads the overdue state
    as_of = pd.Timestamp(when)
    frame = case.panel.frame
    overdue = frame.loc[(frame["as_of"] == as_of) & (frame[OVERDUE] > 0), "entity_id"].astype("str").to_numpy()
    assert len(overdue)
    entity_id = str(overdue[pick % len(overdue)])
    sources = case.spec.sources
    base = entity_row(case.records, entity_id, as_of, case.spec, sources)
    before = float(model.score(base)["score"].iloc[0])
    changes = list(_all_changes(case, entity_id, as_of))
    rows = pd.concat([entity_row(case.records, entity_id, as_of, case.spec, sources, changed=changed)
                      for _, changed in changes], ignore_index=True)
    after = model.score(rows)["score"].to_numpy()
    assert (after >= before - 1e-9).all(), (entity_id, when, before, after.min())
    filed = [i for i, (action, _) in enumerate(changes) if action.name == "file_annual_report"]
    # the report filed is the year after the latest one: it ends the overdue state when that year is the one missing
    assert (rows.loc[filed, OVERDUE] <= base[OVERDUE].iloc[0]).all()


def _watched_fit(case, backtest):
    """fit_model on the case's panel while a thread watches LightGBM's process-wide thread count."""
    from riskml.models import fit_model

    with lightgbm_thread_counts() as seen:
        fit = fit_model(case.panel, case.labels, "credit", backtest=backtest,
                        params={"n_estimators": 40, "learning_rate": 0.2, "min_child_samples": 40})
    return fit, seen


def test_grade_model_fitted_beside_the_credit_model_equals_the_serial_run():
    """Both models' fits share one pool of threads; every model, calibrator, prediction and
    metric is bit-identical to the one-by-one run, and no LightGBM call of the threaded run
    (the long-run margins included) touches the process-wide thread count."""
    case = _case()
    backtest = {"test_dates": "last 1", "min_train_dates": 2, "num_threads": 1}
    serial, _ = _watched_fit(case, {**backtest, "workers": 1})
    threaded, seen = _watched_fit(case, {**backtest, "workers": 2})
    assert seen == {1}
    assert serial.grade is not None and threaded.grade is not None
    for one, other in ((serial, threaded), (serial.grade, threaded.grade)):
        assert one.model.booster.model_to_string() == other.model.booster.model_to_string()
        assert (one.model.calib_a, one.model.calib_b) == (other.model.calib_a, other.model.calib_b)
        pd.testing.assert_frame_equal(one.predictions, other.predictions, check_exact=True)
        pd.testing.assert_frame_equal(one.metrics, other.metrics, check_exact=True)
        pd.testing.assert_frame_equal(one.splits.drop(columns="seconds"), other.splits.drop(columns="seconds"))
    grade = threaded.model.grade_model
    assert grade.booster.model_to_string() == threaded.grade.model.booster.model_to_string()
    assert grade.calib_b == serial.model.grade_model.calib_b and grade.metadata["calibration"] == "long_run"


def test_grade_model_equals_its_own_fit_on_the_conduct_features():
    """The grade model is the plain backtest of the conduct features, monotone in their
    direction, whatever runs beside it: the same booster and Platt slope as that fit alone."""
    import dataclasses

    from riskml.models import fit_model, load_model_spec

    case = _case()
    grade = case.fit.model.grade_model
    spec = load_model_spec("credit")
    alone = dataclasses.replace(spec, raw={**spec.raw, "grade_score": {"basis": "point_in_time"}},
                                training=spec.training.model_copy(update={"monotone_from_catalog": True}),
                                model=spec.model.model_copy(update={"drop_features": []}))
    fit = fit_model(case.panel, case.labels, alone, backtest={"test_dates": "last 1", "min_train_dates": 2,
                                                              "workers": 1},
                    params={"n_estimators": 40, "learning_rate": 0.2, "min_child_samples": 40},
                    features=list(grade.features))
    assert fit.grade is None
    assert grade.booster.model_to_string() == fit.model.booster.model_to_string()
    assert grade.calib_a == fit.model.calib_a and grade.metadata["latest_calib_b"] == fit.model.calib_b
    pd.testing.assert_frame_equal(case.fit.grade.predictions, fit.predictions, check_exact=True)
    # the long-run intercept over every complete training and calibration row, scored one by one
    from riskml.models._grade_model import long_run_intercept

    frame, labels = case.panel.frame, case.labels.set_index(["entity_id", "as_of"])
    labels = labels.loc[pd.MultiIndex.from_frame(frame[["entity_id", "as_of"]])]
    final = fit.splits.iloc[-1]
    dates = frame["as_of"]
    rows = (labels["complete"].to_numpy(bool) & labels["in_population"].to_numpy(bool)
            & ((dates <= final["train_to"]) | dates.isin(pd.to_datetime(final["calibration_as_of"].split(","))))
            .to_numpy())
    margin = fit.model.raw_margin(frame.loc[rows])
    assert grade.calib_b == long_run_intercept(margin, labels["label"].to_numpy(float)[rows], fit.model.calib_a,
                                               fit.model.calib_b)
