"""Blind spots (监管盲区): risky entities that supervision has not touched.

An entity is a blind spot at ``as_of`` when it is alive and no record of the
``touch_sources`` of ``experiments/monitor.yaml`` (by default inspections and
penalties) is known in ``[as_of - lookback, as_of)``. Blind spots are ranked by the
model's predicted probability, so inspectors look at the riskiest untouched entities
first.

Observed labels come mostly from inspections, so a model trained naively on them can
learn "never inspected means safe". :func:`selection_aware_sample` returns the rows (and
optionally inverse-propensity weights) to train a blind-spot model on instead: rows
whose label was observed (an inspection known in the label horizon), without the
features the catalog marks ``inspection_driven``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from riskml.ranking._spec import RankingSpec, SourceFilter, load_ranking_spec, parse_days
from riskml.ranking._window import alive_at, as_filters, catalog_of, known_in_window, row_days

if TYPE_CHECKING:
    from riskml.features import Panel
    from riskml.ranking._spec import RankingSpecLike

__all__ = ["SCORE_COLUMNS", "SelectionSample", "blind_spots", "observed_in_horizon", "reason_columns", "selection_aware_sample"]

logger = logging.getLogger(__name__)

#: Columns of a scores frame that ranking carries over when present, after the reasons.
SCORE_COLUMNS: tuple[str, ...] = ("probability", "score", "grade")
SELECTION_HOW: tuple[str, ...] = ("inspected", "weighted")


def reason_columns(scores: pd.DataFrame) -> list[str]:
    """The flat top-reason columns (``reason_<k>_<field>``) of a scores frame, in order."""
    return [c for c in scores.columns if c.startswith("reason_")]


def check_scores(scores: Any, required: Iterable[str] = ("entity_id", "as_of", "probability")) -> pd.DataFrame:
    """Check a scores frame has the columns a ranking function reads."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame (the output of riskml.predict), not {type(scores).__name__}")
    missing = [c for c in required if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lack column(s) {missing}; expected at least {list(required)}, got {list(scores.columns)}")
    if "as_of" in scores.columns and not pd.api.types.is_datetime64_dtype(scores["as_of"]):
        raise TypeError(f"scores['as_of'] must be datetime64, not {scores['as_of'].dtype}")
    if scores.duplicated(["entity_id", "as_of"] if "as_of" in scores.columns else ["entity_id"]).any():
        raise ValueError("scores have duplicate (entity_id, as_of) rows; expected one row per entity and date")
    return scores


def blind_spots(
    scores: pd.DataFrame,
    records: Mapping[str, pd.DataFrame],
    *,
    lookback: str | int | None = None,
    top: int | None = None,
    sources: Iterable[Any] | str | None = None,
    spec: RankingSpecLike = "monitor",
) -> pd.DataFrame:
    """Entities no inspection or penalty touched in the look-back, ranked by risk.

    Parameters
    ----------
    scores : DataFrame
        Scores (the output of ``riskml.predict``): ``entity_id``, ``as_of``,
        ``probability`` and optionally ``score``, ``grade`` and ``reason_<k>_*``
        columns, for one or several as-of dates.
    records : Records or dict of str to DataFrame
        The records; only those known before each row's ``as_of`` are read.
    lookback : str or int, optional
        ``"3y"``, ``"1095d"`` or days; default the spec's ``blind_spots.lookback``.
    top : int, optional
        Keep the ``top`` best-ranked blind spots per as-of date.
    sources : iterable, optional
        Sources whose records touch an entity: names, ``{source, where}`` mappings or
        :class:`riskml.ranking._spec.SourceFilter`; default the spec's ``touch_sources``.
    spec : str, path, dict or RankingSpec, default "monitor"
        The ranking spec (``experiments/monitor.yaml``).

    Returns
    -------
    DataFrame
        One row per blind spot: ``rank`` (1 = riskiest, per as-of date), ``entity_id``,
        ``as_of``, ``probability``, ``score``, ``grade`` (when given) and the reason
        columns; sorted by as-of date, probability descending, ties by entity id.

    Raises
    ------
    TypeError, ValueError
        When scores lack columns, ``top`` is negative, a source is unknown or the
        records lack a table the touch sources read.

    See Also
    --------
    selection_aware_sample : rows to train a model that ranks blind spots well.
    inspection_plan : adds the top blind spots to the random draw.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.ranking import blind_spots
    >>> scores = pd.DataFrame({"entity_id": ["E0000001", "E0000002", "E0000003"],
    ...     "as_of": pd.Timestamp("2024-01-01"), "probability": [0.30, 0.20, 0.25]})
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000001"],
    ...     "closed": pd.to_datetime(["2023-05-01"])})
    >>> pens = pd.DataFrame({"penalty_id": ["P1"], "entity_id": ["E0000002"],
    ...     "published": pd.to_datetime(["2019-05-01"])})
    >>> blind_spots(scores, {"inspections": insp, "penalties": pens})[["rank", "entity_id"]].to_dict("list")
    {'rank': [1, 2], 'entity_id': ['E0000003', 'E0000002']}
    """
    check_scores(scores)
    catalog = catalog_of(records)
    mspec = load_ranking_spec(spec, sources=catalog)
    days = parse_days(lookback) if lookback is not None else mspec.blind_spots.lookback_days
    filters = as_filters(sources, catalog) if sources is not None else list(mspec.blind_spots.touch_sources)
    if top is not None and top < 0:
        raise ValueError(f"top must be >= 0 or None, got {top}")
    t = row_days(scores["as_of"])
    ids = scores["entity_id"]
    alive = alive_at(records, ids, t, catalog)
    touched = known_in_window(records, filters, ids, t - days, t, catalog)
    keep = alive & ~touched
    logger.info(
        "blind spots: %d of %d scored rows untouched by %s in %d days (%d not alive)",
        int(keep.sum()), len(scores), [f.source for f in filters], days, int((~alive).sum()),
    )
    columns = ["entity_id", "as_of", *[c for c in SCORE_COLUMNS if c in scores.columns], *reason_columns(scores)]
    out = scores.loc[keep, columns].copy()
    out["_neg_p"] = -out["probability"].to_numpy(dtype="float64", na_value=np.nan)
    out = out.sort_values(["as_of", "_neg_p", "entity_id"], kind="stable", na_position="last", ignore_index=True)
    out = out.drop(columns="_neg_p")
    out.insert(0, "rank", (out.groupby("as_of", sort=False).cumcount() + 1).astype(np.int64))
    if top is not None:
        out = out.loc[out["rank"] <= top].reset_index(drop=True)
    return out


def observed_in_horizon(
    records: Mapping[str, pd.DataFrame],
    index: Any,
    *,
    horizon_days: int | None = None,
    sources: Iterable[Any] | str | None = None,
    spec: RankingSpecLike = "monitor",
) -> np.ndarray:
    """Whether each (entity, as-of) row's label was observed: a record of the
    ``observed_sources`` (by default any inspection) known in ``[as_of, as_of + horizon)``.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
    index : Panel or DataFrame
        Rows with ``entity_id`` and ``as_of``.
    horizon_days : int, optional
        Default the spec's ``selection.horizon_days`` (the label horizon).
    sources : iterable, optional
        Default the spec's ``selection.observed_sources``.
    spec : str, path, dict or RankingSpec, default "monitor"

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import pandas as pd
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000001"],
    ...     "closed": pd.to_datetime(["2024-05-01"])})
    >>> rows = pd.DataFrame({"entity_id": ["E0000001", "E0000001"],
    ...     "as_of": pd.to_datetime(["2024-01-01", "2024-07-01"])})
    >>> observed_in_horizon({"inspections": insp}, rows).tolist()
    [True, False]
    """
    catalog = catalog_of(records)
    mspec = load_ranking_spec(spec, sources=catalog)
    frame = getattr(index, "frame", index)
    if not isinstance(frame, pd.DataFrame) or not {"entity_id", "as_of"} <= set(frame.columns):
        raise TypeError(f"index must be a Panel or a DataFrame with entity_id and as_of; got {type(index).__name__}")
    horizon = horizon_days if horizon_days is not None else mspec.selection.horizon_days
    if horizon <= 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon}")
    filters = as_filters(sources, catalog) if sources is not None else list(mspec.selection.observed_sources)
    t = row_days(frame["as_of"])
    return known_in_window(records, filters, frame["entity_id"], t, t + horizon, catalog)


