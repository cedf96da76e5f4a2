"""Sliding cross-entity windows: each as-of date updates the previous date's window.

The cross-entity features (:mod:`riskml.features._network`) are computed for as-of
dates in ascending order. A window ``[t - w, t)`` of invoices sorted by knowledge day
is a slice, and from one as-of date to the next only the invoices at its two ends
change: those known before the new start leave, those known before the new end enter.
The classes here carry the window's state from date to date and update it by those
invoices only, instead of rebuilding it:

* :class:`KeyWindow` counts the window's invoices per key (an entity pair or a
  directed edge) and reports which keys entered the window and which left it;
* :class:`CounterpartyWindow` keeps, per entity, the number of distinct
  counterparties in the window (a pair entering adds one at both ends, a pair
  leaving takes one away);
* :class:`CycleWindow` keeps, per directed edge, whether it lies on a directed
  2- or 3-cycle of the window's graph. A cycle cannot be updated by counting, so each
  date re-examines only the edges whose status can have changed: the edges that
  entered (with every cycle through them) and the on-cycle edges that share an end
  with an edge that left (any two edges of a 2- or 3-cycle share an end).

Every state is an integer count or a flag, so the updated window is exactly the
rebuilt one; :func:`riskml.features._graph.cycle_edges` is the rebuilt reference.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from riskml.features._graph import window_slice

__all__ = ["CounterpartyWindow", "CycleWindow", "KeyWindow"]


class KeyWindow:
    """Invoices per key in the window ``[t - w, t)``, updated from date to date.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    ids : ndarray of int64
        Key id (``0 .. n_keys - 1``) of each invoice.
    n_keys : int
        Number of keys.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> win = KeyWindow(np.array([1, 2, 5]), np.array([0, 1, 0]), 2, w=3)
    >>> [k.tolist() for k in win.slide(4)]  # days 1..3: keys 0 and 1 enter
    [[0, 1], []]
    >>> [k.tolist() for k in win.slide(6)]  # days 3..5: key 1 leaves, key 0 stays (day 5)
    [[], [1]]
    """

    def __init__(self, day: np.ndarray, ids: np.ndarray, n_keys: int, w: float) -> None:
        self.day, self.ids, self.w = day, ids, w
        self.count = np.zeros(n_keys, dtype=np.int64)
        self.lo = self.hi = 0
        self.t: int | None = None
        self._slot = np.zeros(n_keys, dtype=np.int64)  # scratch of _distinct
        self._mark = np.zeros(n_keys, dtype=bool)  # scratch of slide

    def slide(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Move the window to end at ``t``; the keys that entered it and those that left.

        A key whose invoices all left while a new one entered stays in the window and
        is in neither.
        """
        if self.t is not None and t < self.t:
            raise ValueError(f"as-of dates must ascend: {t} after {self.t}")
        s = window_slice(self.day, t, self.w)
        gone = self.ids[self.lo : min(s.start, self.hi)]
        new = self.ids[max(self.hi, s.start) : s.stop]
        np.subtract.at(self.count, gone, 1)
        left = self._distinct(gone[self.count[gone] == 0])
        entered = self._distinct(new[self.count[new] == 0])
        np.add.at(self.count, new, 1)
        self.lo, self.hi, self.t = s.start, s.stop, t
        back = self.count[left] > 0  # left with old invoices, came back with new ones
        if back.any():
            self._mark[left[back]] = True
            entered = entered[~self._mark[entered]]
            self._mark[left[back]] = False
            left = left[~back]
        return entered, left

    def present(self) -> np.ndarray:
        """Ids of the keys with an invoice in the window, ascending."""
        return np.flatnonzero(self.count)

    def _distinct(self, keys: np.ndarray) -> np.ndarray:
        # Exactly one occurrence of each key passes, whichever write won the slot:
        # a linear dedupe (no sort) on a path that runs once per date.
        at = np.arange(len(keys))
        self._slot[keys] = at
        return keys[self._slot[keys] == at]


class CounterpartyWindow:
    """Distinct counterparties per entity in the window, updated from date to date.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    pair_id : ndarray of int64
        Id of each invoice's order-free entity pair.
    pair_a, pair_b : ndarray of int64
        The two entity codes of each pair (equal for an entity invoicing itself,
        which never counts).
    n : int
        Number of entity codes.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> # pairs {0, 1} (twice) and {0, 2}
    >>> win = CounterpartyWindow(np.array([1, 2, 3]), np.array([0, 0, 1]), np.array([0, 0]),
    ...                          np.array([1, 2]), n=3, w=2)
    >>> win.at(3).tolist()  # days 1..2: {0, 1}
    [1.0, 1.0, 0.0]
    >>> win.at(4).tolist()  # days 2..3: {0, 1} and {0, 2}
    [2.0, 1.0, 1.0]
    """

    def __init__(self, day: np.ndarray, pair_id: np.ndarray, pair_a: np.ndarray, pair_b: np.ndarray,
                 n: int, w: float) -> None:
        self.keys = KeyWindow(day, pair_id, len(pair_a), w)
        self.a, self.b, self.n = pair_a, pair_b, n
        self.counts = np.zeros(n, dtype=np.int64)
        self._other = pair_a != pair_b

    def at(self, t: int) -> np.ndarray:
        """Distinct counterparties of every entity code in ``[t - w, t)`` (float64)."""
        entered, left = self.keys.slide(t)
        self.counts += self._ends(entered) - self._ends(left)
        return self.counts.astype(np.float64)

    def _ends(self, pairs: np.ndarray) -> np.ndarray:
        pairs = pairs[self._other[pairs]]
        return np.bincount(self.a[pairs], minlength=self.n) + np.bincount(self.b[pairs], minlength=self.n)


