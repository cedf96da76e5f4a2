"""``make_market``: a synthetic county of market entities with known true risk.

The market is simulated in three steps: the population (:mod:`._population`), the
quarters (:mod:`._dynamics`: risk drift, violations, complaints, inspections and what
they find), and the records of every declared source (:mod:`._tables`,
:mod:`._invoices`). The records follow ``features/sources.yaml`` exactly; the truth
(every entity's latent risk, every violation, found or not) is kept beside them so
that models can be judged against what really happened.

Stated properties of the default market (asserted by the test suite):

* individual businesses are 60-70% of entities;
* each year, penalties and abnormal-list entries each touch 0.5-10% of alive entities;
* shell companies are ``shell_share`` of enterprises (at least one ring of three when
  ``shell_share > 0``);
* targeted inspection intensity differs across districts (the most inspected district
  at least twice the rate of the least), larger firms are inspected more, and double
  random inspections are uniform across districts;
* many violations are never observed, more so among never-inspected entities;
* the fair best possible AUC of the one-year credit label (``Truth.oracle_score``: its
  probability given the state at the as-of date, see :mod:`._oracle`) is around
  0.75-0.85 per as-of date, and that probability is calibrated against the labels;
* the latent risk shows in the records: distress episodes bring legal-representative
  and address changes, judicial cases and pledges; the heavy tail of static risk
  shows in shared representatives and business-centre addresses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskml._progress import track
from riskml.records import Records, load_sources
from riskml.synth import _tables as tb
from riskml.synth._dynamics import REGIMES, simulate
from riskml.synth._frames import to_frame
from riskml.synth._invoices import build_invoices, build_tax_cases
from riskml.synth._oracle import CREDIT_PENALTY_MIN_AMOUNT, known_positive, label_probability, qualifying_share
from riskml.synth._population import DISTRICTS, ENTITY_TYPES, INDUSTRIES, draw_population, to_day

__all__ = ["ID_PREFIXES", "Market", "Truth", "make_market"]

logger = logging.getLogger(__name__)

# Record-id prefix per source ("P00000001" for the first penalty).
ID_PREFIXES = {
    "licences": "L", "changes": "C", "annual_reports": "R", "inspections": "I", "penalties": "P",
    "abnormal_list": "Y", "serious_violations": "S", "complaints": "T", "commendations": "H",
    "mortgages": "M", "pledges": "Q", "trademarks": "K", "judicial": "J", "invoices": "V", "tax_cases": "X",
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class Truth:
    """What really happened in a synthetic market, beyond what the records show.

    Attributes
    ----------
    entity_quarters : DataFrame
        One row per (``entity_id``, ``quarter_start``: the first day of a calendar
        quarter) while the entity is registered, sorted by entity then quarter:
        ``p_violation`` (true probability of a violation that quarter), ``violated``,
        ``observed`` (the violation was found by an inspection or complaint and its
        penalty is in the records), ``inspected``, ``inspected_random`` (a double
        random inspection that quarter) and ``p_flagged`` (true probability that the
        quarter, as it unfolded, produces a record making the credit label positive),
        ``regime`` (sound, strained, distressed: the time-varying part of the latent
        risk that quarter) and ``p_label_1y`` (the fair best possible score, see
        :meth:`oracle_score`).
    entities : DataFrame
        One row per entity: ``entity_id``, ``entity_type``, ``district``,
        ``industry``, ``latent_risk`` (the static log-odds of a violation per
        quarter), ``is_shell`` and ``ring`` (the fake-invoicing ring, null for
        non-shells).

    Examples
    --------
    >>> from riskml.synth import make_market
    >>> truth = make_market(n_entities=300, seed=1).truth
    >>> list(truth.entity_quarters.columns[:4])
    ['entity_id', 'quarter_start', 'p_violation', 'violated']
    >>> bool(truth.entities["entity_id"].is_unique)
    True
    """

    entity_quarters: pd.DataFrame
    entities: pd.DataFrame

    def oracle_score(self) -> pd.Series:
        """The fair best possible score of the one-year credit label: ``p_label_1y``.

        For the row (entity, ``t`` = ``quarter_start``) it is the probability that a
        record making the credit label of ``models/credit.yaml`` positive becomes
        known in ``[t, t + 365 days)``, given only what is true at ``t``: the entity's
        static facts and static latent risk, its shell status and ring plan, its
        regime in the quarter that ended at ``t``, the targeted-inspection signal
        (a violation found in the last four quarters) and what already happened
        before ``t`` (violations found whose penalty is published later, this year's
        annual report filed or not, listings already set in motion). Everything
        random from ``t`` on (regime moves, violations, inspections, complaints,
        filings, deregistration) is integrated out through the market's dynamics; it
        does not know the future. Aligned with ``entity_quarters`` (same index).

        Returns
        -------
        Series of float

        See Also
        --------
        realised_score : the same chance along the future that actually unfolded.

        Examples
        --------
        >>> from riskml.synth import make_market
        >>> truth = make_market(n_entities=300, seed=1).truth
        >>> score = truth.oracle_score()
        >>> bool(score.between(0, 1).all()), len(score) == len(truth.entity_quarters)
        (True, True)
        """
        eq = self.entity_quarters
        return pd.Series(eq["p_label_1y"].to_numpy(), index=eq.index, name="oracle_score")

    def realised_score(self, horizon_quarters: int = 4) -> pd.Series:
        """Chance of a credit-label record in the next ``horizon_quarters``, along the realised path.

        Combines ``p_flagged`` of the quarters ``t .. t + horizon`` as they actually
        unfolded (their regimes included): it knows the future, so no model can reach
        it. Kept to measure how much of the label the future regime moves decide.

        Parameters
        ----------
        horizon_quarters : int, default 4

        Returns
        -------
        Series of float

        Examples
        --------
        >>> from riskml.synth import make_market
        >>> truth = make_market(n_entities=300, seed=1).truth
        >>> bool(truth.realised_score().between(0, 1).all())
        True
        """
        eq = self.entity_quarters
        log_keep = np.log1p(-eq["p_flagged"].to_numpy().clip(0, 1 - 1e-12))
        entity = eq["entity_id"].to_numpy()
        total = np.zeros(len(eq))
        # Rows are sorted by entity then quarter: a shifted window within each entity.
        for k in range(horizon_quarters):
            shifted = np.roll(log_keep, -k)
            same = np.roll(entity, -k) == entity
            if k:
                same[-k:] = False
            total += np.where(same, shifted, 0.0)
        return pd.Series(-np.expm1(total), index=eq.index, name="realised_score")


@dataclass(frozen=True, eq=False)
class Market:
    """A synthetic market: its records and the truth behind them.

    Attributes
    ----------
    records : riskml.records.Records
        One table per source of ``features/sources.yaml``, raw (personal values not
        yet pseudonymised).
    truth : Truth
    start, end : Timestamp
        The window of the records.
    seed : int

    Examples
    --------
    >>> from riskml.synth import make_market
    >>> market = make_market(n_entities=300, seed=1)
    >>> market.records["entities"].shape[0]
    300
    """

    records: Records
    truth: Truth
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int

    def summary(self) -> pd.DataFrame:
        """Rows, entities covered and the range of ``known_at`` per source.

        Returns
        -------
        DataFrame
            Columns ``source``, ``rows``, ``entities``, ``known_from``, ``known_to``.

        Examples
        --------
        >>> from riskml.synth import make_market
        >>> summary = make_market(n_entities=300, seed=1).summary()
        >>> list(summary.columns)
        ['source', 'rows', 'entities', 'known_from', 'known_to']
        >>> int(summary.set_index("source").loc["entities", "rows"])
        300
        """
        rows = []
        for name, table in self.records.items():
            spec = self.records.catalog[name]
            known = table[spec.known_at]
            rows.append((name, len(table), int(table[spec.entity_key].nunique()), known.min(), known.max()))
        return pd.DataFrame(rows, columns=["source", "rows", "entities", "known_from", "known_to"])


def make_market(
    n_entities: int = 60_000,
    start: str | pd.Timestamp = "2019-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    seed: int = 0,
    *,
    shell_share: float = 0.01,
    show_progress: bool | None = None,
) -> Market:
    """Simulate a county's market entities and the records a bureau keeps about them.

    Entities register, live and close; each has a latent risk that drifts from
    quarter to quarter, violates with the probability it implies, and is inspected,
    complained about, penalised, listed and repaired the way a bureau's records show
    it. Only violations that an inspection or a complaint found become records, so
    blind spots are real. Riskier entities leave noisy precursors in the records
    (late, missing or all-zero annual reports, complaints, legal-representative and
    address changes, judicial cases, equity pledges, lapsed licences); sound ones get
    commendations, trademarks and mortgages. A share of enterprises are shell
    companies running fake-invoicing rings. See the module docstring of
    ``riskml.synth._market`` for the rates the market is built to respect.

    Parameters
    ----------
    n_entities : int, default 60_000
        Entities in the registry, all registered at some time in ``[start, end]``.
    start, end : date-like
        The window of the records (inclusive); nothing known after ``end`` appears.
    seed : int, default 0
        The same seed gives identical output, byte for byte.
    shell_share : float, default 0.01
        Share of enterprises that are shell companies in fake-invoicing rings.
    show_progress : bool, optional
        Draw progress bars; default: when stderr is a terminal.

    Returns
    -------
    Market

    Raises
    ------
    ValueError
        When ``n_entities`` is below 1, ``end`` is not after ``start`` or
        ``shell_share`` is outside ``[0, 0.5]``.

    Examples
    --------
    >>> from riskml.synth import make_market
    >>> market = make_market(n_entities=500, seed=0)
    >>> sorted(market.records)[:4]
    ['abnormal_list', 'annual_reports', 'changes', 'commendations']
    >>> str(market.records["penalties"]["penalty_id"].iloc[0])
    'P00000001'
    >>> bool((market.truth.entity_quarters["violated"] >= market.truth.entity_quarters["observed"]).all())
    True
    """
    if not isinstance(n_entities, (int, np.integer)) or n_entities < 1:
        raise ValueError(f"n_entities must be a positive integer, got {n_entities!r}")
    if not 0 <= shell_share <= 0.5:
        raise ValueError(f"shell_share must be in [0, 0.5], got {shell_share!r}")
    start_ts, end_ts = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if end_ts <= start_ts:
        raise ValueError(f"end must be after start, got start={start_ts:%Y-%m-%d}, end={end_ts:%Y-%m-%d}")
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, 0])
    world = draw_population(rng, int(n_entities), to_day(start_ts), to_day(end_ts), shell_share)
    activity = simulate(world, rng, show_progress)
    ctx = tb.Context(world, activity, seed)
    catalog = load_sources()

    filings = tb.annual_filings(ctx)
    pen = tb.penalty_rows(ctx)
    published = pen["published"] <= world.end
    revoking_mask = published & (pen["severity"] == 2) & np.isin(pen["cause"], [0, 1])
    revoking = pd.DataFrame({"ent": pen["ent"][revoking_mask], "day": pen["published"][revoking_mask]})

    # Builders in dependency order; a builder returning (table, extra) leaves `extra`
    # for later ones (inspections -> abnormal list -> serious list, invoices -> tax cases).
    extra: dict[str, Any] = {}
    builders: dict[str, Callable[[], Any]] = {
        "entities": lambda: tb.build_entities(ctx),
        "licences": lambda: tb.build_licences(ctx, revoking),
        "changes": lambda: tb.build_changes(ctx),
        "annual_reports": lambda: tb.build_annual_reports(ctx, filings),
        "inspections": lambda: tb.build_inspections(ctx),
        "penalties": lambda: tb.build_penalties(ctx, pen),
        "abnormal_list": lambda: tb.build_abnormal_list(ctx, filings, extra["inspections"]),
        "invoices": lambda: build_invoices(ctx),
        "tax_cases": lambda: build_tax_cases(ctx, extra["invoices"]),
        "serious_violations": lambda: tb.build_serious_violations(ctx, extra["abnormal_list"]["stuck"], _published(pen, world.end),
                                                                  extra["tax_cases"]),
        "complaints": lambda: tb.build_complaints(ctx),
        "commendations": lambda: tb.build_commendations(ctx),
        "mortgages": lambda: tb.build_mortgages(ctx),
        "pledges": lambda: tb.build_pledges(ctx),
        "trademarks": lambda: tb.build_trademarks(ctx),
        "judicial": lambda: tb.build_judicial(ctx),
    }
    frames: dict[str, pd.DataFrame] = {}
    for name in track(list(builders), "writing records", show=show_progress):
        built = builders[name]()
        if isinstance(built, tuple):
            built, extra[name] = built
        frames[name] = to_frame(catalog[name], built, world.end, ID_PREFIXES.get(name))
    undeclared = sorted(set(catalog) - set(frames))
    if undeclared:
        raise RuntimeError(f"the synthetic market has no generator for declared sources {undeclared}")
    tables = {name: frames[name] for name in catalog}
    qualifying = (pen["amount"] >= CREDIT_PENALTY_MIN_AMOUNT) | (pen["severity"] >= 1)
    label_events = [
        {"ent": pen["ent"][qualifying], "known": pen["published"][qualifying], "trigger": pen["found"][qualifying]},
        extra["abnormal_list"]["events"],
        extra["serious_violations"],
    ]
    truth = _truth(ctx, pen, filings, label_events)
    market = Market(Records(tables=tables, catalog=catalog), truth, start_ts, end_ts, int(seed))
    logger.info("synthetic market: %d entities, %d records in %.1f s", world.n, market.records.n_records, time.perf_counter() - t0)
    return market


def _published(pen: dict[str, np.ndarray], end: np.int64) -> dict[str, np.ndarray]:
    keep = pen["published"] <= end
    return {k: v[keep] for k, v in pen.items()}


def _truth(ctx: tb.Context, pen: dict[str, np.ndarray], filings: dict[str, np.ndarray],
           label_events: list[dict[str, np.ndarray]]) -> Truth:  # fmt: skip
    world, activity = ctx.world, ctx.activity
    n, n_q = world.n, world.n_quarters
    alive = world.alive()
    observed = np.zeros((n, n_q), bool)
    known = pen["published"] <= world.end
    observed[pen["ent"][known], pen["q"][known]] = True

    # Chance the quarter, as it unfolded, yields a credit-label record: a qualifying
    # penalty for a violation that is found, an abnormal-list event, or an abnormal
    # listing for a missing annual report.
    p_pen = activity.p_violation * activity.p_found * qualifying_share(ctx.z)
    p_events = 1 - np.exp(-sum(tb.abnormal_event_rate(k, ctx.z, ctx.abnormal) for k in tb.ABNORMAL_EVENT_RATES))
    p_list = np.zeros((n, n_q))
    grid_q = world.quarter_of(filings["listing"])
    in_grid = filings["listing"] < world.quarter_starts[-1]
    p_listed = filings["p_never"] + filings["p_late"] * tb.late_filing_listed()
    np.add.at(p_list, (filings["ent"][in_grid], grid_q[in_grid]), p_listed[in_grid])
    p_flagged = 1 - (1 - p_pen) * (1 - p_events) * (1 - np.clip(p_list, 0, 1))

    ent, q = np.nonzero(alive)  # row-major: sorted by entity, then quarter
    p_new = label_probability(world, activity, filings, (ctx.mu, ctx.sd), ent, q)
    p_label = np.where(known_positive(world, label_events, ent, q), 1.0, p_new)
    quarter_start = world.quarter_starts[:-1].astype("datetime64[D]").astype("datetime64[ns]")
    entity_quarters = pd.DataFrame({
        "entity_id": world.entity_id.take(ent).reset_index(drop=True),
        "quarter_start": quarter_start[q],
        "p_violation": activity.p_violation[ent, q].astype(np.float64),
        "violated": activity.violated[ent, q],
        "observed": observed[ent, q],
        "inspected": activity.inspected[ent, q],
        "inspected_random": activity.inspected_random[ent, q],
        "p_flagged": p_flagged[ent, q].astype(np.float64),
        "regime": pd.Categorical.from_codes(activity.regime[ent, q + 1], categories=list(REGIMES)),
        "p_label_1y": p_label,
    })  # fmt: skip
    entities = pd.DataFrame({
        "entity_id": world.entity_id,
        "entity_type": pd.Categorical.from_codes(world.entity_type, categories=list(ENTITY_TYPES)),
        "district": pd.Categorical.from_codes(world.district, categories=list(DISTRICTS)),
        "industry": pd.Categorical.from_codes(world.industry, categories=list(INDUSTRIES)),
        "latent_risk": world.base_risk.astype(np.float64),
        "is_shell": world.is_shell,
        "ring": pd.array(np.where(world.ring >= 0, world.ring, np.nan), dtype="Int64"),
    })  # fmt: skip
    return Truth(entity_quarters=entity_quarters, entities=entities)
