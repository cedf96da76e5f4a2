"""Fairness with outcomes (结果公平性): error-rate disparities between groups, with intervals.

A flag rate that differs between districts may just mean that one district holds more
risky entities; only outcomes tell bias from risk. On backtest test dates, where the
labels are known, :func:`fairness_audit` measures per group (district, industry, entity
type, or any registry column):

* flag rate (share of rows flagged),
* false negative rate FNR (violators not flagged / violators),
* false positive rate FPR (compliant rows flagged / compliant rows),
* false discovery rate FDR (flagged rows that were compliant / flagged rows),

each as a ratio to a reference group (the largest by default). The point values come
from fairlearn's :class:`~fairlearn.metrics.MetricFrame`; the intervals from a
bootstrap over entities (an entity's rows on several dates are not independent): every
replicate gives each entity a Poisson(1) weight, which resamples entities with their
rows and keeps the groups' sizes random as in a plain bootstrap, vectorised over
replicates. A ratio's interval comes from the same replicates for group and reference.

:func:`fairness_warnings` warns only when an error-rate ratio's whole interval lies
outside the parity band (``group_ratio`` of the monitor spec, [0.8, 1.25] by default):
the difference is material and not chance. Flag-rate ratios are reported, not warned
on, since with labels the error rates answer the question flag rates only raise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml.monitor._groups import flag_mask, group_column, usable_labels

if TYPE_CHECKING:
    from riskml.records import Records

__all__ = ["ERROR_RATES", "FAIRNESS_METRICS", "fairness_audit", "fairness_warnings"]

logger = logging.getLogger(__name__)

#: Metrics of the audit, in table order.
FAIRNESS_METRICS: tuple[str, ...] = ("flag_rate", "false_negative_rate", "false_positive_rate", "false_discovery_rate")
#: The metrics whose disparity raises a warning.
ERROR_RATES: tuple[str, ...] = FAIRNESS_METRICS[1:]
# Bootstrap replicates drawn at once (memory: chunk x entities of a group).
_CHUNK = 100


def _false_discovery_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """Flagged rows that were negative / flagged rows; NaN when nothing is flagged."""
    flagged = np.asarray(y_pred, dtype=bool)
    weight = np.ones(len(flagged)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    total = weight[flagged].sum()
    return float(weight[flagged & (np.asarray(y_true) == 0)].sum() / total) if total > 0 else float("nan")


def _defined_only(metric: Any, needs: int) -> Any:
    """``metric``, NaN when the group has no row of class ``needs`` (fairlearn returns 0 there)."""

    def compute(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
        if not (np.asarray(y_true) == needs).any():
            return float("nan")
        return float(metric(y_true, y_pred, pos_label=1, sample_weight=sample_weight))

    return compute


def _metric_frame(y: np.ndarray, flagged: np.ndarray, group: np.ndarray) -> pd.DataFrame:
    """Point values per group through fairlearn's MetricFrame.

    The rows are first counted into (group, label, flag) cells and handed over as
    sample weights: the same numbers as row by row, in constant time.
    """
    from fairlearn.metrics import MetricFrame, false_negative_rate, false_positive_rate, selection_rate

    cells = (pd.DataFrame({"group": group, "y": y, "flagged": flagged})
             .groupby(["group", "y", "flagged"], sort=True).size().rename("count").reset_index())
    metrics = {
        "flag_rate": lambda t, p, sample_weight=None: float(
            selection_rate(t, p, pos_label=1, sample_weight=sample_weight)),
        "false_negative_rate": _defined_only(false_negative_rate, 1),
        "false_positive_rate": _defined_only(false_positive_rate, 0),
        "false_discovery_rate": _false_discovery_rate,
    }
    weight = cells["count"].to_numpy(dtype=np.float64)
    frame = MetricFrame(
        metrics=metrics, y_true=cells["y"].to_numpy(), y_pred=cells["flagged"].to_numpy(),
        sensitive_features=pd.Series(cells["group"].to_numpy(), name="group"),
        sample_params={name: {"sample_weight": weight} for name in metrics},
    )
    return frame.by_group.astype("float64")


def _rates(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    """The four metrics from (weighted) confusion counts; NaN where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        n, flagged, pos, neg = tp + fp + fn + tn, tp + fp, tp + fn, fp + tn
        return {
            "flag_rate": np.where(n > 0, flagged / n, np.nan),
            "false_negative_rate": np.where(pos > 0, fn / pos, np.nan),
            "false_positive_rate": np.where(neg > 0, fp / neg, np.nan),
            "false_discovery_rate": np.where(flagged > 0, fp / flagged, np.nan),
        }