class CycleWindow:
    """Which directed edges lie on a 2- or 3-cycle of the window's graph, date to date.

    The graph at ``t`` has an edge ``i -> j`` when an invoice from ``i`` to ``j`` is in
    the window (self-invoices left out); it is the graph
    :func:`~riskml.features._graph.cycle_edges` examines when rebuilt.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    edge_id : ndarray of int64
        Id of each invoice's directed edge; ids ascend with ``(src, dst)``.
    edge_src, edge_dst : ndarray of int64
        Ends of each edge id.
    n : int
        Number of entity codes.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> # edges 0->1, 1->0, 1->2: invoices on days 1, 5, 6
    >>> win = CycleWindow(np.array([1, 5, 6]), np.array([0, 1, 2]), np.array([0, 1, 1]),
    ...                   np.array([1, 0, 2]), n=3, w=10)
    >>> win.at(6).tolist()  # days -4..5: 0->1 and 1->0 close a 2-cycle
    [True, True, False]
    >>> win.at(12).tolist()  # days 2..11: 0->1 has left
    [False, False, False]
    """

    def __init__(self, day: np.ndarray, edge_id: np.ndarray, edge_src: np.ndarray, edge_dst: np.ndarray,
                 n: int, w: float) -> None:
        self.keys = KeyWindow(day, edge_id, len(edge_src), w)
        self.src, self.dst, self.n = edge_src, edge_dst, n
        self._loop = edge_src == edge_dst
        self.on = np.zeros(len(edge_src), dtype=bool)

    def at(self, t: int) -> np.ndarray:
        """Per edge id: on a 2- or 3-cycle of the graph of ``[t - w, t)`` (a view; do not modify)."""
        entered, left = self.keys.slide(t)
        entered, left = entered[~self._loop[entered]], left[~self._loop[left]]
        self.on[left] = False
        present = self.keys.present()
        graph = _Adjacency(present[~self._loop[present]], self.src, self.dst, self.n)
        # Edges that may have lost their cycles: on-cycle edges sharing an end with a left edge.
        touched = np.zeros(self.n, dtype=bool)
        touched[self.src[left]] = touched[self.dst[left]] = True
        on = np.flatnonzero(self.on)
        recheck = on[touched[self.src[on]] | touched[self.dst[on]]]
        self.on[recheck] = graph.on_cycle(recheck)
        # Edges that may have gained one: every cycle through an entered edge.
        self.on[graph.cycles_through(entered)] = True
        return self.on


class _Adjacency:
    """The window's graph as sparse rows (out-edges) and columns (in-edges), data = edge id + 1."""

    def __init__(self, ids: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int) -> None:
        self.src, self.dst = src, dst
        # Ids ascend with (src, dst): they are already in CSR order.
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src[ids], minlength=n), out=indptr[1:])
        self.out = sparse.csr_matrix((ids + 1, dst[ids], indptr), shape=(n, n))
        self.out.has_canonical_format = True  # sorted, no duplicates: spares the check per use
        self.into = self.out.T.tocsr()

    def on_cycle(self, ids: np.ndarray) -> np.ndarray:
        """For each edge ``i -> j`` of ``ids``: is there ``j -> i`` or a path ``j -> k -> i``?"""
        if len(ids) == 0:
            return np.zeros(0, dtype=bool)
        i, j = self.src[ids], self.dst[ids]
        back = np.asarray(self.out[j, i]).ravel() > 0
        paths = self.out[j].multiply(self.into[i])  # row q: the k with j -> k and k -> i
        return back | (np.diff(paths.indptr) > 0)

    def cycles_through(self, ids: np.ndarray) -> np.ndarray:
        """Ids of the edges on a 2- or 3-cycle through one of ``ids`` (those included)."""
        if len(ids) == 0:
            return ids
        a, b = self.src[ids], self.dst[ids]
        back = np.asarray(self.out[b, a]).ravel()  # b -> a closes a 2-cycle
        ahead, behind = self.out[b], self.into[a]  # b -> k, k -> a
        # Which edges close a 3-cycle at all (one product), then, for those few
        # only, which edges do: data = id + 1 of b -> k, and of k -> a.
        three = np.flatnonzero(np.diff(ahead.multiply(behind).indptr))
        ahead, behind = ahead[three], behind[three]
        via_out = ahead.multiply(behind.astype(bool)).data - 1
        via_in = behind.multiply(ahead.astype(bool)).data - 1
        closes = ids[back > 0], back[back > 0] - 1, ids[three], via_out, via_in
        return np.concatenate(closes).astype(np.int64)
