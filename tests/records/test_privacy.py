"""Pseudonymisation: keyed, stable, null-preserving; nothing personal is written or leaked."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from records_fixtures import NOW

from riskml.records import PrivacyError, from_frames, load_sources, pseudonymise, read, validate, write
from riskml.records._privacy import KEY_ENV_VAR, is_pseudonym

KEY = "a-secret-key-for-these-tests-only"
CATALOG = load_sources()


def personal_values(frames: dict[str, pd.DataFrame]) -> set[str]:
    values = set()
    for name, table in frames.items():
        for col in CATALOG[name].personal_columns:
            values |= set(table[col].dropna().astype(str))
    return values


def test_equal_inputs_give_equal_pseudonyms_and_nulls_stay_null():
    ids = pd.Series(["110101199001011234", None, "110101199001011234", "110101199001019999"], name="legal_rep_id")
    out = pseudonymise(ids, key=KEY)
    assert out.name == "legal_rep_id" and out.dtype == "str"
    assert out[0] == out[2] != out[3]
    assert pd.isna(out[1])
    assert is_pseudonym(out.dropna()).all()


def test_pseudonyms_depend_on_the_key_and_are_idempotent():
    ids = pd.Series(["13800000000", 13800000000])
    a = pseudonymise(ids, key=KEY)
    assert a[0] == a[1]  # a number and its text agree
    assert (a != pseudonymise(ids, key=KEY + "-other")).all()
    pd.testing.assert_series_equal(pseudonymise(a, key=KEY + "-other"), a)


def test_missing_key_raises_privacy_error_saying_how_to_set_it(monkeypatch, frames):
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    with pytest.raises(PrivacyError, match=rf"set the environment variable {KEY_ENV_VAR}"):
        pseudonymise(pd.Series(["110101199001011234"]))
    with pytest.raises(PrivacyError, match=KEY_ENV_VAR):
        validate(from_frames(frames), now=NOW)
    # Nothing personal present: no key needed.
    assert pseudonymise(pd.Series([None, None])).isna().all()


def test_short_key_is_refused_without_echoing_it():
    with pytest.raises(PrivacyError) as info:
        pseudonymise(pd.Series(["x"]), key="short-k")
    assert "short-k" not in str(info.value)


def test_validate_replaces_every_personal_column(frames):
    raw = personal_values(frames)
    clean = validate(from_frames(frames), now=NOW, key=KEY)
    for name, table in clean.items():
        for col in CATALOG[name].personal_columns:
            present = table[col].dropna()
            assert len(present) and is_pseudonym(present).all(), (name, col)
            assert not set(present) & raw
    # Shared legal representatives stay countable.
    reps = clean["entities"]["legal_rep_id"]
    assert reps.nunique() == frames["entities"]["legal_rep_id"].nunique()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_no_personal_value_or_key_appears_in_any_written_file(frames, tmp_path, fmt, caplog):
    raw = personal_values(frames)
    assert raw
    bad = dict(frames, penalties=frames["penalties"].assign(amount=-1.0))
    with caplog.at_level(logging.DEBUG):
        clean = validate(from_frames(bad), "lenient", now=NOW, key=KEY)
        write(clean, tmp_path, format=fmt)
    needles = [v.encode("utf-8") for v in raw] + [KEY.encode("utf-8")]
    for file in tmp_path.iterdir():
        data = file.read_bytes()
        for needle in needles:
            assert needle not in data, (file.name, needle)
    # Parquet may compress: also look at every decoded cell.
    back = read(tmp_path)
    for table in back.values():
        cells = set(table.astype(str).to_numpy().ravel())
        assert not cells & (raw | {KEY})
    for text in (caplog.text, repr(clean), clean.quarantine.to_csv(), clean.counts.to_csv()):
        assert KEY not in text
        assert not any(v in text for v in raw)


def test_write_refuses_raw_personal_values_without_showing_them(frames, tmp_path):
    raw = from_frames(frames)
    assert not raw.pseudonymised
    with pytest.raises(PrivacyError, match=r"refusing to write raw personal values \(entities.legal_rep_id: 10 value\(s\)") as info:
        write(raw, tmp_path)
    assert not any(v in str(info.value) for v in personal_values(frames))
    assert not list(tmp_path.iterdir())


def test_key_never_appears_in_errors(frames, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, KEY)
    bad = dict(frames, complaints=frames["complaints"].assign(entity_id=None))
    with pytest.raises(ValueError) as info:
        validate(from_frames(bad), now=NOW)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert not any(v in str(info.value) for v in personal_values(frames))
