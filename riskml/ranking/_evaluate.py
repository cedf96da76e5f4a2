"""Replaying inspection strategies against the truth of a synthetic market.

On a synthetic market (:mod:`riskml.synth`) riskml knows who truly violated in each
quarter, including violations no inspection found. :func:`evaluate_plan` replays, for
each as-of date, the same number of inspections (a budget) chosen three ways: the
riskiest entities by predicted probability, a seeded uniform random sample, and the
grade-rate plan (rates scaled to the budget), and counts the true violators found and
the compliant entities disturbed. Scores come from any model, as a frame or a mapping
per as-of date.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._time import as_of_date, day_number
from riskml.ranking._spec import RankingSpec, load_ranking_spec
from riskml.ranking._blind_spots import check_scores
from riskml.ranking._plan import draw_per_grade

if TYPE_CHECKING:
    from riskml.synth import Market, Truth
    from riskml.ranking._spec import RankingSpecLike

__all__ = ["EVALUATION_COLUMNS", "STRATEGIES", "evaluate_plan", "scaled_grade_counts"]

logger = logging.getLogger(__name__)

#: The strategies :func:`evaluate_plan` compares.
STRATEGIES: tuple[str, ...] = ("risk_ranked", "random", "grade_rate")
#: Columns of the evaluation table.
EVALUATION_COLUMNS: tuple[str, ...] = (
    "as_of", "strategy", "n_alive", "violators_total", "inspections", "violators_found", "compliant_disturbed",
    "hit_rate", "recall", "lift", "found_vs_random",
)  # fmt: skip


def scaled_grade_counts(sizes: Mapping[str, int], rates: Mapping[str, float], budget: int) -> dict[str, int]:
    """Per-grade draws proportional to ``rate * n_grade``, scaled to sum to ``budget``.

    No grade gets more draws than it has entities (the excess goes to the other grades
    in proportion); integer counts by largest remainder.

    Raises
    ------
    ValueError
        When the budget exceeds the entities of grades with a positive rate, or every
        rate is zero.

    Examples
    --------
    >>> scaled_grade_counts({"A": 100, "D": 10}, {"A": 0.03, "D": 0.9}, 12)
    {'A': 3, 'D': 9}
    >>> scaled_grade_counts({"A": 100, "D": 10}, {"A": 0.03, "D": 0.9}, 30)
    {'A': 20, 'D': 10}
    """
    grades = sorted(g for g in sizes if sizes[g] > 0 and rates.get(g, 0.0) > 0)
    cap = np.array([sizes[g] for g in grades], dtype=np.float64)
    weight = np.array([rates[g] * sizes[g] for g in grades], dtype=np.float64)
    if budget > cap.sum():
        raise ValueError(f"budget {budget} exceeds the {int(cap.sum())} entities in grades with a positive rate")
    share = np.zeros(len(grades))
    free = np.ones(len(grades), dtype=bool)
    left = float(budget)
    # Water-filling: at most one round per grade caps a grade.
    for _ in range(len(grades) + 1):
        if left <= 0 or not free.any() or weight[free].sum() <= 0:
            break
        share[free] = left * weight[free] / weight[free].sum()
        over = free & (share > cap)
        if not over.any():
            break
        share[over] = cap[over]
        free &= ~over
        left = budget - share[~free].sum()
    counts = np.floor(share).astype(np.int64)
    short = int(budget - counts.sum())
    if short:
        room = np.where(counts < cap, share - counts, -1.0)
        counts[np.argsort(-room, kind="stable")[:short]] += 1
    out = {g: 0 for g in sorted(sizes)}
    out.update({g: int(c) for g, c in zip(grades, counts, strict=True)})
    return out


def _truth_table(truth: Any) -> pd.DataFrame:
    for attr in ("truth", "entity_quarters"):
        if not isinstance(truth, pd.DataFrame) and hasattr(truth, attr):
            truth = getattr(truth, attr)
    if not isinstance(truth, pd.DataFrame):
        raise TypeError(f"truth must be a Market, a Truth or its entity_quarters DataFrame, not {type(truth).__name__}")
    missing = {"entity_id", "quarter_start", "violated"} - set(truth.columns)
    if missing:
        raise ValueError(f"truth lacks column(s) {sorted(missing)}; expected entity_id, quarter_start, violated")
    return truth


def _score_frames(scores: pd.DataFrame | Mapping[Any, pd.DataFrame]) -> list[tuple[pd.Timestamp, pd.DataFrame]]:
    if isinstance(scores, Mapping):
        items = []
        for as_of, frame in scores.items():
            check_scores(frame, ("entity_id", "probability"))
            items.append((as_of_date(as_of, what="a key of scores"), frame))
        return sorted(items, key=lambda item: item[0])
    check_scores(scores)
    return [(as_of_date(t, what="scores['as_of']"), f) for t, f in scores.groupby("as_of", sort=True)]


def evaluate_plan(
    scores: pd.DataFrame | Mapping[Any, pd.DataFrame],
    truth: Market | Truth | pd.DataFrame,
    *,
    budget: float | int | None = None,
    rates: Mapping[str, float] | None = None,
    seed: int = 0,
    strategies: Sequence[str] = STRATEGIES,
    spec: RankingSpecLike = "monitor",
) -> pd.DataFrame:
    """Violators found and compliant firms disturbed by each inspection strategy.

    For each as-of date ``t`` the plan inspects in the quarter starting at ``t``
    (the truth row whose ``quarter_start`` is the start of ``t``'s quarter). Every
    strategy inspects the same number of entities, ``budget``:

    * ``risk_ranked``: the highest predicted probabilities (ties by entity id);
    * ``random``: a uniform sample without replacement, seeded by ``(seed, date)``;
    * ``grade_rate``: the grade-rate draw with rates scaled to the budget
      (:func:`scaled_grade_counts`), needs a ``grade`` column.

    Parameters
    ----------
    scores : DataFrame or mapping of date to DataFrame
        Scores with ``entity_id``, ``as_of``, ``probability`` (and ``grade`` for
        ``grade_rate``) for several as-of dates, or one frame per as-of date.
    truth : Market, Truth or DataFrame
        ``truth.entity_quarters``: ``entity_id``, ``quarter_start``, ``violated``.
    budget : float or int, optional
        Inspections per quarter: a share of scored entities (< 1) or a count (>= 1);
        default the spec's ``plan.budget_share`` (5%).
    rates : mapping, optional
        Grade rates of the grade-rate plan; default the spec's ``plan.rates``.
    seed : int, default 0
    strategies : sequence of str, default all of STRATEGIES
    spec : str, path, dict or RankingSpec, default "monitor"

    Returns
    -------
    DataFrame
        One row per as-of date and strategy: ``as_of``, ``strategy``, ``n_alive``
        (scored entities with a truth row), ``violators_total``, ``inspections``,
        ``violators_found``, ``compliant_disturbed``, ``hit_rate``
        (found / inspections), ``recall`` (found / violators_total), ``lift``
        (hit rate / violation rate) and ``found_vs_random`` (violators found relative
        to the random strategy; NaN without it).

    Raises
    ------
    ValueError
        On an unknown strategy, a budget <= 0, missing columns, or scores with no
        truth rows in their quarter.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"E{i:07d}" for i in range(2000)]
    >>> p = rng.beta(1, 20, 2000)
    >>> truth = pd.DataFrame({"entity_id": ids, "quarter_start": pd.Timestamp("2024-01-01"),
    ...     "violated": rng.random(2000) < p})
    >>> scores = pd.DataFrame({"entity_id": ids, "as_of": pd.Timestamp("2024-01-01"), "probability": p})
    >>> out = evaluate_plan(scores, truth, budget=0.05, strategies=["risk_ranked", "random"])
    >>> out[["strategy", "inspections"]].to_dict("list")
    {'strategy': ['risk_ranked', 'random'], 'inspections': [100, 100]}
    >>> bool(out["violators_found"].iloc[0] > out["violators_found"].iloc[1])
    True
    """
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; expected some of {STRATEGIES}")
    mspec = load_ranking_spec(spec)
    budget = mspec.plan.budget_share if budget is None else budget
    if budget <= 0:
        raise ValueError(f"budget must be > 0 (a share < 1 or a count >= 1), got {budget}")
    rates = dict(mspec.plan.rates if rates is None else rates)
    table = _truth_table(truth)
    quarter = pd.to_datetime(table["quarter_start"]).dt.to_period("Q").dt.start_time.astype("datetime64[ns]")
    truth_key = pd.Series(table["violated"].astype(bool).to_numpy(), index=pd.MultiIndex.from_arrays([quarter, table["entity_id"].astype(str)]))
    rows = []
    for as_of, frame in _score_frames(scores):
        q = as_of.to_period("Q").start_time
        frame = frame.sort_values("entity_id", kind="stable", ignore_index=True)
        key = pd.MultiIndex.from_arrays([pd.DatetimeIndex([q] * len(frame)).astype("datetime64[ns]"), frame["entity_id"].astype(str)])
        pos = truth_key.index.get_indexer(key)
        if (pos < 0).all():
            raise ValueError(f"no truth rows for the quarter starting {q.date()} (scores as of {as_of.date()})")
        if (pos < 0).any():
            logger.info("evaluate_plan %s: %d scored entities without a truth row ignored", as_of.date(), int((pos < 0).sum()))
        have = pos >= 0
        part = frame.loc[have].reset_index(drop=True)
        violated = truth_key.to_numpy()[pos[have]]
        n = len(part)
        n_inspect = int(np.floor(budget * n + 0.5)) if budget < 1 else int(budget)
        if n_inspect > n:
            raise ValueError(f"budget {budget} asks for {n_inspect} inspections but only {n} entities are scored at {as_of.date()}")
        rng = np.random.default_rng([seed, day_number(q)])
        for strategy in strategies:
            picked = _pick(strategy, part, n_inspect, rates, rng)
            found = int(violated[picked].sum())
            rows.append((as_of, strategy, n, int(violated.sum()), n_inspect, found, n_inspect - found))
    out = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS[:7]))
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    out["strategy"] = out["strategy"].astype("str")
    inspected = out["inspections"].replace(0, np.nan)
    out["hit_rate"] = out["violators_found"] / inspected
    out["recall"] = out["violators_found"] / out["violators_total"].replace(0, np.nan)
    out["lift"] = out["hit_rate"] / (out["violators_total"] / out["n_alive"]).replace(0, np.nan)
    random_found = out.loc[out["strategy"] == "random"].set_index("as_of")["violators_found"]
    out["found_vs_random"] = out["violators_found"] / out["as_of"].map(random_found).replace(0, np.nan)
    return out


def _pick(strategy: str, part: pd.DataFrame, n_inspect: int, rates: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Positions (into ``part``, sorted by entity id) a strategy inspects."""
    if strategy == "risk_ranked":
        prob = part["probability"].to_numpy(dtype="float64", na_value=-np.inf)
        # stable sort of -p over rows already in entity-id order: ties go to the smaller id
        return np.argsort(-prob, kind="stable")[:n_inspect]
    if strategy == "random":
        return rng.choice(len(part), size=n_inspect, replace=False)
    if "grade" not in part.columns:
        raise ValueError("the grade_rate strategy needs a 'grade' column in the scores")
    grades = part["grade"].astype(str).to_numpy(dtype=object, na_value="")
    sizes = pd.Series(grades).value_counts().to_dict()
    missing = sorted(set(sizes) - set(rates))
    if missing:
        raise ValueError(f"scores have grade(s) {missing} with no rate; rates given: {dict(rates)}")
    return draw_per_grade(grades, scaled_grade_counts(sizes, rates, n_inspect), rng)
