"""Training: a temporal backtest, out-of-time Platt calibration and the final model.

:func:`fit_model` runs the splits of :func:`riskml.models._backtest.plan_splits`. For each split
it fits a LightGBM booster on the training as-of dates (rows with a complete label
horizon in the model's population), fits the Platt calibrator
``calibrated_logit = a * raw_margin + b`` on the held-out calibration dates, and
scores the test date. The last split (``final``) is the model that ships.

Class imbalance is handled by calibration, not by reweighting. The booster fits
plain log-loss; when a fit would read more than ``max_train_rows`` rows, negatives
are subsampled at a known rate (positives are all kept), which shifts the raw margin
by about ``-ln(rate)``. ``is_unbalance`` / ``scale_pos_weight`` are refused: they
distort the margin in the same way but less predictably. The calibrator is fitted on
the full, unsampled, out-of-time calibration slice, so it removes the shift and any
over-confidence of the booster; a linear map of the margin keeps the TreeSHAP
contributions exact in score points.

Determinism: LightGBM runs with ``deterministic=True``, ``force_row_wise=True``, a
fixed ``seed`` and ``num_threads``; the negative sample is drawn from a NumPy
generator seeded by the backtest's ``random_seed`` and the split. The same panel,
labels and specs give the same model.

Speed: the feature frame is converted to LightGBM's numeric layout once per backtest
(:class:`TrainingMatrix`), and the splits' fits run in ``backtest.workers`` threads
(LightGBM releases the GIL; each fit keeps its own ``num_threads``). The grade model's
backtest (``grade_score``) starts beside the point-in-time one and queues its fits in the
same threads, so no core waits for the other model's last fit. Every fit depends only on
its split and seed, so the models are the same for any number of workers. A lone fit
keeps ``num_threads`` too: two LightGBM threads grow the same trees, but the model text
records the thread count and the second thread costs CPU seconds (``python -m
benchmarks.fit_threads``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from riskml._progress import track
from riskml.features import load_feature_spec
from riskml.models._backtest import BacktestSpec, Split, load_backtest_spec, plan_splits
from riskml.models._bundle import RiskModel, _sigmoid
from riskml.models._crossfit import entity_folds, out_of_fold_margins, sampled_weight
from riskml.models._grade_model import grade_features, grade_score_spec, long_run_intercept
from riskml.models._metrics import METRIC_COLUMNS, evaluate, expected_calibration_error, oracle_auc
from riskml.models._policy import policy_from_spec
from riskml.models._scorecard import PointsTable, ScorecardModel, WoeRegression, fit_woe_regression
from riskml._version import __version__
from riskml.models._spec import ModelSpec, load_model_spec, normalise_params

if TYPE_CHECKING:
    import lightgbm as lgb
    from numpy.typing import ArrayLike
    from riskml.features import Panel
    from riskml.models._backtest import BacktestSpecLike
    from riskml.models._spec import ModelSpecLike

__all__ = ["FitResult", "fit_model", "fit_platt", "monotone_constraints"]

logger = logging.getLogger(__name__)

LABEL_COLUMNS = ("label", "random_inspected", "complete", "in_population")
PREDICTION_COLUMNS = ("split", "entity_id", "as_of", "raw_margin", "probability", "label", "random_inspected")
DEFAULT_ROUNDS = 300

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class FitResult:
    """What :func:`fit_model` returns.

    Attributes
    ----------
    model : RiskModel
        The final model (trained and calibrated on the latest allowed dates).
    metrics : DataFrame
        Backtest metrics, tidy: ``split`` (test as-of date), ``population``
        (``all``, ``random``), ``metric``, ``value``; includes ``oracle_auc`` when
        the truth table was given.
    predictions : DataFrame
        Out-of-time predictions of every test date: split, entity_id, as_of,
        raw_margin, probability, label, random_inspected.
    splits : DataFrame
        One row per fit (test dates, then ``final``): dates used, row counts, the
        negative sampling rate, boosting rounds, calibration and seconds.
    grade : FitResult or None
        The through-the-cycle grade model's own backtest (its metrics and
        out-of-time predictions) when the model spec declares ``grade_score``.

    Examples
    --------
    >>> from riskml.models import fit_model
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=200, n_dates=8, seed=0)
    >>> result = fit_model(panel, labels, "credit", params={"n_estimators": 10},
    ...                    backtest={"test_dates": "last 1", "min_train_dates": 2, "gap_days": 90})
    >>> table = result.metric_table()
    >>> table["population"].tolist(), "auc" in table.columns
    (['all', 'random'], True)
    >>> result.splits["split"].tolist()
    ['2020-04-01', 'final']
    """

    model: RiskModel
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    splits: pd.DataFrame
    grade: FitResult | None = None

    def metric_table(self) -> pd.DataFrame:
        """Metrics wide: one row per split and population, one column per metric."""
        return self.metrics.pivot_table(index=["split", "population"], columns="metric", values="value",
                                        sort=True).reset_index().rename_axis(columns=None)


def fit_platt(margin: np.ndarray, y: np.ndarray, *, weight: np.ndarray | None = None, max_iter: int = 100,
              tol: float = 1e-10, smooth_targets: bool = False) -> tuple[float, float]:
    """Platt scaling: the logistic regression ``P(y=1) = sigmoid(a * margin + b)``.

    Unpenalised maximum likelihood by Newton's method with step halving (two
    parameters, so each step is a 2x2 solve). With ``smooth_targets`` the fit uses
    Platt's own small-sample targets instead of 1 and 0: ``(N+ + 1) / (N+ + 2)``
    for a positive and ``1 / (N- + 2)`` for a negative (``N+``, ``N-``: the
    weighted positives and negatives), the posterior mean of a rate under a uniform
    prior. On a few hundred rows this keeps the slope from overfitting the slice;
    on large slices the targets are practically 1 and 0.

    Parameters
    ----------
    margin : ndarray
        Raw booster margins of the calibration rows.
    y : ndarray
        Their 0/1 outcomes (both classes needed).
    weight : ndarray, optional
        Row weights (positive); default all 1.
    smooth_targets : bool, default False
        Fit to Platt's smoothed targets (see above; the backtest's
        ``calibration.smooth_targets``).

    Returns
    -------
    (a, b) : tuple of float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> m = rng.normal(size=200_000)
    >>> y = (rng.uniform(size=m.size) < 1 / (1 + np.exp(-(0.5 * m - 2)))).astype(int)
    >>> a, b = fit_platt(m, y)
    >>> round(a, 1), round(b, 1)
    (0.5, -2.0)
    >>> a_s, b_s = fit_platt(m, y, smooth_targets=True)  # 200,000 rows: targets practically 0/1
    >>> bool(abs(a_s - a) < 1e-3 and abs(b_s - b) < 1e-3)
    True
    """
    x = np.asarray(margin, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if x.shape != t.shape or x.ndim != 1:
        raise ValueError(f"margin and y must be 1-d of equal length, got {x.shape} and {t.shape}")
    n_pos = t.sum()
    if n_pos == 0 or n_pos == len(t):
        raise ValueError(f"calibration needs both outcomes; the slice has {int(n_pos)} positive(s) of {len(t)} rows")
    v = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64)
    if v.shape != x.shape:
        raise ValueError(f"weight must have the shape of margin {x.shape}, got {v.shape}")
    if smooth_targets:
        n_pos_w, n_neg_w = float(np.dot(v, t)), float(np.dot(v, 1 - t))
        t = np.where(t > 0.5, (n_pos_w + 1) / (n_pos_w + 2), 1 / (n_neg_w + 2))
    rate = float(np.dot(v, t) / v.sum())
    a, b = 0.0, float(np.log(rate / (1 - rate)))

    def loss(a_: float, b_: float) -> float:
        z = a_ * x + b_
        return float(np.dot(v, np.logaddexp(0.0, z) - t * z))

    current = loss(a, b)
    for _ in range(max_iter):
        p = _sigmoid(a * x + b)
        w = v * p * (1 - p)
        r = v * (p - t)
        grad = np.array([np.dot(r, x), r.sum()])
        hess = np.array([[np.dot(w, x * x), np.dot(w, x)], [np.dot(w, x), w.sum()]]) + 1e-12 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6:
            na, nb = a - scale * step[0], b - scale * step[1]
            new = loss(na, nb)
            if new <= current:
                break
            scale /= 2
        else:
            break
        a, b, previous, current = na, nb, current, new
        if previous - current <= tol * max(1.0, abs(current)):
            break
    return float(a), float(b)


def monotone_constraints(features: Sequence[str], catalog: pd.DataFrame, categorical: Sequence[str]) -> list[int]:
    """LightGBM monotone constraints from the catalog's ``direction``.

    +1 (the feature raises risk) and -1 (lowers it) for numeric features; 0 for
    categoricals, direction 0 and features missing from the catalog.

    Examples
    --------
    >>> cat = pd.DataFrame({"direction": [1, -1, 1]}, index=["a", "b", "c"])
    >>> monotone_constraints(["a", "b", "c", "d"], cat, categorical=["c"])
    [1, -1, 0, 0]
    """
    direction = catalog["direction"] if "direction" in catalog.columns else pd.Series(dtype="float64")
    skip = set(categorical)
    out = []
    for name in features:
        value = direction.get(name, 0) if name not in skip else 0
        value = 0 if pd.isna(value) else int(np.sign(float(value)))
        out.append(value)
    return out


def _panel_parts(panel: Any) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    frame = getattr(panel, "frame", None)
    catalog = getattr(panel, "catalog", None)
    spec_hash = getattr(panel, "spec_hash", None)
    if not isinstance(frame, pd.DataFrame) or not isinstance(catalog, pd.DataFrame) or spec_hash is None:
        raise TypeError(
            "panel must be a riskml.features.Panel (or an object with .frame, .catalog and .spec_hash), "
            f"got {type(panel).__name__}"
        )
    missing = [c for c in ("entity_id", "as_of") if c not in frame.columns]
    if missing:
        raise ValueError(f"panel.frame lacks {missing}; got columns {list(frame.columns)[:8]}")
    if not pd.api.types.is_datetime64_dtype(frame["as_of"]):
        raise TypeError(f"panel.frame['as_of'] must be datetime64, not {frame['as_of'].dtype}")
    return frame, catalog, str(spec_hash)


def _aligned_labels(frame: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Label columns in the panel's row order (rows without a label are not usable)."""
    missing = [c for c in ("entity_id", "as_of", *LABEL_COLUMNS) if c not in labels.columns]
    if missing:
        raise ValueError(f"labels lack column(s) {missing}; expected the output of riskml.labels.make_labels")
    same_rows = (
        len(labels) == len(frame)
        and np.array_equal(labels["as_of"].to_numpy(), frame["as_of"].to_numpy())
        and np.array_equal(labels["entity_id"].to_numpy(dtype=object), frame["entity_id"].to_numpy(dtype=object))
    )
    if same_rows:
        out = labels[list(LABEL_COLUMNS)].reset_index(drop=True)
        out["observed"] = (labels["observed"].to_numpy(bool) if "observed" in labels.columns
                           else np.ones(len(out), dtype=bool))
        return out
    if labels.duplicated(["entity_id", "as_of"]).any():
        raise ValueError("labels have duplicate (entity_id, as_of) rows")
    merged = frame[["entity_id", "as_of"]].merge(labels, on=["entity_id", "as_of"], how="left", validate="one_to_one")
    unlabelled = int(merged["label"].isna().sum())
    if unlabelled:
        logger.warning("%d panel row(s) have no label and are not used", unlabelled)
    return pd.DataFrame({
        "label": merged["label"].fillna(0).astype("int8").to_numpy(),
        "random_inspected": merged["random_inspected"].fillna(False).astype(bool).to_numpy(),
        "complete": (merged["complete"].fillna(False).astype(bool) & merged["label"].notna()).to_numpy(),
        "in_population": merged["in_population"].fillna(False).astype(bool).to_numpy(),
        "observed": (merged["observed"].fillna(False).astype(bool).to_numpy() if "observed" in merged.columns
                     else np.ones(len(merged), dtype=bool)),
    })


