"""Appeal explanations: points add up, reasons rest on records, what-ifs are exact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from riskml.explain._evidence import evidence_for, source_catalog
from riskml.explain._explanation import explain_entity
from riskml.explain._whatif import entity_row, load_actions, score_rows, what_ifs
from riskml.features import build_panel
from appeal_fixtures import AS_OF, REPAIR_ONLY, appeal_case, default_explanation, lowest_scored, penalised_entities


@pytest.fixture(scope="module")
def case():
    return appeal_case()


@pytest.fixture(scope="module")
def explained(case):
    return default_explanation()  # k=5, the default


def _consistent(ev: pd.DataFrame, aggregation: str, column: str, value: float, as_of: pd.Timestamp) -> bool:
    """Whether the evidence rows reproduce the feature value."""
    if aggregation in ("count", "open_count"):
        return len(ev) == value
    if aggregation == "on_list":
        return float(len(ev) > 0) == value
    if aggregation in ("sum", "open_sum"):
        return bool(np.isclose(ev[column].astype(float).sum(), value))
    if aggregation in ("max", "min"):
        got = ev[column].astype(float).agg(aggregation) if len(ev) else np.nan
        return (np.isnan(got) and np.isnan(value)) or bool(np.isclose(got, value))
    if aggregation == "distinct_count":
        return ev[column].nunique() == value
    if aggregation in ("days_since_last", "days_since_first"):
        return (len(ev) == 0 and np.isnan(value)) or (as_of - ev["known_at"].iloc[0]).days == value
    if aggregation == "share":
        return (len(ev) == 0 and np.isnan(value)) or bool(np.isclose(ev[column].astype(float).mean(), value))
    if aggregation == "latest":
        if len(ev) == 0:
            return pd.isna(value)
        got = ev[column].iloc[0]
        return (pd.isna(got) and pd.isna(value)) or str(got) == str(value) or (
            not isinstance(value, str) and bool(np.isclose(float(got), float(value))))
    return True


def test_points_add_up_to_the_score_by_feature_and_by_dimension(explained, case):
    frame = explained.to_frame()
    assert explained.base_points + frame["points"].sum() == pytest.approx(explained.score, abs=1e-6)
    assert explained.base_points + explained.dimensions["points"].sum() == pytest.approx(explained.score, abs=1e-6)
    row = case.panel.frame[case.panel.frame["entity_id"] == explained.entity_id]
    assert explained.score == pytest.approx(float(case.model.score(row)["score"].iloc[0]), abs=1e-9)
    assert explained.grade == str(case.model.score(row)["grade"].iloc[0])


def test_rebuilt_entity_row_equals_its_row_of_the_full_panel(case):
    sources = source_catalog(case.records, case.spec)
    for entity in penalised_entities(case)[:4] + case.panel.frame["entity_id"].head(3).tolist():
        row = entity_row(case.records, entity, AS_OF, case.spec, sources)
        full = case.panel.frame[case.panel.frame["entity_id"] == entity].reset_index(drop=True)
        pd.testing.assert_frame_equal(row[full.columns], full)


def test_every_top_reason_has_evidence_that_reproduces_its_value(explained, case):
    catalog = case.panel.catalog
    assert explained.reasons
    for reason in explained.reasons:
        row = catalog.loc[reason["feature"]]
        ev = reason["evidence"]
        assert _consistent(ev, row["aggregation"], row["column"], reason["value"], AS_OF), reason["feature"]
        if row["aggregation"] in ("count", "open_count", "on_list", "sum") and reason["value"] > 0:
            assert len(ev) > 0
        assert (ev["known_at"] < AS_OF).all()
        personal = set(case.records.catalog[row["source"]].personal_columns) if row["source"] in case.records.catalog else set()
        assert not personal & set(ev.columns)


def test_evidence_reproduces_every_record_feature_of_penalised_entities(case):
    frame = case.panel.frame
    for entity in penalised_entities(case)[:3]:
        values = frame[frame["entity_id"] == entity].iloc[0]
        for f in case.spec.features:
            if f.kind == "static":
                continue
            ev = evidence_for(case.records, entity, AS_OF, f.name, case.panel.catalog, spec=case.spec)
            if f.aggregation == "days_to_expiry":
                valid_to = case.records.catalog[f.source].valid_to
                ok = (len(ev) == 0 and np.isnan(values[f.name])) or (ev[valid_to].min() - AS_OF).days == values[f.name]
            else:
                ok = _consistent(ev, f.aggregation, f.column or "", values[f.name], AS_OF)
            assert ok, (entity, f.name, values[f.name], len(ev))


def test_repaired_penalty_is_not_evidence_of_an_active_count(case):
    pens = case.records["penalties"]
    entity = penalised_entities(case)[0]
    tables = dict(case.records.items())
    mine = pens["entity_id"] == entity
    repaired = pens.copy()
    repaired.loc[mine, "repaired"] = AS_OF - pd.Timedelta(days=1)
    tables["penalties"] = repaired
    assert len(evidence_for(tables, entity, AS_OF, "penalties_count_1095d", case.panel.catalog, spec=case.spec)) == 0
    ended = evidence_for(tables, entity, AS_OF, "penalties_repaired_count_all", case.panel.catalog, spec=case.spec)
    assert len(ended) == int(((pens["published"] < AS_OF) & mine).sum())


def test_removing_the_only_penalty_moves_the_score_by_its_recomputed_contribution(case):
    entity = penalised_entities(case, exactly_one=True)[0]
    sources = source_catalog(case.records, case.spec)
    evidence = evidence_for(case.records, entity, AS_OF, "penalties_count_all", case.panel.catalog, spec=case.spec)
    assert len(evidence) == 1
    reason = {"feature": "penalties_count_all", "source": "penalties", "evidence": evidence}
    actions = load_actions({"actions": [{"name": "remove", "kind": "remove_record", "source": "*"}]})
    result = what_ifs(case.records, entity, AS_OF, [reason], case.model, case.spec, sources, actions=actions)
    assert len(result) == 1
    # Independently: the full panel built from records without that penalty.
    tables = dict(case.records.items())
    pens = tables["penalties"]
    tables["penalties"] = pens[pens["penalty_id"] != evidence["record_id"].iloc[0]].reset_index(drop=True)
    after = build_panel(tables, [AS_OF], case.spec).frame
    after = after[after["entity_id"] == entity]
    before = case.panel.frame[case.panel.frame["entity_id"] == entity]
    new, old = score_rows(case.model, after), score_rows(case.model, before)
    assert result["new_score"].iloc[0] == pytest.approx(float(new.scores["score"].iloc[0]), abs=1e-9)
    assert result["new_grade"].iloc[0] == str(new.scores["grade"].iloc[0])
    delta = float(new.points.sum(axis=1).iloc[0] - old.points.sum(axis=1).iloc[0])
    assert result["delta_points"].iloc[0] == pytest.approx(delta, abs=1e-6)
    assert new.base_points[0] == pytest.approx(old.base_points[0], abs=1e-12)
    assert "penalties_count_all" in result["changed_features"].iloc[0]


def test_repair_what_if_sets_the_repair_date_and_never_lowers_the_active_counts(case):
    entity = penalised_entities(case)[0]
    sources = source_catalog(case.records, case.spec)
    evidence = evidence_for(case.records, entity, AS_OF, "penalties_count_365d", case.panel.catalog, spec=case.spec)
    reason = {"feature": "penalties_count_365d", "source": "penalties", "evidence": evidence}
    actions = load_actions({"actions": [{"name": "repair", "kind": "set_date", "source": "penalties", "column": "repaired"}]},
                           sources=sources)
    result = what_ifs(case.records, entity, AS_OF, [reason], case.model, case.spec, sources, actions=actions)
    assert len(result) == min(len(evidence), 3)
    assert result["changed_features"].str.contains("penalties_count_365d").all()
    assert result["changed_features"].str.contains("penalties_repaired_count_all").all()


def test_explanation_is_identical_after_newer_records_arrive(case, explained):
    entity = explained.entity_id
    tables = {k: v for k, v in case.records.items()}
    pens = tables["penalties"]
    newer = pens[pens["entity_id"] == entity].head(1).copy()
    newer["penalty_id"] = "P_LATE_0001"
    newer["decided"] = AS_OF - pd.Timedelta(days=10)  # decided before as_of but published on as_of
    newer["published"] = AS_OF
    newer["repaired"] = pd.NaT
    tables["penalties"] = pd.concat([pens, newer], ignore_index=True)
    ents = tables["entities"]
    late = ents.head(1).copy()
    late["entity_id"] = "E9999999"
    late["established"] = AS_OF + pd.Timedelta(days=3)
    tables["entities"] = pd.concat([ents, late], ignore_index=True)
    again = explain_entity(entity, AS_OF, records=tables, model=case.model, spec=case.spec, k=5)
    first = json.dumps(explained.to_dict(), sort_keys=True, ensure_ascii=False)
    second = json.dumps(again.to_dict(), sort_keys=True, ensure_ascii=False)
    assert first == second
    assert explained.to_html() == again.to_html()
    # only a feature value is compared: the actions (what-ifs, path) do not change it
    later = explain_entity(entity, AS_OF + pd.Timedelta(days=1), records=tables, model=case.model, spec=case.spec, k=5,
                           actions=REPAIR_ONLY)
    assert later.to_frame().set_index("feature").loc["penalties_count_all", "value"] == (
        explained.to_frame().set_index("feature").loc["penalties_count_all", "value"] + 1)


def test_to_dict_is_json_safe_and_carries_model_version_and_run(explained):
    data = explained.to_dict()
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    assert json.loads(text)["model"]["run_id"] == "0123456789abcdef0123456789abcdef"
    assert data["model"]["model_version"] == "3"
    assert data["as_of"] == "2024-07-01"
    assert data["reasons"][0]["evidence"], "evidence rows travel with the reasons"
    assert "2024-07-01" in data["reproducibility_en"]


def test_contrast_compares_with_entities_of_the_next_better_band(case, explained):
    c = explained.contrast
    assert c is not None
    names = list(case.model.policy.grade_names)
    assert names.index(c.better_grade) == names.index(explained.grade_by_score) - 1
    scores = case.model.score(case.panel.frame)["score"]
    in_band = (scores >= c.band[0]) & (scores < c.band[1])
    assert c.n_reference == int(in_band.sum())
    # gaps sum to the score difference (base points are the same for every entity)
    assert c.by_feature["gap"].sum() == pytest.approx(explained.score - c.band_mean_score, abs=1e-6)
    assert c.by_dimension["gap"].sum() == pytest.approx(explained.score - c.band_mean_score, abs=1e-6)


def test_explaining_an_entity_not_alive_at_as_of_is_a_clear_error(case):
    ents = case.records["entities"]
    late = ents[ents["established"] >= AS_OF]["entity_id"]
    if len(late) == 0:
        pytest.skip("no entity registered after the as-of date in this market")
    with pytest.raises(ValueError, match="not alive"):
        explain_entity(str(late.iloc[0]), AS_OF, records=case.records, model=case.model, spec=case.spec)


def test_a_model_of_another_feature_spec_is_refused(case):
    spec = case.spec.subset(["penalties_count_365d"])
    with pytest.raises(ValueError, match="feature spec"):
        explain_entity(lowest_scored(case), AS_OF, records=case.records, model=case.model, spec=spec)


def test_bad_appeal_action_spec_names_the_key():
    from riskml._specs import SpecError
    from riskml.records import load_sources

    with pytest.raises(SpecError, match="column"):
        load_actions({"actions": [{"name": "x", "kind": "set_date", "source": "penalties", "column": "nope"}]},
                     sources=load_sources())
    with pytest.raises(SpecError):
        load_actions({"actions": [{"name": "x", "kind": "set_date", "source": "penalties"}]})
