"""GradePolicy: reading the grade sections of model specs, and errors naming file and key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from riskml import SpecError
from riskml.grading import GradePolicy


def _spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "toy",
        "scorecard": {"base_score": 600, "base_odds": 50, "pdo": 40},
        "grades": [
            {"grade": "A", "min_score": 640},
            {"grade": "B", "min_score": 580},
            {"grade": "C", "min_score": 520},
            {"grade": "D", "min_score": float("nan")},
        ],
        "overrides": [{"name": "listed", "feature": "on_list", "min": 1, "grade_at_most": "D"}],
        "white_list": {"grade": "A", "exclude_when_positive": ["on_list"]},
        "label": {"horizon_days": 365},
    }
    spec.update(changes)
    return spec


def _write(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_bundled_credit_and_fraud_policies_load_by_name() -> None:
    credit = GradePolicy.from_model_spec("credit")
    fraud = GradePolicy.from_model_spec("fraud")
    assert credit.target == "credit" and fraud.target == "fraud"
    assert credit.grade_names == ("A", "B", "C", "D")
    assert credit.min_scores == (630.0, 570.0, 510.0)
    assert [o.name for o in credit.overrides] == ["serious_violation_list", "abnormal_list"]
    assert fraud.overrides == ()


def test_pdo_factor_and_offset_follow_the_scorecard() -> None:
    policy = GradePolicy.from_model_spec(_spec())
    assert policy.factor == pytest.approx(40 / math.log(2))
    assert policy.offset == pytest.approx(600 - 40 / math.log(2) * math.log(50))


def test_policy_reads_a_yaml_path_and_a_null_last_band(tmp_path: Path) -> None:
    grades = _spec()["grades"]
    grades[-1] = {"grade": "D", "min_score": None}
    policy = GradePolicy.from_model_spec(_write(tmp_path, _spec(grades=grades)))
    assert policy.grades[-1].catches_all


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        ({"grades": [{"grade": "A", "min_score": 600}, {"grade": "B", "min_score": 610},
                     {"grade": "C", "min_score": None}]}, "grades.1.min_score", "strictly decreasing"),
        ({"grades": [{"grade": "A", "min_score": 600}, {"grade": "B", "min_score": 500}]},
         "grades.1.min_score", "catch all"),
        ({"grades": [{"grade": "A", "min_score": None}, {"grade": "B", "min_score": None}]},
         "grades.0.min_score", "finite"),
        ({"grades": [{"grade": "A", "min_score": 600}, {"grade": "A", "min_score": None}]},
         "grades.1.grade", "unique"),
        ({"overrides": [{"name": "x", "feature": "f", "min": 1, "grade_at_most": "E"}]},
         "overrides.0.grade_at_most", "one of the grades"),
        ({"white_list": {"grade": "Z"}}, "white_list.grade", "one of the grades"),
        ({"scorecard": {"base_score": 600, "base_odds": 50, "pdo": -1}}, "scorecard.pdo", "greater than 0"),
        ({"overrides": [{"name": "x", "feature": "f", "grade_at_most": "D"}]}, "overrides.0", "min and/or max"),
    ],
)
def test_policy_errors_name_the_file_and_the_key(tmp_path: Path, change: dict[str, Any], key: str, expected: str) -> None:
    path = _write(tmp_path, _spec(**change))
    with pytest.raises(SpecError) as info:
        GradePolicy.from_model_spec(path)
    message = str(info.value)
    assert str(path) in message
    assert info.value.key.startswith(key), message
    assert expected in message


def test_missing_section_is_named(tmp_path: Path) -> None:
    spec = _spec()
    del spec["grades"]
    with pytest.raises(SpecError, match="grades"):
        GradePolicy.from_model_spec(_write(tmp_path, spec))


def test_unknown_model_name_lists_the_available_specs() -> None:
    with pytest.raises(SpecError, match="credit"):
        GradePolicy.from_model_spec("no_such_model")


def test_direct_construction_enforces_the_same_rules() -> None:
    with pytest.raises(ValueError, match="strictly decreasing"):
        GradePolicy(
            scorecard={"base_score": 600, "base_odds": 50, "pdo": 40},
            grades=[{"grade": "A", "min_score": 500}, {"grade": "B", "min_score": 550}, {"grade": "C"}],
        )


def test_policy_is_frozen() -> None:
    policy = GradePolicy.from_model_spec("credit")
    with pytest.raises(ValueError):
        policy.target = "other"  # type: ignore[misc]
