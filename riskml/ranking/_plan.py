"""Inspection plans (双随机抽查计划): a seeded random draw per grade plus top blind spots.

The "double random" draw picks the inspected entities at random and the inspectors at
random. riskml draws ``round(rate * n_grade)`` entities per grade without replacement
(rounded half up; D-grade entities at 90%, A-grade at 3% by default), adds the top-k
blind spots not already drawn, and assigns inspectors so that loads differ by at most
one and no inspector gets an entity they inspected in the previous plan. Everything
comes from one ``numpy.random.Generator`` seeded by ``seed``, and rows are sorted by
entity id before drawing, so the same scores and seed give the same plan whatever the
input row order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskml.ranking._spec import RankingSpec, load_ranking_spec
from riskml.ranking._blind_spots import check_scores

if TYPE_CHECKING:
    from riskml.ranking._spec import RankingSpecLike

__all__ = ["assign_inspectors", "draw_per_grade", "grade_counts", "inspection_plan"]

logger = logging.getLogger(__name__)

#: Reason of a row drawn from the blind-spot list; random draws are "random_<grade>".
BLIND_SPOT_REASON = "blind_spot"
# Attempts at a conflict-free inspector assignment before declaring the pool too small.
_ASSIGN_ATTEMPTS = 5


def grade_counts(grades: pd.Series, rates: Mapping[str, float], known: Sequence[str] | None = None) -> dict[str, tuple[int, int]]:
    """Per grade: (entities, entities to draw = ``rate * n`` rounded half up).

    Raises
    ------
    ValueError
        When a rate is outside [0, 1], a rate names a grade not in ``known``, or a grade
        present in ``grades`` has no rate.

    Examples
    --------
    >>> import pandas as pd
    >>> grade_counts(pd.Series(["A"] * 10 + ["D"] * 5), {"A": 0.25, "D": 0.9})
    {'A': (10, 3), 'D': (5, 5)}
    """
    bad = {g: r for g, r in rates.items() if not (isinstance(r, int | float) and 0.0 <= float(r) <= 1.0)}
    if bad:
        raise ValueError(f"rates must lie in [0, 1]; got {bad}")
    present = pd.unique(grades.dropna().astype(str))
    known_set = set(known) if known is not None else set(present)
    unknown = sorted(set(rates) - known_set)
    if unknown:
        raise ValueError(f"rates name unknown grade(s) {unknown}; known grades: {sorted(known_set)}")
    missing = sorted(set(present) - set(rates))
    if missing:
        raise ValueError(f"scores have grade(s) {missing} with no rate; give a rate for every grade, got {dict(rates)}")
    sizes = grades.astype(str).value_counts()
    out = {}
    for grade in sorted(rates):
        n = int(sizes.get(grade, 0))
        out[grade] = (n, int(np.floor(float(rates[grade]) * n + 0.5)))
    return out


def draw_per_grade(grades: np.ndarray, counts: Mapping[str, int], rng: np.random.Generator) -> np.ndarray:
    """Positions drawn without replacement: ``counts[g]`` among the rows of grade ``g``.

    Grades are visited in sorted order so the draw does not depend on dict order.

    Examples
    --------
    >>> import numpy as np
    >>> pos = draw_per_grade(np.array(["A", "B", "A", "B"]), {"A": 1, "B": 2}, np.random.default_rng(0))
    >>> len(pos), set(pos.tolist()) >= {1, 3}
    (3, True)
    """
    picked = []
    for grade in sorted(counts):
        rows = np.flatnonzero(grades == grade)
        k = int(counts[grade])
        if k > len(rows):
            raise ValueError(f"cannot draw {k} entities of grade {grade!r}: only {len(rows)} exist")
        if k:
            picked.append(rows[rng.choice(len(rows), size=k, replace=False)])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def assign_inspectors(
    entity_id: pd.Series,
    inspectors: Sequence[str],
    rng: np.random.Generator,
    previous: pd.DataFrame | None = None,
) -> np.ndarray:
    """Inspectors drawn at random with balanced loads, avoiding repeat pairs.

    Each inspector gets ``m // P`` or ``m // P + 1`` of the ``m`` entities (which ones
    get one more is random). An entity never gets an inspector it had in
    ``previous``: conflicting draws are repaired by swapping with a random row where
    the swap is allowed for both, which keeps the loads.

    Parameters
    ----------
    entity_id : Series of str
        The planned entities (unique).
    inspectors : sequence of str
        The pool (unique ids).
    rng : numpy.random.Generator
    previous : DataFrame, optional
        The previous plan: ``entity_id`` and ``inspector``.

    Returns
    -------
    ndarray of object
        The inspector of each row.

    Raises
    ------
    ValueError
        When the pool is empty, has duplicates, or is too small to keep every
        inspector away from entities they had in ``previous``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> prev = pd.DataFrame({"entity_id": ["E1", "E2"], "inspector": ["x", "y"]})
    >>> out = assign_inspectors(pd.Series(["E1", "E2"]), ["x", "y"], np.random.default_rng(0), prev)
    >>> out.tolist()
    ['y', 'x']
    """
    pool = [str(i) for i in inspectors]
    m = len(entity_id)
    if m == 0:
        return np.array([], dtype=object)
    if not pool:
        raise ValueError(f"the inspector pool is empty, but the plan has {m} entities to assign")
    if len(set(pool)) != len(pool):
        raise ValueError(f"the inspector pool has duplicate ids: {sorted({p for p in pool if pool.count(p) > 1})}")
    n_pool = len(pool)
    pool_index = pd.Index(pool)
    # forbidden[row, inspector]: the entity had that inspector in the previous plan
    forbidden = np.zeros((m, n_pool), dtype=bool)
    if previous is not None and len(previous):
        missing = {"entity_id", "inspector"} - set(previous.columns)
        if missing:
            raise ValueError(f"previous plan lacks column(s) {sorted(missing)}; expected entity_id and inspector")
        rows = pd.Index(entity_id).get_indexer(previous["entity_id"])
        cols = pool_index.get_indexer(previous["inspector"].astype(str))
        ok = (rows >= 0) & (cols >= 0)
        forbidden[rows[ok], cols[ok]] = True
    if (forbidden.sum(axis=1) >= n_pool).any():
        stuck = pd.Series(entity_id).to_numpy(dtype=object)[forbidden.sum(axis=1) >= n_pool][:5].tolist()
        raise ValueError(
            f"the inspector pool ({n_pool}) is too small: entities {stuck} had every inspector of the pool in the previous plan"
        )
    for _ in range(_ASSIGN_ATTEMPTS):
        assigned = _balanced_draw(m, n_pool, rng)
        if _repair(assigned, forbidden, rng):
            return np.asarray(pool, dtype=object)[assigned]
    raise ValueError(
        f"the inspector pool ({n_pool}) is too small to assign {m} entities with balanced loads while keeping every "
        "inspector away from the entities they had in the previous plan; add inspectors"
    )


def _balanced_draw(m: int, n_pool: int, rng: np.random.Generator) -> np.ndarray:
    capacity = np.full(n_pool, m // n_pool, dtype=np.int64)
    capacity[rng.permutation(n_pool)[: m % n_pool]] += 1
    return rng.permutation(np.repeat(np.arange(n_pool), capacity))


def _repair(assigned: np.ndarray, forbidden: np.ndarray, rng: np.random.Generator) -> bool:
    """Swap away conflicts in place; False when some conflict has no allowed swap."""
    rows = np.arange(len(assigned))
    # Conflicts are rare (about m / P of them), so a loop over conflicts is cheap.
    for i in np.flatnonzero(forbidden[rows, assigned]):
        a = assigned[i]
        ok = (assigned != a) & ~forbidden[:, a] & ~forbidden[i, assigned]
        candidates = np.flatnonzero(ok)
        if candidates.size == 0:
            return False
        j = candidates[rng.integers(candidates.size)]
        assigned[i], assigned[j] = assigned[j], a
    return True


def inspection_plan(
    scores: pd.DataFrame,
    rates: Mapping[str, float] | None = None,
    *,
    blind_spots: pd.DataFrame | None = None,
    k: int | None = None,
    inspectors: Sequence[str] | None = None,
    seed: int = 0,
    previous: pd.DataFrame | None = None,
    spec: RankingSpecLike = "monitor",
) -> pd.DataFrame:
    """A reproducible inspection plan: a random draw per grade plus the top blind spots.

    Parameters
    ----------
    scores : DataFrame
        Scores for one as-of date: ``entity_id``, ``grade`` (and ``as_of``,
        ``probability``, ``score`` when present, carried over).
    rates : mapping of grade to float, optional
        Share of each grade drawn at random, in [0, 1]; every grade present in
        ``scores`` needs a rate. Default the spec's ``plan.rates``
        (A 3%, B 10%, C 30%, D 90%).
    blind_spots : DataFrame, optional
        Ranked blind spots (:func:`blind_spots`); the best ``k`` not already drawn are
        added with reason ``"blind_spot"``.
    k : int, optional
        Blind spots to add; default the spec's ``plan.blind_spots`` (0).
    inspectors : sequence of str, optional
        Inspector pool; when given, each row gets an inspector (see
        :func:`assign_inspectors`).
    seed : int, default 0
        Seed of the draw: the same scores and seed give the same plan.
    previous : DataFrame, optional
        The previous plan (``entity_id``, ``inspector``): no inspector gets an entity
        they had in it.
    spec : str, path, dict or RankingSpec, default "monitor"

    Returns
    -------
    DataFrame
        ``entity_id``, ``as_of``, ``grade``, ``probability``, ``score`` (those the
        scores have), ``reason`` (``"random_<grade>"`` or ``"blind_spot"``) and
        ``inspector`` (when a pool is given); random draws first (by grade, then
        entity id), then blind spots by rank.

    Raises
    ------
    ValueError
        On a rate outside [0, 1], a rate for an unknown grade, a grade without rate,
        scores for several as-of dates, ``k > 0`` without blind spots, an empty pool
        for a non-empty plan, or a pool too small for the ``previous`` constraint.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.ranking import inspection_plan
    >>> scores = pd.DataFrame({"entity_id": [f"E{i:07d}" for i in range(20)],
    ...     "grade": ["A"] * 10 + ["D"] * 10})
    >>> plan = inspection_plan(scores, {"A": 0.2, "D": 0.9}, inspectors=["x", "y"], seed=1)
    >>> plan["reason"].value_counts().sort_index().to_dict()
    {'random_A': 2, 'random_D': 9}
    >>> plan["inspector"].value_counts().sort_index().tolist()
    [6, 5]
    """
    check_scores(scores, ("entity_id", "grade"))
    if "as_of" in scores.columns and scores["as_of"].nunique() > 1:
        raise ValueError(f"a plan is for one as-of date; scores have {scores['as_of'].nunique()}: filter them first")
    mspec = load_ranking_spec(spec)
    rates = dict(mspec.plan.rates if rates is None else rates)
    k = mspec.plan.blind_spots if k is None else int(k)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if k > 0 and blind_spots is None:
        raise ValueError(f"k={k} blind spots requested but no blind_spots frame given; pass blind_spots=blind_spots(scores, records)")
    grade_col = scores["grade"]
    if isinstance(grade_col.dtype, pd.CategoricalDtype):
        known = [str(c) for c in grade_col.cat.categories]
    else:
        known = sorted({*pd.unique(grade_col.dropna().astype(str)), *mspec.plan.rates})
    counts = grade_counts(grade_col, rates, known)

    rng = np.random.default_rng(seed)
    ordered = scores.sort_values("entity_id", kind="stable", ignore_index=True)
    grades = ordered["grade"].astype(str).to_numpy(dtype=object, na_value="")
    picked = draw_per_grade(grades, {g: c for g, (_, c) in counts.items()}, rng)
    carry = [c for c in ("entity_id", "as_of", "grade", "probability", "score") if c in ordered.columns]
    drawn = ordered.loc[picked, carry].copy()
    drawn["grade"] = drawn["grade"].astype(str)
    drawn["reason"] = "random_" + drawn["grade"]
    drawn = drawn.sort_values(["grade", "entity_id"], kind="stable")

    parts = [drawn]
    if k > 0 and blind_spots is not None:
        check_scores(blind_spots, ("entity_id",))
        spots = blind_spots.sort_values("rank", kind="stable") if "rank" in blind_spots.columns else blind_spots
        spots = spots.loc[~spots["entity_id"].isin(drawn["entity_id"])].head(k)
        unscored = ~spots["entity_id"].isin(ordered["entity_id"])
        if unscored.any():
            raise ValueError(f"blind spots {spots.loc[unscored, 'entity_id'].head(5).tolist()} are not in the scores")
        extra = spots[["entity_id"]].merge(ordered[carry], on="entity_id", how="left")
        extra["grade"] = extra["grade"].astype(str)
        extra["reason"] = BLIND_SPOT_REASON
        if len(extra) < k:
            logger.info("plan: only %d of %d requested blind spots were not already drawn", len(extra), k)
        parts.append(extra)
    plan = pd.concat(parts, ignore_index=True)
    plan["grade"] = plan["grade"].astype("str")
    plan["reason"] = plan["reason"].astype("str")
    if inspectors is not None:
        plan["inspector"] = pd.Series(assign_inspectors(plan["entity_id"], list(inspectors), rng, previous), dtype="str")
    logger.info("plan (seed %d): %s", seed, plan["reason"].value_counts().sort_index().to_dict())
    return plan