def _bootstrap(cells: pd.DataFrame, groups: Sequence[str], n_boot: int, seed: int) -> dict[str, np.ndarray]:
    """Metric replicates per group, shape (n_boot, n_groups): Poisson(1) weights per entity."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_boot, len(groups), 4))
    for j, g in enumerate(groups):
        c = cells.loc[cells["group"] == g, ["tp", "fp", "fn", "tn"]].to_numpy(dtype=np.float64)
        for start in range(0, n_boot, _CHUNK):
            stop = min(start + _CHUNK, n_boot)
            counts[start:stop, j, :] = rng.poisson(1.0, size=(stop - start, len(c))) @ c
    return _rates(*(counts[:, :, k] for k in range(4)))


def fairness_audit(
    scores: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    by: str = "district",
    *,
    flag: str | float | Mapping[str, float] = "D",
    reference: str | None = None,
    entities: pd.DataFrame | Records | None = None,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Flag rate, FNR, FPR and FDR per group, with ratios to a reference and bootstrap intervals.

    Parameters
    ----------
    scores : DataFrame
        Rows with known outcomes, e.g. a backtest's out-of-time predictions over its
        test dates: ``entity_id`` (and ``as_of``), ``grade`` and/or ``probability``,
        ``label`` unless ``labels`` are given, and the ``by`` column unless
        ``entities`` provides it.
    labels : DataFrame, optional
        ``entity_id`` (and ``as_of``), ``label``; rows whose ``complete`` or
        ``in_population`` is False are left out. Default: the ``label`` column of
        ``scores``.
    by : str, default "district"
        The group column.
    flag : str, float or mapping, default "D"
        A grade, or a probability threshold (see :func:`riskml.monitor._groups.flag_mask`).
    reference : str, optional
        The reference group; default the largest.
    entities : DataFrame or Records, optional
        Where to read ``by`` from when the scores lack it.
    n_boot : int, default 500
        Bootstrap replicates (resampling entities).
    level : float, default 0.95
        Coverage of the intervals (percentile intervals).
    seed : int, default 0
        Seed of the bootstrap; the same inputs and seed give the same table.

    Returns
    -------
    DataFrame
        Indexed by group: ``n``, ``entities``, ``positives``, ``flagged``, and for each
        metric ``m`` of :data:`FAIRNESS_METRICS`: ``m``, ``m_low``, ``m_high``,
        ``m_ratio``, ``m_ratio_low``, ``m_ratio_high``. ``attrs`` hold ``by``,
        ``reference``, ``level``, ``n_boot`` and ``kind`` = ``"outcomes"``.

    Raises
    ------
    ValueError
        When a needed column is missing, no row has a usable label and a group, or the
        reference group is absent.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> n = 4000
    >>> s = pd.DataFrame({"entity_id": [f"E{i}" for i in range(n)], "district": rng.choice(["D01", "D02"], n),
    ...                   "label": (rng.random(n) < 0.1).astype(int)})
    >>> s["grade"] = np.where(rng.random(n) < np.where(s["label"] == 1, 0.6, 0.05), "D", "B")
    >>> audit = fairness_audit(s, by="district", n_boot=200)
    >>> audit.loc["D02", ["false_negative_rate_ratio_low", "false_negative_rate_ratio_high"]].between(0.6, 1.6).all()
    np.True_
    >>> fairness_warnings(audit)
    []
    """
    if not isinstance(scores, pd.DataFrame) or "entity_id" not in scores.columns:
        raise ValueError("scores must be a DataFrame with an entity_id column")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if labels is None and "label" not in scores.columns:
        raise ValueError("the audit needs outcomes: pass labels= or scores with a 'label' column "
                         "(backtest predictions)")
    group = group_column(scores, by, entities).astype(object).to_numpy()
    if labels is not None:
        y = usable_labels(scores, labels)
    else:
        y = pd.to_numeric(scores["label"]).to_numpy(dtype="float64")
    flagged = flag_mask(scores, flag)
    keep = ~np.isnan(y) & pd.notna(group)
    if not keep.any():
        raise ValueError(f"no rows with a {by!r} group and a usable label")
    rows = pd.DataFrame({"entity_id": scores["entity_id"].to_numpy(dtype=object)[keep],
                         "group": group[keep].astype(str), "y": y[keep].astype(np.int64), "flagged": flagged[keep]})
    point = _metric_frame(rows["y"].to_numpy(), rows["flagged"].to_numpy(), rows["group"].to_numpy())
    groups = [str(g) for g in point.index]

    rows["tp"] = rows["flagged"] & (rows["y"] == 1)
    rows["fp"] = rows["flagged"] & (rows["y"] == 0)
    rows["fn"] = ~rows["flagged"] & (rows["y"] == 1)
    rows["tn"] = ~rows["flagged"] & (rows["y"] == 0)
    cells = rows.groupby(["entity_id", "group"], sort=False)[["tp", "fp", "fn", "tn"]].sum().reset_index()
    sizes = rows.groupby("group")[["y", "flagged"]].agg(["size", "sum"])
    out = pd.DataFrame({
        "n": sizes[("y", "size")].reindex(groups).to_numpy(np.int64),
        "entities": cells.groupby("group").size().reindex(groups).to_numpy(np.int64),
        "positives": sizes[("y", "sum")].reindex(groups).to_numpy(np.int64),
        "flagged": sizes[("flagged", "sum")].reindex(groups).to_numpy(np.int64),
    }, index=pd.Index(groups, name=by))
    ref = reference if reference is not None else str(out["n"].idxmax())
    if ref not in out.index:
        raise ValueError(f"reference group {ref!r} not among the {by} groups {groups}")
    boot = _bootstrap(cells, groups, n_boot, seed)
    tail = (1 - level) / 2
    r = groups.index(ref)
    for metric in FAIRNESS_METRICS:
        value = point[metric].reindex(groups).to_numpy(dtype=np.float64)
        reps = boot[metric]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio_reps = reps / reps[:, [r]]
            ratio = value / value[r] if value[r] > 0 else np.full(len(groups), np.nan)
        out[metric] = value
        out[f"{metric}_low"], out[f"{metric}_high"] = _interval(reps, tail)
        out[f"{metric}_ratio"] = ratio
        ratio_reps = np.where(np.isfinite(ratio_reps), ratio_reps, np.nan)
        out[f"{metric}_ratio_low"], out[f"{metric}_ratio_high"] = _interval(ratio_reps, tail)
    out.attrs.update(by=by, reference=ref, level=level, n_boot=n_boot, kind="outcomes")
    return out


