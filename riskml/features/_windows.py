"""Feature windows: ``"<n>d"`` (the last ``n`` days before the as-of date) or ``"all"``.

One parser for every spec that names a window (feature files, ``network.yaml``), so a
window means the same number of days everywhere.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_window"]

_WINDOW_RE = re.compile(r"^([1-9][0-9]*)d$")


def parse_window(window: str) -> float:
    """Length in days of a window like ``"90d"``; ``"all"`` (all history) is NaN.

    Parameters
    ----------
    window : str
        ``"<n>d"`` with a positive integer ``n``, or ``"all"``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``window`` has another form.

    Examples
    --------
    >>> parse_window("365d")
    365.0
    >>> parse_window("all")
    nan
    """
    if window == "all":
        return math.nan
    match = _WINDOW_RE.match(str(window))
    if match is None:
        raise ValueError(f"a window like '90d' (a positive number of days) or 'all', not {window!r}")
    return float(match.group(1))