@dataclass(frozen=True)
class SelectionSample:
    """Rows (and weights) to train a blind-spot model on.

    Attributes
    ----------
    panel : Panel or DataFrame
        The input panel restricted to rows with an observed label, without the dropped
        features (same type as given: a Panel keeps its spec hash and a trimmed catalog).
    labels : DataFrame
        The labels of those rows, in the same order.
    weights : Series or None
        Inverse-propensity weights (mean 1) aligned with the rows for ``how="weighted"``
        (pass them to :func:`riskml.models.fit_model` ``weights=``); None for
        ``how="inspected"``.
    dropped : tuple of str
        Inspection-driven features removed.
    observed_share : float
        Share of the input rows whose label was observed.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.ranking import selection_aware_sample
    >>> frame = pd.DataFrame({"entity_id": ["E0000001", "E0000002"],
    ...     "as_of": pd.to_datetime(["2024-01-01"] * 2), "x": [1.0, 2.0]})
    >>> labels = frame[["entity_id", "as_of"]].assign(label=[1, 0])
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000001"],
    ...     "closed": pd.to_datetime(["2024-05-01"])})
    >>> sample = selection_aware_sample(frame, labels, {"inspections": insp})
    >>> sample.labels["label"].tolist(), sample.weights is None, sample.observed_share
    ([1], True, 0.5)
    """

    panel: Panel
    labels: pd.DataFrame
    weights: pd.Series | None
    dropped: tuple[str, ...]
    observed_share: float


