"""Quarter-by-quarter life of the synthetic market.

One pass over the quarters, each step vectorised over all entities:

1. the entity's regime moves along a Markov chain (sound -> strained -> distressed and
   back): the time-varying part of the latent risk, on top of its static risk and
   youth;
2. deregistration (riskier entities close more often; shells follow their own plan);
3. violations happen with probability ``sigmoid(risk)``;
4. complaints arrive, more often about violators and consumer-facing trades;
5. inspections: double-random (a uniform sample), targeted (uneven across districts,
   larger firms more, and more after a penalty in the last four quarters) and
   complaint-triggered;
6. an inspection or a substantiated complaint may find the quarter's violation: only
   then is it *observed* and becomes a penalty.

Everything an inspector could not see stays in the truth; the records only get what
was found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskml._progress import track
from riskml.synth._population import NEVER, World

__all__ = ["Activity", "find_chance", "next_regime", "proneness", "transitions", "risk_scale", "simulate", "sigmoid", "stationary_regimes",
           "targeted_rate", "uniform_days"]

# Regimes of the latent risk (sound, strained, distressed): log-odds shift and the
# quarter-to-quarter transition matrix (rows: from, columns: to). Distress episodes
# last a few quarters and leave traces in the records (see _tables).
REGIMES = ("sound", "strained", "distressed")
REGIME_SHIFT = np.array([0.0, 1.0, 2.2])
REGIME_TRANSITION = np.array([
    [0.955, 0.035, 0.010],
    [0.200, 0.700, 0.100],
    [0.050, 0.150, 0.800],
])  # fmt: skip
YOUTH_RISK, YOUTH_YEARS = 0.5, 2.0  # young entities are riskier, fading with age
DEREG_HAZARD = (0.011, 0.007)  # per quarter, individual / enterprise, at average risk
DEREG_RISK_SLOPE = 0.5
# Complaints: consumer-facing trades draw more (per INDUSTRIES).
COMPLAINT_EXPOSURE = np.array([1.5, 2.0, 0.5, 0.5, 0.8, 0.7, 1.3, 0.4, 1.5, 0.4])
COMPLAINT_BASE, COMPLAINT_RISK, COMPLAINT_VIOLATION = 0.006, 0.9, 0.35  # base x exp(RISK x z)
COMPLAINT_INSPECTED = 0.45  # share of complaints followed by an inspection
FIND_BY_COMPLAINT = (0.30, 0.80)  # chance a complaint reveals a violation, without/with inspection
SUBSTANTIATED_NOISE = 0.07  # complaints upheld for a minor matter short of a violation
# Inspections.
RANDOM_RATE = 0.0105  # per quarter: ~4.2% of entities a year, uniform
TARGETED_BASE = 0.018
DISTRICT_INTENSITY = np.array([3.0, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.45])
CAPITAL_INTENSITY = 0.5  # per unit of relative log capital
SIGNAL_PENALTY, SIGNAL_QUARTERS = 4.0, 4  # targeted rate multiplier after a penalty, for 4 quarters
FIND_RANDOM, FIND_TARGETED = 0.55, 0.70
MINOR_ISSUE_BASE, MINOR_ISSUE_RISK = 0.05, 2.0


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A day drawn uniformly in ``[lo, hi)`` (``hi > lo``)."""
    return lo + np.floor((hi - lo) * rng.random(len(lo))).astype(np.int64)


REGIME_PRONENESS = 0.5  # riskier entities fall into strain and distress more often


def transitions(proneness: np.ndarray) -> np.ndarray:
    """Per-entity regime transition matrices (n, 3, 3) from the entity's standardised static risk."""
    t = np.broadcast_to(REGIME_TRANSITION, (len(proneness), *REGIME_TRANSITION.shape)).copy()
    scale = np.exp(REGIME_PRONENESS * np.clip(proneness, -3, 3))
    t[:, 0, 1:] = np.minimum(REGIME_TRANSITION[0, 1:] * scale[:, None], 0.2)
    t[:, 0, 0] = 1 - t[:, 0, 1:].sum(axis=1)
    return t


def proneness(world: World) -> np.ndarray:
    """Static risk standardised over the population: how prone an entity is to distress."""
    b = world.base_risk
    return (b - b.mean()) / (b.std() or 1.0)


