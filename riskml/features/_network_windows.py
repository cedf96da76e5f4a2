"""Sliding cross-entity windows: each as-of date updates the previous date's window.

The cross-entity features (:mod:`riskml.features._network`) are computed for as-of
dates in ascending order. A window ``[t - w, t)`` of invoices sorted by knowledge day
is a slice, and from one as-of date to the next only the invoices at its two ends
change: those known before the new start leave, those known before the new end enter.
The classes here carry the window's state from date to date and update it by those
invoices only, instead of rebuilding it:

* :class:`KeyWindow` knows which keys (entity pairs, directed edges; see
  :class:`InvoiceKeys`) have an invoice in the window and reports which keys entered
  it and which left it, read off each end invoice's previous and next invoice with
  the same key;
* :class:`CounterpartyWindow` keeps, per entity, the number of distinct
  counterparties in the window (a pair entering adds one at both ends, a pair
  leaving takes one away);
* :class:`CycleWindow` keeps, per directed edge, whether it lies on a directed
  2- or 3-cycle of the window's graph. A cycle cannot be updated by counting, so each
  date re-examines only the edges whose status can have changed: the edges that
  entered (with every cycle through them) and the on-cycle edges that share an end
  with an edge that left (any two edges of a 2- or 3-cycle share an end). Those
  checks read the window's graph as sparse out- and in-rows, laid out again at each
  date from the present edges (linear: edge ids are already in row order).

Every state is an integer count or a flag, so the updated window is exactly the
rebuilt one; :func:`riskml.features._graph.cycle_edges` is the rebuilt reference.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from riskml.features._graph import window_slice

__all__ = ["CounterpartyWindow", "CycleWindow", "InvoiceKeys", "KeyWindow"]


class InvoiceKeys:
    """Invoices grouped by a key (an entity pair, a directed edge): ids and neighbours.

    Parameters
    ----------
    keys : ndarray of int64
        Non-negative key of each invoice, invoices sorted by knowledge day.

    Attributes
    ----------
    keys : ndarray of int64
        The distinct keys, ascending; a key's id is its position here.
    ids : ndarray of int32 (int64 beyond 2**31 invoices)
        Key id of each invoice.
    prev, next : ndarray of int32 (int64 beyond 2**31 invoices)
        The invoice before and after each one with the same key (-1, or the number of
        invoices, when there is none).

    Examples
    --------
    >>> import numpy as np
    >>> k = InvoiceKeys(np.array([7, 3, 7, 7]))
    >>> k.keys.tolist(), k.ids.tolist(), k.prev.tolist(), k.next.tolist()
    ([3, 7], [1, 0, 1, 1], [-1, -1, 0, 2], [2, 4, 3, 4])
    """

    def __init__(self, keys: np.ndarray) -> None:
        m = len(keys)
        rows = np.arange(m, dtype=np.int64)
        # Invoices by (key, invoice): one sort of values (far faster than an argsort)
        # when key * m + invoice fits in int64, a stable argsort when it does not.
        if m and int(keys.max()) < np.iinfo(np.int64).max // m - 1:
            packed = np.sort(keys * np.int64(m) + rows)
            order, by_key = packed % m, packed // m
        else:
            order = np.argsort(keys, kind="stable")
            by_key = keys[order]
        starts = np.ones(m, dtype=bool)
        starts[1:] = by_key[1:] != by_key[:-1]
        self.keys = by_key[starts]
        # Invoice positions in int32 while they fit: three arrays per invoice.
        index = np.int32 if m < np.iinfo(np.int32).max else np.int64
        self.ids = np.empty(m, dtype=index)
        self.ids[order] = np.cumsum(starts) - 1
        same = ~starts[1:]  # invoice order[i + 1] follows order[i] with the same key
        self.prev = np.full(m, -1, dtype=index)
        self.prev[order[1:][same]] = order[:-1][same]
        self.next = np.full(m, m, dtype=index)
        self.next[order[:-1][same]] = order[1:][same]

    def __len__(self) -> int:
        return len(self.keys)


class KeyWindow:
    """Which keys have an invoice in the window ``[t - w, t)``, updated from date to date.

    Moving the window, a key leaves when its last invoice before the new start is
    followed by none before the new end, and enters when its first invoice after the
    old end follows none since the old start: both are read off the invoices at the
    window's two ends (their ``prev`` and ``next``), never off the whole window.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    keys : InvoiceKeys
        The invoices' keys.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> win = KeyWindow(np.array([1, 2, 5]), InvoiceKeys(np.array([0, 1, 0])), w=3)
    >>> [r.tolist() for r in win.slide(4)]  # days 1..3: keys 0 and 1 enter (invoices 0 and 1)
    [[0, 1], []]
    >>> [r.tolist() for r in win.slide(6)]  # days 3..5: key 1 leaves (invoice 1), key 0 stays (invoice 2)
    [[], [1]]
    >>> win.present().tolist()
    [0]
    """

    def __init__(self, day: np.ndarray, keys: InvoiceKeys, w: float) -> None:
        self.day, self.keys, self.w = day, keys, w
        self.on = np.zeros(len(keys), dtype=bool)
        self.lo = self.hi = 0
        self.t: int | None = None

    def slide(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Move the window to end at ``t``: one invoice of each key that entered, and of each that left.

        A key whose invoices all left while a new one entered stays in the window and
        is in neither.
        """
        if self.t is not None and t < self.t:
            raise ValueError(f"as-of dates must ascend: {t} after {self.t}")
        s = window_slice(self.day, t, self.w)
        k = self.keys
        if s.start <= self.hi:  # the windows overlap (or the old one is empty at 0)
            gone = np.arange(self.lo, s.start)
            left = gone[k.next[gone] >= s.stop]
            new = np.arange(self.hi, s.stop)
            entered = new[k.prev[new] < self.lo]
        else:  # nothing in common: the old window's keys leave unless the new one has them
            old = np.arange(self.lo, self.hi)
            old = old[k.next[old] >= self.hi]  # one invoice per key: its last
            new = np.arange(s.start, s.stop)
            new = new[k.prev[new] < s.start]  # its first
            entered = new[~self.on[k.ids[new]]]
            self.on[k.ids[old]] = False
            self.on[k.ids[new]] = True
            left = old[~self.on[k.ids[old]]]
        self.on[k.ids[left]] = False
        self.on[k.ids[entered]] = True
        self.lo, self.hi, self.t = s.start, s.stop, t
        return entered, left

    def present(self) -> np.ndarray:
        """Ids of the keys with an invoice in the window, ascending."""
        return np.flatnonzero(self.on)


