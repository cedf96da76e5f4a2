"""Cross-fitted Platt calibration: ``calibration: {method: cross_fit, folds: K}`` of the backtest spec.

The default calibration (``method: holdout``) fits the model on the training dates and
the Platt calibrator on the held-out calibration dates, so the calibrator sees the
model out of time. On a small table that costs the model the slice: a few hundred
rows it never learns from. ``refit: true`` gives the booster those rows back but keeps
the calibrator fitted to the model before the refit, which no longer matches it.

Cross-fitting (as scikit-learn's ``CalibratedClassifierCV(ensemble=False)``) lets the
model and the calibrator both use every row and still never calibrates on a margin
the model made for a row it trained on:

1. the rows of the split's training and calibration dates are pooled (negatives
   subsampled at the training rows' rate, as for ``refit``);
2. the entities are dealt at random (seeded) into ``K`` folds (:func:`entity_folds`);
3. for each fold the model is fitted on the other folds' rows and gives the margins of
   the fold's rows (:func:`out_of_fold_margins`);
4. the Platt calibrator is fitted on these out-of-fold margins of every pooled row;
5. the model that scores (and ships) is fitted on all pooled rows.

The folds are groups of entities, not of as-of dates. An entity's rows at successive
dates share most of their features and, when the label horizon is longer than the step
between dates, most of their label window: a fold model trained on the same entity's
neighbouring date would give margins nearly as confident as in-sample ones, and the
calibrator would not learn to shrink them. Dealing whole entities keeps every
out-of-fold margin from a model that never saw that entity. (Date folds would also put
later dates into the models that calibrate earlier ones, so they would not keep the
calibration out of time either.)

What is given up: the calibrator is fitted on the pooled dates, not on the latest
ones, so it does not correct a drift between the training dates and the present (a
seasonal or trending rate). That is why ``holdout`` is the default; ``cross_fit`` is
meant for small static tables, where every row counts and the dates carry no drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["entity_folds", "out_of_fold_margins", "sampled_weight"]


def entity_folds(entity_id: Any, folds: int, seed: int) -> np.ndarray:
    """The fold (``0 .. folds - 1``) of each row: its entity's, entities dealt at random into equal folds.

    The entities (sorted, so the row order does not matter) are permuted by a NumPy
    generator seeded with ``seed`` and dealt in turn, so the folds' entity counts
    differ by at most one and every row of an entity is in the same fold.

    Parameters
    ----------
    entity_id : array-like
        One entity id per row.
    folds : int
        Number of folds (at least 2).
    seed : int

    Returns
    -------
    ndarray of int64
        The fold of each row.

    Raises
    ------
    ValueError
        When there are fewer entities than folds.

    Examples
    --------
    >>> fold = entity_folds(["a", "b", "a", "c", "d", "b"], folds=2, seed=0)
    >>> bool(fold[0] == fold[2] and fold[1] == fold[5]), sorted(np.bincount(fold[[0, 1, 3, 4]]).tolist())
    (True, [2, 2])
    """
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds, got {folds}; set calibration.folds >= 2")
    codes, uniques = pd.factorize(pd.Series(np.asarray(entity_id, dtype=object)), sort=True)
    n = len(uniques)
    if n < folds:
        raise ValueError(f"cross-fitting deals entities into {folds} folds but the rows hold {n} entit(y/ies); "
                         "lower calibration.folds or use calibration.method: holdout")
    fold_of_entity = np.empty(n, dtype=np.int64)
    fold_of_entity[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return fold_of_entity[codes]


def out_of_fold_margins(rows: np.ndarray, fold: np.ndarray,
                        fit_margins: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The margin of each of ``rows`` from a model fitted on the rows of the other folds.

    Parameters
    ----------
    rows : ndarray of int
        Row numbers of the pooled rows.
    fold : ndarray of int
        The fold of every row (indexed by row number, e.g. :func:`entity_folds` over
        the panel).
    fit_margins : callable
        ``fit_margins(fit_rows, predict_rows)`` fits a model on ``fit_rows`` and
        returns its raw margins of ``predict_rows``.

    Returns
    -------
    ndarray of float64
        One margin per row of ``rows``, in that order.

    Examples
    --------
    >>> fold = np.array([0, 1, 0, 1, 2, 2])
    >>> def mean_of_others(fit, predict):  # a "model": the mean row number it was fitted on
    ...     return np.full(len(predict), fit.mean())
    >>> out_of_fold_margins(np.arange(6), fold, mean_of_others).tolist()
    [3.25, 2.75, 3.25, 2.75, 1.5, 1.5]
    """
    out = np.empty(len(rows), dtype=np.float64)
    row_fold = fold[rows]
    for k in np.unique(row_fold):
        held = row_fold == k
        out[held] = fit_margins(rows[~held], rows[held])
    return out


def sampled_weight(rows: np.ndarray, y: np.ndarray, rate: float, weight: np.ndarray | None) -> np.ndarray | None:
    """Calibration weights of pooled ``rows`` whose negatives were subsampled at ``rate``.

    Each kept negative stands for ``1 / rate`` negatives, so the calibrator learns the
    rate of the rows before subsampling; None when there is nothing to weight.

    Examples
    --------
    >>> sampled_weight(np.array([0, 1, 2]), np.array([0.0, 1.0, 0.0]), 0.5, None).tolist()
    [2.0, 1.0, 2.0]
    >>> sampled_weight(np.array([0, 1]), np.array([0.0, 1.0]), 1.0, None) is None
    True
    """
    if rate >= 1.0 and weight is None:
        return None
    base = np.ones(len(rows)) if weight is None else weight[rows]
    return base * np.where(y[rows] == 1, 1.0, 1.0 / rate)