def stationary_regimes() -> np.ndarray:
    """The stationary distribution of :data:`REGIME_TRANSITION` (an entity of average static risk)."""
    values, vectors = np.linalg.eig(REGIME_TRANSITION.T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    return pi / pi.sum()


def next_regime(rng: np.random.Generator, regime: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """One step of the regime chain for every entity."""
    cum = np.cumsum(matrices[np.arange(len(regime)), regime], axis=1)
    return np.minimum((rng.random(len(regime))[:, None] > cum).sum(axis=1), len(REGIMES) - 1).astype(np.int8)


@dataclass
class Activity:
    """What happened, quarter by quarter (matrices are (n, Q))."""

    p_violation: np.ndarray  # float32
    regime: np.ndarray  # int8 (n, Q + 1): column 0 the regime before the first quarter
    last_detected_q: np.ndarray  # int64 (n, Q): latest quarter before q with a detection, -100 if none
    violated: np.ndarray  # bool
    detected: np.ndarray  # int64 day the violation was found, NEVER when not found
    found_by: np.ndarray  # int8: 0 random inspection, 1 targeted, 2 complaint
    p_found: np.ndarray  # float32: chance a violation in the quarter is found
    inspected: np.ndarray  # bool
    inspected_random: np.ndarray  # bool
    # One row per inspection / complaint.
    insp_entity: np.ndarray
    insp_day: np.ndarray
    insp_kind: np.ndarray  # 0 random, 1 targeted, 2 complaint
    insp_found: np.ndarray  # bool: this inspection found the violation
    compl_entity: np.ndarray
    compl_day: np.ndarray
    compl_substantiated: np.ndarray


def risk_scale(world: World) -> tuple[np.float64, np.float64]:
    """Mean and standard deviation of the latent risk the complaint rate is scaled by."""
    pi = stationary_regimes()
    shift_var = float(pi @ REGIME_SHIFT**2 - (pi @ REGIME_SHIFT) ** 2)
    return np.float64(np.mean(world.base_risk)), np.float64(np.sqrt(np.var(world.base_risk) + shift_var) or 1.0)


def targeted_rate(intensity: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Chance of a targeted inspection in a quarter: district x size intensity, raised after a penalty."""
    return np.minimum(TARGETED_BASE * intensity * np.where(signal, SIGNAL_PENALTY, 1.0), 0.6)


def find_chance(p_targeted: np.ndarray, complaint_rate_if_violated: np.ndarray) -> np.ndarray:
    """Chance a violation in a quarter is found: by a random or targeted inspection or a complaint."""
    find_c = COMPLAINT_INSPECTED * FIND_BY_COMPLAINT[1] + (1 - COMPLAINT_INSPECTED) * FIND_BY_COMPLAINT[0]
    miss = (1 - RANDOM_RATE * FIND_RANDOM) * (1 - p_targeted * FIND_TARGETED) * np.exp(-complaint_rate_if_violated * find_c)
    return 1 - miss


def simulate(world: World, rng: np.random.Generator, show_progress: bool | None = None) -> Activity:
    """Run the quarters; fills ``world.risk``, ``world.lo``, ``world.hi`` and deregistrations."""
    n, n_q = world.n, world.n_quarters
    grid = world.quarter_starts
    shape = (n, n_q)
    risk = np.zeros(shape, np.float32)
    lo_m = np.zeros(shape, np.int64)
    hi_m = np.zeros(shape, np.int64)
    p_m = np.zeros(shape, np.float32)
    viol_m = np.zeros(shape, bool)
    det_m = np.full(shape, NEVER, np.int64)
    by_m = np.full(shape, -1, np.int8)
    pfound_m = np.zeros(shape, np.float32)
    insp_m = np.zeros(shape, bool)
    rand_m = np.zeros(shape, bool)
    insp_rows: list[tuple[np.ndarray, ...]] = []
    compl_rows: list[tuple[np.ndarray, ...]] = []

    regime_m = np.zeros((n, n_q + 1), np.int8)
    regime_m[:, 0] = np.searchsorted(np.cumsum(stationary_regimes()), rng.random(n) * (1 - 1e-12), side="right")
    lastdet_m = np.zeros(shape, np.int64)
    matrices = transitions(proneness(world))
    last_penalty_q = np.full(n, -100)
    exposure = COMPLAINT_EXPOSURE[world.industry]
    cap_rel = world.log_capital_rel
    cap_mult = np.clip(np.exp(CAPITAL_INTENSITY * cap_rel), 0.4, 4.0)
    district_mult = DISTRICT_INTENSITY[world.district]
    hazard_base = np.asarray(DEREG_HAZARD)[world.entity_type]
    planned = world.is_shell  # shells' deregistration is planned in the population
    mean_risk, sd_risk = risk_scale(world)

    for q in track(range(n_q), "simulating quarters", show=show_progress):
        q_lo, q_hi = grid[q], grid[q + 1]
        lo = np.maximum(np.maximum(q_lo, world.start), world.established)
        hi = np.minimum(q_hi, world.deregistered)

        age_years = (q_lo - world.established) / 365.25
        regime_m[:, q + 1] = next_regime(rng, regime_m[:, q], matrices)
        r = world.base_risk + YOUTH_RISK * np.exp(-np.maximum(age_years, 0) / YOUTH_YEARS) + REGIME_SHIFT[regime_m[:, q + 1]]
        lastdet_m[:, q] = last_penalty_q

        # Deregistration: only entities already registered before the quarter began.
        hazard = np.minimum(hazard_base * np.exp(DEREG_RISK_SLOPE * (r - mean_risk)), 0.2)
        can_die = (world.established < q_lo) & (lo < hi) & ~planned & (hi - lo > 1)
        dies = can_die & (rng.random(n) < hazard)
        idx = np.flatnonzero(dies)
        world.deregistered[idx] = uniform_days(rng, lo[idx] + 1, hi[idx])
        hi = np.minimum(q_hi, world.deregistered)
        alive = lo < hi
        lo_m[:, q], hi_m[:, q], risk[:, q] = lo, hi, r

        p = sigmoid(r) * alive
        violated = alive & (rng.random(n) < p)
        p_m[:, q], viol_m[:, q] = p, violated

        # Complaints, each maybe followed by an inspection that may find the violation.
        z = (r - mean_risk) / sd_risk
        lam = exposure * (COMPLAINT_BASE * np.exp(COMPLAINT_RISK * z) + COMPLAINT_VIOLATION * violated)
        count = rng.poisson(lam * alive)
        c_ent = np.repeat(np.arange(n), count)
        c_day = uniform_days(rng, lo[c_ent], hi[c_ent])
        c_insp = rng.random(len(c_ent)) < COMPLAINT_INSPECTED
        c_insp_day = np.minimum(c_day + rng.integers(2, 31, len(c_ent)), hi[c_ent] - 1)
        c_found = violated[c_ent] & (rng.random(len(c_ent)) < np.where(c_insp, FIND_BY_COMPLAINT[1], FIND_BY_COMPLAINT[0]))
        c_subst = c_found | (rng.random(len(c_ent)) < SUBSTANTIATED_NOISE)
        compl_rows.append((c_ent, c_day, c_subst))
        c_det_day = np.where(c_insp, c_insp_day, np.minimum(c_day + rng.integers(5, 31, len(c_ent)), hi[c_ent] - 1))

        # Inspections: double random (uniform) and targeted (uneven, signal-driven).
        rand = alive & (rng.random(n) < RANDOM_RATE)
        p_targ = targeted_rate(district_mult * cap_mult, q - last_penalty_q <= SIGNAL_QUARTERS)
        targ = alive & (rng.random(n) < p_targ)
        r_day = uniform_days(rng, lo, np.maximum(hi, lo + 1))
        t_day = uniform_days(rng, lo, np.maximum(hi, lo + 1))
        r_found = rand & violated & (rng.random(n) < FIND_RANDOM)
        t_found = targ & violated & (rng.random(n) < FIND_TARGETED)

        det = np.where(r_found, r_day, NEVER)
        by = np.where(r_found, 0, -1)
        better = t_found & (t_day < det)
        det, by = np.where(better, t_day, det), np.where(better, 1, by)
        c_best = np.full(n, NEVER, np.int64)
        np.minimum.at(c_best, c_ent[c_found], c_det_day[c_found])
        better = c_best < det
        det, by = np.where(better, c_best, det), np.where(better, 2, by)
        det_m[:, q], by_m[:, q] = det, by

        # The chance a violation this quarter would have been found, given the state.
        lam_v = exposure * (COMPLAINT_BASE * np.exp(COMPLAINT_RISK * z) + COMPLAINT_VIOLATION)
        pfound_m[:, q] = find_chance(p_targ, lam_v) * alive

        ci_ent = c_ent[c_insp]
        ci_found = c_found[c_insp]
        insp_rows.append((np.flatnonzero(rand), r_day[rand], np.zeros(rand.sum(), np.int8), r_found[rand]))
        insp_rows.append((np.flatnonzero(targ), t_day[targ], np.ones(targ.sum(), np.int8), t_found[targ]))
        insp_rows.append((ci_ent, c_insp_day[c_insp], np.full(len(ci_ent), 2, np.int8), ci_found))
        insp_m[:, q] = rand | targ
        insp_m[ci_ent, q] = True
        rand_m[:, q] = rand

        # The signal an inspector sees in the next quarters.
        last_penalty_q = np.where(det < NEVER, q, last_penalty_q)

    world.risk, world.lo, world.hi = risk, lo_m, hi_m
    insp = [np.concatenate(parts) for parts in zip(*insp_rows)] if insp_rows else [np.zeros(0)] * 4
    compl = [np.concatenate(parts) for parts in zip(*compl_rows)] if compl_rows else [np.zeros(0)] * 3
    return Activity(
        p_violation=p_m, regime=regime_m, last_detected_q=lastdet_m, violated=viol_m, detected=det_m, found_by=by_m, p_found=pfound_m,
        inspected=insp_m, inspected_random=rand_m,
        insp_entity=insp[0].astype(np.int64), insp_day=insp[1].astype(np.int64), insp_kind=insp[2].astype(np.int8),
        insp_found=insp[3].astype(bool), compl_entity=compl[0].astype(np.int64), compl_day=compl[1].astype(np.int64),
        compl_substantiated=compl[2].astype(bool),
    )  # fmt: skip
