"""Blind spots: untouched entities, ranked by risk; selection-aware training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from ranking_data import AS_OF

from riskml.features import Panel
from riskml.ranking import blind_spots, selection_aware_sample
from riskml.ranking._blind_spots import observed_in_horizon


def test_blind_spots_exclude_entities_touched_in_the_lookback_and_keep_untouched_ones(scores, records):
    out = blind_spots(scores, records, lookback="3y")
    # E1: inspection known 2023-05 (inside); E2: penalty 2020-06 (outside 3y);
    # E3: inspection known on AS_OF itself (not before it); E4: inspection after AS_OF.
    # E5 deregistered, E6 not yet established: not alive.
    assert set(out["entity_id"]) == {"E0000002", "E0000003", "E0000004"}


def test_a_longer_lookback_makes_an_old_penalty_count(scores, records):
    out = blind_spots(scores, records, lookback="5y")
    assert "E0000002" not in set(out["entity_id"])
    assert "E0000002" in set(blind_spots(scores, records, lookback=1000)["entity_id"])


def test_blind_spots_are_ranked_by_probability_with_ties_by_entity_id(scores, records):
    out = blind_spots(scores, records)
    assert out["entity_id"].tolist() == ["E0000003", "E0000004", "E0000002"]
    assert out["rank"].tolist() == [1, 2, 3]
    assert out["probability"].tolist() == [0.3, 0.3, 0.2]


def test_blind_spots_carry_score_grade_and_reasons(scores, records):
    out = blind_spots(scores, records, top=1)
    assert list(out.columns) == ["rank", "entity_id", "as_of", "probability", "score", "grade",
                                 "reason_1_feature", "reason_1_points"]
    assert len(out) == 1 and out.loc[0, "reason_1_feature"] == "complaints_365d"


def test_which_sources_touch_an_entity_is_a_parameter(scores, records):
    only_penalties = blind_spots(scores, records, sources=["penalties"], lookback="5y")
    assert "E0000001" in set(only_penalties["entity_id"])
    assert "E0000002" not in set(only_penalties["entity_id"])
    random_only = blind_spots(scores, records, sources=[{"source": "inspections", "where": {"kind": "random"}}])
    # E1's targeted inspection does not count when only random inspections touch
    assert "E0000001" in set(random_only["entity_id"])


def test_which_sources_touch_an_entity_comes_from_the_spec(scores, records, tmp_path):
    spec = {
        "blind_spots": {"lookback": "3y", "touch_sources": [{"source": "penalties"}]},
        "selection": {"observed_sources": [{"source": "inspections"}]},
        "plan": {"rates": {"A": 0.1}},
    }
    out = blind_spots(scores, records, spec=spec)
    assert "E0000001" in set(out["entity_id"])


def test_blind_spots_rank_within_each_as_of_date(scores, records):
    later = scores.assign(as_of=pd.Timestamp("2024-07-01"))
    out = blind_spots(pd.concat([scores, later], ignore_index=True), records)
    by_date = out.groupby("as_of")["rank"].apply(list).to_dict()
    assert by_date[pd.Timestamp("2024-01-01")] == [1, 2, 3]
    # by 2024-07-01 E3's and E4's inspections are known; E6 is alive
    assert out.loc[out["as_of"] == "2024-07-01", "entity_id"].tolist() == ["E0000006", "E0000002"]


def test_blind_spots_reject_unknown_sources_and_bad_scores(scores, records):
    with pytest.raises(ValueError, match="unknown source 'visits'"):
        blind_spots(scores, records, sources=["visits"])
    with pytest.raises(ValueError, match="probability"):
        blind_spots(scores.drop(columns="probability"), records)
    with pytest.raises(ValueError, match="duplicate"):
        blind_spots(pd.concat([scores, scores]), records)


def test_observed_in_horizon_reads_records_known_after_as_of(records):
    rows = pd.DataFrame({"entity_id": ["E0000003", "E0000004", "E0000004"],
                         "as_of": pd.to_datetime(["2023-06-01", "2024-01-01", "2024-05-01"])})
    assert observed_in_horizon(records, rows).tolist() == [True, True, False]
    assert observed_in_horizon(records, rows, horizon_days=30).tolist() == [False, False, False]


def _selection_panel(n: int = 2000, seed: int = 0) -> tuple[Panel, pd.DataFrame, dict[str, pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    entity = pd.Series([f"E{i:07d}" for i in range(n)], dtype="str")
    risk = rng.normal(size=n)
    past_inspections = rng.poisson(np.exp(risk) * 0.3).astype(float)
    frame = pd.DataFrame({"entity_id": entity, "as_of": AS_OF, "risk_signal": risk, "inspections_1095d": past_inspections})
    catalog = pd.DataFrame({"inspection_driven": [False, True], "dimension": ["operation", "operation"]},
                           index=pd.Index(["risk_signal", "inspections_1095d"], name="name"))
    # inspected more often when risky: a selective sample
    inspected = rng.random(n) < 1 / (1 + np.exp(-(risk - 1)))
    insp = pd.DataFrame({"inspection_id": [f"I{i}" for i in range(int(inspected.sum()))],
                         "entity_id": entity[inspected].to_numpy(),
                         "closed": pd.Timestamp("2024-06-01")})
    labels = frame[["entity_id", "as_of"]].assign(label=(inspected & (rng.random(n) < 0.3)).astype("int8"))
    return Panel(frame, catalog, "hash"), labels, {"inspections": insp}


def test_selection_sample_keeps_observed_rows_and_drops_inspection_driven_features():
    panel, labels, records = _selection_panel()
    sample = selection_aware_sample(panel, labels, records, how="inspected")
    observed = observed_in_horizon(records, panel)
    assert len(sample.panel.frame) == observed.sum() == len(sample.labels)
    assert sample.dropped == ("inspections_1095d",)
    assert "inspections_1095d" not in sample.panel.frame.columns
    assert list(sample.panel.catalog.index) == ["risk_signal"]
    assert sample.panel.spec_hash == "hash"
    assert (sample.labels["entity_id"].to_numpy() == sample.panel.frame["entity_id"].to_numpy()).all()
    assert sample.weights is None
    assert sample.observed_share == pytest.approx(observed.mean())


def test_weighted_selection_sample_upweights_rows_unlikely_to_be_inspected():
    panel, labels, records = _selection_panel()
    sample = selection_aware_sample(panel, labels, records, how="weighted")
    w = sample.weights.to_numpy()
    assert len(w) == len(sample.panel.frame)
    assert w.mean() == pytest.approx(1.0)
    risk = sample.panel.frame["risk_signal"].to_numpy()
    # less risky entities are inspected less, so they stand for more of the population
    assert np.corrcoef(risk, w)[0, 1] < -0.3


def test_a_weighted_selection_sample_trains_a_model(tmp_path):
    from riskml.models import fit_model
    from riskml.models._testing import toy_panel

    panel, labels = toy_panel(n_entities=400, n_dates=16, seed=5)
    closed = panel.frame["as_of"] + pd.Timedelta(days=30)
    seen = np.random.default_rng(0).random(len(panel.frame)) < 0.5
    insp = pd.DataFrame({"inspection_id": [f"I{i}" for i in range(int(seen.sum()))],
                         "entity_id": panel.frame["entity_id"][seen].to_numpy(), "closed": closed[seen].to_numpy()})
    sample = selection_aware_sample(panel, labels, {"inspections": insp}, how="weighted")
    fit = fit_model(sample.panel, sample.labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
                    params={"n_estimators": 10}, weights=sample.weights)
    assert len(fit.predictions) > 0 and fit.model.features == tuple(sample.panel.feature_names)


def test_selection_sample_rejects_misaligned_labels_and_unknown_how():
    panel, labels, records = _selection_panel(200)
    with pytest.raises(ValueError, match="align"):
        selection_aware_sample(panel, labels.iloc[::-1].reset_index(drop=True), records)
    with pytest.raises(ValueError, match="how must be one of"):
        selection_aware_sample(panel, labels, records, how="everything")
