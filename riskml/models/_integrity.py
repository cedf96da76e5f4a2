"""Integrity of a saved model: file digests and a structural check of the booster.

Two different failures are guarded here:

* **Tampering or corruption after logging.** :func:`file_digests` records the SHA-256
  of every file of a model folder when it is logged; :func:`verify_digests` compares
  them on load and refuses the first file that differs or is missing, naming it. A
  same-length edit of ``booster.txt`` changes grades without any gate noticing; the
  digest does notice.
* **A malformed booster reaching native code.** LightGBM aborts the whole process (no
  Python exception) on some truncated or inconsistent model texts: a parse error inside
  its tree-reading threads, a parameters block without its end marker, a
  ``num_tree_per_iteration`` that is not the number of classes. :func:`check_booster_text`
  parses the text's structure in Python first (header, ``tree_sizes``, every tree's
  ``key=value`` lines, numbers, array lengths, feature, category and child indices,
  the ``end of trees`` marker, the parameters block) and raises :class:`ModelFileError`
  instead; ``tests/booster_corruption.py`` corrupts boosters many ways to keep it so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DIGEST_TAG", "ModelFileError", "ModelIntegrityError", "check_booster_text", "digest_of",
           "file_digests", "verify_digests"]

#: Model version tag holding the JSON ``{relative path: sha256}`` of the logged files.
DIGEST_TAG = "riskml.digests"
_CHUNK = 1 << 20
# Files the artifact store itself adds to a downloaded registered model.
_ADDED_ON_DOWNLOAD = frozenset({"registered_model_meta"})


class ModelFileError(ValueError):
    """A file of a saved model is missing, unreadable or malformed (named in the message).

    Examples
    --------
    >>> from riskml.models import ModelFileError
    >>> issubclass(ModelFileError, ValueError)
    True
    """


class ModelIntegrityError(ModelFileError):
    """A logged model's file differs from the digest recorded when it was logged, or is missing.

    Examples
    --------
    >>> from riskml.models import ModelFileError, ModelIntegrityError
    >>> issubclass(ModelIntegrityError, ModelFileError)
    True
    """


def file_digests(folder: str | Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, keyed by its path relative to it (``/``-separated).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("x")
    >>> file_digests(d)
    {'a.txt': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}
    """
    folder = Path(folder)
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in _ADDED_ON_DOWNLOAD:
            continue
        out[rel] = _sha256(path)
    return out


