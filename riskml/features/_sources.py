"""The sources a feature folder reads: the built-in declarations plus its own ``sources.yaml``.

A folder of feature specs may declare custom sources in a ``sources.yaml`` of its own;
they join the built-in ones (``features/sources.yaml``) and win on a clash. The feature
library and the cross-entity spec resolve a folder's sources by this one rule.
"""

from __future__ import annotations

from pathlib import Path

from riskml._specs import SpecError, bundled_dir, load_yaml, parse_spec
from riskml.records._sources import SourceCatalog

__all__ = ["SOURCES_FILE", "resolve_sources"]

SOURCES_FILE = "sources.yaml"


def resolve_sources(base_dir: Path, sources: SourceCatalog | str | Path | None) -> SourceCatalog:
    if isinstance(sources, SourceCatalog):
        return sources
    builtin_path = bundled_dir("features") / SOURCES_FILE
    data = load_yaml(builtin_path)
    extra_path = Path(sources) if sources is not None else base_dir / SOURCES_FILE
    if extra_path.is_dir():
        extra_path = extra_path / SOURCES_FILE
    if extra_path.is_file() and extra_path.resolve() != builtin_path.resolve():
        extra = load_yaml(extra_path)
        # Custom sources join the built-in ones (a user's declaration wins on a clash).
        merged = dict(data)
        merged["sources"] = {**data.get("sources", {}), **(extra.get("sources") or {})}
        if "entity_source" in extra:
            merged["entity_source"] = extra["entity_source"]
        return parse_spec(SourceCatalog, merged, extra_path)
    elif sources is not None:
        raise SpecError(extra_path, "", "an existing sources.yaml file or folder")
    return parse_spec(SourceCatalog, data, builtin_path)
