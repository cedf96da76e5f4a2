"""Loading declarative specs (YAML) into typed objects.

Specs are data, not code: the feature library (``features/``), model specs
(``models/``) and experiment specs (``experiments/``) are YAML files validated into
frozen pydantic models. Every error names the file, the key and what was expected.

The three spec folders ship inside the wheel (as ``riskml/_bundled/<kind>``); in a
source checkout they are read from the repository's top level. A user points riskml
at their own folder (or file) to change them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "SpecError", "SpecModel", "bundled_dir", "load_yaml", "parse_spec", "read_spec", "resolve_spec", "spec_hash",
]

SpecKind = Literal["features", "models", "experiments"]
SPEC_KINDS: tuple[str, ...] = ("features", "models", "experiments")

M = TypeVar("M", bound=BaseModel)


class SpecError(ValueError):
    """A spec file is missing, unreadable or does not match its schema.

    The message names the file, the key (a dotted path) and what was expected.

    Examples
    --------
    >>> from riskml import SpecError
    >>> from riskml.models import load_backtest_spec
    >>> try:
    ...     load_backtest_spec({"min_train_dates": "many"})
    ... except SpecError as error:
    ...     print(error.key, "|", error.got, "|", isinstance(error, ValueError))
    min_train_dates | many | True
    """

    def __init__(self, file: str | Path, key: str, expected: str, got: Any = None) -> None:
        self.file = str(file)
        self.key = key
        self.expected = expected
        self.got = got
        where = f"{self.file}: {key}" if key else self.file
        tail = f" (got {got!r})" if got is not None else ""
        super().__init__(f"{where}: expected {expected}{tail}")


class SpecModel(BaseModel):
    """Base of every spec object: frozen, no unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def bundled_dir(kind: str) -> Path:
    """Folder holding riskml's default specs of ``kind`` (features, models, experiments)."""
    if kind not in SPEC_KINDS:
        raise ValueError(f"unknown spec kind {kind!r}; expected one of {SPEC_KINDS}")
    here = Path(__file__).resolve().parent
    installed = here / "_bundled" / kind
    if installed.is_dir():
        return installed
    return here.parent / kind


def resolve_spec(kind: str, name: str, folder: str | Path | None = None) -> Path:
    """Path of spec ``name`` (a file stem like ``"credit"`` or a path) of ``kind``.

    ``folder`` overrides the bundled folder. A ``name`` that is an existing path wins.
    """
    candidate = Path(name)
    if candidate.suffix in {".yaml", ".yml"} and candidate.is_file():
        return candidate.resolve()
    base = Path(folder) if folder is not None else bundled_dir(kind)
    for suffix in (".yaml", ".yml"):
        path = base / f"{name}{suffix}"
        if path.is_file():
            return path.resolve()
    known = sorted(p.stem for p in base.glob("*.y*ml")) if base.is_dir() else []
    raise SpecError(base / f"{name}.yaml", "", f"an existing {kind} spec; available: {known}")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read one YAML mapping, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(path, "", "an existing YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(path, "", f"valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(path, "", "a mapping at the top level", type(data).__name__)
    return data


def read_spec(
    spec: str | Path | dict[str, Any], kind: str, folder: str | Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """The file a spec comes from and its mapping, before validation.

    ``spec`` is a spec name of ``kind`` (looked up in ``folder`` or the bundled folder),
    a YAML path, or an already parsed mapping (its file is ``<dict>``; the mapping is
    copied so overrides do not change the caller's).
    """
    if isinstance(spec, dict):
        return Path("<dict>"), dict(spec)
    path = resolve_spec(kind, str(spec), folder)
    return path, load_yaml(path)


def parse_spec(model: type[M], data: Any, file: str | Path) -> M:
    """Validate ``data`` into ``model``; raise :class:`SpecError` naming the first bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(part) for part in err["loc"])
        got = err.get("input")
        if isinstance(got, dict):
            got = None
        problems = len(exc.errors())
        more = f"; {problems - 1} more problem(s)" if problems > 1 else ""
        raise SpecError(file, key, f"{err['msg']}{more}", got) from None


def spec_hash(*objects: Any) -> str:
    """Stable short hash of spec objects (pydantic models, dicts, lists, scalars)."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, BaseModel):
            return obj.model_dump(mode="json")
        return obj

    payload = json.dumps([plain(o) for o in objects], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