class CounterpartyWindow:
    """Distinct counterparties per entity in the window, updated from date to date.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    pairs : InvoiceKeys
        The invoices' order-free entity pairs (:func:`~riskml.features._graph.pair_keys`).
    seller, buyer : ndarray of int64
        Entity codes of each invoice's two ends (an entity invoicing itself has no
        counterparty).
    n : int
        Number of entity codes.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> seller, buyer = np.array([0, 1, 0]), np.array([1, 0, 2])  # pairs {0, 1} (twice), {0, 2}
    >>> pairs = InvoiceKeys(np.array([1, 1, 2]))
    >>> win = CounterpartyWindow(np.array([1, 2, 3]), pairs, seller, buyer, n=3, w=2)
    >>> win.at(3).tolist()  # days 1..2: {0, 1}
    [1.0, 1.0, 0.0]
    >>> win.at(4).tolist()  # days 2..3: {0, 1} and {0, 2}
    [2.0, 1.0, 1.0]
    """

    def __init__(self, day: np.ndarray, pairs: InvoiceKeys, seller: np.ndarray, buyer: np.ndarray,
                 n: int, w: float) -> None:
        self.window = KeyWindow(day, pairs, w)
        self.seller, self.buyer, self.n = seller, buyer, n
        self.counts = np.zeros(n, dtype=np.int64)

    def at(self, t: int) -> np.ndarray:
        """Distinct counterparties of every entity code in ``[t - w, t)`` (float64)."""
        entered, left = self.window.slide(t)
        self.counts += self._ends(entered) - self._ends(left)
        return self.counts.astype(np.float64)

    def _ends(self, rows: np.ndarray) -> np.ndarray:
        a, b = self.seller[rows], self.buyer[rows]
        other = a != b
        return np.bincount(a[other], minlength=self.n) + np.bincount(b[other], minlength=self.n)


class CycleWindow:
    """Which directed edges lie on a 2- or 3-cycle of the window's graph, date to date.

    The graph at ``t`` has an edge ``i -> j`` when an invoice from ``i`` to ``j`` is in
    the window (self-invoices left out); it is the graph
    :func:`~riskml.features._graph.cycle_edges` examines when rebuilt.

    Parameters
    ----------
    day : ndarray of int64
        Knowledge day of each invoice, ascending.
    edges : InvoiceKeys
        The invoices' directed edges, keyed ``src * n + dst`` (so edge ids ascend
        with ``(src, dst)``).
    n : int
        Number of entity codes.
    w : float
        Window length in days.

    Examples
    --------
    >>> import numpy as np
    >>> # invoices 0->1, 1->0, 1->2 on days 1, 5, 6 (edge keys src * 3 + dst)
    >>> win = CycleWindow(np.array([1, 5, 6]), InvoiceKeys(np.array([1, 3, 5])), n=3, w=10)
    >>> win.at(6).tolist()  # days -4..5: 0->1 and 1->0 close a 2-cycle
    [True, True, False]
    >>> win.at(12).tolist()  # days 2..11: 0->1 has left
    [False, False, False]
    """

    def __init__(self, day: np.ndarray, edges: InvoiceKeys, n: int, w: float) -> None:
        self.window = KeyWindow(day, edges, w)
        self.ids, self.n = edges.ids, n
        self.src, self.dst = edges.keys // n, edges.keys % n
        self._loop = self.src == self.dst
        self.on = np.zeros(len(edges), dtype=bool)

    def at(self, t: int) -> np.ndarray:
        """Per edge id: on a 2- or 3-cycle of the graph of ``[t - w, t)`` (a view; do not modify)."""
        entered, left = (self.ids[rows] for rows in self.window.slide(t))
        entered, left = entered[~self._loop[entered]], left[~self._loop[left]]
        self.on[left] = False
        present = self.window.present()
        graph = _Adjacency(present[~self._loop[present]], self.src, self.dst, self.n)
        # Edges that may have lost their cycles: on-cycle edges sharing an end with a left edge.
        touched = np.zeros(self.n, dtype=bool)
        touched[self.src[left]] = True
        touched[self.dst[left]] = True
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
