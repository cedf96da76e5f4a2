"""The temporal backtest: which as-of dates train, calibrate and test each split.

``experiments/backtest.yaml`` is read into a :class:`BacktestSpec`;
:func:`plan_splits` turns it and the panel's as-of dates into :class:`Split` objects.
The scheme (also documented in the YAML):

* a test date ``T`` is scored by a model whose every label window ended before
  ``T``: eligible training dates are complete dates ``d <= T - gap_days``
  (``gap_days`` defaults to the label horizon);
* the latest ``calibration.dates`` eligible dates are held out of the booster fit; the
  Platt calibrator is fitted on them and early stopping watches them;
* the booster trains on eligible dates before the calibration slice, ``d <= first
  calibration date - calibration.gap_days`` (default ``gap_days``), so the
  calibration slice is out of time for the booster in the same way the test date is
  for the model (at ``gap_days: 0`` the slice is still held out of the booster);
* the final model follows the same scheme with all complete dates eligible.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator

from riskml._specs import SpecModel, load_yaml, parse_spec, resolve_spec

__all__ = ["BacktestSpec", "BacktestSpecLike", "CalibrationSpec", "Split", "load_backtest_spec", "plan_splits"]

logger = logging.getLogger(__name__)

_LAST = re.compile(r"^\s*last\s+(\d+)\s*$")


class CalibrationSpec(SpecModel):
    """How the out-of-time calibration slice is chosen (see the module docstring).

    Attributes
    ----------
    dates : int
        How many of the latest eligible as-of dates are held out of the booster fit;
        the Platt calibrator is fitted on them and early stopping watches them (e.g.
        4 for a rare target, whose one quarter holds too few positives).
    gap_days : int or None
        Days from the booster's last training date to the first calibration date
        (None: the backtest's ``gap_days``, itself the label horizon by default). At 0
        the slice is still held out of the booster.
    early_stopping_rounds : int
        Boosting stops when the AUC on the calibration slice has not improved for this
        many rounds, and the model keeps its best round; 0: train every round of
        ``training.params``.
    early_stopping_metric : {"auc", "binary_logloss"}
        What early stopping watches. AUC on a slice with a hundred positives is
        noisy and may peak after a couple of rounds; the log-loss is smoother (small
        data).
    refit : bool
        After the calibrator is fitted, refit the booster with the rounds found on
        the training and calibration dates together (the calibration slice and its
        gap are then not lost to the booster; small data); the calibrator fitted on
        the held-out slice is kept. False: the booster fitted before the slice ships.
    smooth_targets : bool
        Fit the Platt calibrator to Platt's small-sample targets ``(N+ + 1) / (N+ +
        2)`` and ``1 / (N- + 2)`` instead of 1 and 0 (:func:`riskml.models._train.fit_platt`;
        small data: a slice of a few hundred rows). False: plain maximum likelihood.
    method : {"holdout", "cross_fit"}
        ``holdout``: the calibrator is fitted on the held-out calibration slice, out
        of time. ``cross_fit`` (small static tables): the rows of the training and
        calibration dates are pooled, the calibrator is fitted on out-of-fold margins
        of all of them (entities dealt into ``folds`` folds) and the model is refitted
        on all of them (``refit`` is implied; early stopping still picks the rounds on
        the slice). The calibrator is then no longer out of time
        (:mod:`riskml.models._crossfit`).
    folds : int
        The folds of ``cross_fit`` (ignored by ``holdout``).

    Examples
    --------
    >>> from riskml.models._backtest import CalibrationSpec
    >>> cal = CalibrationSpec(dates=4)
    >>> cal.dates, cal.gap_days, cal.early_stopping_rounds, cal.refit
    (4, None, 30, False)
    """

    dates: int = Field(default=1, ge=1)
    gap_days: int | None = Field(default=None, ge=0)
    early_stopping_rounds: int = Field(default=30, ge=0)
    early_stopping_metric: Literal["auc", "binary_logloss"] = "auc"
    refit: bool = False
    smooth_targets: bool = False
    method: Literal["holdout", "cross_fit"] = "holdout"
    folds: int = Field(default=5, ge=2)


class BacktestSpec(SpecModel):
    """The temporal backtest of ``experiments/backtest.yaml``.

    Attributes
    ----------
    test_dates : str or list of dates
        ``"last N"`` (the latest N as-of dates with a complete label horizon) or
        explicit dates.
    gap_days : int or None
        Days from the last eligible training date to the test date (None: the label
        horizon).
    min_train_dates : int
        Minimum as-of dates in a booster fit.
    calibration : CalibrationSpec
        The held-out calibration slice.
    max_train_rows : int
        Negatives are subsampled so one fit reads at most this many rows.
    top_k : list of int or float
        Inspection budgets (counts or shares) for precision, recall and lift.
    ece_bins : int
        Equal-frequency bins of the calibration error.
    random_seed, num_threads : int
        Determinism: the same seed and thread count give the same model.
    workers : int or None
        Splits fitted at once, each in its own thread with ``num_threads`` LightGBM
        threads (None: one per core); the grade model's splits share these threads.
        Any value gives the same models.
    targets : dict of str to dict
        Per-target overrides of the keys above, one level deep, e.g. ``{fraud:
        {calibration: {dates: 4}}}`` (see :meth:`for_target`). Empty: every target uses
        the same settings.

    Examples
    --------
    >>> spec = load_backtest_spec()
    >>> spec.n_last, spec.top_k
    (4, [100, 500, 0.05])
    """

    test_dates: str | list[Any] = "last 4"
    gap_days: int | None = Field(default=None, ge=0)
    min_train_dates: int = Field(default=4, ge=1)
    calibration: CalibrationSpec = Field(default_factory=CalibrationSpec)
    max_train_rows: int = Field(default=300_000, ge=1_000)
    top_k: list[int | float] = Field(default_factory=lambda: [100, 500, 0.05])
    ece_bins: int = Field(default=10, ge=1)
    random_seed: int = 0
    num_threads: int = Field(default=1, ge=1)
    workers: int | None = Field(default=None, ge=1)
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def for_target(self, target: str) -> BacktestSpec:
        """This spec with the ``targets.<target>`` overrides applied (one level deep).

        Rare targets (fraud) need a wider calibration slice than common ones; the
        overrides say so per target without a second backtest file.

        Examples
        --------
        >>> spec = load_backtest_spec({"targets": {"fraud": {"calibration": {"dates": 4}}}})
        >>> spec.for_target("fraud").calibration.dates, spec.for_target("credit").calibration.dates
        (4, 1)
        """
        override = self.targets.get(target)
        if not override:
            return self
        merged = self.model_dump(mode="json")
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        merged["targets"] = {}
        return type(self).model_validate(merged)

    @field_validator("test_dates")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not _LAST.match(value):
                raise ValueError("'last N' (e.g. 'last 4') or a list of dates")
            return value
        try:
            stamps = [pd.Timestamp(v) for v in value]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"a list of dates: {exc}") from None
        if not stamps:
            raise ValueError("at least one test date")
        return [s.strftime("%Y-%m-%d") for s in stamps]

    @field_validator("top_k")
    @classmethod
    def _top_k(cls, value: list[Any]) -> list[Any]:
        for k in value:
            if isinstance(k, bool) or not (k >= 1 and float(k).is_integer() or 0 < k < 1):
                raise ValueError(f"each top_k is a count >= 1 or a share in (0, 1), got {k!r}")
        return [int(k) if float(k).is_integer() else float(k) for k in value]

    @property
    def n_last(self) -> int | None:
        """N of ``"last N"``; None for explicit dates."""
        if isinstance(self.test_dates, str):
            return int(_LAST.match(self.test_dates).group(1))  # type: ignore[union-attr]
        return None


#: What a ``backtest`` parameter accepts: a :class:`BacktestSpec`, a YAML path, a mapping
#: of keys overriding the default spec's, or None for ``experiments/backtest.yaml``.
BacktestSpecLike = BacktestSpec | str | Path | Mapping[str, Any] | None


def load_backtest_spec(spec: BacktestSpecLike = None) -> BacktestSpec:
    """Read a backtest spec: None (bundled ``experiments/backtest.yaml``), a name, a path or a mapping.

    A mapping overrides keys of the bundled spec (nested mappings such as
    ``calibration`` and ``targets`` key by key), so ``{"test_dates": "last 1"}`` changes
    the test dates and keeps everything else, per-target settings included
    (``{"targets": {"fraud": {}}}`` drops fraud's).

    Raises
    ------
    riskml.SpecError
        Naming the file and the key that does not validate.

    Examples
    --------
    >>> load_backtest_spec({"test_dates": ["2024-01-01"], "gap_days": 180}).gap_days
    180
    >>> load_backtest_spec({"test_dates": "first 2"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml._specs.SpecError: <backtest spec>: test_dates: expected ...'last N' (e.g. 'last 4') or a list of dates (got 'first 2')
    """
    if isinstance(spec, BacktestSpec):
        return spec
    if isinstance(spec, dict):
        # A mapping overrides keys of the bundled spec (mappings one level deep), so
        # {"test_dates": "last 1"} keeps the per-target settings such as fraud's.
        merged = dict(load_yaml(resolve_spec("experiments", "backtest")))
        for key, value in spec.items():
            base = merged.get(key)
            merged[key] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
        return parse_spec(BacktestSpec, merged, "<backtest spec>")
    path = resolve_spec("experiments", "backtest" if spec is None else str(spec))
    return parse_spec(BacktestSpec, load_yaml(path), path)


@dataclass(frozen=True)
class Split:
    """One fit of the backtest.

    Attributes
    ----------
    name : str
        The test date (``YYYY-MM-DD``), or ``"final"`` for the model that ships.
    test_as_of : Timestamp or None
        The scored date (None for the final model).
    train_as_of : tuple of Timestamp
        Dates the booster is fitted on.
    calibration_as_of : tuple of Timestamp
        Held-out dates the calibrator is fitted on (and early stopping watches).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.models import load_backtest_spec
    >>> from riskml.models._backtest import plan_splits
    >>> dates = pd.date_range("2020-01-01", periods=12, freq="QS")
    >>> spec = load_backtest_spec({"test_dates": "last 1", "min_train_dates": 2})
    >>> split = plan_splits(dates, dates[:10], spec, horizon_days=365)[0]
    >>> split.name, len(split.train_as_of), str(split.calibration_as_of[0].date())
    ('2022-04-01', 2, '2021-04-01')
    """

    name: str
    test_as_of: pd.Timestamp | None
    train_as_of: tuple[pd.Timestamp, ...]
    calibration_as_of: tuple[pd.Timestamp, ...]


def plan_splits(
    as_of_dates: Any,
    complete_dates: Any,
    spec: BacktestSpec,
    horizon_days: int,
    *,
    positives: pd.Series | None = None,
    min_positives: int = 0,
) -> list[Split]:
    """The backtest splits (test dates ascending), then the final split.

    Parameters
    ----------
    as_of_dates : array-like of dates
        Every as-of date of the panel.
    complete_dates : array-like of dates
        The dates whose label horizon is complete.
    spec : BacktestSpec
    horizon_days : int
        The label horizon (the default gap).
    positives : Series, optional
        Usable positive labels per as-of date (index: dates). With
        ``min_positives``, the calibration slice grows to earlier eligible dates
        until it holds ``min_positives`` positives, as long as ``min_train_dates``
        remain for the booster; a warning says when it cannot.
    min_positives : int, default 0
        The positives the calibration slice should hold (the model spec's
        ``training.calibration_min_positives``).

    Raises
    ------
    ValueError
        When a test date is not a complete as-of date of the panel or has fewer than
        ``min_train_dates`` dates to train on.

    Examples
    --------
    >>> dates = pd.date_range("2020-01-01", periods=16, freq="QS")
    >>> spec = load_backtest_spec({"test_dates": "last 2", "min_train_dates": 2})
    >>> splits = plan_splits(dates, dates[:12], spec, horizon_days=365)
    >>> [(s.name, str(s.calibration_as_of[0].date()), str(s.train_as_of[-1].date())) for s in splits]
    [('2022-07-01', '2021-07-01', '2020-07-01'), ('2022-10-01', '2021-10-01', '2020-10-01'), ('final', '2022-10-01', '2021-10-01')]
    """
    dates = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(as_of_dates))).sort_values()
    complete = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(complete_dates))).sort_values()
    if len(complete) == 0:
        raise ValueError("no as-of date has a complete label horizon: the records end too early to train")
    gap = pd.Timedelta(days=horizon_days if spec.gap_days is None else spec.gap_days)
    cal_gap_days = spec.calibration.gap_days
    cal_gap = gap if cal_gap_days is None else pd.Timedelta(days=cal_gap_days)

    if spec.n_last is not None:
        tests = list(complete[-spec.n_last:])
    else:
        tests = [pd.Timestamp(d) for d in spec.test_dates]
        for t in tests:
            if t not in dates:
                raise ValueError(f"test date {t.date()} is not an as-of date of the panel ({dates[0].date()} .. {dates[-1].date()})")
            if t not in complete:
                raise ValueError(f"test date {t.date()} has no complete label horizon (latest complete: {complete[-1].date()})")
        tests = sorted(set(tests))

    def split(name: str, test: pd.Timestamp | None, eligible: pd.DatetimeIndex) -> Split:
        where = f"test date {name}" if test is not None else "the final model"
        if len(eligible) < spec.calibration.dates + spec.min_train_dates:
            raise ValueError(
                f"{where}: {len(eligible)} eligible training date(s) (complete, at least {gap.days} days earlier), "
                f"need {spec.calibration.dates} for calibration + {spec.min_train_dates} for training; "
                "use fewer or later test dates, a smaller gap, or a longer panel"
            )
        cal = eligible[-spec.calibration.dates:]

        def train_of(cal: pd.DatetimeIndex) -> pd.DatetimeIndex:
            return eligible[(eligible < cal[0]) & (eligible <= cal[0] - cal_gap)]  # held out even at gap 0

        if positives is not None and min_positives > 0:
            cal = _grow(cal, eligible, train_of, positives, min_positives, spec.min_train_dates, where)
        train = train_of(cal)
        if len(train) < spec.min_train_dates:
            raise ValueError(
                f"{where}: {len(train)} as-of date(s) remain for the booster fit after holding out the calibration "
                f"date(s) {[str(d.date()) for d in cal]} with a {cal_gap.days}-day gap; need {spec.min_train_dates}"
            )
        return Split(name, test, tuple(train), tuple(cal))

    splits = [split(str(t.date()), t, complete[complete <= t - gap]) for t in tests]
    splits.append(split("final", None, complete))
    return splits


def _grow(cal: pd.DatetimeIndex, eligible: pd.DatetimeIndex, train_of: Any, positives: pd.Series,
          min_positives: int, min_train_dates: int, where: str) -> pd.DatetimeIndex:
    """The calibration slice widened to earlier dates until it holds ``min_positives`` positives.

    A date joins the slice only while the booster keeps ``min_train_dates`` dates
    holding at least as many positives as the slice: the booster needs the data more
    than the two-parameter calibrator does.
    """
    count = positives.reindex(eligible, fill_value=0)

    def held(dates: pd.DatetimeIndex) -> int:
        return int(count.loc[dates].sum())

    while held(cal) < min_positives:
        earlier = eligible[eligible < cal[0]]
        wider = eligible[eligible >= earlier[-1]] if len(earlier) else cal
        train = train_of(wider)
        if len(earlier) == 0 or len(train) < min_train_dates or held(train) < held(wider):
            logger.warning(
                "%s: the calibration slice %s..%s holds %d positive label(s), fewer than the %d asked for "
                "(training.calibration_min_positives), and cannot grow without leaving the booster fewer than %d "
                "date(s) or fewer positives than the slice; the calibration is uncertain: use a longer panel, more "
                "calibration dates or a lower minimum",
                where, cal[0].date(), cal[-1].date(), held(cal), min_positives, min_train_dates)
            break
        cal = wider
    return cal
