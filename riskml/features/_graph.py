"""Array steps of the cross-entity features: windows, pair counts, list states, cycles.

Entities are integer codes ``0 .. n - 1``; invoices are parallel arrays (seller code,
buyer code, day, amount, ...) sorted by knowledge day, so the invoices known in an
exact day window ``[t - w, t)`` are one contiguous slice found by ``np.searchsorted``.
Every function here is pure (arrays in, arrays out, no pandas, no specs), so each is
one step a distributed implementation can run as a map, a join by key or an
aggregation by entity (see :mod:`riskml.features._network`).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from riskml._time import in_force

__all__ = [
    "cycle_edges",
    "listed_at_day",
    "listed_on_days",
    "pair_counts",
    "pair_keys",
    "ratio",
    "window_slice",
]


def window_slice(day: np.ndarray, t: int, window: float) -> slice:
    """Slice of the records (sorted by ``day``) known in ``[t - window, t)``.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge days, sorted ascending.
    t : int
        The as-of day.
    window : float
        Window length in days.

    Returns
    -------
    slice

    Examples
    --------
    >>> import numpy as np
    >>> day = np.array([0, 10, 10, 11, 20])
    >>> window_slice(day, 20, 10)  # days 10..19
    slice(1, 4, None)
    """
    lo = int(np.searchsorted(day, t - int(window), side="left"))
    hi = int(np.searchsorted(day, t, side="left"))
    return slice(lo, hi)


def pair_keys(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Order-free int64 key of the entity pair ``{a, b}`` (``min * n + max``).

    Examples
    --------
    >>> import numpy as np
    >>> pair_keys(np.array([3, 1]), np.array([1, 3]), 10).tolist()
    [13, 13]
    """
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    return np.minimum(a, b) * np.int64(n) + np.maximum(a, b)


