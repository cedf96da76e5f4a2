"""The population of the synthetic market: who the entities are and when they live.

Draws, for every entity, the static facts of the registry (type, industry, district,
registered capital, establishment date, legal representative, business address) and
the static part of its latent risk, and groups a share of enterprises into
fake-invoicing rings of shell companies. Time-varying behaviour lives in
:mod:`riskml.synth._dynamics`; records are written from both in
:mod:`riskml.synth._tables`.

Dates are held as int64 day numbers (days since 1970-01-01) throughout the generator;
:data:`NEVER` stands for an open date (not deregistered, not exited).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskml.synth import _fake

__all__ = ["DISTRICTS", "ENTITY_TYPES", "INDUSTRIES", "NEVER", "World", "draw_population", "to_day"]

NEVER = np.int64(10**7)  # a day number far beyond any record (year ~29,000)

ENTITY_TYPES = ("individual", "enterprise")
INDUSTRIES = ("retail", "catering", "wholesale", "manufacturing", "construction", "transport",
              "services", "technology", "real_estate", "agriculture")  # fmt: skip
DISTRICTS = ("D01", "D02", "D03", "D04", "D05", "D06", "D07", "D08")

# Share of individual businesses among registered entities.
INDIVIDUAL_SHARE = 0.65
# Industry mix per entity type (rows: individual, enterprise; columns: INDUSTRIES).
INDUSTRY_MIX = np.array([
    [0.34, 0.20, 0.04, 0.03, 0.03, 0.08, 0.22, 0.01, 0.01, 0.04],
    [0.12, 0.05, 0.16, 0.15, 0.12, 0.07, 0.15, 0.10, 0.04, 0.04],
])  # fmt: skip
SHELL_INDUSTRY_MIX = np.array([0.0, 0.0, 0.5, 0.1, 0.0, 0.0, 0.2, 0.2, 0.0, 0.0])
# Registry share per district: urban districts are larger.
DISTRICT_MIX = np.array([0.20, 0.16, 0.14, 0.12, 0.11, 0.10, 0.09, 0.08])
# Additive effects on the latent risk (log-odds of a violation per quarter).
INDUSTRY_RISK = np.array([0.15, 0.55, 0.15, 0.20, 0.40, 0.15, 0.0, -0.45, 0.30, -0.15])
DISTRICT_RISK = np.array([0.0, 0.10, 0.0, 0.15, -0.10, 0.05, 0.20, 0.0])
RISK_INTERCEPT = -5.2
INDIVIDUAL_RISK = 0.25
CAPITAL_RISK = -0.35  # per unit of log capital above the type's median
RISK_NOISE_SD = 0.35
HIGH_RISK_SHARE, HIGH_RISK_SHIFT = 0.05, 1.4  # the heavy tail
SHELL_RISK_SHIFT = 3.0
# Registered capital (10k CNY): lognormal median and log-sd per type, and for shells.
CAPITAL_MEDIAN = (5.0, 100.0)
CAPITAL_LOG_SD = (1.0, 1.3)
SHELL_CAPITAL_MEDIAN, SHELL_CAPITAL_LOG_SD = 10.0, 0.5
HISTORY_YEARS = 15  # established dates reach this far back before `start`
NEW_SHARE_PER_QUARTER, NEW_SHARE_MAX = 0.0125, 0.35
TAIL_NETWORK_SHARE = 0.4  # extra chance of a serial representative / business-centre address in the tail
SERIAL_REP_SHARE = 0.04  # entities whose legal representative runs another entity too
BUSINESS_CENTRE_SHARE, BUSINESS_CENTRES_PER_DISTRICT = 0.04, 40
RING_SIZES = (3, 6)  # inclusive bounds on the members of a fake-invoicing ring
# Region codes (first six ID digits) of the county's districts; others come from afar.
DISTRICT_REGION_CODES = np.array([371402, 371403, 371421, 371422, 371423, 371424, 371425, 371426])
OTHER_REGION_CODES = np.array([370102, 370203, 410105, 130102, 320106, 340104, 510104, 110105])


def to_day(value: object) -> np.int64:
    """A date-like value as an int64 day number."""
    return np.int64(pd.Timestamp(value).normalize().value // 86_400_000_000_000)


@dataclass
class World:
    """Static facts of every entity plus the quarter grid (all arrays of length n).

    Filled further by :func:`riskml.synth._dynamics.simulate` (deregistration dates,
    the risk path and the per-quarter alive intervals).
    """

    start: np.int64
    end: np.int64  # inclusive
    quarter_starts: np.ndarray  # (Q + 1,) day numbers; the last is the end of the grid
    entity_type: np.ndarray  # int8 index into ENTITY_TYPES
    industry: np.ndarray  # int8 index into INDUSTRIES
    district: np.ndarray  # int8 index into DISTRICTS
    capital: np.ndarray  # float64, 10k CNY
    established: np.ndarray  # int64 day
    deregistered: np.ndarray  # int64 day, NEVER when open
    base_risk: np.ndarray  # float64, the static latent risk (log-odds per quarter)
    is_shell: np.ndarray  # bool
    ring: np.ndarray  # int64 ring number, -1 for non-shells
    shell_active_end: np.ndarray  # int64 day the shell stops invoicing, NEVER otherwise
    person: np.ndarray  # int64 index into the person tables
    person_id: pd.Series  # str, one per person
    person_name: pd.Series
    person_phone: pd.Series
    address_id: pd.Series  # str, one per entity
    entity_id: pd.Series  # str, one per entity
    risk: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n, Q) log-odds
    lo: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (n, Q)
    hi: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))  # (n, Q)

    @property
    def n(self) -> int:
        return len(self.entity_type)

    @property
    def n_quarters(self) -> int:
        return len(self.quarter_starts) - 1

    @property
    def log_capital_rel(self) -> np.ndarray:
        """Log registered capital relative to the median of the entity's type."""
        return np.log(self.capital) - np.log(np.asarray(CAPITAL_MEDIAN))[self.entity_type]

    def alive(self) -> np.ndarray:
        """(n, Q) bool: alive for part of the quarter inside [start, end]."""
        return self.lo < self.hi

    def alive_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether entities ``idx`` are registered on ``day``."""
        return (self.established[idx] <= day) & (day < self.deregistered[idx])

    def quarter_of(self, day: np.ndarray) -> np.ndarray:
        """The quarter index holding each day (clipped to the grid)."""
        q = np.searchsorted(self.quarter_starts, day, side="right") - 1
        return np.clip(q, 0, self.n_quarters - 1)


def _quarter_grid(start: np.int64, end: np.int64) -> np.ndarray:
    first = pd.Timestamp(start * 86_400_000_000_000).to_period("Q").start_time
    starts = pd.date_range(first, pd.Timestamp(end * 86_400_000_000_000), freq="QS")
    days = (starts.values.astype("datetime64[D]").astype(np.int64)).astype(np.int64)
    return np.append(days, end + 1)


def _rings(rng: np.random.Generator, n_shells: int) -> np.ndarray:
    """Ring number per shell: consecutive groups of RING_SIZES members."""
    if n_shells == 0:
        return np.zeros(0, np.int64)
    lo, hi = RING_SIZES
    sizes = rng.integers(lo, hi + 1, n_shells // lo + 1)
    bounds = np.cumsum(sizes)
    ring = np.searchsorted(bounds, np.arange(n_shells), side="right")
    # A trailing ring smaller than the minimum joins the one before it.
    last = ring[-1]
    if last > 0 and (ring == last).sum() < lo:
        ring[ring == last] = last - 1
    return ring.astype(np.int64)


def draw_population(rng: np.random.Generator, n: int, start: np.int64, end: np.int64, shell_share: float) -> World:
    """Draw the registry of ``n`` entities alive at some point in ``[start, end]``."""
    grid = _quarter_grid(start, end)
    n_q = len(grid) - 1
    etype = (rng.random(n) >= INDIVIDUAL_SHARE).astype(np.int8)
    industry = (rng.random(n)[:, None] > np.cumsum(INDUSTRY_MIX[etype], axis=1)).sum(axis=1).astype(np.int8)
    district = np.searchsorted(np.cumsum(DISTRICT_MIX), rng.random(n) * DISTRICT_MIX.sum(), side="right").astype(np.int8)
    district = np.minimum(district, len(DISTRICTS) - 1)

    # Establishment: a growing registry before the window, a steady inflow during it.
    new_share = min(NEW_SHARE_MAX, NEW_SHARE_PER_QUARTER * n_q)
    is_new = rng.random(n) < new_share
    history = int(HISTORY_YEARS * 365.25)
    before = start - 1 - np.floor(history * rng.random(n) ** 1.6).astype(np.int64)
    during = start + np.floor((end - start + 1) * rng.random(n)).astype(np.int64)
    established = np.where(is_new, during, before)

    median = np.asarray(CAPITAL_MEDIAN)[etype]
    sd = np.asarray(CAPITAL_LOG_SD)[etype]
    capital = np.exp(np.log(median) + sd * rng.standard_normal(n))

    # Shell companies: enterprises, young, small, grouped into rings.
    enterprises = np.flatnonzero(etype == 1)
    n_shells = int(round(shell_share * len(enterprises)))
    if 0 < n_shells < RING_SIZES[0]:
        n_shells = min(RING_SIZES[0], len(enterprises))
    shells = np.sort(rng.choice(enterprises, n_shells, replace=False)) if n_shells else np.zeros(0, np.int64)
    is_shell = np.zeros(n, bool)
    is_shell[shells] = True
    ring = np.full(n, -1, np.int64)
    ring_of_shell = _rings(rng, n_shells)
    ring[shells] = ring_of_shell
    n_rings = int(ring_of_shell.max()) + 1 if n_shells else 0
    # A ring forms together: members register within a quarter of the ring's date.
    ring_start = np.where(rng.random(n_rings) < 0.75,
                          start + np.floor((end - 180 - start) * rng.random(n_rings)),
                          start - np.floor(365 * rng.random(n_rings))).astype(np.int64)  # fmt: skip
    established[shells] = ring_start[ring_of_shell] + rng.integers(0, 91, n_shells)
    established = np.minimum(established, end)
    industry[shells] = (rng.random(n_shells)[:, None] > np.cumsum(SHELL_INDUSTRY_MIX)).sum(axis=1)
    capital[shells] = np.exp(np.log(SHELL_CAPITAL_MEDIAN) + SHELL_CAPITAL_LOG_SD * rng.standard_normal(n_shells))
    # Registered capital is declared in round figures.
    capital = np.where(etype == 1, np.maximum(np.round(capital), 1.0), np.maximum(np.round(capital, 1), 0.1))

    # A shell invoices for 2-6 quarters, then is deregistered or simply abandoned.
    active_end = np.full(n, NEVER, np.int64)
    active_end[shells] = established[shells] + rng.integers(10, 60, n_shells) + 91 * rng.integers(2, 7, n_shells)
    deregistered = np.full(n, NEVER, np.int64)
    quits = rng.random(n_shells) < 0.55
    dereg_shell = active_end[shells] + rng.integers(0, 181, n_shells)
    # Ring members registered before the window still live into it.
    deregistered[shells[quits]] = np.maximum(dereg_shell[quits], start + 30)
    deregistered[deregistered > end] = NEVER

    high_risk = rng.random(n) < HIGH_RISK_SHARE
    base_risk = (
        RISK_INTERCEPT
        + INDIVIDUAL_RISK * (etype == 0)
        + INDUSTRY_RISK[industry]
        + DISTRICT_RISK[district]
        + CAPITAL_RISK * (np.log(capital) - np.log(np.asarray(CAPITAL_MEDIAN))[etype])
        + RISK_NOISE_SD * rng.standard_normal(n)
        + HIGH_RISK_SHIFT * high_risk
        + SHELL_RISK_SHIFT * is_shell
    )

    # Legal representatives: mostly one person per entity; some run several entities,
    # and the members of a ring share one or two front persons.
    person = np.arange(n, dtype=np.int64)
    # The heavy tail shows in the registry: front persons running several entities,
    # and rented rooms in business centres.
    serial = (rng.random(n) < SERIAL_REP_SHARE + TAIL_NETWORK_SHARE * high_risk) & ~is_shell
    person[serial] = rng.integers(0, n, serial.sum())
    if n_shells:
        front = np.flatnonzero(np.r_[True, ring_of_shell[1:] != ring_of_shell[:-1]])  # first member per ring
        second = np.minimum(front + 1, n_shells - 1)
        pick = np.where(rng.random(n_shells) < 0.7, front[ring_of_shell], second[ring_of_shell])
        person[shells] = shells[pick]
    local = rng.random(n) < 0.85
    region = np.where(local, DISTRICT_REGION_CODES[district], OTHER_REGION_CODES[rng.integers(0, len(OTHER_REGION_CODES), n)])
    person_id = _fake.id_numbers(rng, n, region)
    person_name = _fake.names(rng, n)
    person_phone = _fake.phones(rng, n, missing=0.08)

    # Addresses: own premises, a few business centres, and the ring's shared rooms.
    address = np.arange(n, dtype=np.int64)
    centre = (rng.random(n) < BUSINESS_CENTRE_SHARE + TAIL_NETWORK_SHARE * high_risk) & ~is_shell
    address[centre] = 900_000 + rng.integers(0, BUSINESS_CENTRES_PER_DISTRICT, centre.sum())
    if n_shells:
        address[shells] = 800_000 + 2 * ring_of_shell + (rng.random(n_shells) < 0.3)
        district[shells] = district[shells[front]][ring_of_shell]
    address_id = _fake.format_ids("A", (district.astype(np.int64) + 1) * 10**6 + address, width=8)
    entity_id = _fake.format_ids("E", np.arange(1, n + 1), width=7)

    return World(
        start=start, end=end, quarter_starts=grid, entity_type=etype, industry=industry, district=district,
        capital=capital, established=established, deregistered=deregistered, base_risk=base_risk,
        is_shell=is_shell, ring=ring, shell_active_end=active_end, person=person, person_id=person_id,
        person_name=person_name, person_phone=person_phone, address_id=address_id, entity_id=entity_id,
    )  # fmt: skip