def _interval(reps: np.ndarray, tail: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column; NaN where most replicates are undefined."""
    enough = np.isfinite(reps).mean(axis=0) >= 0.5
    safe = np.where(enough[None, :], reps, 0.0)
    with np.errstate(all="ignore"):
        low, high = np.nanquantile(safe, [tail, 1 - tail], axis=0)
    return np.where(enough, low, np.nan), np.where(enough, high, np.nan)


def fairness_warnings(
    table: pd.DataFrame, band: Sequence[float] = (0.8, 1.25), min_group_size: int = 50,
) -> list[dict[str, Any]]:
    """Warnings for error-rate ratios whose whole interval lies outside the parity band.

    Parameters
    ----------
    table : DataFrame
        A :func:`fairness_audit` table.
    band : (float, float), default (0.8, 1.25)
        The parity band of a ratio to the reference group.
    min_group_size : int, default 50
        Groups with fewer rows are reported, not checked.

    Returns
    -------
    list of dict
        ``check`` (``fairness_<metric>_ratio``), ``subject`` (``<by>=<group>``),
        ``value`` (the ratio), ``threshold`` (the band), ``interval`` and ``message``.

    Examples
    --------
    >>> table = pd.DataFrame({"n": [900, 800], "false_negative_rate_ratio": [1.0, 1.9],
    ...     "false_negative_rate_ratio_low": [1.0, 1.4], "false_negative_rate_ratio_high": [1.0, 2.5],
    ...     **{f"{m}_ratio{s}": [1.0, 1.1] for m in ERROR_RATES[1:] for s in ("", "_low", "_high")}},
    ...     index=pd.Index(["D01", "D02"], name="district"))
    >>> table.attrs.update(by="district", reference="D01")
    >>> [w["subject"] for w in fairness_warnings(table)]
    ['district=D02']
    """
    low, high = float(band[0]), float(band[1])
    by, ref = table.attrs.get("by", "group"), table.attrs.get("reference", "reference")
    level = float(table.attrs.get("level", 0.95))
    out: list[dict[str, Any]] = []
    checked = table.loc[(table["n"] >= min_group_size) & (table.index != ref)]
    for metric in ERROR_RATES:
        lo, hi = checked[f"{metric}_ratio_low"], checked[f"{metric}_ratio_high"]
        for group in checked.index[(hi < low) | (lo > high)]:
            columns = (f"{metric}_ratio", f"{metric}_ratio_low", f"{metric}_ratio_high")
            v, a, b = (float(checked.at[group, c]) for c in columns)
            out.append({
                "check": f"fairness_{metric}_ratio", "subject": f"{by}={group}", "value": v, "threshold": [low, high],
                "interval": [a, b],
                "message": (f"{by} {group}: {metric.replace('_', ' ')} ratio {v:.2f} to {ref} "
                            f"({level:.0%} interval [{a:.2f}, {b:.2f}]) outside parity [{low}, {high}]"),
            })
    return out