def digest_of(digests: Mapping[str, str]) -> str:
    """One SHA-256 over a whole digest record (for decision records and logs).

    Examples
    --------
    >>> digest_of({"a.txt": "00"})[:12]
    '187a438e8f7e'
    """
    text = json.dumps(dict(sorted(digests.items())), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_digests(folder: str | Path, expected: Mapping[str, str], *, model: str, version: str) -> None:
    """Refuse ``folder`` unless every file of ``expected`` is present with its digest.

    Raises
    ------
    ModelIntegrityError
        Naming the model, the version and the first file missing or changed.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("x")
    >>> verify_digests(d, file_digests(d), model="riskml-credit", version="1")
    >>> _ = (d / "a.txt").write_text("y")
    >>> verify_digests(d, {"a.txt": "00"}, model="riskml-credit", version="1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml.models._integrity.ModelIntegrityError: model riskml-credit version 1: file a.txt was changed after ...
    """
    folder = Path(folder)
    for rel, digest in sorted(expected.items()):
        path = folder / rel
        if not path.is_file():
            raise ModelIntegrityError(
                f"model {model} version {version}: file {rel} is missing from its artifacts; restore the "
                "artifact store from a backup or retrain and register a new version"
            )
        found = _sha256(path)
        if found != digest:
            raise ModelIntegrityError(
                f"model {model} version {version}: file {rel} was changed after the model was logged "
                f"(SHA-256 {found[:16]}..., logged {digest[:16]}...); refusing to score with it. Restore the "
                "artifact store from a backup, or retrain and register a new version"
            )


def check_booster_text(text: str, path: str | Path) -> None:
    """Check a LightGBM text model's structure before LightGBM parses it.

    LightGBM parses the trees in native threads, where a parse error is no exception
    but the end of the process: every field a tree parser reads is checked here
    first (each line ``key=value``, the required fields, every array's numbers and
    length), and so are the fields that later crash scoring rather than parsing
    (feature and category indices, the child links of each tree).

    Raises
    ------
    ModelFileError
        Naming ``path`` and what is malformed.

    Examples
    --------
    >>> check_booster_text("tree\\nversion=v4\\n", "booster.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml.models._integrity.ModelFileError: booster.txt is not a complete LightGBM model: ...
    """

    def bad(why: str) -> ModelFileError:
        return ModelFileError(f"{path} is not a complete LightGBM model: {why}; the file is truncated or corrupt")

    if not text.startswith("tree\n"):
        raise bad("it does not start with the 'tree' header")
    end = text.find("\nend of trees\n")
    if end < 0:
        raise bad("the 'end of trees' marker is missing")
    # LightGBM reads an opened parameters block up to its end marker, past the end of
    # the text if the marker is gone (a segmentation fault, not an exception).
    # Each of its lines is read as ``[name: value]``; another line crashes it too.
    params = text.find("\nparameters:\n", end)
    if params >= 0:
        close = text.find("\nend of parameters", params)
        if close < 0:
            raise bad("the parameters block has no 'end of parameters' marker")
        lines = text[params + len("\nparameters:\n") : close].split("\n")
        if not all(_PARAMETER.fullmatch(line) for line in lines if line):
            raise bad("the parameters block has a line that is not '[name: value]'")
    _check_pandas_categorical(text[end:], bad)
    header = _fields(text[: text.find("\nTree=") if "\nTree=" in text else end])
    n_features = _header_int(header, "max_feature_idx", 0, bad) + 1
    n_class = _header_int(header, "num_class", 1, bad)
    _header_int(header, "label_index", 0, bad)
    for name in ("feature_names", "feature_infos"):
        if len(header.get(name, "").split(" ")) != n_features:
            raise bad(f"the header's {name} do not name its {n_features} features")
    # scoring walks the trees num_tree_per_iteration at a time, one per class
    if "num_tree_per_iteration" in header and _header_int(header, "num_tree_per_iteration", 1, bad) != n_class:
        raise bad(f"the header's num_tree_per_iteration is not its num_class {n_class}")
    sizes = _numbers(header.get("tree_sizes", ""), int, None, "the header's tree_sizes", bad)
    start = text.find("\nTree=0\n")
    if len(sizes) % n_class:
        raise bad(f"the header's {len(sizes)} tree sizes are no whole number of iterations of {n_class} trees")
    if sizes:
        if start < 0 or start + 1 + sum(sizes) != end + 1:
            raise bad(f"the trees do not add up to the {len(sizes)} tree sizes in the header")
        pos = start + 1
        blocks = []
        for size in sizes:
            blocks.append(text[pos : pos + size])
            pos += size
    else:
        blocks = re.split(r"\n(?=Tree=\d+\n)", text[start + 1 : end]) if start >= 0 else []
    for k, block in enumerate(blocks):
        if not block.startswith(f"Tree={k}\n"):
            raise bad(f"tree {k} does not start where the header says")
        _check_tree(_tree_fields(block[len(f"Tree={k}\n") :], k, bad), k, n_features, bad)


_PARAMETER = re.compile(r"\[\w+: .*\]")
# LightGBM's tree parser reads at most this many ``key=value`` lines, up to a blank line.
_MAX_TREE_LINES = 22
# A number as LightGBM writes one (and its parser reads): no underscores, no spaces.
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)", re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")
# Per-tree arrays: the count of values (per number of leaves n) and the number type.
_SPLIT_ARRAYS = ("left_child", "right_child", "split_feature", "threshold")
_OPTIONAL_ARRAYS = {
    "split_gain": (-1, float), "internal_value": (-1, float), "internal_weight": (-1, float),
    "internal_count": (-1, int), "decision_type": (-1, int), "leaf_weight": (0, float), "leaf_count": (0, int),
}
_CATEGORICAL = 1  # decision_type bit of a categorical split


def _check_pandas_categorical(tail: str, bad) -> None:  # type: ignore[no-untyped-def]
    """The categories LightGBM's Python package restores for pandas columns: lists of distinct values."""
    found = re.findall(r"^pandas_categorical:(.*)$", tail, flags=re.MULTILINE)
    if not found:
        return
    try:
        value = json.loads(found[-1])
    except ValueError:
        raise bad("its pandas_categorical line is not JSON") from None
    if value is not None and not (
        isinstance(value, list)
        and all(isinstance(c, list) and len({json.dumps(v) for v in c}) == len(c) for c in value)
    ):
        raise bad("its pandas_categorical line is not lists of distinct categories")


def _tree_fields(body: str, k: int, bad) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The ``key=value`` lines of one tree, as LightGBM's parser reads them."""
    lines = body.split("\n")
    n = next((i for i, line in enumerate(lines) if line in ("", "\r")), None)
    if n is None or n > _MAX_TREE_LINES or any(line.strip() for line in lines[n:]):
        raise bad(f"tree {k} is not a block of key=value lines ending in a blank line")
    out = {}
    for line in lines[:n]:
        key, sep, value = line.rstrip("\r").partition("=")
        if not sep:
            raise bad(f"tree {k} has a line without '=': {line[:40]!r}")
        out[key] = value
    return out


