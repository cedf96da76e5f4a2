"""Integrity of a saved model: file digests and a structural check of the booster.

Two different failures are guarded here:

* **Tampering or corruption after logging.** :func:`file_digests` records the SHA-256
  of every file of a model folder when it is logged; :func:`verify_digests` compares
  them on load and refuses the first file that differs or is missing, naming it. A
  same-length edit of ``booster.txt`` changes grades without any gate noticing; the
  digest does notice.
* **A malformed booster reaching native code.** LightGBM aborts the whole process (no
  Python exception) on some truncated or inconsistent model texts. :func:`check_booster_text`
  parses the text's structure in Python first (header, ``tree_sizes``, each tree's
  array lengths and child indices, the ``end of trees`` marker) and raises
  :class:`ModelFileError` instead.
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
# Per-tree arrays and their length relative to the number of leaves.
_INNER_ARRAYS = ("split_feature", "threshold", "decision_type", "left_child", "right_child")


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
    header = _fields(text[: text.find("\nTree=") if "\nTree=" in text else end])
    try:
        n_features = int(header["max_feature_idx"]) + 1
        sizes = [int(s) for s in header.get("tree_sizes", "").split()]
    except (KeyError, ValueError):
        raise bad("the header has no valid max_feature_idx or tree_sizes") from None
    start = text.find("\nTree=0\n")
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
        _check_tree(_fields(block), k, n_features, bad)


def _check_tree(fields: dict[str, str], k: int, n_features: int, bad) -> None:  # type: ignore[no-untyped-def]
    try:
        leaves = int(fields["num_leaves"])
        leaf_value = [float(v) for v in fields["leaf_value"].split()]
    except (KeyError, ValueError):
        raise bad(f"tree {k} has no valid num_leaves or leaf_value") from None
    if leaves < 1 or len(leaf_value) != leaves:
        raise bad(f"tree {k} has {len(leaf_value)} leaf values for {leaves} leaves")
    if leaves == 1:
        return
    arrays = {}
    for name in _INNER_ARRAYS:
        try:
            values = fields[name].split()
            arrays[name] = [float(v) for v in values] if name == "threshold" else [int(v) for v in values]
        except (KeyError, ValueError):
            raise bad(f"tree {k} has no valid {name}") from None
        if len(arrays[name]) != leaves - 1:
            raise bad(f"tree {k} has {len(arrays[name])} {name} values for {leaves - 1} splits")
    if any(not 0 <= f < n_features for f in arrays["split_feature"]):
        raise bad(f"tree {k} splits on a feature outside 0..{n_features - 1}")
    children = arrays["left_child"] + arrays["right_child"]
    if any(not -leaves <= c < leaves - 1 for c in children):
        raise bad(f"tree {k} has a child index outside its {leaves} leaves")


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
