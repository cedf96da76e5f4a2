"""The fair best possible score: the chance of a credit label given the state at ``t``.

For every alive entity-quarter (entity, quarter start ``t``) the oracle computes

    p_label_1y = P(a credit-label record becomes known in [t, t + 365d) | state at t)

where the state at ``t`` is everything true when the quarter begins and nothing after:

* the entity's static facts (type, industry, district, capital, age, static latent
  risk, shell status and its ring's plan);
* its regime (sound / strained / distressed) in the quarter that ended at ``t``;
* the supervision state: whether a violation was found in the last four quarters
  (the targeted-inspection signal), the district and size inspection intensity;
* what has already happened: violations found before ``t`` whose penalty (or
  serious-list entry) is published later, this year's annual report filed or not,
  listings set in motion before ``t`` (three years on the abnormal list).

Everything random from ``t`` on is integrated out, exactly through the dynamics of
:mod:`._dynamics`: the regime moves of the next four quarters (a forward recursion over
the regime chain), violations, their detection by random, targeted or
complaint-triggered inspection (including the raised targeted rate after a minor,
non-qualifying penalty inside the horizon), severity and amount, publication lags,
annual-report filing and listing, abnormal-list events and deregistration. Two
second-order simplifications, each well below a thousandth of probability for
almost every row: a detection day is taken as uniform within its quarter (for the
publication lag at the end of the horizon) and deregistration between the filing
season and the listing day is taken at the regime of the season.

The realised-future counterpart (the chances along the path that actually unfolded)
is kept for comparison: no model can reach it, because it knows the regime moves to
come.
"""

from __future__ import annotations

import numpy as np

from riskml.synth import _dynamics as dyn
from riskml.synth import _tables as tb
from riskml.synth._population import World

__all__ = ["known_positive", "label_probability", "qualifying_share"]

# Penalty thresholds of models/credit.yaml: severity general or serious, or amount >= this.
CREDIT_PENALTY_MIN_AMOUNT = 10_000.0


def _publication_lag_cdf() -> np.ndarray:
    """P(found -> published lag < x) for x = 0, 1, ..., over the penalty builder's lags."""
    decide = np.arange(*tb.DECISION_LAG)
    publish = np.arange(*tb.PUBLICATION_LAG)
    lag = (decide[:, None] + publish[None, :]).ravel()
    counts = np.bincount(lag, minlength=lag.max() + 2)
    return np.r_[0.0, np.cumsum(counts) / counts.sum()]


