"""Backtest metrics: ranking, calibration and inspection yield of risk predictions.

All functions take arrays of 0/1 outcomes ``y`` and predicted probabilities ``p`` and
are vectorised. :func:`evaluate` computes the standard set on every entity and on the
randomly inspected subsample (the unbiased one: elsewhere a violation is observed
mostly where someone looked) and returns a tidy frame ``split, population, metric,
value``, the form :func:`riskml.tracking._runs.log_training_run` logs.

Conventions
-----------
* AUC is the Mann-Whitney statistic with tied scores counted as one half
  (scikit-learn's ``roc_auc_score``).
* KS is ``max |TPR - FPR|`` over thresholds placed between distinct scores: the
  two-sample Kolmogorov-Smirnov statistic of the positives' and the negatives' scores
  (scipy's ``ks_2samp``).
* Brier score: scikit-learn's ``brier_score_loss``.
* Expected calibration error uses equal-frequency bins: rows sorted by ``p`` are cut
  into ``n_bins`` groups of (nearly) equal size, and
  ``ECE = sum_b n_b / n * |mean(p_b) - mean(y_b)|``. Equal-frequency bins keep every
  bin populated when probabilities are concentrated near 0 (the usual case here);
  rows with tied ``p`` may straddle two bins. Neither scikit-learn nor scipy has an
  ECE (scikit-learn's ``calibration_curve`` gives per-bin means, not the error, and
  its quantile bins keep ties together), so it is computed here.
* Top-k: ``k`` is a count (int >= 1) or a share of the rows (float in (0, 1),
  rounded up). Rows are ranked by descending ``p``; ties keep input order, so the
  result is deterministic.
* Lift at k is precision at k over the base rate: how many times more violations an
  inspection of the top k finds than a random inspection of k entities.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "METRIC_COLUMNS",
    "MIN_EVALUATION_POSITIVES",
    "auc",
    "brier",
    "evaluate",
    "expected_calibration_error",
    "k_name",
    "ks",
    "lift_at_k",
    "oracle_auc",
    "precision_at_k",
    "recall_at_k",
    "positives_shortfall",
    "top_k_count",
]

logger = logging.getLogger(__name__)

#: columns of :func:`evaluate`'s result
METRIC_COLUMNS: tuple[str, ...] = ("split", "population", "metric", "value")
#: Fewest confirmed cases (positive labels) a test split needs for its AUC and
#: calibration error to mean anything; a rare target (fraud, 0.07% a year) on a small
#: county falls short on the random-inspection sample.
MIN_EVALUATION_POSITIVES = 10
_POPULATION_TEXT = {"all": "all entities", "random": "the random sample"}


def positives_shortfall(n: float, base_rate: float, population: str = "random",
                        need: int = MIN_EVALUATION_POSITIVES) -> str | None:
    """The domain message when a test split holds too few confirmed cases, else None.

    Parameters
    ----------
    n, base_rate : float
        Rows of the split's population and their share of positives (the ``n`` and
        ``base_rate`` metrics of :func:`evaluate`).
    population : {"all", "random"}
    need : int, default ``MIN_EVALUATION_POSITIVES``

    Examples
    --------
    >>> positives_shortfall(4000, 0.0005)
    'too few confirmed cases to evaluate on the random sample: 2 positives; need 10'
    >>> positives_shortfall(4000, 0.05) is None
    True
    """
    positives = 0 if not n or math.isnan(n) or math.isnan(base_rate) else round(n * base_rate)
    if positives >= need:
        return None
    where = _POPULATION_TEXT.get(population, population)
    return f"too few confirmed cases to evaluate on {where}: {positives} positives; need {need}"


def _check(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    p = np.asarray(p, dtype=np.float64)
    if y.shape != p.shape or y.ndim != 1:
        raise ValueError(f"y and p must be 1-d arrays of the same length, got shapes {y.shape} and {p.shape}")
    if len(y) and not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold 0/1 outcomes, got values {np.unique(y)[:5].tolist()}")
    if np.isnan(p).any():
        raise ValueError(f"p has {int(np.isnan(p).sum())} NaN value(s)")
    return y.astype(np.float64), p


def auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (ties count one half); NaN when one class is absent.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    from sklearn.metrics import roc_auc_score

    y, p = _check(y, p)
    if not 0 < y.sum() < len(y):
        return float("nan")
    return float(roc_auc_score(y, p))


def ks(y: Any, p: Any) -> float:
    """Kolmogorov-Smirnov statistic: largest gap between the TPR and FPR curves.

    Examples
    --------
    >>> ks([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])
    1.0
    """
    from scipy.stats import ks_2samp

    y, p = _check(y, p)
    if not 0 < y.sum() < len(y):
        return float("nan")
    # the statistic only; the asymptotic method skips the exact p-value's cost (whose
    # formula divides by zero for one row of each class: that p-value is not read)
    with np.errstate(divide="ignore"):
        return float(ks_2samp(p[y == 1], p[y == 0], method="asymp").statistic)


def brier(y: Any, p: Any) -> float:
    """Mean squared error of the probabilities.

    Examples
    --------
    >>> round(brier([0, 1], [0.2, 0.6]), 12)
    0.1
    """
    from sklearn.metrics import brier_score_loss

    y, p = _check(y, p)
    return float(brier_score_loss(y, p, pos_label=1)) if len(y) else float("nan")


def expected_calibration_error(y: Any, p: Any, n_bins: int = 10) -> float:
    """Expected calibration error over equal-frequency bins of ``p``.

    Parameters
    ----------
    y, p : array-like
        Outcomes (0/1) and probabilities.
    n_bins : int, default 10
        Number of bins; fewer when there are fewer rows.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1, 0, 1], [0.1, 0.2, 0.7, 0.9], n_bins=2), 12)
    0.325
    """
    y, p = _check(y, p)
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    n = len(y)
    if n == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    bins = (np.arange(n) * min(n_bins, n)) // n
    gap = np.abs(np.bincount(bins, p[order]) - np.bincount(bins, y[order]))
    return float(gap.sum() / n)


def top_k_count(k: int | float, n: int) -> int:
    """Rows in the top ``k`` of ``n``: a count, or a share (float in (0, 1)) rounded up.

    Examples
    --------
    >>> top_k_count(100, 50), top_k_count(0.05, 1001)
    (50, 51)
    """
    if isinstance(k, bool) or not isinstance(k, int | float | np.integer | np.floating):
        raise TypeError(f"k must be a count (int >= 1) or a share (float in (0, 1)), got {k!r}")
    if isinstance(k, int | np.integer) or float(k).is_integer() and k >= 1:
        if k < 1:
            raise ValueError(f"k must be a count >= 1 or a share in (0, 1), got {k!r}")
        return int(min(int(k), n))
    if not 0 < k < 1:
        raise ValueError(f"k must be a count >= 1 or a share in (0, 1), got {k!r}")
    return int(min(math.ceil(k * n - 1e-9), n))


def k_name(k: int | float) -> str:
    """Metric-name suffix for ``k``: ``100`` or ``5pct`` (MLflow allows no ``@`` or ``.``).

    Examples
    --------
    >>> k_name(100), k_name(0.05), k_name(0.125)
    ('100', '5pct', '12_5pct')
    """
    if isinstance(k, int | np.integer) or (float(k).is_integer() and k >= 1):
        return str(int(k))
    pct = f"{100 * float(k):.6g}"
    return pct.replace(".", "_") + "pct"


def _top(y: np.ndarray, p: np.ndarray, k: int | float) -> tuple[float, int]:
    m = top_k_count(k, len(y))
    if m == 0:
        return float("nan"), 0
    order = np.argsort(-p, kind="mergesort")[:m]
    return float(y[order].sum()), m


def precision_at_k(y: Any, p: Any, k: int | float) -> float:
    """Share of positives among the ``k`` highest-risk rows.

    Examples
    --------
    >>> precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 2)
    0.5
    """
    y, p = _check(y, p)
    hits, m = _top(y, p, k)
    return hits / m if m else float("nan")


def recall_at_k(y: Any, p: Any, k: int | float) -> float:
    """Share of all positives found among the ``k`` highest-risk rows.

    Examples
    --------
    >>> recall_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 0.5)
    0.5
    """
    y, p = _check(y, p)
    total = y.sum()
    hits, m = _top(y, p, k)
    return float(hits / total) if total and m else float("nan")


def lift_at_k(y: Any, p: Any, k: int | float) -> float:
    """Precision at ``k`` over the base rate (the precision of random inspection).

    Examples
    --------
    >>> lift_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 1)
    2.0
    """
    y, p = _check(y, p)
    base = y.mean() if len(y) else 0.0
    return float(precision_at_k(y, p, k) / base) if base > 0 else float("nan")


def _metric_values(y: np.ndarray, p: np.ndarray, top_k: Sequence[int | float], n_bins: int) -> dict[str, float]:
    out = {
        "n": float(len(y)),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "mean_probability": float(p.mean()) if len(y) else float("nan"),
        "auc": auc(y, p),
        "ks": ks(y, p),
        "brier": brier(y, p),
        "calibration_error": expected_calibration_error(y, p, n_bins),
    }
    for k in top_k:
        name = k_name(k)
        out[f"precision_at_{name}"] = precision_at_k(y, p, k)
        out[f"recall_at_{name}"] = recall_at_k(y, p, k)
        out[f"lift_at_{name}"] = lift_at_k(y, p, k)
    return out


def evaluate(
    predictions: pd.DataFrame,
    *,
    split: Any = None,
    top_k: Iterable[int | float] = (100, 500, 0.05),
    n_bins: int = 10,
    probability: str = "probability",
    label: str = "label",
    random_inspected: str = "random_inspected",
) -> pd.DataFrame:
    """All metrics on every row and on the randomly inspected rows, as a tidy frame.

    Parameters
    ----------
    predictions : DataFrame
        One row per scored (entity, as-of) with the probability, the observed label
        and the random-inspection flag.
    split : any, optional
        Value of the ``split`` column (the test as-of date in a backtest).
    top_k : iterable of int or float
        Inspection budgets for precision, recall and lift (counts or shares).
    n_bins : int, default 10
        Equal-frequency bins for the calibration error.
    probability, label, random_inspected : str
        Column names.

    Returns
    -------
    DataFrame
        ``split``, ``population`` (``all`` or ``random``), ``metric`` (n, base_rate,
        mean_probability, auc, ks, brier, calibration_error, precision_at_<k>,
        recall_at_<k>, lift_at_<k>) and ``value``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"probability": [0.9, 0.2, 0.6, 0.1], "label": [1, 0, 0, 0],
    ...                       "random_inspected": [True, True, False, True]})
    >>> out = evaluate(frame, split="2024-01-01", top_k=[1])
    >>> float(out.set_index(["population", "metric"]).loc[("random", "lift_at_1"), "value"])
    3.0
    """
    missing = [c for c in (probability, label, random_inspected) if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack column(s) {missing}; got {list(predictions.columns)}")
    top_k = list(top_k)
    y_all = predictions[label].to_numpy(dtype=np.float64)
    p_all = predictions[probability].to_numpy(dtype=np.float64)
    sample = predictions[random_inspected].to_numpy(dtype=bool)
    rows = []
    for population, mask in (("all", slice(None)), ("random", sample)):
        values = _metric_values(y_all[mask], p_all[mask], top_k, n_bins)
        rows += [(split, population, metric, value) for metric, value in values.items()]
    return pd.DataFrame(rows, columns=list(METRIC_COLUMNS))


#: Truth column holding the label probability given the state at the as-of date.
FAIR_ORACLE = "p_label_1y"


def oracle_auc(
    truth: pd.DataFrame,
    labels: pd.DataFrame,
    horizon_days: int = 365,
    *,
    by: str = "as_of",
) -> pd.DataFrame:
    """AUC of the true risk against the observed labels: the best achievable ranking.

    When the truth table has ``p_label_1y`` (the synthetic market's fair oracle: the
    probability of a positive label in ``[t, t + 365d)`` given only what is true at
    ``t``), that value at ``quarter_start == t`` is the true risk. Otherwise the true
    risk of row ``(entity, t)`` is the chance of at least one violation in
    the label horizon, ``1 - prod(1 - p_violation)`` over the quarters of the truth
    table with ``t <= quarter_start < t + horizon_days``. It is ranked against the
    observed ``label`` of the same rows (complete horizon and in population only),
    on all rows and on the randomly inspected ones.

    Parameters
    ----------
    truth : DataFrame
        ``entity_id``, ``quarter_start`` (datetime64) and ``p_violation``
        (``market.truth.entity_quarters`` of the synthetic market).
    labels : DataFrame
        The output of :func:`riskml.labels.make_labels` (entity_id, as_of, label,
        random_inspected, complete, in_population).
    horizon_days : int, default 365
        The label horizon.
    by : str, default "as_of"
        Column of ``labels`` to group by (one AUC per value).

    Returns
    -------
    DataFrame
        ``as_of``, ``population`` (all, random), ``oracle_auc``, ``n``.

    Examples
    --------
    >>> import pandas as pd
    >>> q = pd.to_datetime(["2023-01-01", "2023-04-01"])
    >>> truth = pd.DataFrame({"entity_id": ["E1", "E1", "E2", "E2", "E3", "E3"], "quarter_start": list(q) * 3,
    ...                       "p_violation": [0.5, 0.5, 0.1, 0.0, 0.2, 0.3]})
    >>> labels = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "as_of": pd.Timestamp("2023-01-01"),
    ...     "label": [1, 0, 0], "random_inspected": [True, True, True], "complete": True, "in_population": True})
    >>> oracle_auc(truth, labels, 180)[["population", "oracle_auc"]].to_dict("records")[0]
    {'population': 'all', 'oracle_auc': 1.0}
    """
    need_l = {"entity_id", by, "label", "random_inspected", "complete", "in_population"}
    if not need_l <= set(labels.columns):
        raise ValueError(f"labels lack columns {sorted(need_l - set(labels.columns))}")
    rows = labels.loc[labels["complete"].to_numpy(bool) & labels["in_population"].to_numpy(bool)]
    if FAIR_ORACLE in truth.columns:
        # The fair best possible: the label probability given only what is true at t.
        fair = truth[["entity_id", "quarter_start", FAIR_ORACLE]].rename(columns={"quarter_start": by})
        merged = rows[["entity_id", by]].merge(fair, on=["entity_id", by], how="left")
        return _oracle_table(rows, merged[FAIR_ORACLE].to_numpy(dtype=np.float64), by)
    need_t = {"entity_id", "quarter_start", "p_violation"}
    if not need_t <= set(truth.columns):
        raise ValueError(f"truth lacks columns {sorted(need_t - set(truth.columns))}")
    ids = pd.Index(pd.unique(truth["entity_id"].to_numpy(dtype=object)))
    # one key per (entity, day): cumulative sums of log(1 - p) turn each horizon
    # product into a difference of two searchsorted positions
    t_code = ids.get_indexer(truth["entity_id"]).astype(np.int64)
    t_day = truth["quarter_start"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    key = t_code * (1 << 24) + (t_day + (1 << 23))
    order = np.argsort(key, kind="mergesort")
    key = key[order]
    logq = np.log1p(-np.clip(truth["p_violation"].to_numpy(dtype=np.float64)[order], 0.0, 1.0 - 1e-15))
    csum = np.r_[0.0, np.cumsum(logq)]
    code = ids.get_indexer(rows["entity_id"]).astype(np.int64)
    start = rows[by].to_numpy(dtype="datetime64[D]").astype(np.int64)
    lo = np.searchsorted(key, code * (1 << 24) + (start + (1 << 23)), side="left")
    hi = np.searchsorted(key, code * (1 << 24) + (start + horizon_days + (1 << 23)), side="left")
    risk = np.where(code >= 0, -np.expm1(csum[hi] - csum[lo]), np.nan)
    return _oracle_table(rows, risk, by)


def _oracle_table(rows: pd.DataFrame, risk: np.ndarray, by: str) -> pd.DataFrame:
    unknown = int(np.isnan(risk).sum())
    if unknown:
        logger.warning("oracle_auc: %d labelled row(s) have no truth rows and are left out", unknown)
    frame = pd.DataFrame({by: rows[by].to_numpy(), "label": rows["label"].to_numpy(),
                          "random": rows["random_inspected"].to_numpy(bool), "risk": risk}).dropna(subset=["risk"])
    out = []
    for value, part in frame.groupby(by, sort=True):
        for population, mask in (("all", slice(None)), ("random", part["random"].to_numpy())):
            y, r = part["label"].to_numpy()[mask], part["risk"].to_numpy()[mask]
            out.append({by: value, "population": population, "oracle_auc": auc(y, r), "n": int(len(y))})
    return pd.DataFrame(out, columns=[by, "population", "oracle_auc", "n"])