def _training_frame(frame: pd.DataFrame, features: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Feature columns ready for LightGBM: float64 numerics, categoricals as category."""
    columns: dict[str, Any] = {}
    categorical: list[str] = []
    for name in features:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            if not all(isinstance(c, str) for c in col.cat.categories):
                col = col.cat.rename_categories([str(c) for c in col.cat.categories])
            columns[name] = col
            categorical.append(name)
        elif pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
            logger.warning("feature %s has dtype %s; using it as a categorical with its sorted values", name, col.dtype)
            columns[name] = pd.Categorical(col.astype("str").where(col.notna()))
            categorical.append(name)
        elif pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            columns[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            raise TypeError(f"feature {name!r} has dtype {col.dtype}; expected a number or a category")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame))), categorical


@dataclass(frozen=True)
class TrainingMatrix:
    """The training frame as ``lightgbm.Dataset`` reads a DataFrame, converted once.

    LightGBM turns a DataFrame into a float64 matrix on every ``Dataset`` and
    ``predict`` call (categories to their codes, -1 to NaN) and remembers the
    categories of each categorical column. Doing that conversion once per backtest
    and handing each fit the rows it needs gives the same booster (same values, same
    feature names, same categorical features and ``pandas_categorical``).

    Attributes
    ----------
    columns : list of numpy.ndarray
        One float64 array per feature (views of the frame where it is float64 already).
    feature_name : list of str
    categorical_feature : list of str
        The unordered categorical columns (LightGBM's ``"auto"``).
    pandas_categorical : list of list
        The categories of every categorical column, stored in the booster.
    """

    columns: list[np.ndarray]
    feature_name: list[str]
    categorical_feature: list[str]
    pandas_categorical: list[list[Any]]

    @classmethod
    def from_frame(cls, X: pd.DataFrame) -> TrainingMatrix:
        """The conversion ``lightgbm.Dataset(X)`` makes, once."""
        columns, categorical, categories = [], [], []
        for name in X.columns:
            col = X[name]
            if isinstance(col.dtype, pd.CategoricalDtype):
                categories.append(list(col.cat.categories))
                if not col.cat.ordered:
                    categorical.append(str(name))
                codes = col.cat.codes.to_numpy().astype(np.float64)
                codes[codes == -1] = np.nan
                columns.append(codes)
            else:
                columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        return cls(columns, [str(c) for c in X.columns], categorical, categories)

    def rows(self, index: np.ndarray) -> np.ndarray:
        """The matrix of the given rows (float64, column-major).

        Column-major because each feature is gathered into one contiguous block (a
        row-major copy writes every value with a stride); LightGBM reads either layout
        without a copy and bins and predicts the same values the same way.
        """
        out = np.empty((len(self.columns), len(index)), dtype=np.float64)
        for j, col in enumerate(self.columns):
            np.take(col, index, out=out[j])
        return out.T

    def dataset(self, index: np.ndarray, label: np.ndarray, weight: np.ndarray | None, num_threads: int,
                reference: lgb.Dataset | None = None, data: np.ndarray | None = None) -> lgb.Dataset:
        """A ``lightgbm.Dataset`` of the given rows, as LightGBM builds one from the frame.

        ``num_threads`` is the fit's thread count: every LightGBM call sets the library's
        process-wide default to its own count (``0`` resets it), so one call without it
        while another thread predicts makes that prediction index past its buffers.
        ``data`` is ``self.rows(index)`` when the caller has it already.
        """
        import lightgbm as lgb

        params = {"verbose": -1, "num_threads": num_threads}
        if data is None:
            data = self.rows(index)
        if reference is not None:
            return lgb.Dataset(data, label, weight=weight, reference=reference, params=params)
        dataset = lgb.Dataset(data, label, weight=weight, feature_name=self.feature_name,
                              categorical_feature=self.categorical_feature, params=params, free_raw_data=True)
        dataset.pandas_categorical = self.pandas_categorical  # stored in the booster, as from a DataFrame
        return dataset


def lightgbm_params(spec: ModelSpec, params: dict[str, Any] | None, bt: BacktestSpec,
                    monotone: list[int]) -> tuple[dict[str, Any], int]:
    """LightGBM parameters and boosting rounds of one fit (shared by fit and tune).

    The model spec's ``training.params``, overridden by ``params``, then the settings
    riskml fixes: binary objective, AUC metric, the backtest's seed and thread count,
    deterministic row-wise histograms and the monotone constraints.
    """
    merged = spec.training.lightgbm_params()
    merged.update(normalise_params(params or {}, where="fit_model(params=...)"))
    rounds = int(merged.pop("num_iterations", DEFAULT_ROUNDS))
    merged.update({
        "objective": "binary",
        "metric": bt.calibration.early_stopping_metric,
        "verbose": -1,
        "seed": bt.random_seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": bt.num_threads,
    })
    merged.pop("force_col_wise", None)
    if any(monotone):
        merged["monotone_constraints"] = monotone
    return merged, rounds


def split_rows(split: Split, y: np.ndarray, usable: np.ndarray, as_of: np.ndarray, max_rows: int,
               seed: int) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Training rows (negatives subsampled to ``max_rows``), calibration rows, positives and the rate."""
    train_rows = np.flatnonzero(usable & np.isin(as_of, np.array(split.train_as_of, dtype="datetime64[ns]")))
    cal_rows = np.flatnonzero(usable & np.isin(as_of, np.array(split.calibration_as_of, dtype="datetime64[ns]")))
    n_pos = int(y[train_rows].sum())
    n_neg = len(train_rows) - n_pos
    if n_pos == 0 or n_neg == 0:
        few = "too few confirmed cases to train" if n_pos == 0 else "no negative labels to train on"
        raise ValueError(f"split {split.name}: {few}: the training rows have {n_pos} positive and {n_neg} negative "
                         "labels; train on more quarters or more entities")
    rate = 1.0
    if len(train_rows) > max_rows:
        rate = max(max_rows - n_pos, 1) / n_neg
        if rate < 1.0:
            rng = np.random.default_rng(seed)
            keep = (y[train_rows] == 1) | (rng.uniform(size=len(train_rows)) < rate)
            train_rows = train_rows[keep]
    return train_rows, cal_rows, n_pos, float(rate)


def fit_scorecard_split(
    split: Split, prep: PreparedRows, spec: ModelSpec, bt: BacktestSpec, seed: int, weight: np.ndarray | None = None,
) -> tuple[PointsTable, dict[str, Any]]:
    """One scorecard fit of the backtest: binning and WoE regression, Platt calibration, points.

    The same rows as :func:`fit_split` (negatives subsampled to the smaller of the
    backtest's and the scorecard's ``max_train_rows``); the calibration is folded
    into the points (see :mod:`riskml.models._scorecard`).
    """
    started = time.perf_counter()
    settings = spec.model
    max_rows = min(bt.max_train_rows, settings.max_train_rows)
    train_rows, cal_rows, n_pos, rate = split_rows(split, prep.y, prep.usable, prep.as_of, max_rows, seed)

    def fit(rows: np.ndarray) -> WoeRegression:
        return fit_woe_regression(prep.X.iloc[rows], prep.y[rows], prep.catalog, prep.categorical, settings,
                                  weight=None if weight is None else weight[rows])

    if bt.calibration.method == "cross_fit":  # see riskml.models._crossfit
        rows = refit_rows(train_rows, cal_rows, prep.y, rate, seed)
        margin = out_of_fold_margins(rows, _need_folds(prep.folds),
                                     lambda fit_on, predict: fit(fit_on).logit(prep.X.iloc[predict]))
        a, b = fit_platt(margin, prep.y[rows], weight=sampled_weight(rows, prep.y, rate, weight),
                         smooth_targets=bt.calibration.smooth_targets)
        woe = fit(rows)
    else:
        woe = fit(train_rows)
        margin = woe.logit(prep.X.iloc[cal_rows])
        a, b = fit_platt(margin, prep.y[cal_rows], weight=None if weight is None else weight[cal_rows],
                         smooth_targets=bt.calibration.smooth_targets)
    table = woe.points_table(policy_from_spec(spec.raw), a, b, settings.points_decimals)
    info = {
        **_split_info(split, train_rows, n_pos, rate, cal_rows, prep.y),
        "rounds": 0,
        "scorecard_features": len(table.rows),
        "calib_a": a,
        "calib_b": b,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return table, info


def fit_split(
    split: Split, X: pd.DataFrame | TrainingMatrix, y: np.ndarray, usable: np.ndarray, as_of: np.ndarray,
    params: dict[str, Any], rounds: int, bt: BacktestSpec, seed: int, weight: np.ndarray | None = None,
    folds: np.ndarray | None = None,
) -> tuple[lgb.Booster, float, float, dict[str, Any]]:
    """One booster fit of the backtest, its Platt calibrator and a row of the split table.

    Trains on ``split.train_as_of`` (negatives subsampled to ``bt.max_train_rows``),
    early-stops on and calibrates against ``split.calibration_as_of``; ``weight`` is
    one training weight per panel row, or None. ``X`` is the feature frame or its
    :class:`TrainingMatrix` (converted once; the same booster). ``folds`` is the
    entity fold of every panel row (:func:`riskml.models._crossfit.entity_folds`),
    needed by ``calibration.method: cross_fit`` only. Shared by fit and tune.
    """
    import lightgbm as lgb

    started = time.perf_counter()
    matrix = X if isinstance(X, TrainingMatrix) else TrainingMatrix.from_frame(X)
    train_rows, cal_rows, n_pos, rate = split_rows(split, y, usable, as_of, bt.max_train_rows, seed)
    def rows_weight(rows: np.ndarray) -> np.ndarray | None:
        return None if weight is None else weight[rows]

    threads = int(params["num_threads"])  # on every call: see TrainingMatrix.dataset
    dtrain = matrix.dataset(train_rows, y[train_rows], rows_weight(train_rows), threads)
    callbacks = []
    valid_sets = []
    cal_x = matrix.rows(cal_rows)  # read twice: early stopping and the calibrator's margins
    if bt.calibration.early_stopping_rounds > 0:
        valid_sets = [matrix.dataset(cal_rows, y[cal_rows], rows_weight(cal_rows), threads,
                                     reference=dtrain, data=cal_x)]
        callbacks.append(lgb.early_stopping(bt.calibration.early_stopping_rounds, first_metric_only=True, verbose=False))
    booster = lgb.train(params, dtrain, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks)
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    # keep exactly the rounds that are used, so the saved model is the scored one
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    if bt.calibration.method == "cross_fit":  # see riskml.models._crossfit; the rounds are early stopping's
        rows = refit_rows(train_rows, cal_rows, y, rate, seed)

        def fit_margins(fit_on: np.ndarray, predict: np.ndarray) -> np.ndarray:
            model = _refit(params, matrix, y, fit_on, best, rows_weight)
            return model.predict(matrix.rows(predict), raw_score=True, num_threads=threads)

        margin = out_of_fold_margins(rows, _need_folds(folds), fit_margins)
        a, b = fit_platt(margin, y[rows], weight=sampled_weight(rows, y, rate, weight),
                         smooth_targets=bt.calibration.smooth_targets)
        booster = _refit(params, matrix, y, rows, best, rows_weight)
    else:
        margin = booster.predict(cal_x, raw_score=True, num_threads=threads)
        a, b = fit_platt(margin, y[cal_rows], weight=rows_weight(cal_rows),
                         smooth_targets=bt.calibration.smooth_targets)
        if bt.calibration.refit:
            booster = _refit(params, matrix, y, refit_rows(train_rows, cal_rows, y, rate, seed), best, rows_weight)
    info = {
        **_split_info(split, train_rows, n_pos, float(rate), cal_rows, y),
        "rounds": int(best),
        "calib_a": a,
        "calib_b": b,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return booster, a, b, info


def _split_info(split: Any, train_rows: np.ndarray, n_pos: int, rate: Any, cal_rows: np.ndarray,
                y: np.ndarray) -> dict[str, Any]:
    """What a backtest split's table row says of its dates and rows, for either model kind."""
    return {
        "split": split.name,
        "test_as_of": split.test_as_of,
        "train_from": split.train_as_of[0],
        "train_to": split.train_as_of[-1],
        "train_dates": len(split.train_as_of),
        "calibration_as_of": ",".join(str(d.date()) for d in split.calibration_as_of),
        "train_rows": int(len(train_rows)),
        "train_positives": n_pos,
        "negative_rate": rate,
        "calibration_rows": int(len(cal_rows)),
        "calibration_positives": int(y[cal_rows].sum()),
    }


def refit_rows(train_rows: np.ndarray, cal_rows: np.ndarray, y: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """The rows of the calibration ``refit``: the training rows as fitted, and the calibration rows.

    The training rows' negatives were already subsampled at ``rate``; the calibration
    rows' negatives are subsampled at the same rate (seeded by ``seed + 1``), so every
    negative in the refit stands for ``1 / rate`` and the margin keeps the shift the
    calibrator was fitted to undo.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 1, 0, 0, 1, 0])
    >>> refit_rows(np.array([0, 1]), np.array([2, 3, 4, 5]), y, rate=1.0, seed=0).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    if rate < 1.0:
        rng = np.random.default_rng(seed + 1)
        cal_rows = cal_rows[(y[cal_rows] == 1) | (rng.uniform(size=len(cal_rows)) < rate)]
    return np.unique(np.concatenate([train_rows, cal_rows]))


def _need_folds(folds: np.ndarray | None) -> np.ndarray:
    """The entity folds ``calibration.method: cross_fit`` needs, or an error saying where they come from."""
    if folds is None:
        raise ValueError("calibration.method cross_fit needs the entity fold of every row "
                         "(riskml.models._crossfit.entity_folds); pass folds=, as fit_model does")
    return folds


def _refit(params: dict[str, Any], matrix: TrainingMatrix, y: np.ndarray, rows: np.ndarray, rounds: int,
           rows_weight: Any) -> lgb.Booster:
    """The booster refitted on ``rows`` (:func:`refit_rows`) for exactly ``rounds`` rounds."""
    import lightgbm as lgb

    data = matrix.dataset(rows, y[rows], rows_weight(rows), int(params["num_threads"]))
    booster = lgb.train(params, data, num_boost_round=rounds)
    return lgb.Booster(model_str=booster.model_to_string())


@dataclass(frozen=True)
class PreparedRows:
    """A panel and its labels as the booster fits see them (shared by fit and tune)."""

    frame: pd.DataFrame
    catalog: pd.DataFrame
    spec_hash: str
    labels: pd.DataFrame
    names: list[str]
    X: pd.DataFrame
    categorical: list[str]
    monotone: list[int]
    y: np.ndarray
    usable: np.ndarray
    as_of: np.ndarray
    splits: list[Split]
    #: the entity fold of every row, for ``calibration.method: cross_fit`` (None otherwise)
    folds: np.ndarray | None = None


@functools.cache
def _library_features() -> frozenset[str]:
    """The names of the bundled feature library's features (read once per process)."""
    return frozenset(load_feature_spec(None).catalog().index)


def _check_dropped(absent: list[str]) -> None:
    """``model.drop_features`` names the panel lacks: a feature of the bundled library that
    this panel's feature spec does not compute is nothing to drop; any other name is an error."""
    if not absent:
        return
    unknown = [name for name in absent if name not in _library_features()]
    if unknown:
        raise ValueError(f"model.drop_features names {unknown[:10]}, which the panel does not have; remove them "
                         "from the model spec or check the feature spec")
    logger.info("model.drop_features: %s not in this panel (its feature spec does not compute them)", absent)


def prepare_rows(panel: Any, labels: pd.DataFrame, spec: ModelSpec, bt: BacktestSpec,
                 features: Sequence[str] | None) -> PreparedRows:
    """Align labels, build the training matrix and constraints, and plan the splits."""
    frame, catalog, spec_hash = _panel_parts(panel)
    lab = _aligned_labels(frame, labels)
    names = [c for c in frame.columns if c not in ("entity_id", "as_of")] if features is None else list(features)
    unknown = [c for c in names if c not in frame.columns]
    if unknown:
        raise ValueError(f"features not in the panel: {unknown[:10]}")
    dropped = set(spec.model.drop_features)
    if dropped:
        _check_dropped(sorted(dropped - set(frame.columns)))
        names = [c for c in names if c not in dropped]
    X, categorical = _training_frame(frame, names)
    monotone = (monotone_constraints(names, catalog, categorical) if spec.training.monotone_from_catalog
                else [0] * len(names))
    complete = lab["complete"].to_numpy(bool)
    as_of = frame["as_of"].to_numpy(dtype="datetime64[ns]")
    usable = complete & lab["in_population"].to_numpy(bool)
    if getattr(spec.label, "unobserved", "exclude") == "exclude":
        usable &= lab["observed"].to_numpy(bool)
    y = lab["label"].to_numpy(dtype=np.int8).astype(np.float64)
    positives = pd.Series(y[usable]).groupby(as_of[usable]).sum()
    splits = plan_splits(pd.unique(as_of), pd.unique(as_of[complete]), bt, spec.horizon_days,
                         positives=positives, min_positives=spec.training.calibration_min_positives)
    folds = (entity_folds(frame["entity_id"], bt.calibration.folds, bt.random_seed)
             if bt.calibration.method == "cross_fit" else None)
    return PreparedRows(
        frame=frame, catalog=catalog, spec_hash=spec_hash, labels=lab, names=names, X=X, categorical=categorical,
        monotone=monotone, y=y, usable=usable, as_of=as_of, splits=splits, folds=folds,
    )


def _row_weights(weights: Any, n_rows: int) -> np.ndarray | None:
    """Validated per-row training weights (float64), or None."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n_rows,):
        raise ValueError(f"weights must hold one value per panel row ({n_rows}); got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    return w


def backtest_workers(bt: BacktestSpec, n_fits: int) -> int:
    """Threads that fit splits at once: ``bt.workers`` (None: the cores), at most one per fit."""
    wanted = bt.workers if bt.workers is not None else max((os.cpu_count() or 1) // bt.num_threads, 1)
    return max(1, min(wanted, n_fits))


@contextlib.contextmanager
def _fit_pool(bt: BacktestSpec, n_fits: int) -> Iterator[ThreadPoolExecutor | None]:
    """The threads every booster fit of one training runs in, or None to fit serially.

    One pool for the point-in-time model and its grade model, so the grade model's
    fits queue behind the others' and both cores stay busy to the last fit. On an
    error the fits not yet started are cancelled.
    """
    workers = backtest_workers(bt, n_fits)
    if workers == 1:
        yield None
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="riskml-fit")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _fit_splits(
    splits: list[Split], matrix: TrainingMatrix, y: np.ndarray, usable: np.ndarray, as_of: np.ndarray,
    params: dict[str, Any], rounds: int, bt: BacktestSpec, weight: np.ndarray | None,
    pool: ThreadPoolExecutor | None, folds: np.ndarray | None = None,
) -> Iterator[tuple[lgb.Booster, float, float, dict[str, Any]]]:
    """The fits of every split, in split order, computed in ``pool`` (None: one by one, when asked for).

    Split ``i`` is fitted with seed ``random_seed + i`` whatever thread runs it, so the
    boosters equal the serial run's. The fits are queued at once, the largest (the
    final model) first.
    """
    def fit(i: int) -> tuple[lgb.Booster, float, float, dict[str, Any]]:
        return fit_split(splits[i], matrix, y, usable, as_of, params, rounds, bt, bt.random_seed + i, weight, folds)

    if pool is None:
        return (fit(i) for i in range(len(splits)))
    largest_first = sorted(range(len(splits)), key=lambda i: splits[i].test_as_of is not None)
    futures = {i: pool.submit(fit, i) for i in largest_first}
    return (futures[i].result() for i in range(len(splits)))


def _later(pool: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    """``fn(*args)``: started now in a thread of its own when fits run in a pool, else run when asked for.

    The thread only coordinates (its booster fits go to ``pool``), so it does not take
    a fit's place; serially the work keeps its place in the order.
    """
    if pool is None:
        return lambda: fn(*args)
    runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riskml-coordinate")
    future = runner.submit(fn, *args)
    runner.shutdown(wait=False)
    return future.result


def _predict_margin(booster: lgb.Booster, x: np.ndarray, bt: BacktestSpec,
                    pool: ThreadPoolExecutor | None) -> np.ndarray:
    """Raw margins of the rows of ``x``: each distinct row predicted once, in blocks across ``pool``.

    Rows equal byte for byte get the same margin, and a row's margin does not depend on
    the block it is predicted in, so the margins are those of predicting every row.
    Many panel rows repeat (an entity without conduct records has all-zero counts).
    """
    rows = np.ascontiguousarray(x, dtype=np.float64)
    keys = rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    distinct = rows[first]

    def block(part: np.ndarray) -> np.ndarray:
        return np.asarray(booster.predict(part, raw_score=True, num_threads=bt.num_threads), dtype=np.float64)

    n_blocks = 1 if pool is None else backtest_workers(bt, len(distinct))
    if n_blocks == 1:
        return block(distinct)[inverse]
    bounds = np.linspace(0, len(distinct), n_blocks + 1).astype(int)
    futures = [pool.submit(block, distinct[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]  # type: ignore[union-attr]
    return np.concatenate([f.result() for f in futures])[inverse]


def fit_model(
    panel: Panel,
    labels: pd.DataFrame,
    target: ModelSpecLike = "credit",
    *,
    backtest: BacktestSpecLike = None,
    params: dict[str, Any] | None = None,
    truth: pd.DataFrame | None = None,
    features: Sequence[str] | None = None,
    weights: ArrayLike | None = None,
    show_progress: bool | None = None,
) -> FitResult:
    """Backtest and train a calibrated risk model.

    Parameters
    ----------
    panel : riskml.features.Panel
        The entity x as-of panel (``frame``, ``catalog``, ``spec_hash``).
    labels : DataFrame
        :func:`riskml.labels.make_labels` output for the panel's rows (any row order).
    target : str, path, dict or ModelSpec
        The model spec (``"credit"``, ``"fraud"``, a YAML path, ...).
    backtest : str, path, dict or BacktestSpec, optional
        The backtest spec (default ``experiments/backtest.yaml``).
    params : dict, optional
        LightGBM parameters overriding the spec's ``training.params``.
    truth : DataFrame, optional
        Synthetic truth (``entity_id``, ``quarter_start``, ``p_violation``); adds the
        ``oracle_auc`` metric per split.
    features : sequence of str, optional
        Features to use (default: every feature column of the panel).
    weights : array-like, optional
        One non-negative weight per panel row, in the panel's row order (e.g.
        :func:`riskml.ranking.selection_aware_sample` ``how="weighted"``). The booster,
        early stopping and the calibrator use them; backtest metrics stay unweighted.
    show_progress : bool, optional
        Progress bar over the splits.

    Returns
    -------
    FitResult
        The final :class:`RiskModel`, backtest metrics, out-of-time predictions and
        the split table.

    Raises
    ------
    ValueError
        When labels do not match the panel, a split has too few dates or rows of one
        class, or params try to reweight classes.

    Notes
    -----
    Rows train (and are evaluated) when their label horizon is complete and they are
    in the model's population. See the module docstring for imbalance handling and
    determinism, and :mod:`riskml.models._backtest` for the split scheme.

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> result = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
    ...                    params={"n_estimators": 20})
    >>> result.splits["split"].tolist()
    ['2022-04-01', 'final']
    >>> sorted(set(result.metrics["population"]))
    ['all', 'random']
    """
    started = time.perf_counter()
    spec = load_model_spec(target, check_sources=False)  # the labels are made: no records to check against
    bt = load_backtest_spec(backtest).for_target(spec.name)
    prep = prepare_rows(panel, labels, spec, bt, features)
    # the grade model's fits (as many again) share the threads
    with _fit_pool(bt, 2 * len(prep.splits)) as pool:
        result = _fit_model(prep, panel, labels, spec, bt, backtest=backtest, params=params, truth=truth,
                            features=features, weights=weights, show_progress=show_progress, pool=pool)
    logger.info("fit %s done in %.1f s", spec.name, time.perf_counter() - started)
    return result


def _fit_model(prep: PreparedRows, panel: Any, labels: pd.DataFrame, spec: ModelSpec, bt: BacktestSpec, *,
               backtest: Any, params: dict[str, Any] | None, truth: pd.DataFrame | None,
               features: Sequence[str] | None, weights: Any, show_progress: bool | None,
               pool: ThreadPoolExecutor | None, matrix: TrainingMatrix | None = None) -> FitResult:
    """:func:`fit_model` on prepared rows, its booster fits in ``pool`` (None: one after another).

    ``matrix`` is ``TrainingMatrix.from_frame(prep.X)`` when the caller has it already.

    The grade model's backtest starts as soon as this one's fits are queued, in the
    same pool; serially it follows this one, as it always has.
    """
    frame, catalog, spec_hash, lab = prep.frame, prep.catalog, prep.spec_hash, prep.labels
    names, X, categorical, monotone = prep.names, prep.X, prep.categorical, prep.monotone
    y, usable, as_of, splits = prep.y, prep.usable, prep.as_of, prep.splits
    weight = _row_weights(weights, len(frame))
    lgb_params, rounds = lightgbm_params(spec, params, bt, monotone)
    logger.info("fit %s (%s): %d rows, %d features (%d categorical, %d monotone), %d test date(s) + final",
                spec.name, spec.model.kind, len(frame), len(names), len(categorical), sum(m != 0 for m in monotone),
                len(splits) - 1)

    metric_parts, prediction_parts, infos = [], [], []
    final: tuple[Any, float, float] | None = None
    scorecard = spec.model.kind == "scorecard"
    if scorecard and params:
        raise ValueError(f"params are LightGBM parameters, but the {spec.name} spec has model kind 'scorecard'; set "
                         "its settings in the spec's model: section (max_bins, min_iv, ...)")
    if scorecard:
        matrix = None
    elif matrix is None:
        matrix = TrainingMatrix.from_frame(X)
    if scorecard:  # the calibration is folded into the points: the table's logit is calibrated
        fits: Any = (fit_scorecard_split(split, prep, spec, bt, bt.random_seed + i, weight)
                     for i, split in enumerate(splits))
    else:
        fits = _fit_splits(splits, matrix, y, usable, as_of, lgb_params, rounds, bt, weight, pool, prep.folds)
    grade_job = _later(pool, _fit_grade_model, prep, panel, labels, spec, backtest, params, features, weights,
                       show_progress, pool)
    progress = track(fits, f"backtest {spec.name}", total=len(splits), show=show_progress)
    for split, fit in zip(splits, progress, strict=True):
        if scorecard:
            booster, info = fit
            a, b = 1.0, 0.0
        else:
            booster, a, b, info = fit
        if split.test_as_of is None:
            final = (booster, a, b)
            infos.append(info)
            logger.info("final model: %d rounds, calibration a=%.3f b=%.3f (%.1f s)", info["rounds"], a, b,
                        info["seconds"])
            continue
        at_test = as_of == np.datetime64(split.test_as_of, "ns")
        test_rows = np.flatnonzero(usable & at_test)
        rows_x = X.iloc[test_rows] if matrix is None else matrix.rows(test_rows)
        margin = booster.predict(rows_x, raw_score=True, num_threads=bt.num_threads)  # fits may still run
        pred = pd.DataFrame({
            "split": split.test_as_of,
            "entity_id": frame["entity_id"].to_numpy()[test_rows],
            "as_of": as_of[test_rows],
            "raw_margin": margin,
            "probability": _sigmoid(a * margin + b),
            "label": y[test_rows].astype(np.int8),
            "random_inspected": lab["random_inspected"].to_numpy(bool)[test_rows],
        })
        pred["entity_id"] = pred["entity_id"].astype("str")
        metrics = evaluate(pred, split=split.test_as_of, top_k=bt.top_k, n_bins=bt.ece_bins)
        counts = label_counts(lab, at_test, usable)
        metrics = pd.concat([metrics, _extra_metrics(split.test_as_of, pred, margin, counts, bt.ece_bins)],
                            ignore_index=True)
        info["test_rows"] = len(test_rows)
        info.update({f"test_{k}": v for k, v in counts.items()})
        infos.append(info)
        prediction_parts.append(pred)
        metric_parts.append(metrics)
        got = metrics.set_index(["population", "metric"])["value"]
        logger.info("split %s: AUC %.4f (random %.4f), ECE %.4f, %d rounds (%.1f s)", split.name,
                    got.get(("all", "auc"), np.nan), got.get(("random", "auc"), np.nan),
                    got.get(("all", "calibration_error"), np.nan), info["rounds"], info["seconds"])

    metrics = pd.concat(metric_parts, ignore_index=True) if metric_parts else pd.DataFrame(columns=list(METRIC_COLUMNS))
    if truth is not None:
        tested = [s.test_as_of for s in splits if s.test_as_of is not None]
        lab_rows = pd.concat([frame[["entity_id", "as_of"]], lab], axis=1)
        lab_rows["complete"] = usable  # unobserved rows are unlabeled for the oracle too
        lab_rows = lab_rows[lab_rows["as_of"].isin(tested)]
        oracle = oracle_auc(truth, lab_rows, spec.horizon_days)
        metrics = pd.concat([metrics, pd.DataFrame({
            "split": oracle["as_of"], "population": oracle["population"], "metric": "oracle_auc",
            "value": oracle["oracle_auc"]})], ignore_index=True)
    metrics = metrics.sort_values(["split", "population", "metric"], ignore_index=True)
    predictions = (pd.concat(prediction_parts, ignore_index=True) if prediction_parts
                   else pd.DataFrame(columns=list(PREDICTION_COLUMNS)))
    split_table = pd.DataFrame(infos)

    if final is None:  # plan_splits always ends with the final split
        raise RuntimeError("the backtest plan has no final split")
    booster, a, b = final
    model_class = ScorecardModel if scorecard else RiskModel
    used_params = {"kind": "scorecard", **spec.model.model_dump(exclude={"kind"})} if scorecard else lgb_params
    model = model_class.from_parts(
        spec.name, booster, X.iloc[:0], spec_hash=spec_hash, calib_a=a, calib_b=b, model_spec=spec.raw,
        catalog=catalog, metadata=_metadata(spec, bt, used_params, 0 if scorecard else rounds, splits, metrics,
                                            split_table),
    )
    grade = grade_job()
    if grade is not None:
        model = dataclasses.replace(model, grade_model=grade.model)
    return FitResult(model=model, metrics=metrics, predictions=predictions, splits=split_table, grade=grade)


def _fit_grade_model(prep: PreparedRows, panel: Any, labels: pd.DataFrame, spec: ModelSpec, backtest: Any,
                     params: dict[str, Any] | None, features: Sequence[str] | None, weights: Any,
                     show_progress: bool | None, pool: ThreadPoolExecutor | None) -> FitResult | None:
    """The through-the-cycle grade model the spec's ``grade_score`` declares, or None.

    The same backtest on the conduct features (:func:`grade_features`), monotone in
    their declared direction; with ``calibration: long_run`` the intercept is moved so
    the mean probability over every complete training row equals their pooled rate.
    """
    declared = grade_score_spec(spec.raw, spec.path or "<model spec>")
    if declared is None or declared.basis == "point_in_time":
        return None
    if spec.model.kind == "scorecard":
        return None  # a published scorecard is its own grade
    frame, catalog = prep.frame, prep.catalog  # the point-in-time fit's, already aligned
    try:
        names = grade_features(catalog, declared, available=list(features) if features is not None else
                               [c for c in frame.columns if c not in ("entity_id", "as_of")])
    except ValueError as exc:
        logger.warning("%s: the grade follows the point-in-time probability: %s", spec.name, exc)
        return None
    # The grade model's features are the grade_score declaration's: the point-in-time
    # model's drop_features do not apply to it (a feature may rank grades yet not inspections).
    inner = dataclasses.replace(spec, raw={**spec.raw, "grade_score": {"basis": "point_in_time"}},
                                training=spec.training.model_copy(update={"monotone_from_catalog": True}),
                                model=spec.model.model_copy(update={"drop_features": []}))
    logger.info("fit %s grade model (%s): %d conduct features", spec.name, declared.basis, len(names))
    inner_bt = load_backtest_spec(backtest).for_target(inner.name)
    inner_prep = prepare_rows(panel, labels, inner, inner_bt, names)
    matrix = TrainingMatrix.from_frame(inner_prep.X)  # also read by the long-run calibration
    fit = _fit_model(inner_prep, panel, labels, inner, inner_bt, backtest=backtest, params=params, truth=None,
                     features=names, weights=weights, show_progress=show_progress, pool=pool, matrix=matrix)
    model = dataclasses.replace(fit.model, model_spec=spec.raw)
    if declared.calibration == "long_run":
        lab, as_of = prep.labels, prep.as_of
        train_to = np.datetime64(pd.Timestamp(fit.splits["train_to"].iloc[-1]), "ns")
        cal = [np.datetime64(pd.Timestamp(d), "ns") for d in str(fit.splits["calibration_as_of"].iloc[-1]).split(",")]
        rows = (lab["complete"].to_numpy(bool) & lab["in_population"].to_numpy(bool)
                & ((as_of <= train_to) | np.isin(as_of, cal)))
        # other fits may still run: every LightGBM call carries its thread count
        margin = _predict_margin(model.booster, matrix.rows(np.flatnonzero(rows)), inner_bt, pool)
        b = long_run_intercept(margin, lab["label"].to_numpy(dtype=np.float64)[rows], model.calib_a, model.calib_b)
        logger.info("grade model: long-run intercept %.3f (latest-quarter Platt %.3f) over %d rows", b,
                    model.calib_b, int(rows.sum()))
        model = dataclasses.replace(model, calib_b=b, metadata={**model.metadata, "grade_basis": declared.basis,
                                                                 "calibration": "long_run",
                                                                 "latest_calib_b": fit.model.calib_b})
    return dataclasses.replace(fit, model=model)


def label_counts(lab: pd.DataFrame, rows: np.ndarray, usable: np.ndarray) -> dict[str, int]:
    """Rows of one date by label status: in the population with a covered horizon
    (``complete``), of which ``observed`` / ``unobserved``, and ``labeled`` (used).

    Examples
    --------
    >>> lab = pd.DataFrame({"complete": [True, True, True, False], "in_population": True,
    ...                     "observed": [True, False, True, True]})
    >>> label_counts(lab, np.ones(4, bool), np.array([True, False, True, False]))
    {'complete': 3, 'observed': 2, 'unobserved': 1, 'labeled': 2}
    """
    base = rows & lab["complete"].to_numpy(bool) & lab["in_population"].to_numpy(bool)
    observed = base & lab["observed"].to_numpy(bool)
    return {"complete": int(base.sum()), "observed": int(observed.sum()), "unobserved": int((base & ~observed).sum()),
            "labeled": int((rows & usable).sum())}


def _extra_metrics(split: Any, pred: pd.DataFrame, margin: np.ndarray, counts: dict[str, int],
                   n_bins: int) -> pd.DataFrame:
    """Row counts by label status and the booster's own (uncalibrated) calibration error."""
    rows = [("all", f"rows_{k}", float(v)) for k, v in counts.items() if k != "complete"]
    y = pred["label"].to_numpy()
    raw = _sigmoid(margin)
    if len(y):
        rows.append(("all", "calibration_error_uncalibrated", expected_calibration_error(y, raw, n_bins)))
        rnd = pred["random_inspected"].to_numpy(bool)
        if rnd.any():
            rows.append(("random", "calibration_error_uncalibrated",
                         expected_calibration_error(y[rnd], raw[rnd], n_bins)))
    return pd.DataFrame({"split": split, "population": [r[0] for r in rows], "metric": [r[1] for r in rows],
                         "value": [r[2] for r in rows]})


def _metadata(spec: ModelSpec, bt: BacktestSpec, params: dict[str, Any], rounds: int, splits: list[Split],
              metrics: pd.DataFrame, split_table: pd.DataFrame) -> dict[str, Any]:
    import lightgbm as lgb

    final = splits[-1]
    latest: dict[str, dict[str, float]] = {}
    if len(metrics):
        last = metrics[metrics["split"] == metrics["split"].max()]
        for population, metric, value in last[["population", "metric", "value"]].itertuples(index=False):
            latest.setdefault(str(population), {})[str(metric)] = float(value)
    return {
        "trained_at": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "riskml_version": __version__,
        "lightgbm_version": lgb.__version__,
        "train_as_of": [str(d.date()) for d in final.train_as_of],
        "calibration_as_of": [str(d.date()) for d in final.calibration_as_of],
        "test_as_of": [str(s.test_as_of.date()) for s in splits if s.test_as_of is not None],
        "horizon_days": spec.horizon_days,
        "params": {**{k: v for k, v in params.items() if k != "monotone_constraints"}, "max_rounds": rounds,
                   "rounds": int(split_table["rounds"].iloc[-1])},
        "monotone_features": int(sum(1 for m in params.get("monotone_constraints", []) if m)),
        "backtest": bt.model_dump(mode="json"),
        "metrics": latest,
    }