def _published_in_time(room: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Chance a penalty found on a uniform day of a ``length``-day quarter is published within ``room`` days of its start."""
    cdf = _publication_lag_cdf()
    out = np.empty(len(room))
    pairs, inverse = np.unique(np.c_[room, length], axis=0, return_inverse=True)
    values = np.empty(len(pairs))
    for k, (r, n) in enumerate(pairs):
        x = np.clip(r - np.arange(n), 0, len(cdf) - 1)  # lag must be < room - day
        values[k] = cdf[x].mean()
    out[:] = values[inverse.ravel()]
    return out


def qualifying_share(z: np.ndarray) -> np.ndarray:
    """Chance a found violation's penalty makes the credit label positive."""
    from math import erf, log, sqrt

    _, p_minor = tb.severity_shares(z)
    # amounts are rounded to hundreds: a minor fine qualifies when it rounds to >= the minimum
    threshold = (log(CREDIT_PENALTY_MIN_AMOUNT - 50) - log(tb.FINE_MEDIAN[0])) / tb.FINE_LOG_SD[0]
    big_minor = (1 - tb.WARNING_SHARE) * 0.5 * (1 - erf(threshold / sqrt(2)))
    return 1 - p_minor * (1 - big_minor)


def known_positive(world: World, events: list[dict[str, np.ndarray]], ent: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Rows (``ent``, ``q``) with a label record in the horizon whose cause was settled before ``t``."""
    grid = world.quarter_starts
    hit = np.zeros((world.n, world.n_quarters), bool)
    for ev in events:
        for k in range(world.n_quarters):
            t = grid[k]
            sel = (ev["trigger"] < t) & (ev["known"] >= t) & (ev["known"] < t + 365)
            hit[ev["ent"][sel], k] = True
    return hit[ent, q]


def label_probability(
    world: World,
    activity: dyn.Activity,
    filings: dict[str, np.ndarray],
    scale: tuple[float, float],
    ent: np.ndarray,
    q: np.ndarray,
) -> np.ndarray:
    """P(new credit-label record in [t, t + 365d) | state at t) for rows (``ent``, ``q``).

    ``scale`` is the (mean, sd) the record builders standardise the risk with. Records
    whose cause was settled before ``t`` are not counted here (see :func:`known_positive`).
    """
    grid = world.quarter_starts
    n_q = world.n_quarters
    m = len(ent)
    n_reg = len(dyn.REGIMES)
    mu, sd = scale
    mean_risk, sd_risk = dyn.risk_scale(world)
    T = dyn.transitions(dyn.proneness(world)[ent])
    shift = dyn.REGIME_SHIFT[None, :]
    base = world.base_risk[ent][:, None]
    shell = world.is_shell[ent]
    established = world.established[ent]
    intensity = dyn.DISTRICT_INTENSITY[world.district[ent]] * np.clip(
        np.exp(dyn.CAPITAL_INTENSITY * world.log_capital_rel[ent]), 0.4, 4.0)
    exposure = dyn.COMPLAINT_EXPOSURE[world.industry[ent]][:, None]
    hazard_base = np.asarray(dyn.DEREG_HAZARD)[world.entity_type[ent]][:, None]
    last_det = activity.last_detected_q[ent, q]
    alive_m = world.alive()
    p_late_listed = tb.late_filing_listed()
    t = grid[q]
    month = grid.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1

    # Annual report whose season began before t and whose listing is still ahead
    # (t on 1 April or 1 July): filed or not by t is known, the rest is integrated out.
    pending_list = np.zeros(m)
    list_step = np.full(m, -1)
    year_start = (t.astype("datetime64[D]").astype("datetime64[Y]")).astype("datetime64[D]").astype(np.int64)
    mid = np.isin(month[q], (4, 7))
    if mid.any() and len(filings["ent"]):
        key_f = filings["ent"] * (1 << 20) + (filings["season"] - grid[0] + (1 << 19))
        order = np.argsort(key_f, kind="stable")
        key_r = ent * (1 << 20) + (year_start - grid[0] + (1 << 19))
        pos = np.clip(np.searchsorted(key_f[order], key_r), 0, len(order) - 1)
        found = mid & (key_f[order][pos] == key_r)
        f = order[pos]
        not_filed = found & (filings["filed"][f] >= t)
        zf = filings["z"][f]
        pn, pl = tb.filing_chances(zf, filings["shell"][f])
        july = filings["july"][f]
        frac = np.clip((t - filings["season"][f]) / np.maximum(july - filings["season"][f], 1), 0, 1)
        on_time_open = 1 - frac ** (1 / np.exp(-tb.ON_TIME_SLOPE * zf))
        listed = pn + pl * p_late_listed
        p = listed / np.maximum(pn + pl + (1 - pn - pl) * on_time_open, 1e-12)
        pending_list = np.where(not_filed, p, 0.0)
        list_step = np.where(not_filed, np.where(month[q] == 7, 0, 1), -1)

    # state: (row, regime, minor-penalty signal raised inside the horizon)
    dead_clean = np.zeros(m)  # deregistered without a positive record: stays negative
    state = np.zeros((m, n_reg, 2))
    state[np.arange(m), activity.regime[ent, q], 0] = 1.0
    for j in range(4):
        qq = q + j
        inside = qq < n_q
        qc = np.minimum(qq, n_q - 1)
        state = np.einsum("msf,mst->mtf", state, T)
        age = np.maximum((grid[qc] - established) / 365.25, 0)[:, None]
        r = base + dyn.YOUTH_RISK * np.exp(-age / dyn.YOUTH_YEARS) + shift
        z = (r - mu) / sd
        p_v = dyn.sigmoid(r)
        lam_v = exposure * (dyn.COMPLAINT_BASE * np.exp(dyn.COMPLAINT_RISK * (r - mean_risk) / sd_risk) + dyn.COMPLAINT_VIOLATION)
        signal_known = (qc - last_det <= dyn.SIGNAL_QUARTERS)[:, None]
        live = np.where(shell, alive_m[ent, qc], True) & inside
        established_ok = (established < grid[qc + 1])[:, None]
        publish = np.ones(m) if j < 3 else _published_in_time(t + 365 - grid[qc], grid[qc + 1] - grid[qc])
        pq = qualifying_share(z)
        distress = tb.ABNORMAL_EMISSION[None, :]
        events = sum(tb.abnormal_event_rate(k, z, distress) for k in tb.ABNORMAL_EVENT_RATES)
        no_event = np.exp(-events)
        # a filing season starting in the first two quarters has its listing (July or
        # August) inside the horizon; a later one's listing falls after it
        season = (month[qc] == 1) & inside & (established < grid[qc]) & (j <= 1)
        pn, pl = tb.filing_chances(z, shell[:, None])
        death = np.where(shell[:, None], 0.0, np.minimum(hazard_base * np.exp(dyn.DEREG_RISK_SLOPE * (r - mean_risk)), 0.2))
        p_list = np.where(season[:, None], (pn + pl * p_late_listed) * (1 - death) ** 2.4, 0.0)
        p_known_list = np.where(list_step == j, pending_list, 0.0)[:, None]
        keep_other = no_event * (1 - p_list) * (1 - p_known_list)
        new = np.zeros_like(state)
        for flag in (0, 1):
            signal = signal_known | bool(flag)
            found = dyn.find_chance(dyn.targeted_rate(intensity[:, None], signal), lam_v)
            pos = p_v * found * pq * publish[:, None]
            minor = p_v * found * (1 - pq)
            if flag == 0:
                new[:, :, 0] += state[:, :, 0] * (1 - pos - minor) * keep_other
                new[:, :, 1] += state[:, :, 0] * minor * keep_other
            else:
                new[:, :, 1] += state[:, :, 1] * (1 - pos) * keep_other
        active = (live[:, None] & established_ok)[:, :, None]
        state = np.where(active, new, state)
        can_die = (established < grid[qc]) & ~shell & inside
        dies = np.where(can_die[:, None], death, 0.0)[:, :, None]
        dead_clean += (state * dies).sum(axis=(1, 2))
        state = state * (1 - dies)
    # A deregistered entity writes no more records, so dying clean stays negative.
    return np.clip(1.0 - state.sum(axis=(1, 2)) - dead_clean, 0.0, 1.0)