def pair_counts(keys: np.ndarray, n: int, flag: np.ndarray | None = None) -> np.ndarray:
    """Per entity, the number of distinct pairs it is part of (optionally flagged ones).

    A pair ``{a, b}`` counts once for ``a`` and once for ``b`` however many records
    join them. ``flag`` (aligned with ``keys``) must be constant within a pair; a pair
    counts when its flag is set. Self pairs (``a == b``) never count.

    Parameters
    ----------
    keys : ndarray of int64
        :func:`pair_keys` of the records.
    n : int
        Number of entity codes.
    flag : ndarray of bool, optional
        Which pairs to count.

    Returns
    -------
    ndarray of float64, length ``n``

    Examples
    --------
    >>> import numpy as np
    >>> k = pair_keys(np.array([0, 0, 1, 2]), np.array([1, 1, 2, 2]), 3)
    >>> pair_counts(k, 3).tolist()
    [1.0, 2.0, 1.0]
    """
    uniq, first = np.unique(keys, return_index=True)
    a, b = uniq // n, uniq % n
    weight = (a != b).astype(np.float64)
    if flag is not None:
        weight = weight * flag[first]
    return np.bincount(a, weight, minlength=n) + np.bincount(b, weight, minlength=n)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere (a share of nothing is unknown).

    Examples
    --------
    >>> import numpy as np
    >>> ratio(np.array([1.0, 0.0]), np.array([4.0, 0.0])).tolist()
    [0.25, nan]
    """
    out = np.full(len(den), np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def listed_at_day(code: np.ndarray, start: np.ndarray, end: np.ndarray, t: int, n: int) -> np.ndarray:
    """Which entities are on a list at day ``t``: a listing with ``start < t <= end``.

    Parameters
    ----------
    code : ndarray of int64
        Entity code of each listing.
    start, end : ndarray of int64
        Knowledge day of the listing and its end day (a huge number when open).
    t : int
        The day.
    n : int
        Number of entity codes.

    Returns
    -------
    ndarray of bool, length ``n``

    Examples
    --------
    >>> import numpy as np
    >>> listed_at_day(np.array([0, 1]), np.array([5, 5]), np.array([9, 20]), 10, 3).tolist()
    [False, True, False]
    """
    on = in_force(start, end, t)
    return np.bincount(code[on], minlength=n) > 0


def listed_on_days(
    code: np.ndarray, start: np.ndarray, end: np.ndarray, who: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """For each query ``(who, day)``, whether ``who`` is on the list at ``day``.

    The join of queries with listings by entity code: listings are sorted by code
    once, and each query scans only the listings of its own entity (few per entity).

    Parameters
    ----------
    code, start, end : ndarray of int64
        Listings: entity code, knowledge day, end day (a huge number when open).
    who, day : ndarray of int64
        Queries: entity code and day.

    Returns
    -------
    ndarray of bool, aligned with the queries

    Examples
    --------
    >>> import numpy as np
    >>> listed_on_days(np.array([2, 2]), np.array([0, 50]), np.array([10, 60]),
    ...                np.array([2, 2, 2, 1]), np.array([5, 20, 55, 5])).tolist()
    [True, False, True, False]
    """
    out = np.zeros(len(who), dtype=bool)
    if len(code) == 0 or len(who) == 0:
        return out
    order = np.argsort(code, kind="stable")
    code, start, end = code[order], start[order], end[order]
    # Each query's run of listings, looked up by code (codes are small non-negative
    # ints): a gather per query instead of two binary searches.
    size = int(max(code.max(), who.max())) + 1
    per_code = np.bincount(code, minlength=size)
    count = per_code[who]
    # Most entities are on no list: only the queries of listed entities are joined.
    asked = np.flatnonzero(count)
    count = count[asked]
    first = (np.cumsum(per_code) - per_code)[who[asked]]
    # Expand each query into one row per listing of its entity (a vectorised join).
    q = np.repeat(asked, count)
    offset = np.arange(len(q)) - np.repeat(np.cumsum(count) - count, count)
    j = np.repeat(first, count) + offset
    hit = (start[j] < day[q]) & (end[j] >= day[q])
    out[q[hit]] = True
    return out


def cycle_edges(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Which directed edges ``src -> dst`` lie on a directed cycle of length 2 or 3.

    Edge ``i -> j`` closes a 2-cycle when ``j -> i`` exists and a 3-cycle when some
    ``k`` has ``j -> k -> i``; with self-loops removed that is ``(B + B @ B)[j, i] > 0``
    for the 0/1 adjacency ``B``. Nodes without both an in- and an out-edge cannot be on
    a cycle; they are pruned first (repeatedly) so the sparse product stays small.
    Longer cycles (4 hops and more) do not count.

    Parameters
    ----------
    src, dst : ndarray of int64
        Edge endpoints (entity codes); repeated edges are fine.
    n : int
        Number of entity codes.

    Returns
    -------
    ndarray of bool, aligned with the edges

    Examples
    --------
    >>> import numpy as np
    >>> # 0->1->0 (2-cycle), 2->3->4->2 (3-cycle), 5->6->7->8->5 (4-cycle: no)
    >>> src = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8])
    >>> dst = np.array([1, 0, 3, 4, 2, 6, 7, 8, 5])
    >>> cycle_edges(src, dst, 9).astype(int).tolist()
    [1, 1, 1, 1, 1, 0, 0, 0, 0]
    """
    out = np.zeros(len(src), dtype=bool)
    keep = src != dst
    while keep.any():
        outdeg = np.bincount(src[keep], minlength=n)
        indeg = np.bincount(dst[keep], minlength=n)
        both = (outdeg > 0) & (indeg > 0)
        pruned = keep & both[src] & both[dst]
        if pruned.sum() == keep.sum():
            break
        keep = pruned
    if not keep.any():
        return out
    s, d = src[keep], dst[keep]
    nodes, inverse = np.unique(np.concatenate([s, d]), return_inverse=True)
    si, di = inverse[: len(s)], inverse[len(s) :]
    m = len(nodes)
    adj = sparse.csr_matrix((np.ones(len(s), dtype=np.int64), (si, di)), shape=(m, m))
    adj.sum_duplicates()
    adj.data[:] = 1
    back = (adj + adj @ adj).tocsr()
    out[np.flatnonzero(keep)] = np.asarray(back[di, si]).ravel() > 0
    return out
