"""The reviewer's HTML report: self-contained, free of personal data, renders in a browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from riskml.explain._report import waterfall_svg
from appeal_fixtures import AS_OF, appeal_case, default_explanation

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def case():
    return appeal_case()


@pytest.fixture(scope="module")
def explained(case):
    return default_explanation()


@pytest.fixture(scope="module")
def page(explained):
    return explained.to_html()


def test_report_is_self_contained_and_deterministic(explained, page):
    assert page == explained.to_html()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    assert page.count("<svg") == 2


def test_report_holds_no_personal_value(case, explained, page):
    raw = case.raw
    personal = []
    for name, table in raw.items():
        for column in raw.catalog[name].personal_columns:
            if column in table.columns:
                personal += [str(v) for v in table[column].dropna().unique()]
    assert personal, "the synthetic market has raw personal values"
    leaked = [v for v in personal if len(v) >= 4 and v in page]
    assert leaked == []
    # nor the pseudonyms that replaced them
    for name, table in case.records.items():
        for column in case.records.catalog[name].personal_columns:
            if column in table.columns:
                assert not any(str(v) in page for v in table[column].dropna().unique()[:2000])
    text = str(explained.to_dict())
    assert not [v for v in personal if len(v) >= 4 and v in text]


def test_report_escapes_text():
    svg = waterfall_svg([("<b>&x</b>", -1.0)], ("base", 10.0), ("score", 9.0), title="<t>")
    assert "<b>" not in svg and "&lt;b&gt;&amp;x&lt;/b&gt;" in svg


def test_report_states_grade_score_evidence_and_reproducibility(explained, page):
    assert f'id="grade">{explained.grade}<' in page
    assert f"{explained.score:.1f}" in page
    for reason in explained.reasons:
        for record_id in reason["evidence"]["record_id"].head(50):
            assert record_id in page
    assert explained.reproducibility[1] in page.replace("&#x27;", "'")
    assert explained.model_info["run_id"] in page


def _chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_in_headless_chromium(explained, page, tmp_path):
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("chromium is not installed and could not be installed (run scripts/system-deps.sh as root)")
    html = tmp_path / "appeal-report.html"
    html.write_text(page, encoding="utf-8")
    dom = _chromium(["--dump-dom", html.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = dom.stdout
    assert f'id="grade">{explained.grade}<' in text
    assert f"{explained.score:.1f}" in text
    assert text.count("<svg") == 2 and "<rect" in text
    for reason in explained.reasons:
        for record_id in reason["evidence"]["record_id"].head(5):
            assert record_id in text
    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "appeal-report.png"
    png.unlink(missing_ok=True)
    shot = _chromium([f"--screenshot={png}", "--window-size=1200,2400", html.as_uri()], tmp_path)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.stat().st_size > 20_000
    shutil.copy(html, ARTIFACTS / "appeal-report.html")
    assert pd.Timestamp(AS_OF).date().isoformat() in text


def test_bidi_and_control_characters_in_an_id_are_shown_not_obeyed(explained):
    import dataclasses

    spoofed = dataclasses.replace(explained, entity_id="E00\u202e1234\u200b\x07")
    page = spoofed.to_html()
    assert not any(ch in page for ch in "\u202e\u200b\x07")
    assert "E00[U+202E]1234[U+200B][U+0007]" in page
