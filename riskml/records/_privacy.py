"""Pseudonymisation of personal data: a keyed hash (HMAC-SHA-256) per value.

Identifiers of natural persons (ID numbers, names, phones) are low-entropy: an unkeyed
hash of an 18-digit ID number is reversed by enumerating every plausible number. A keyed
hash is not, as long as the key stays outside every artifact (PIPL art. 51/73
de-identification; GB/T 37964-2019). The key comes from the environment variable
``RISKML_PSEUDONYM_KEY`` (or is passed explicitly) and never appears in any output,
repr, log line or error message.

Equal inputs give equal pseudonyms under one key, so shared legal representatives can
still be counted across entities; nulls stay null. Pseudonymising is idempotent: a
value that already is a pseudonym (``p_`` followed by 32 hex digits) is kept as is, so
records read back from a riskml-written folder can be validated again.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from riskml.records._sources import SourceCatalog

__all__ = ["KEY_ENV_VAR", "PSEUDONYM_PATTERN", "PrivacyError", "is_pseudonym", "pseudonymise"]

logger = logging.getLogger(__name__)

KEY_ENV_VAR = "RISKML_PSEUDONYM_KEY"
PSEUDONYM_PREFIX = "p_"
# 128 bits of the HMAC are plenty against collisions among a country's residents and
# keep identifiers short in tables.
PSEUDONYM_HEX_CHARS = 32
PSEUDONYM_PATTERN = rf"^{PSEUDONYM_PREFIX}[0-9a-f]{{{PSEUDONYM_HEX_CHARS}}}$"
# Short keys are guessable; the check is a floor, not a strength guarantee.
MIN_KEY_LENGTH = 16


class PrivacyError(ValueError):
    """Personal data cannot be handled safely (no key set, or raw values about to be written).

    The message says what is wrong and how to fix it; it never contains the key or a
    personal value.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import PrivacyError, pseudonymise
    >>> try:
    ...     pseudonymise(pd.Series(["110101199001011234"]), key="too-short")
    ... except PrivacyError as exc:
    ...     print(str(exc).split(";")[0])
    the pseudonymisation key is too short (9 bytes)
    """


def _resolve_key(key: str | bytes | None) -> bytes:
    """The pseudonymisation key as bytes, from ``key`` or the environment."""
    if key is None:
        key = os.environ.get(KEY_ENV_VAR)
        if not key:
            raise PrivacyError(
                "personal data needs a pseudonymisation key and none is set: set the "
                f"environment variable {KEY_ENV_VAR} to a secret of at least {MIN_KEY_LENGTH} "
                "characters (for example the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`), kept outside "
                "every data folder and repository, or pass key=... explicitly"
            )
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_LENGTH:
        raise PrivacyError(
            f"the pseudonymisation key is too short ({len(raw)} bytes); expected at least "
            f"{MIN_KEY_LENGTH}. Set {KEY_ENV_VAR} to a longer secret"
        )
    return raw


def is_pseudonym(values: pd.Series) -> pd.Series:
    """Whether each value already is a riskml pseudonym (nulls give False).

    Parameters
    ----------
    values : Series
        Any values; non-strings are never pseudonyms.

    Returns
    -------
    Series of bool

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records._privacy import is_pseudonym
    >>> is_pseudonym(pd.Series(["p_" + "0" * 32, "110101199001011234", None])).tolist()
    [True, False, False]
    """
    as_str = values.astype("str")
    return as_str.str.fullmatch(PSEUDONYM_PATTERN).fillna(False).astype(bool) & values.notna()


def _raw_personal(records: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> Iterator[tuple[str, pd.Series]]:
    """``("source.column", mask)`` per declared personal column present, ``mask`` marking raw values."""
    for name, table in records.items():
        if name not in catalog:
            continue
        for col in catalog[name].personal_columns:
            if col in table.columns:
                values = table[col]
                yield f"{name}.{col}", values.notna() & ~is_pseudonym(values)


def pseudonymise(values: pd.Series, key: str | bytes | None = None) -> pd.Series:
    """Replace each value by its keyed hash ``p_`` + 32 hex digits of HMAC-SHA-256.

    Parameters
    ----------
    values : Series
        Personal values (ID numbers, names, phones). Non-string values are hashed by
        their string form, so ``13800000000`` and ``"13800000000"`` agree.
    key : str or bytes, optional
        The secret key. Default: the environment variable ``RISKML_PSEUDONYM_KEY``.

    Returns
    -------
    Series
        Pandas ``str`` dtype, same index and name; nulls stay null and values that
        already are pseudonyms are kept.

    Raises
    ------
    PrivacyError
        When non-null values are present and no key is set (or the key is shorter
        than 16 bytes). The message says how to set the key; it never contains it.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import pseudonymise
    >>> ids = pd.Series(["110101199001011234", None, "110101199001011234"])
    >>> out = pseudonymise(ids, key="an-example-key-of-enough-length")
    >>> out[0] == out[2], out[0].startswith("p_"), len(out[0]), pd.isna(out[1])
    (True, True, 34, True)
    """
    if not isinstance(values, pd.Series):
        raise TypeError(f"pseudonymise expects a pandas Series, got {type(values).__name__}")
    notna = values.notna().to_numpy()
    out = np.full(len(values), np.nan, dtype=object)
    if not notna.any():
        return pd.Series(out, index=values.index, name=values.name, dtype="str")
    present = values[notna].astype("str")
    # Hash each distinct value once: personal identifiers repeat (one legal
    # representative of many entities) and hmac is the cost here.
    codes, uniques = pd.factorize(present)
    done = np.asarray(uniques.str.fullmatch(PSEUDONYM_PATTERN), dtype=bool)
    hashed = np.asarray(uniques, dtype=object).copy()
    if not done.all():
        raw_key = _resolve_key(key)
        digest, sha256, n, prefix = hmac.digest, "sha256", PSEUDONYM_HEX_CHARS // 2, PSEUDONYM_PREFIX
        todo = np.flatnonzero(~done)
        hashed[todo] = [prefix + digest(raw_key, v.encode("utf-8"), sha256)[:n].hex() for v in hashed[todo]]
    out[notna] = hashed[codes]
    return pd.Series(out, index=values.index, name=values.name, dtype="str")
