"""The path to the next grade: found (and smallest) or proven absent, for entities below A."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskml.explain import path_to_next_grade
from riskml.explain._path import declared_changes, variant_rows
from riskml.explain._whatif import entity_records, load_actions, negative_sources
from riskml.explain._explanation import explain_entity
from grade_case import grade_case

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
AS_OF = pd.Timestamp("2024-07-01")


def _below_a(n: int) -> list[str]:
    case = grade_case()
    frame = case.panel.frame
    rows = frame[frame["as_of"] == AS_OF].reset_index(drop=True)
    scored = case.fit.model.score(rows)
    rng = np.random.default_rng(3)
    out = []
    for grade in ("B", "C", "D"):
        ids = scored.loc[scored["grade"] == grade, "entity_id"].to_numpy()
        out += [str(x) for x in rng.choice(ids, size=min(n, len(ids)), replace=False)]
    return out


def _rank(grade: str) -> int:
    return ["A", "B", "C", "D"].index(grade)


def test_every_entity_below_a_gets_a_path_or_a_proof_that_none_exists():
    case = grade_case()
    model = case.fit.model
    sources = case.spec.sources
    needed = {*model.grading.features, *(r.feature for r in model.policy.overrides)}
    own_spec = case.spec.subset([f for f in case.spec.feature_names if f in needed])
    statuses = []
    for entity_id in _below_a(2):
        path = path_to_next_grade(case.records, entity_id, AS_OF, model, case.spec, sources)
        statuses.append(path.status)
        assert path.status in ("reached", "none_reaches")
        own = entity_records(case.records, entity_id, sources)
        changes = declared_changes(load_actions(sources=sources), own, sources, AS_OF,
                                   negative_sources(model.grading.catalog))

        def grades_after(variants):
            rows = variant_rows(own, variants, entity_id, AS_OF, own_spec, sources)
            return [_rank(g) for g in model.grading.score(rows)["grade"]]

        def grade_after(chosen):
            return ["A", "B", "C", "D"][grades_after([chosen])[0]]

        if path.status == "reached":
            chosen = [c for c in changes if any(c[0].name == a and (c[2] or "") == r
                                                for a, r in zip(path.actions["action"], path.actions["record_id"]))]
            assert len(chosen) == path.n_actions
            assert _rank(grade_after(chosen)) < _rank(path.grade)
            if path.minimal and path.n_actions > 1:
                assert min(grades_after([[c] for c in changes])) >= _rank(path.grade)
        else:
            # every declared action at once falls short, so (monotone grade model) no subset reaches it
            assert _rank(grade_after(changes)) >= _rank(path.grade)
            assert path.remaining >= 0
    assert "reached" in statuses


def test_the_appeal_report_carries_the_path_and_a_printable_reviewers_section():
    case = grade_case()
    entity_id = _below_a(1)[-1]
    frame = case.panel.frame
    e = explain_entity(entity_id, AS_OF, records=case.records, model=case.fit.model, spec=case.spec, k=3,
                       reference=frame[frame["as_of"] == AS_OF])
    assert e.path is not None and e.path.grade == e.grade
    html = e.to_html()
    assert "Path to the next grade" in html and 'id="review"' in html
    assert "Data-correction request" in html and "@media print" in html
    assert e.to_dict()["path"]["status"] == e.path.status
