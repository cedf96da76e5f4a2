"""Sliding cross-entity windows: updated from date to date, they equal the windows rebuilt
from scratch at every date (random invoice histories and random as-of grids)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskml.features._graph import cycle_edges, pair_counts, pair_keys
from riskml.features._network_windows import CounterpartyWindow, CycleWindow, InvoiceKeys, KeyWindow

N = 6  # few entities: repeated pairs, 2- and 3-cycles and self-invoices are common


@st.composite
def _history(draw: st.DrawFn) -> dict[str, np.ndarray]:
    """Invoices among N entities sorted by knowledge day, an ascending as-of grid, a window.

    Sizes come from hypothesis, values from a seeded generator: uniform draws make the
    rarer histories (an old edge closing a cycle with a new one) common enough.
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    m = draw(st.integers(0, 40))
    dates = np.sort(rng.choice(np.arange(-20, 480), draw(st.integers(1, 12)), replace=False))
    return {"src": rng.integers(0, N, m), "dst": rng.integers(0, N, m), "day": np.sort(rng.integers(0, 400, m)),
            "dates": dates, "w": float(draw(st.sampled_from([1, 7, 30, 90, 365])))}


def _in_window(h: dict[str, np.ndarray], t: int) -> np.ndarray:
    return (h["day"] >= t - int(h["w"])) & (h["day"] < t)


settings_ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings_
@given(h=_history())
def test_key_window_reports_each_key_that_entered_and_left_once(h):
    keys = InvoiceKeys(h["src"] * N + h["dst"])
    win = KeyWindow(h["day"], keys, h["w"])
    before: set[int] = set()
    for t in h["dates"]:
        entered, left = (keys.ids[rows].tolist() for rows in win.slide(int(t)))
        now = set(keys.ids[_in_window(h, t)].tolist())
        assert sorted(entered) == sorted(now - before)
        assert sorted(left) == sorted(before - now)
        assert win.present().tolist() == sorted(now)
        before = now


def test_invoice_keys_link_each_invoice_to_the_previous_and_next_with_its_key():
    raw = np.random.default_rng(0).integers(0, 20, 300)
    keys = InvoiceKeys(raw)
    assert (keys.keys[keys.ids] == raw).all()
    for r in range(len(raw)):
        same = np.flatnonzero(raw == raw[r])
        assert keys.prev[r] == (same[same < r].max() if (same < r).any() else -1)
        assert keys.next[r] == (same[same > r].min() if (same > r).any() else len(raw))


@settings_
@given(h=_history())
def test_counterparties_updated_date_to_date_equal_counterparties_rebuilt(h):
    pair = pair_keys(h["src"], h["dst"], N)
    win = CounterpartyWindow(h["day"], InvoiceKeys(pair), h["src"], h["dst"], N, h["w"])
    for t in h["dates"]:
        np.testing.assert_array_equal(win.at(int(t)), pair_counts(pair[_in_window(h, t)], N))


@settings_
@given(h=_history())
def test_cycles_updated_date_to_date_equal_cycles_rebuilt(h):
    edges = InvoiceKeys(h["src"] * N + h["dst"])
    win = CycleWindow(h["day"], edges, N, h["w"])
    for t in h["dates"]:
        on = win.at(int(t))
        rows = _in_window(h, t)
        rebuilt = np.zeros(len(edges), dtype=bool)
        rebuilt[edges.ids[rows]] = cycle_edges(h["src"][rows], h["dst"][rows], N)
        np.testing.assert_array_equal(on, rebuilt)


def test_a_cycle_is_lost_when_one_of_its_edges_leaves_and_found_when_it_returns():
    # 0->1 (day 0), 1->2 (day 50), 2->0 (day 60), 0->1 again (day 230); window 200 days.
    src, dst, day = np.array([0, 1, 2, 0]), np.array([1, 2, 0, 1]), np.array([0, 50, 60, 230])

    def window() -> CycleWindow:
        return CycleWindow(day, InvoiceKeys(src * 3 + dst), 3, 200.0)

    stepwise = window()
    assert stepwise.at(150).all()  # days -50..149: the 3-cycle
    assert not stepwise.at(210).any()  # days 10..209: 0->1 has left
    assert stepwise.at(240).all()  # days 40..239: 0->1 is back
    # 0->1 leaves (day 0) and comes back (day 230) in one step: the cycle stays.
    one_step = window()
    assert one_step.at(150).all()
    assert one_step.at(231).all()


def test_windows_refuse_dates_out_of_order():
    win = KeyWindow(np.array([1, 2]), InvoiceKeys(np.array([0, 1])), 10.0)
    win.slide(5)
    try:
        win.slide(4)
    except ValueError as err:
        assert "ascend" in str(err)
    else:  # pragma: no cover
        raise AssertionError("a date before the previous one was accepted")
