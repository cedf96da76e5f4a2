"""The sources declaration: loading, extending, and the documentation that must match it."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskml import SpecError
from riskml.records import SourceCatalog, SourceSpec, load_sources

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"


def source_table(spec: SourceSpec) -> str:
    """The Markdown table of one source's columns, as docs/data.md shows it."""
    roles = [
        (spec.entity_key, "entity key"),
        (spec.record_id, "record id"),
        (spec.known_at, "known_at"),
        (spec.event_at, "event_at"),
        (spec.valid_to, "valid_to"),
        (spec.counterparty, "counterparty"),
    ]
    lines = ["| column | type | role | nullable | notes |", "|---|---|---|---|---|"]
    for col, c in spec.columns.items():
        role = ", ".join(r for k, r in roles if k == col)
        notes = []
        if c.personal:
            notes.append("**personal** (pseudonymised)")
        if c.nonnegative:
            notes.append(">= 0")
        if c.categories:
            notes.append("one of " + ", ".join(f"`{v}`" for v in c.categories))
        if c.label_en:
            notes.append(f"{c.label_en} ({c.label_zh})" if c.label_zh else c.label_en)
        lines.append(f"| `{col}` | {c.type} | {role} | {'yes' if c.nullable else 'no'} | {'; '.join(notes)} |")
    return "\n".join(lines)


def test_docs_describe_every_builtin_source_exactly_as_declared():
    text = DOC.read_text(encoding="utf-8")
    for name, spec in load_sources().sources.items():
        assert f"### `{name}`" in text, name
        assert source_table(spec) in text, f"docs/data.md table for {name!r} does not match features/sources.yaml"


def test_extends_must_name_builtin(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("extends: mine\nsources: {}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"sources.yaml: extends: expected 'builtin'"):
        load_sources(path)


def test_a_custom_catalog_replaces_the_builtin_one_unless_it_extends_it(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "entity_source: shops\nsources:\n  shops:\n    entity_key: shop_id\n    record_id: shop_id\n"
        "    known_at: opened\n    columns:\n      shop_id: {type: str}\n      opened: {type: date}\n",
        encoding="utf-8",
    )
    catalog = load_sources(path)
    assert isinstance(catalog, SourceCatalog) and list(catalog.sources) == ["shops"]
    merged = load_sources().merged(catalog)
    assert "shops" in merged and merged.entity_source == "entities"
