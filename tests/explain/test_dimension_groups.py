"""A bureau's own five indicator groups change the report's groups with no code change."""

from __future__ import annotations

import pytest
import yaml

from riskml.explain._explanation import explain_entity
from riskml.features import load_feature_spec
from appeal_fixtures import AS_OF, REPAIR_ONLY, appeal_case, penalised_entities

FIVE = [
    {"name": "identity", "label_zh": "主体身份", "label_en": "Who it is", "includes": ["registration"]},
    {"name": "business", "label_zh": "经营往来", "label_en": "How it trades",
     "includes": ["operation", "financing", "invoices", "network"]},
    {"name": "sanctions", "label_zh": "惩戒记录", "label_en": "Sanctions", "includes": ["penalties"],
     "features": ["judicial_*"]},
    {"name": "voice", "label_zh": "群众声音", "label_en": "Public voice", "includes": ["complaints"]},
    {"name": "honours", "label_zh": "荣誉信誉", "label_en": "Honours", "includes": ["commendations"]},
]


@pytest.fixture(scope="module")
def case():
    return appeal_case()


def test_a_custom_five_group_file_changes_the_reports_groups(case, tmp_path):
    path = tmp_path / "my_groups.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "dimensions": FIVE}, allow_unicode=True), encoding="utf-8")
    spec = load_feature_spec(dimensions=path)
    entity = penalised_entities(case)[0]
    # the groups do not depend on the actions: one action keeps the what-ifs and the path search short
    default = explain_entity(entity, AS_OF, records=case.records, model=case.model, spec=case.spec,
                             actions=REPAIR_ONLY)
    custom = explain_entity(entity, AS_OF, records=case.records, model=case.model, spec=spec, actions=REPAIR_ONLY)

    assert set(default.dimensions["dimension"]) <= {"basic", "dynamic", "supervision", "related", "social"}
    order = [g["name"] for g in FIVE]
    assert custom.dimensions["dimension"].tolist() == [g for g in order if g in set(custom.features["dimension"])]
    assert set(custom.dimensions["label_zh"]) <= {g["label_zh"] for g in FIVE}
    # the same points, summed by the new groups
    by_group = custom.features.groupby("dimension")["points"].sum()
    assert custom.dimensions.set_index("dimension")["points"].to_dict() == pytest.approx(by_group.to_dict())
    assert custom.score == default.score
    page = custom.to_html()
    assert "惩戒记录" in page and "Sanctions" in page and "监管信息" not in page
    judicial = custom.features[custom.features["feature"].str.startswith("judicial_")]
    assert (judicial["dimension"] == "sanctions").all() and len(judicial) > 0
