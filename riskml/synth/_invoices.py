"""VAT invoices between enterprises, fake-invoicing rings and the tax cases that catch them.

Normal enterprises trade with a stable set of two to eight counterparties, in
non-round amounts, with a few invoices voided. Shell companies issue bursts of
invoices during a short active life: half to fellow ring members (so flows run in
circles, A -> B -> C -> A), half to ever-new buyers, in round amounts, with many
voided. Some rings are caught: a tax case is opened months after the burst and
confirmed months later still; a few buyers of caught shells get a case too.
"""

from __future__ import annotations

import numpy as np

from riskml.synth._dynamics import uniform_days
from riskml.synth._population import NEVER
from riskml.synth._tables import Context, Table, order_by

__all__ = ["build_invoices", "build_tax_cases"]

MAX_PARTNERS = 8
# VAT rate per industry (INDUSTRIES order): goods 13%, building/transport/property 9%,
# services 6%, farm produce 9%.
VAT_RATE = np.array([0.13, 0.06, 0.13, 0.13, 0.09, 0.09, 0.06, 0.06, 0.09, 0.09])
NORMAL_VOID, SHELL_VOID = 0.02, 0.10
SHELL_TO_RING = 0.5  # share of a shell's invoices that go to fellow ring members
SHELL_INVOICES_PER_QUARTER = (30, 90)
RING_CAUGHT, MEMBER_CAUGHT, BUYER_CAUGHT = 0.35, 0.8, 0.01


