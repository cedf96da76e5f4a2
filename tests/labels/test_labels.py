"""Labels: positive iff a matching record becomes known within [t, t + horizon)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from riskml import SpecError
from riskml.labels import LabelSpec, load_label_spec, make_labels

T = pd.Timestamp("2023-01-01")


def _records(penalties: list[tuple[str, float, str]], inspections: list[tuple[str, str]] = (), last: str = "2024-12-31"):
    entities = pd.DataFrame(
        {
            "entity_id": pd.Series(["E0000001", "E0000002"], dtype="str"),
            "entity_type": pd.Categorical(["enterprise", "individual"]),
            "established": pd.to_datetime(["2020-01-01", "2020-01-01"]),
            "deregistered": pd.to_datetime([None, None]),
        }
    )
    pens = pd.DataFrame(
        {
            "penalty_id": [f"P{i}" for i in range(len(penalties))],
            "entity_id": ["E0000001"] * len(penalties),
            "published": pd.to_datetime([p[0] for p in penalties]),
            "amount": [p[1] for p in penalties],
            "severity": pd.Categorical([p[2] for p in penalties], categories=["minor", "general", "serious"]),
        }
    )
    insp = pd.DataFrame(
        {
            "inspection_id": [f"I{i}" for i in range(len(inspections))],
            "entity_id": ["E0000001"] * len(inspections),
            "closed": pd.to_datetime([i[0] for i in inspections]),
            "kind": pd.Categorical([i[1] for i in inspections], categories=["random", "targeted", "complaint"]),
        }
    )
    # one record on the last day of the data fixes the observed span
    marker = pd.DataFrame({"case_id": ["C0"], "entity_id": ["E0000002"], "confirmed": pd.to_datetime([last])})
    empty = lambda cols: pd.DataFrame({c: pd.Series([], dtype="datetime64[ns]" if c in ("entered", "confirmed") else "str") for c in cols})  # noqa: E731
    return {
        "entities": entities,
        "penalties": pens,
        "inspections": insp,
        "abnormal_list": empty(["listing_id", "entity_id", "entered"]),
        "serious_violations": empty(["listing_id", "entity_id", "entered"]),
        "tax_cases": marker,
    }


def _index(dates=(T,), entity="E0000001"):
    return pd.DataFrame({"entity_id": [entity] * len(dates), "as_of": pd.to_datetime(list(dates))})


@pytest.mark.parametrize(
    ("published", "amount", "severity", "positive"),
    [
        ("2023-01-01", 50.0, "general", 1),  # known on t: inside [t, t + h)
        ("2023-12-31", 50.0, "general", 1),  # last day of the horizon
        ("2024-01-01", 50.0, "general", 0),  # t + 365 days: outside
        ("2022-12-31", 50.0, "general", 0),  # known before t: a feature, not a label
        ("2023-06-01", 50.0, "minor", 0),  # minor and small: matches no rule
        ("2023-06-01", 20_000.0, "minor", 1),  # large amount rule
    ],
)
def test_label_is_positive_iff_a_matching_record_is_known_within_the_horizon(published, amount, severity, positive):
    labels = make_labels(_records([(published, amount, severity)]), _index(), "credit")
    assert labels["label"].tolist() == [positive]
    assert labels["label"].dtype == np.int8


def test_random_inspected_flags_only_random_inspections_in_the_horizon():
    recs = _records([], inspections=[("2023-03-01", "targeted"), ("2024-03-01", "random")])
    labels = make_labels(recs, _index([T, pd.Timestamp("2023-06-01")]), "credit")
    assert labels["random_inspected"].tolist() == [False, True]


def test_complete_means_the_whole_horizon_is_observed():
    recs = _records([], last="2024-12-31")
    # 2024 is a leap year: 2024-01-02 + 365 days = 2025-01-01 = last known day + 1
    dates = ["2024-01-02", "2024-01-03", "2023-06-01"]
    labels = make_labels(recs, _index(pd.to_datetime(dates)), "credit")
    assert labels["complete"].tolist() == [True, False, True]


def test_population_filter_and_index_order_are_kept():
    recs = _records([])
    index = pd.DataFrame({"entity_id": ["E0000002", "E0000001"], "as_of": pd.to_datetime([T, T])})
    labels = make_labels(recs, index, "fraud")
    assert labels["entity_id"].tolist() == ["E0000002", "E0000001"]
    assert labels["in_population"].tolist() == [False, True]
    assert make_labels(recs, index, "credit")["in_population"].all()


def test_labels_match_a_brute_force_reference_on_random_records():
    rng = np.random.default_rng(0)
    n = 40
    recs = _records([])
    recs["penalties"] = pd.DataFrame(
        {
            "penalty_id": [f"P{i}" for i in range(n)],
            "entity_id": rng.choice(["E0000001", "E0000002"], n),
            "published": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1800, n), unit="D"),
            "amount": rng.exponential(3000, n),
            "severity": pd.Categorical(rng.choice(["minor", "general", "serious"], n, p=[0.9, 0.07, 0.03])),
        }
    )
    dates = pd.date_range("2020-01-01", "2024-01-01", freq="QS")
    index = pd.DataFrame({"entity_id": np.repeat(["E0000001", "E0000002"], len(dates)), "as_of": np.tile(dates, 2)})
    labels = make_labels(recs, index, "credit")
    p = recs["penalties"]
    match = (p["amount"] >= 10_000) | p["severity"].isin(["general", "serious"])
    expected = [
        int(((p["entity_id"] == e) & match & (p["published"] >= t) & (p["published"] < t + pd.Timedelta(days=365))).any())
        for e, t in zip(index["entity_id"], index["as_of"], strict=True)
    ]
    assert labels["label"].tolist() == expected
    assert 0 < sum(expected) < len(expected)


def test_label_spec_errors_name_the_file_and_key(tmp_path):
    bad = {"name": "x", "label": {"horizon_days": 365, "positive_when": [{"source": "penalties", "where": {"severity": "awful"}}]}}
    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_label_spec(path)
    assert info.value.key == "label.positive_when.0.where.severity"
    assert "categories of 'severity'" in str(info.value)
    path.write_text(yaml.safe_dump({"label": {"horizon_days": 0, "positive_when": [{"source": "penalties"}]}}), encoding="utf-8")
    with pytest.raises(SpecError, match="label.horizon_days"):
        load_label_spec(path)


def test_a_label_spec_object_is_used_as_given():
    spec = LabelSpec(horizon_days=30, positive_when=[{"source": "penalties"}])
    recs = _records([("2023-01-20", 1.0, "minor")])
    assert make_labels(recs, _index(), spec)["label"].tolist() == [1]
    with pytest.raises(TypeError, match="entity_id and as_of"):
        make_labels(recs, pd.DataFrame({"id": [1]}), spec)
