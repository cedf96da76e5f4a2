"""Feature screening: information value, KS and missing share per feature and test date.

The first questions a credit analyst asks of a feature, answered on labelled rows
of each as-of date (the backtest's test dates, whose labels are known):

* **IV** (information value): Jeffrey's divergence between the feature's
  distribution over good and bad rows, ``sum((g - b) * ln(g / b))`` (scipy's
  ``xlogy``, the expression of optbinning's ``jeffrey``, so screening needs no
  optional dependency; every training run logs it), on up to
  ``n_bins`` quantile bins plus a bin for missing values (categoricals: one bin per
  category); half a row is added to every bin so that an empty one stays finite.
  Read with the usual bounds: < 0.02 useless, 0.02-0.1 weak, 0.1-0.3 medium,
  > 0.3 strong.
* **KS**: the two-sample Kolmogorov-Smirnov statistic between the feature's values
  on bad and good rows (scipy's ``ks_2samp``; numeric features, missing values left
  out).
* **missing share**: the share of rows where the feature is missing.

A feature found weak is dropped from a model with the model spec's
``model.drop_features`` list (see ``docs/specs.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from riskml._time import DateLike
    from riskml.features import Panel

__all__ = ["SCREEN_COLUMNS", "screen_features"]

#: columns of :func:`screen_features`' result
SCREEN_COLUMNS: tuple[str, ...] = ("as_of", "feature", "rows", "positives", "missing_share", "iv", "ks")


def _iv(codes: np.ndarray, y: np.ndarray) -> float:
    """IV of bin codes (0..k-1) against 0/1 outcomes, half a row added to every bin."""
    from scipy.special import xlogy

    k = int(codes.max()) + 1
    bad = np.bincount(codes, weights=y, minlength=k) + 0.5
    good = np.bincount(codes, weights=1.0 - y, minlength=k) + 0.5
    good, bad = good / good.sum(), bad / bad.sum()
    return float(xlogy(good - bad, good / bad).sum())


def _codes(column: pd.Series, n_bins: int) -> np.ndarray:
    """Bin codes: quantile bins (numeric) or categories, the missing values in a bin of their own."""
    if isinstance(column.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(column.dtype):
        codes = pd.Series(pd.Categorical(column.astype("str").where(column.notna()))).cat.codes.to_numpy()
    else:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        codes = pd.qcut(values, q=n_bins, labels=False, duplicates="drop")
        codes = np.where(np.isnan(values), -1, np.nan_to_num(codes, nan=-1)).astype(np.int64)
    return np.where(codes < 0, codes.max(initial=-1) + 1, codes).astype(np.int64)


def screen_features(panel: Panel, labels: pd.DataFrame, *, features: Sequence[str] | None = None,
                    as_of: Sequence[DateLike] | None = None, n_bins: int = 10) -> pd.DataFrame:
    """IV, KS and missing share of each feature on the labelled rows of each as-of date.

    Parameters
    ----------
    panel : riskml.features.Panel or DataFrame
        Panel rows (``entity_id``, ``as_of`` and the features).
    labels : DataFrame
        ``entity_id``, ``as_of`` and ``label`` (0/1) of the rows to screen on, e.g.
        the backtest predictions of :func:`riskml.models.fit_model` (its test dates)
        or :func:`riskml.labels.make_labels` output; rows with ``complete`` /
        ``in_population`` False are left out when those columns are present.
    features : sequence of str, optional
        Features to screen (default: every panel column but the ids).
    as_of : sequence of dates, optional
        Dates to screen (default: every labelled date).
    n_bins : int, default 10
        Quantile bins of a numeric feature for the IV.

    Returns
    -------
    DataFrame
        One row per (as_of, feature): :data:`SCREEN_COLUMNS`; ``ks`` is NaN for
        categorical features.

    Raises
    ------
    ValueError
        When ``labels`` lacks a column, or no labelled row matches the panel.

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=500, n_dates=6, seed=0)
    >>> screen = screen_features(panel, labels)
    >>> screen.columns.tolist()
    ['as_of', 'feature', 'rows', 'positives', 'missing_share', 'iv', 'ks']
    >>> strongest = screen.groupby("feature")["iv"].mean().idxmax()
    >>> strongest in {"penalties_count_365d", "serious_violations_on_list"}
    True
    """
    frame = panel.frame if hasattr(panel, "frame") else panel
    missing = [c for c in ("entity_id", "as_of", "label") if c not in labels.columns]
    if missing:
        raise ValueError(f"labels lack column(s) {missing}; pass make_labels output or backtest predictions")
    usable = labels
    for flag in ("complete", "in_population"):
        if flag in usable.columns:
            usable = usable[usable[flag].astype(bool)]
    names = [c for c in frame.columns if c not in ("entity_id", "as_of")] if features is None else list(features)
    rows = frame[["entity_id", "as_of", *names]].merge(
        usable[["entity_id", "as_of", "label"]].astype({"entity_id": "str"}).assign(
            as_of=lambda d: pd.to_datetime(d["as_of"])),
        on=["entity_id", "as_of"], how="inner")
    if as_of is not None:
        rows = rows[rows["as_of"].isin(pd.to_datetime(list(as_of)))]
    if rows.empty:
        raise ValueError("no labelled row matches the panel's (entity_id, as_of); check the labels and dates")
    from scipy.stats import ks_2samp

    out = []
    for date, part in rows.groupby("as_of", sort=True):
        y = part["label"].to_numpy(dtype=np.float64)
        bad = y == 1
        for name in names:
            column = part[name]
            numeric = pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(column.dtype,
                                                                                   pd.CategoricalDtype)
            ks = np.nan
            if numeric and 0 < bad.sum() < len(y):
                values = column.to_numpy(dtype=np.float64, na_value=np.nan)
                present = ~np.isnan(values)
                if (present & bad).any() and (present & ~bad).any():
                    ks = float(ks_2samp(values[present & bad], values[present & ~bad]).statistic)
            out.append({"as_of": date, "feature": name, "rows": len(part), "positives": int(bad.sum()),
                        "missing_share": float(column.isna().mean()), "iv": _iv(_codes(column, n_bins), y),
                        "ks": ks})
    return pd.DataFrame(out, columns=list(SCREEN_COLUMNS))
