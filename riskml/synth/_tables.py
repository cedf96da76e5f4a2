"""Records of every source, written from the simulated market.

Each ``build_<source>`` function turns the population (:class:`World`) and what
happened (:class:`Activity`) into the columns of one source, with the knowledge lags
of a real bureau (a penalty is published days after it is decided, a tax case is
confirmed months after it is opened) and the observable precursors of risk (late or
missing annual reports, registration changes, judicial freezes, pledges, lapsed
licences) next to the signs of a sound business (commendations, trademarks,
mortgages). Nothing known after ``world.end`` is written.

Every source draws from its own random stream (seeded by the market seed and the
source's name), so the output is reproducible byte for byte.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskml.synth._dynamics import MINOR_ISSUE_BASE, MINOR_ISSUE_RISK, Activity, sigmoid, uniform_days
from riskml.synth._fake import phones, take_str
from riskml.synth._frames import Codes
from riskml.synth._population import ENTITY_TYPES, INDUSTRIES, NEVER, DISTRICTS, World

__all__ = ["Context", "Table"]

Table = dict[str, object]

LICENCE_TYPES = ("general", "food", "drug", "medical_device", "special_equipment", "industrial_product")
# Per industry: share needing a licence, and the mix of licence types.
LICENCE_NEED = np.array([0.6, 1.0, 0.5, 0.5, 0.6, 0.8, 0.3, 0.2, 0.5, 0.3])
LICENCE_MIX = np.array([
    [0.0, 0.8, 0.1, 0.1, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.5, 0.2, 0.2, 0.0, 0.1],
    [0.0, 0.2, 0.0, 0.0, 0.2, 0.6],
    [0.6, 0.0, 0.0, 0.0, 0.4, 0.0],
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.7, 0.0, 0.0, 0.3, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
])  # fmt: skip
LICENCE_YEARS = 5
CHANGE_TYPES = ("legal_rep", "address", "scope", "name", "capital")
INSPECTION_KINDS = ("random", "targeted", "complaint")
INSPECTION_RESULTS = ("compliant", "minor_issue", "violation")
SEVERITIES = ("minor", "general", "serious")
CAUSES = ("licensing", "food_safety", "product_quality", "advertising", "pricing", "unfair_competition", "registration", "other")
CAUSE_MIX = np.array([
    [.10, .20, .25, .10, .15, .05, .05, .10],
    [.15, .50, .05, .05, .10, .02, .05, .08],
    [.10, .15, .30, .05, .10, .10, .08, .12],
    [.10, .05, .50, .05, .03, .07, .08, .12],
    [.20, .00, .30, .05, .05, .10, .15, .15],
    [.25, .00, .10, .05, .20, .05, .15, .20],
    [.15, .05, .05, .20, .20, .10, .10, .15],
    [.10, .00, .15, .25, .05, .20, .10, .15],
    [.10, .00, .05, .30, .25, .10, .10, .10],
    [.10, .20, .30, .05, .10, .05, .05, .15],
])  # fmt: skip
ISSUING_UNITS = ("county_bureau", "city_bureau", "market_office")
REPAIR_SHARE = np.array([0.45, 0.30, 0.03])  # per severity
# Fines per severity (lognormal: median, log sd); minor penalties are sometimes
# warnings without a fine. Lags in days, [lo, hi): found -> decided -> published.
FINE_MEDIAN = np.array([2_000.0, 15_000.0, 150_000.0])
FINE_LOG_SD = np.array([0.7, 0.8, 1.0])
WARNING_SHARE = 0.15
DECISION_LAG, PUBLICATION_LAG = (7, 46), (5, 41)
ABNORMAL_REASONS = ("no_annual_report", "unreachable_address", "false_information", "no_disclosure")
SERIOUS_REASONS = ("abnormal_three_years", "serious_penalty", "false_registration", "fake_invoicing")
CHANNELS = ("hotline_12315", "online", "letter", "walk_in")
LEVELS = ("county", "city", "province", "national")
JUDICIAL_KINDS = ("equity_freeze", "enforcement", "dishonest_debtor")
NICE_CLASS = np.array([35, 43, 35, 7, 37, 39, 41, 9, 36, 31])
# Annual reports: sound entities file early (on-time day ~ u ** exp(-slope * z) of the
# season), late filings spread over the half year after 30 June, and the listing for a
# missing report comes some weeks after it.
ON_TIME_SLOPE, LATE_DAYS, LISTING_LAG = 0.6, 184, (10, 61)
# How strongly each regime (sound, strained, distressed) multiplies the rate of the
# records that betray distress: legal-representative and address changes, judicial
# cases, equity pledges, abnormal-list entries other than a missing annual report.
DISTRESS_EMISSION = np.array([1.0, 20.0, 60.0], dtype=np.float32)
# Abnormal-list entries that arrive as events (reason code: base rate per quarter, risk
# slope); multiplied by the regime's ABNORMAL_EMISSION.
ABNORMAL_EMISSION = np.array([1.0, 1.5, 3.0], dtype=np.float32)
ABNORMAL_EVENT_RATES = {1: (0.0006, 0.6), 2: (0.0008, 0.6), 3: (0.0005, 0.6)}


def categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category code per row of the 2-d ``probs`` (each row a distribution)."""
    probs = np.asarray(probs, dtype=np.float64)
    cum = np.cumsum(probs, axis=1)
    return np.minimum((rng.random(len(probs))[:, None] * cum[:, -1:] > cum).sum(axis=1), probs.shape[1] - 1)