def selection_aware_sample(
    panel: Panel,
    labels: pd.DataFrame,
    records: Mapping[str, pd.DataFrame],
    how: Literal["inspected", "weighted"] = "inspected",
    *,
    drop_inspection_driven: bool = True,
    max_weight: float = 20.0,
    seed: int = 0,
    spec: RankingSpecLike = "monitor",
) -> SelectionSample:
    """Training rows for a blind-spot model that does not learn "never inspected = safe".

    ``how="inspected"`` keeps the rows whose label was observed (an inspection known in
    the label horizon, see :func:`observed_in_horizon`): among them "no violation
    found" means something. ``how="weighted"`` keeps the same rows and weights each by
    ``1 / P(observed | features)`` from a LightGBM propensity model fitted on all rows
    (clipped at ``max_weight``, then scaled to mean 1), so the observed rows stand for
    the whole population. Both drop the features the panel catalog marks
    ``inspection_driven`` (inspection counts and the like), which measure where the
    bureau looked rather than how the entity behaves.

    Parameters
    ----------
    panel : Panel or DataFrame
        ``entity_id``, ``as_of`` and feature columns; a Panel's catalog says which
        features are inspection-driven (a bare DataFrame drops none).
    labels : DataFrame
        ``make_labels`` output aligned row by row with the panel.
    records : Records or dict of str to DataFrame
        The records, including those known after the as-of dates.
    how : {"inspected", "weighted"}, default "inspected"
    drop_inspection_driven : bool, default True
    max_weight : float, default 20.0
        Upper clip of the inverse-propensity weights (before scaling).
    seed : int, default 0
        Seed of the propensity model.
    spec : str, path, dict or RankingSpec, default "monitor"
        Where ``selection.observed_sources`` and ``horizon_days`` come from.

    Returns
    -------
    SelectionSample

    Raises
    ------
    ValueError
        When ``how`` is unknown, labels do not align with the panel, or no row has an
        observed label.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"entity_id": ["E0000001", "E0000002"],
    ...     "as_of": pd.to_datetime(["2024-01-01"] * 2), "x": [1.0, 2.0], "inspections_365d": [1.0, 0.0]})
    >>> labels = frame[["entity_id", "as_of"]].assign(label=[1, 0])
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000001"],
    ...     "closed": pd.to_datetime(["2024-05-01"])})
    >>> sample = selection_aware_sample(frame, labels, {"inspections": insp})
    >>> sample.panel["entity_id"].tolist(), sample.observed_share
    (['E0000001'], 0.5)
    """
    if how not in SELECTION_HOW:
        raise ValueError(f"how must be one of {SELECTION_HOW}, got {how!r}")
    frame = getattr(panel, "frame", panel)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"panel must be a Panel or a DataFrame, not {type(panel).__name__}")
    if len(labels) != len(frame) or not (
        labels["entity_id"].to_numpy(dtype=object) == frame["entity_id"].to_numpy(dtype=object)
    ).all() or not (labels["as_of"].to_numpy() == frame["as_of"].to_numpy()).all():
        raise ValueError("labels must align row by row with the panel (same entity_id and as_of in the same order)")
    observed = observed_in_horizon(records, frame, spec=spec)
    if not observed.any():
        raise ValueError("no row has an observed label (no observed-source record in any label horizon)")
    catalog = getattr(panel, "catalog", None)
    dropped: tuple[str, ...] = ()
    if drop_inspection_driven and isinstance(catalog, pd.DataFrame) and "inspection_driven" in catalog.columns:
        driven = set(catalog.index[catalog["inspection_driven"].astype(bool)])
        dropped = tuple(f for f in frame.columns if f in driven)
    weights = None
    if how == "weighted":
        propensity = _propensity(frame, observed, seed)
        w = np.minimum(1.0 / np.maximum(propensity[observed], 1e-12), max_weight)
        weights = pd.Series(w / w.mean(), name="weight")
    kept = frame.loc[observed].drop(columns=list(dropped)).reset_index(drop=True)
    out_labels = labels.loc[observed].reset_index(drop=True)
    if catalog is not None and hasattr(panel, "frame"):
        out_panel: Any = dataclasses.replace(panel, frame=kept, catalog=catalog.drop(index=list(dropped)))
    else:
        out_panel = kept
    share = float(observed.mean())
    logger.info("selection sample (%s): %d of %d rows observed (%.1f%%), dropped %s", how, len(kept), len(frame), 100 * share, list(dropped))
    return SelectionSample(out_panel, out_labels, weights, dropped, share)


def _propensity(frame: pd.DataFrame, observed: np.ndarray, seed: int) -> np.ndarray:
    """P(label observed | features), fitted by a small LightGBM on all rows."""
    import lightgbm as lgb

    features = frame.drop(columns=["entity_id", "as_of"])
    features = features.apply(lambda c: c.astype("category") if c.dtype == "str" or c.dtype == object else c)
    params = {
        "objective": "binary", "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 50,
        "verbose": -1, "seed": seed, "deterministic": True, "num_threads": 2,
    }
    booster = lgb.train(params, lgb.Dataset(features, label=observed.astype(np.int8)), num_boost_round=100)
    return np.asarray(booster.predict(features), dtype=np.float64)