def _normal_invoices(ctx: Context, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    w = ctx.world
    normal = (w.entity_type == 1) & ~w.is_shell
    pool = np.flatnonzero(normal)
    partners = pool[rng.integers(0, max(len(pool), 1), (w.n, MAX_PARTNERS))] if len(pool) else np.zeros((w.n, MAX_PARTNERS), np.int64)
    n_partners = rng.integers(2, MAX_PARTNERS + 1, w.n)
    level = np.exp(np.log(4.0) + 0.3 * w.log_capital_rel + 0.7 * rng.standard_normal(w.n))
    rate = np.where(normal, np.clip(level, 0.3, 40.0), 0.0)[:, None] * np.ones((1, w.n_quarters), np.float32)
    seller, _, day = ctx.events(rng, rate)
    buyer = partners[seller, np.floor(rng.random(len(seller)) * n_partners[seller]).astype(np.int64)]
    amount = np.round(np.exp(np.log(8_000.0) + 0.5 * w.log_capital_rel[seller] + rng.standard_normal(len(seller))), 2)
    voided = rng.random(len(seller)) < NORMAL_VOID
    return seller, buyer, day, amount, voided


def _shell_invoices(ctx: Context, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    w = ctx.world
    shells = np.flatnonzero(w.is_shell)
    empty = np.zeros(0, np.int64)
    if len(shells) == 0:
        return empty, empty, empty, np.zeros(0), np.zeros(0, bool)
    act_lo = w.established + 10  # invoicing starts days after registration
    act_hi = w.shell_active_end
    lo = np.maximum(w.lo[shells], act_lo[shells, None])
    hi = np.minimum(w.hi[shells], act_hi[shells, None])
    span = np.clip(hi - lo, 0, None)
    level = rng.uniform(*SHELL_INVOICES_PER_QUARTER, len(shells))
    counts = rng.poisson(level[:, None] * span / 91.0)
    flat = np.repeat(np.arange(counts.size), counts.ravel())
    k, q = np.divmod(flat, w.n_quarters)
    seller = shells[k]
    day = uniform_days(rng, lo[k, q], hi[k, q])
    # Ring members in ring order: a shell sells to any other member of its ring.
    ring = w.ring[shells]
    first = np.searchsorted(ring, ring)
    size = np.bincount(ring)[ring]
    rank = np.arange(len(shells)) - first
    to_ring = rng.random(len(seller)) < SHELL_TO_RING
    step = 1 + np.floor(rng.random(len(seller)) * (size[k] - 1)).astype(np.int64)
    ring_buyer = shells[first[k] + (rank[k] + step) % size[k]]
    outsiders = np.flatnonzero((w.entity_type == 1) & ~w.is_shell)
    new_buyer = outsiders[rng.integers(0, len(outsiders), len(seller))] if len(outsiders) else ring_buyer
    buyer = np.where(to_ring, ring_buyer, new_buyer)
    round_amount = rng.random(len(seller)) < 0.85
    amount = np.where(round_amount, rng.integers(5, 100, len(seller)) * 1_000.0,
                      np.round(np.exp(np.log(40_000.0) + 0.6 * rng.standard_normal(len(seller))), 2))  # fmt: skip
    voided = rng.random(len(seller)) < SHELL_VOID
    return seller, buyer, day, amount, voided


def build_invoices(ctx: Context) -> tuple[Table, dict[str, np.ndarray]]:
    """The invoices table, and the arrays (seller, buyer, amount) behind tax cases."""
    w, rng = ctx.world, ctx.rng("invoices")
    parts = [_normal_invoices(ctx, rng), _shell_invoices(ctx, rng)]
    seller, buyer, day, amount, voided = (np.concatenate(cols) for cols in zip(*parts))
    keep = (buyer != seller) & w.alive_at(buyer, day) & (day <= w.end)
    seller, buyer, day, amount, voided = seller[keep], buyer[keep], day[keep], amount[keep], voided[keep]
    order = order_by(day, seller, w.n)
    seller, buyer, day, amount, voided = seller[order], buyer[order], day[order], amount[order], voided[order]
    tax = np.round(amount * np.where(w.is_shell[seller], 0.13, VAT_RATE[w.industry[seller]]), 2)
    table = {
        "seller_id": ctx.ids(seller),
        "buyer_id": ctx.ids(buyer),
        "issued": day,
        "amount": amount,
        "tax": tax,
        "voided": voided,
    }
    return table, {"seller": seller, "buyer": buyer, "amount": amount * ~voided}


def build_tax_cases(ctx: Context, flows: dict[str, np.ndarray]) -> tuple[Table, dict[str, np.ndarray]]:
    """Confirmed fake-invoicing cases; also returns the caught shells for the serious list."""
    w, rng = ctx.world, ctx.rng("tax_cases")
    shells = np.flatnonzero(w.is_shell)
    n_rings = int(w.ring.max()) + 1 if len(shells) else 0
    ring_caught = rng.random(n_rings) < RING_CAUGHT
    caught = shells[ring_caught[w.ring[shells]] & (rng.random(len(shells)) < MEMBER_CAUGHT)]
    opened = np.maximum(w.shell_active_end[caught] + rng.integers(-60, 181, len(caught)), w.established[caught] + 60)
    confirmed = opened + rng.integers(60, 301, len(caught))
    issued = np.bincount(flows["seller"], weights=flows["amount"], minlength=w.n)
    s_amount = issued[caught]
    # Buyers of caught shells who deducted the fake invoices.
    bought = np.isin(flows["seller"], caught) & ~w.is_shell[flows["buyer"]]
    per_buyer = np.bincount(flows["buyer"][bought], weights=flows["amount"][bought], minlength=w.n)
    buyers = np.flatnonzero((per_buyer > 0) & (rng.random(w.n) < BUYER_CAUGHT))
    # A buyer's case follows the earliest case among the shells it bought from.
    first_open = np.full(w.n, NEVER, np.int64)
    np.minimum.at(first_open, caught, opened)
    b_src = np.full(w.n, NEVER, np.int64)
    np.minimum.at(b_src, flows["buyer"][bought], first_open[flows["seller"][bought]])
    b_opened = b_src[buyers] + rng.integers(30, 121, len(buyers))
    b_confirmed = b_opened + rng.integers(60, 301, len(buyers))
    ent = np.concatenate([caught, buyers])
    opened = np.concatenate([opened, b_opened])
    confirmed = np.concatenate([confirmed, b_confirmed])
    amount = np.round(np.concatenate([s_amount, per_buyer[buyers]]), 2)
    keep = (confirmed <= w.end) & (amount > 0)
    ent, opened, confirmed, amount = ent[keep], opened[keep], confirmed[keep], amount[keep]
    order = order_by(opened, ent, w.n)
    ent, opened, confirmed, amount = ent[order], opened[order], confirmed[order], amount[order]
    table = {"entity_id": ctx.ids(ent), "opened": opened, "confirmed": confirmed, "amount": amount}
    is_shell = w.is_shell[ent]
    return table, {"ent": ent[is_shell], "confirmed": confirmed[is_shell]}