def categorical_n(rng: np.random.Generator, probs: np.ndarray | tuple[float, ...], n: int) -> np.ndarray:
    """``n`` draws of category codes from one distribution ``probs``."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(n), side="right"), len(cum) - 1)


def order_by(day: np.ndarray, entity: np.ndarray, n: int) -> np.ndarray:
    """Row order by day then entity, from one int64 key (cheaper than a lexsort)."""
    return np.argsort(np.asarray(day, dtype=np.int64) * (n + 1) + entity, kind="stable")


def year_start(year: int | np.ndarray) -> np.ndarray:
    """Day number of 1 January of ``year``."""
    return (np.asarray(year) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


@dataclass
class Context:
    """Everything the source builders share."""

    world: World
    activity: Activity
    seed: int

    def __post_init__(self) -> None:
        alive = self.world.alive()
        risk = self.world.risk
        mu, sd = float(risk[alive].mean()), float(risk[alive].std()) or 1.0
        # Risk standardised over alive entity-quarters: precursors are driven by it.
        self.mu, self.sd = mu, sd
        self.z = ((risk - mu) / sd).astype(np.float32)
        self.distress = DISTRESS_EMISSION[self.activity.regime[:, 1:]]
        self.abnormal = ABNORMAL_EMISSION[self.activity.regime[:, 1:]]

    def rng(self, name: str) -> np.random.Generator:
        """The random stream of one source (stable across runs and platforms)."""
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    def z_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Standardised risk of entities ``idx`` in the quarter holding ``day``."""
        return self.z[idx, self.world.quarter_of(day)].astype(np.float64)

    def ids(self, idx: np.ndarray) -> pd.Series:
        """Entity ids of entity positions ``idx``."""
        return take_str(self.world.entity_id, idx)

    def events(self, rng: np.random.Generator, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Poisson events at per-quarter ``rate`` (n, Q) while alive: (entity, quarter, day)."""
        w = self.world
        counts = rng.poisson(np.where(w.alive(), np.clip(rate, 0, None), 0.0))
        flat = np.repeat(np.arange(counts.size), counts.ravel())
        ent, q = np.divmod(flat, w.n_quarters)
        day = uniform_days(rng, w.lo[ent, q], w.hi[ent, q])
        order = order_by(day, ent, w.n)
        return ent[order], q[order], day[order]


# --------------------------------------------------------------------------- registry


def build_entities(ctx: Context) -> Table:
    w = ctx.world
    return {
        "entity_id": w.entity_id,
        "entity_type": Codes(w.entity_type, ENTITY_TYPES),
        "industry": Codes(w.industry, INDUSTRIES),
        "district": Codes(w.district, DISTRICTS),
        "registered_capital": w.capital,
        "established": w.established,
        "deregistered": w.deregistered,
        "legal_rep_id": take_str(w.person_id, w.person),
        "legal_rep_name": take_str(w.person_name, w.person),
        "legal_rep_phone": take_str(w.person_phone, w.person),
        "address_id": w.address_id,
    }


def build_licences(ctx: Context, revoking: pd.DataFrame) -> Table:
    """Licences for trades that need one, renewed every five years unless they lapse.

    ``revoking`` holds serious licensing / food-safety penalties (columns ``ent``,
    ``day``): a licence running on such a day is revoked with some probability.
    """
    w, rng = ctx.world, ctx.rng("licences")
    need = rng.random(w.n) < LICENCE_NEED[w.industry]
    holder = np.flatnonzero(need)
    kind = categorical(rng, LICENCE_MIX[w.industry[holder]])
    issued = w.established[holder] + rng.integers(0, 61, len(holder))
    ent_parts, kind_parts, issued_parts, expiry_parts = [], [], [], []
    span = int(LICENCE_YEARS * 365.25)
    while len(holder):
        live = (issued < w.deregistered[holder]) & (issued <= w.end)
        holder, kind, issued = holder[live], kind[live], issued[live]
        expiry = issued + span
        ent_parts.append(holder), kind_parts.append(kind), issued_parts.append(issued), expiry_parts.append(expiry)
        # Renewal before expiry; riskier entities let the licence lapse more often.
        renew_p = sigmoid(2.8 - 1.3 * ctx.z_at(holder, np.minimum(expiry, w.end)))
        renew = (rng.random(len(holder)) < renew_p) & (expiry < w.deregistered[holder])
        holder, kind = holder[renew], kind[renew]
        issued = expiry[renew] - rng.integers(0, 61, renew.sum())
    ent = np.concatenate(ent_parts) if ent_parts else np.zeros(0, np.int64)
    kind = np.concatenate(kind_parts) if kind_parts else np.zeros(0, np.int64)
    issued = np.concatenate(issued_parts) if issued_parts else np.zeros(0, np.int64)
    expiry = np.concatenate(expiry_parts) if expiry_parts else np.zeros(0, np.int64)
    keep = expiry >= w.start - 365  # the registry holds licences current in the last year
    ent, kind, issued, expiry = ent[keep], kind[keep], issued[keep], expiry[keep]
    order = order_by(issued, ent, w.n)
    ent, kind, issued, expiry = ent[order], kind[order], issued[order], expiry[order]
    # Revocation after a serious licensing or food-safety penalty while the licence ran.
    revoked = np.full(len(ent), NEVER, np.int64)
    if len(revoking) and len(ent):
        lic = pd.DataFrame({"row": np.arange(len(ent)), "ent": ent, "issued": issued, "expiry": expiry})
        hit = lic.merge(revoking, on="ent")
        hit = hit[(hit["day"] >= hit["issued"]) & (hit["day"] < hit["expiry"])]
        hit = hit.sort_values(["row", "day"], kind="stable").drop_duplicates("row")
        take = rng.random(len(hit)) < 0.6
        revoked[hit["row"].to_numpy()[take]] = hit["day"].to_numpy()[take]
    return {
        "entity_id": ctx.ids(ent),
        "licence_type": Codes(kind, LICENCE_TYPES),
        "issued": issued,
        "expiry": expiry,
        "revoked": revoked,
    }


def build_changes(ctx: Context) -> Table:
    """Registration changes: legal representative and address changes track risk."""
    w, rng = ctx.world, ctx.rng("changes")
    risky = np.exp(0.6 * ctx.z)
    steady = np.broadcast_to((1.0 + 0.5 * w.entity_type[:, None]).astype(np.float32), risky.shape)
    # per CHANGE_TYPES: legal_rep, address, scope, name, capital
    rates = (0.003 * risky * ctx.distress, 0.004 * risky * ctx.distress, 0.008 * steady, 0.002 * np.exp(0.5 * ctx.z), 0.004 * steady)
    drawn = [ctx.events(rng, rate) for rate in rates]
    ent = np.concatenate([e for e, _, _ in drawn])
    day = np.concatenate([d for _, _, d in drawn])
    kind = np.concatenate([np.full(len(e), k) for k, (e, _, _) in enumerate(drawn)])
    order = order_by(day, ent, w.n)
    return {"entity_id": ctx.ids(ent[order]), "change_type": Codes(kind[order], CHANGE_TYPES), "changed": day[order]}


# --------------------------------------------------------------------------- annual reports


def filing_chances(z: np.ndarray, shell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chance an annual report is never filed, and filed late, given the risk at the season start."""
    return np.where(shell, 0.6, sigmoid(-4.4 + 1.4 * z)), np.where(shell, 0.1, sigmoid(-3.6 + 1.0 * z))


def late_filing_listed() -> float:
    """Chance a late filing (uniform over LATE_DAYS after 30 June) comes after the listing day."""
    late = np.arange(LATE_DAYS)[:, None]
    listing = np.arange(*LISTING_LAG)[None, :]
    return float((late > listing).mean())


def annual_filings(ctx: Context) -> dict[str, np.ndarray]:
    """Who had to report for which year, and when (if ever) they filed.

    A report for year Y is due between 1 January and 30 June of Y+1 from every entity
    registered before 1 January of Y+1 and still registered then. Entities not filed
    by the listing date (some weeks after 30 June) enter the abnormal-operation list;
    a late filing takes them off again.
    """
    w, rng = ctx.world, ctx.rng("annual_reports")
    start_year = int(np.datetime64(int(w.start), "D").astype("datetime64[Y]").astype(int) + 1970)
    end_year = int(np.datetime64(int(w.end), "D").astype("datetime64[Y]").astype(int) + 1970)
    years = np.arange(start_year - 1, end_year)
    due_from = year_start(years + 1)
    obliged = (w.established[:, None] < due_from[None, :]) & (w.deregistered[:, None] > due_from[None, :])
    ent, k = np.nonzero(obliged)
    year, season = years[k], due_from[k]
    z = ctx.z_at(ent, np.maximum(season, w.start))
    shell = w.is_shell[ent]
    p_never, p_late = filing_chances(z, shell)
    u = rng.random(len(ent))
    never, late = u < p_never, (u >= p_never) & (u < p_never + p_late)
    # Sound entities file early in the season, risky ones close to the deadline.
    july = (year + 1 - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(6, "M")
    july = july.astype("datetime64[D]").astype(np.int64)  # 1 July: the day after the deadline
    on_time_day = season + np.floor((july - season) * rng.random(len(ent)) ** np.exp(-ON_TIME_SLOPE * z)).astype(np.int64)
    late_day = july + rng.integers(0, LATE_DAYS, len(ent))
    # Some of those who miss the year file much later, to get off the list.
    very_late = never & ~shell & (rng.random(len(ent)) < 0.4)
    filed = np.where(never, NEVER, np.where(late, late_day, on_time_day))
    filed = np.where(very_late, july + rng.integers(240, 900, len(ent)), filed)
    filed = np.where(filed < w.deregistered[ent], filed, NEVER)
    listing = july + rng.integers(*LISTING_LAG, len(ent))
    listed = (filed > listing) & (listing < w.deregistered[ent]) & (listing <= w.end)
    return {"ent": ent, "year": year, "season": season, "filed": filed, "listing": listing, "listed": listed,
            "z": z, "p_never": p_never, "p_late": p_late, "shell": shell, "july": july}  # fmt: skip


def build_annual_reports(ctx: Context, filings: dict[str, np.ndarray]) -> Table:
    w, rng = ctx.world, ctx.rng("annual_report_values")
    keep = filings["filed"] <= w.end
    ent, year, filed, z = filings["ent"][keep], filings["year"][keep], filings["filed"][keep], filings["z"][keep]
    july = filings["july"][keep]
    order = order_by(filed, ent, w.n)
    ent, year, filed, z, july = ent[order], year[order], filed[order], z[order], july[order]
    n = len(ent)
    etype, cap = w.entity_type[ent], w.capital[ent]
    zero = rng.random(n) < np.where(w.is_shell[ent], 0.9, sigmoid(-3.8 + 1.3 * z))
    # Risky entities report thinner business and pay less tax on it.
    revenue = np.round(cap * 1e4 * np.exp(np.where(etype == 1, np.log(0.8), np.log(2.0)) - 0.3 * z + 0.9 * rng.standard_normal(n)), 2)
    employees = np.where(etype == 1, np.round(np.exp(np.log(5) + 0.4 * w.log_capital_rel[ent] + 0.8 * rng.standard_normal(n))),
                         1 + rng.poisson(1.5, n)).astype(np.float64)  # fmt: skip
    tax = np.round(revenue * rng.uniform(0.01, 0.06, n) * np.exp(-0.4 * np.clip(z, -2, 3)), 2)
    revenue, employees, tax = (np.where(zero, 0.0, v) for v in (revenue, employees, tax))
    # Small firms leave fields blank now and then (never on an all-zero filing).
    revenue = np.where(~zero & (rng.random(n) < 0.03), np.nan, revenue)
    employees = np.where(~zero & (rng.random(n) < 0.05), np.nan, employees)
    tax = np.where(~zero & (rng.random(n) < np.where(etype == 0, 0.10, 0.02)), np.nan, tax)
    return {
        "entity_id": ctx.ids(ent),
        "year": year.astype(np.int64),
        "filed": filed,
        "revenue": revenue,
        "employees": employees,
        "total_tax": tax,
        "all_zero": zero,
        "late": filed >= july,
    }


# --------------------------------------------------------------------------- supervision


def build_inspections(ctx: Context) -> tuple[Table, np.ndarray]:
    """Inspections as closed cases; also returns which rows found an unreachable entity."""
    w, a, rng = ctx.world, ctx.activity, ctx.rng("inspections")
    ent, day, kind, found = a.insp_entity, a.insp_day, a.insp_kind, a.insp_found
    q = w.quarter_of(day)
    p = a.p_violation[ent, q]
    # Shells stop operating after their invoicing burst: the inspector finds nobody.
    gone = w.is_shell[ent] & (day > w.shell_active_end[ent])
    unreachable = gone | (rng.random(len(ent)) < 0.002 + 0.3 * p)
    minor = ~found & ((rng.random(len(ent)) < np.minimum(MINOR_ISSUE_BASE + MINOR_ISSUE_RISK * p, 0.4)) | unreachable)
    result = np.where(found, 2, np.where(minor, 1, 0))
    closed = day + np.where(found, rng.integers(15, 61, len(ent)), rng.integers(1, 46, len(ent)))
    keep = closed <= w.end
    order = order_by(day[keep], ent[keep], w.n)
    sel = np.flatnonzero(keep)[order]
    table = {
        "entity_id": ctx.ids(ent[sel]),
        "inspected": day[sel],
        "closed": closed[sel],
        "kind": Codes(kind[sel], INSPECTION_KINDS),
        "result": Codes(result[sel], INSPECTION_RESULTS),
    }
    return table, np.flatnonzero(unreachable & ~found)


def severity_shares(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chances a found violation's penalty is serious, and minor, at latent risk ``z``."""
    p_serious = sigmoid(-3.2 + 0.5 * z)
    return p_serious, 0.5 * (1 - p_serious)


def penalty_rows(ctx: Context) -> dict[str, np.ndarray]:
    """Penalties for the violations that were found, with severity, amount and lags."""
    w, a, rng = ctx.world, ctx.activity, ctx.rng("penalties")
    ent, q = np.nonzero(a.detected < NEVER)
    found_day = a.detected[ent, q]
    order = order_by(found_day, ent, w.n)
    ent, q, found_day = ent[order], q[order], found_day[order]
    n = len(ent)
    z = ctx.z[ent, q].astype(np.float64)
    p_serious, p_minor = severity_shares(z)
    u = rng.random(n)
    severity = np.where(u < p_serious, 2, np.where(u < p_serious + p_minor, 0, 1))
    amount = np.round(FINE_MEDIAN[severity] * np.exp(FINE_LOG_SD[severity] * rng.standard_normal(n)), -2)
    amount = np.where((severity == 0) & (rng.random(n) < WARNING_SHARE), 0.0, amount)
    cause = categorical(rng, CAUSE_MIX[w.industry[ent]] / CAUSE_MIX[w.industry[ent]].sum(axis=1, keepdims=True))
    unit_p = np.where(severity[:, None] == 2, [[0.5, 0.4, 0.1]], [[0.5, 0.1, 0.4]])
    unit = categorical(rng, unit_p)
    decided = found_day + rng.integers(*DECISION_LAG, n)
    decided = np.maximum(np.minimum(decided, w.deregistered[ent] - 1), found_day)
    published = decided + rng.integers(*PUBLICATION_LAG, n)
    repaired = np.where(rng.random(n) < REPAIR_SHARE[severity], published + rng.integers(183, 731, n), NEVER)
    return {"ent": ent, "q": q, "found": found_day, "decided": decided, "published": published, "amount": amount,
            "severity": severity, "cause": cause, "unit": unit, "repaired": repaired}  # fmt: skip


def build_penalties(ctx: Context, pen: dict[str, np.ndarray]) -> Table:
    keep = pen["published"] <= ctx.world.end
    return {
        "entity_id": ctx.ids(pen["ent"][keep]),
        "decided": pen["decided"][keep],
        "published": pen["published"][keep],
        "amount": pen["amount"][keep],
        "severity": Codes(pen["severity"][keep], SEVERITIES),
        "cause": Codes(pen["cause"][keep], CAUSES),
        "issuing_unit": Codes(pen["unit"][keep], ISSUING_UNITS),
        "repaired": pen["repaired"][keep],
    }


def abnormal_event_rate(reason: int, z: np.ndarray, distress: np.ndarray) -> np.ndarray:
    """Per-quarter rate of abnormal-list entries of ``reason`` that arrive as events."""
    base, slope = ABNORMAL_EVENT_RATES[reason]
    return base * np.exp(slope * z) * distress


def _label_events(ent: np.ndarray, known: np.ndarray, trigger: np.ndarray) -> dict[str, np.ndarray]:
    """Credit-label records with the day their cause was settled (for the oracle)."""
    return {"ent": np.asarray(ent, np.int64), "known": np.asarray(known, np.int64), "trigger": np.asarray(trigger, np.int64)}


def build_abnormal_list(ctx: Context, filings: dict[str, np.ndarray], unreachable_insp: np.ndarray) -> tuple[Table, dict[str, object]]:
    """Abnormal-operation list.

    Also returns ``stuck`` (the no-report listings still open after three years) and
    ``events`` (every entry with the day its cause was settled: the entry itself for
    events, ``-NEVER`` for a shell's plan, ``NEVER`` for a missing annual report,
    whose chance the oracle computes from the filing state).
    """
    w, rng = ctx.world, ctx.rng("abnormal_list")
    # Missing annual report: listed after the deadline, off the list after a late filing.
    sel = filings["listed"]
    e1, in1, filed = filings["ent"][sel], filings["listing"][sel], filings["filed"][sel]
    out1 = np.where(filed < NEVER, filed + rng.integers(3, 31, len(e1)), NEVER)
    # Abandoned shells are found unreachable by inspections or the annual-report checks.
    gone = unreachable_insp[w.is_shell[ctx.activity.insp_entity[unreachable_insp]]]
    e2 = ctx.activity.insp_entity[gone]
    in2 = ctx.activity.insp_day[gone] + rng.integers(5, 31, len(e2))
    abandoned = np.flatnonzero(w.is_shell & (w.deregistered == NEVER) & (rng.random(w.n) < 0.6))
    e2 = np.concatenate([e2, abandoned])
    in2 = np.concatenate([in2, w.shell_active_end[abandoned] + rng.integers(90, 301, len(abandoned))])
    t2 = np.full(len(e2), -NEVER)
    parts_e, parts_in, parts_t, parts_r = [e1, e2], [in1, in2], [np.full(len(e1), NEVER), t2], [np.zeros(len(e1), np.int64), np.ones(len(e2), np.int64)]
    # Unreachable at the registered address, false information in a report, failure to
    # disclose: entries that arrive as events, far more often in distress.
    for reason in sorted(ABNORMAL_EVENT_RATES):
        e, _, day = ctx.events(rng, abnormal_event_rate(reason, ctx.z, ctx.abnormal))
        parts_e.append(e), parts_in.append(day), parts_t.append(day), parts_r.append(np.full(len(e), reason))
    ent, entered = np.concatenate(parts_e), np.concatenate(parts_in)
    trigger, reason = np.concatenate(parts_t), np.concatenate(parts_r)
    exited = np.where(reason == 0, np.concatenate([out1, np.zeros(len(ent) - len(e1), np.int64)]), NEVER)
    share = np.where(reason == 1, 0.3, 0.5)
    lag = np.where(reason == 3, rng.integers(30, 366, len(ent)), rng.integers(60, 401, len(ent)))
    exited = np.where(reason == 0, exited, np.where(rng.random(len(ent)) < share, entered + lag, NEVER))
    keep = (entered <= w.end) & (entered >= w.start) & (entered < w.deregistered[ent]) & (entered >= w.established[ent])
    ent, entered, exited, reason, trigger = ent[keep], entered[keep], exited[keep], reason[keep], trigger[keep]
    order = order_by(entered, ent, w.n)
    ent, entered, exited, reason, trigger = ent[order], entered[order], exited[order], reason[order], trigger[order]
    # The bureau moves a share of entities listed three years on to the serious list.
    three = (reason == 0) & (exited > entered + 1095) & (rng.random(len(ent)) < 0.4)
    stuck = {"ent": ent[three], "day": entered[three] + 1095, "listed": entered[three]}
    table = {"entity_id": ctx.ids(ent), "entered": entered, "exited": exited, "reason": Codes(reason, ABNORMAL_REASONS)}
    return table, {"stuck": stuck, "events": _label_events(ent, entered, trigger)}


def build_serious_violations(ctx: Context, stuck: dict[str, np.ndarray], pen: dict[str, np.ndarray],
                             fraud: dict[str, np.ndarray]) -> tuple[Table, dict[str, np.ndarray]]:  # fmt: skip
    """Serious-violation list: three years abnormal, serious penalties, fake invoicing.

    Also returns the entries with the day their cause was settled (see
    :func:`build_abnormal_list`).
    """
    w, rng = ctx.world, ctx.rng("serious_violations")
    e0, in0 = stuck["ent"], stuck["day"] + rng.integers(0, 31, len(stuck["ent"]))
    serious = pen["severity"] == 2
    e1, in1 = pen["ent"][serious], pen["published"][serious] + rng.integers(0, 31, serious.sum())
    # False registration: a handful of shells registered with forged papers.
    shells = np.flatnonzero(w.is_shell & (rng.random(w.n) < 0.1))
    e2, in2 = shells, w.established[shells] + rng.integers(120, 541, len(shells))
    e3, in3 = fraud["ent"], fraud["confirmed"] + rng.integers(0, 31, len(fraud["ent"]))
    ent = np.concatenate([e0, e1, e2, e3])
    entered = np.concatenate([in0, in1, in2, in3])
    trigger = np.concatenate([stuck["listed"], pen["found"][serious], np.full(len(e2) + len(e3), -NEVER)])
    reason = np.concatenate([np.full(len(e), k) for k, e in enumerate([e0, e1, e2, e3])])
    keep = (entered <= w.end) & (entered >= np.maximum(w.start, w.established[ent])) & ((entered < w.deregistered[ent]) | (reason == 3))
    ent, entered, reason, trigger = ent[keep], entered[keep], reason[keep], trigger[keep]
    order = order_by(entered, ent, w.n)
    ent, entered, reason, trigger = ent[order], entered[order], reason[order], trigger[order]
    exited = np.where(rng.random(len(ent)) < 0.3, entered + rng.integers(365, 1096, len(ent)), NEVER)
    table = {"entity_id": ctx.ids(ent), "entered": entered, "exited": exited, "reason": Codes(reason, SERIOUS_REASONS)}
    return table, _label_events(ent, entered, trigger)


def build_complaints(ctx: Context) -> Table:
    w, a, rng = ctx.world, ctx.activity, ctx.rng("complaints")
    ent, day, subst = a.compl_entity, a.compl_day, a.compl_substantiated
    resolved = day + rng.integers(1, 61, len(ent))
    keep = resolved <= w.end
    order = order_by(day[keep], ent[keep], w.n)
    sel = np.flatnonzero(keep)[order]
    return {
        "entity_id": ctx.ids(ent[sel]),
        "received": day[sel],
        "resolved": resolved[sel],
        "channel": Codes(categorical_n(rng, (0.5, 0.35, 0.05, 0.1), len(sel)), CHANNELS),
        "substantiated": subst[sel],
        "complainant_phone": phones(rng, len(sel), missing=0.3),
    }


# --------------------------------------------------------------------------- reputation and finance


def build_commendations(ctx: Context) -> Table:
    w, rng = ctx.world, ctx.rng("commendations")
    rate = 0.0012 * np.exp(-0.9 * ctx.z) * (1 + 0.8 * w.entity_type[:, None]) * ~w.is_shell[:, None]
    ent, _, day = ctx.events(rng, rate)
    return {"entity_id": ctx.ids(ent), "awarded": day, "level": Codes(categorical_n(rng, (0.6, 0.28, 0.1, 0.02), len(ent)), LEVELS)}


def build_trademarks(ctx: Context) -> Table:
    w, rng = ctx.world, ctx.rng("trademarks")
    ent_rate = np.where(w.entity_type == 1, 0.008 * np.exp(0.3 * w.log_capital_rel), 0.0008)
    ent, _, day = ctx.events(rng, ent_rate[:, None] * np.exp(-0.4 * ctx.z) * ~w.is_shell[:, None])
    own = rng.random(len(ent)) < 0.6
    nice = np.where(own, NICE_CLASS[w.industry[ent]], rng.integers(1, 46, len(ent)))
    return {"entity_id": ctx.ids(ent), "registered": day, "nice_class": nice}


def build_mortgages(ctx: Context) -> Table:
    """Chattel mortgages: ordinary financing, more for larger, sounder firms."""
    w, rng = ctx.world, ctx.rng("mortgages")
    base = np.where(w.entity_type == 1, 0.004 * np.exp(0.4 * w.log_capital_rel), 0.0005)
    ent, _, day = ctx.events(rng, base[:, None] * np.exp(-0.3 * ctx.z) * ~w.is_shell[:, None])
    amount = np.round(w.capital[ent] * 1e4 * 0.5 * np.exp(0.8 * rng.standard_normal(len(ent))), -3)
    cancelled = np.where(rng.random(len(ent)) < 0.7, day + rng.integers(365, 1101, len(ent)), NEVER)
    return {"entity_id": ctx.ids(ent), "registered": day, "cancelled": cancelled, "amount": amount}


def build_pledges(ctx: Context) -> Table:
    """Equity pledges: distress financing, more for riskier enterprises."""
    w, rng = ctx.world, ctx.rng("pledges")
    rate = 0.0008 * np.exp(0.6 * ctx.z) * ctx.distress * (w.entity_type[:, None] == 1)
    ent, _, day = ctx.events(rng, rate)
    amount = np.round(w.capital[ent] * 1e4 * rng.uniform(0.1, 0.6, len(ent)), -3)
    released = np.where(rng.random(len(ent)) < 0.65, day + rng.integers(180, 901, len(ent)), NEVER)
    return {"entity_id": ctx.ids(ent), "registered": day, "released": released, "amount": amount}


def build_judicial(ctx: Context) -> Table:
    """Judicial assistance: equity freezes, enforcement and dishonest-debtor notices."""
    w, rng = ctx.world, ctx.rng("judicial")
    rate = 0.0012 * np.exp(0.6 * ctx.z) * ctx.distress * np.where(w.entity_type == 1, 1.5, 0.7)[:, None]
    ent, _, started = ctx.events(rng, rate)
    mix = np.where(w.entity_type[ent, None] == 1, [[0.35, 0.45, 0.2]], [[0.0, 0.7, 0.3]])
    kind = categorical(rng, mix)
    notified = started + rng.integers(3, 61, len(ent))
    ended = np.where(rng.random(len(ent)) < 0.6, started + rng.integers(90, 721, len(ent)), NEVER)
    ended = np.maximum(ended, notified)
    amount = np.round(w.capital[ent] * 1e4 * 0.3 * np.exp(rng.standard_normal(len(ent))), 2)
    keep = notified <= w.end
    return {
        "entity_id": ctx.ids(ent[keep]),
        "kind": Codes(kind[keep], JUDICIAL_KINDS),
        "started": started[keep],
        "notified": notified[keep],
        "ended": ended[keep],
        "amount": amount[keep],
    }
