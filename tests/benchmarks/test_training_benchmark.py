"""benchmarks.training: the baseline's panel lacks exactly the features the shipped credit
model drops, and the like-for-like spec trains the point-in-time model alone."""

from __future__ import annotations

from pathlib import Path

import yaml

from benchmarks.training import ROOT, _same_work_spec, without_dropped
from riskml.models._testing import toy_panel


def _dropped_by_the_credit_spec() -> list[str]:
    spec = yaml.safe_load((ROOT / "models" / "credit.yaml").read_text(encoding="utf-8"))
    return list(spec["model"]["drop_features"])


def test_the_narrow_panel_lacks_only_the_dropped_features() -> None:
    panel, _ = toy_panel(n_entities=50, n_dates=6, seed=0)
    dropped = _dropped_by_the_credit_spec()
    frame = panel.frame.assign(**{name: 1.0 for name in dropped})
    catalog = panel.catalog.reindex([*panel.catalog.index, *dropped])
    wide = type(panel)(frame=frame, catalog=catalog, spec_hash=panel.spec_hash)
    narrow, named = without_dropped(wide)
    assert named == dropped
    assert list(narrow.frame.columns) == [c for c in frame.columns if c not in dropped]
    assert list(narrow.catalog.index) == list(panel.catalog.index)
    assert narrow.spec_hash == panel.spec_hash
    assert without_dropped(panel)[1] == []  # a panel without them loses nothing


def test_the_like_for_like_spec_is_the_shipped_one_without_the_grade_model(tmp_path: Path) -> None:
    path = _same_work_spec(tmp_path)
    assert path is not None  # the shipped credit spec declares a grade model
    shipped = yaml.safe_load((ROOT / "models" / "credit.yaml").read_text(encoding="utf-8"))
    same_work = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert same_work["grade_score"] == {"basis": "point_in_time"}
    assert {k: v for k, v in same_work.items() if k != "grade_score"} == {
        k: v for k, v in shipped.items() if k != "grade_score"}