def _numbers(value: str, kind: type, count: int | None, what: str, bad) -> list:  # type: ignore[no-untyped-def]
    pattern = _INT if kind is int else _NUMBER
    items = value.split(" ") if value else []
    if not all(pattern.fullmatch(item) for item in items):
        raise bad(f"{what} holds a value that is not a number")
    if count is not None and len(items) != count:
        raise bad(f"{what} has {len(items)} values, {count} expected")
    return [kind(item) for item in items]


def _header_int(header: dict[str, str], key: str, least: int, bad) -> int:  # type: ignore[no-untyped-def]
    values = _numbers(header.get(key, ""), int, None, f"the header's {key}", bad)
    if len(values) != 1 or values[0] < least:
        raise bad(f"the header has no valid {key}")
    return values[0]


def _check_tree(fields: dict[str, str], k: int, n_features: int, bad) -> None:  # type: ignore[no-untyped-def]
    def array(name: str, kind: type, count: int) -> list:
        return _numbers(fields[name], kind, count, f"tree {k}'s {name}", bad)

    for name in ("num_leaves", "num_cat", "leaf_value"):
        if name not in fields:
            raise bad(f"tree {k} has no {name}")
    [leaves], [n_cat] = array("num_leaves", int, 1), array("num_cat", int, 1)
    if leaves < 1 or n_cat < 0:
        raise bad(f"tree {k} has {leaves} leaves and {n_cat} categorical splits")
    array("leaf_value", float, leaves)
    for name, kind in (("shrinkage", float), ("is_linear", int)):
        if name in fields:
            array(name, kind, 1)
    linear = "is_linear" in fields and int(fields["is_linear"]) != 0
    if linear:
        _check_linear(fields, k, leaves, n_features, array, bad)
    if leaves == 1 and not linear:
        return
    for name in _SPLIT_ARRAYS:
        if name not in fields:
            raise bad(f"tree {k} has no {name}")
    split_feature = array("split_feature", int, leaves - 1)
    threshold = array("threshold", float, leaves - 1)
    children = array("left_child", int, leaves - 1) + array("right_child", int, leaves - 1)
    found = {name: array(name, kind, leaves + extra) for name, (extra, kind) in _OPTIONAL_ARRAYS.items()
             if name in fields}
    if any(not 0 <= f < n_features for f in split_feature):
        raise bad(f"tree {k} splits on a feature outside 0..{n_features - 1}")
    # every node but the root is the child of exactly one node, every leaf reached once
    if sorted(children) != list(range(-leaves, 0)) + list(range(1, leaves - 1)):
        raise bad(f"tree {k}'s child links do not form a tree of {leaves} leaves")
    categorical = [t for d, t in zip(found.get("decision_type", []), threshold, strict=False) if d & _CATEGORICAL]
    if any(not (t == int(t) and 0 <= t < n_cat) for t in categorical):
        raise bad(f"tree {k} has a categorical split outside its {n_cat} category sets")
    if n_cat > 0:
        for name in ("cat_boundaries", "cat_threshold"):
            if name not in fields:
                raise bad(f"tree {k} has {n_cat} categorical splits but no {name}")
        bounds = array("cat_boundaries", int, n_cat + 1)
        if bounds[0] != 0 or any(b < a for a, b in zip(bounds, bounds[1:], strict=False)):
            raise bad(f"tree {k}'s cat_boundaries do not rise from 0")
        if any(t < 0 for t in array("cat_threshold", int, bounds[-1])):
            raise bad(f"tree {k} has a negative cat_threshold")


def _check_linear(fields: dict[str, str], k: int, leaves: int, n_features: int, array, bad) -> None:  # type: ignore[no-untyped-def]
    if "leaf_const" in fields:
        array("leaf_const", float, leaves)
    if "num_features" not in fields:
        return
    counts = array("num_features", int, leaves)
    if any(c < 0 for c in counts):
        raise bad(f"tree {k} has a negative num_features")
    # each leaf's values end in an extra space (a leaf without features writes only it)
    def grouped(name: str, kind: type) -> list:
        return _numbers(" ".join(fields[name].split()), kind, sum(counts), f"tree {k}'s {name}", bad)

    if "leaf_features" in fields and any(not 0 <= f < n_features for f in grouped("leaf_features", int)):
        raise bad(f"tree {k} has a linear leaf on a feature outside 0..{n_features - 1}")
    if "leaf_coeff" in fields:
        grouped("leaf_coeff", float)


def _fields(block: str) -> dict[str, str]:
    out = {}
    for line in block.split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()
