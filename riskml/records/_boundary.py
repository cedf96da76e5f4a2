"""The records boundary of the verbs: whatever a user hands in becomes validated Records.

``riskml.train``, ``predict``, ``tune``, ``explain`` and the command line accept records
as a :class:`Records`, a dict of DataFrames or a records folder; :func:`as_records`
turns each into validated, pseudonymised Records once, at the boundary, so the code
behind it trusts its input.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from riskml.records._io import from_frames, read
from riskml.records._records import Records
from riskml.records._validate import validate

__all__ = ["RecordsLike", "as_records"]

#: What the verbs accept as records: validated or raw :class:`Records`, a mapping of
#: source name to DataFrame, or the path of a records folder.
RecordsLike = Records | Mapping[str, pd.DataFrame] | str | os.PathLike[str]


def as_records(data: Records | Mapping[str, Any] | str | Path) -> Records:
    """Validated, pseudonymised Records from a Records, a dict of DataFrames or a folder.

    Parameters
    ----------
    data : Records, dict of str to DataFrame, str or Path
        Records (validated here with ``mode="strict"`` if they are not yet), raw frames
        by source name, or a records folder (see :func:`read`).

    Returns
    -------
    Records
        Validated records; already validated Records are returned as they are.

    Raises
    ------
    TypeError
        When ``data`` is none of these (the message names what was given).
    RecordsError
        When strict validation refuses the records.

    Examples
    --------
    >>> from riskml.synth import make_market
    >>> records = as_records(make_market(n_entities=100, seed=0).records)
    >>> records.validated, as_records(records) is records
    (True, True)
    >>> as_records(42)
    Traceback (most recent call last):
    ...
    TypeError: data must be riskml.records.Records, a dict of DataFrames, a records folder or a Panel; got int
    """
    if isinstance(data, str | Path):
        data = read(data)
    elif isinstance(data, Mapping) and not isinstance(data, Records):
        data = from_frames(dict(data))
    if not isinstance(data, Records):
        raise TypeError(
            "data must be riskml.records.Records, a dict of DataFrames, a records folder or a Panel; "
            f"got {type(data).__name__}"
        )
    return data if data.validated else validate(data, mode="strict")
