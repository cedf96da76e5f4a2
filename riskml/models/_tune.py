"""Hyper-parameter tuning (超参数调优) of the LightGBM booster: the specs and the pure objective.

The verb :func:`riskml.tune` searches LightGBM parameters with Optuna over the temporal
backtest that :func:`riskml.models.fit_model` runs; its MLflow runs are written by
:class:`riskml.tracking._tuning.TuningRuns`. What belongs to the model layer is here:

* :class:`TuningSpec` (``experiments/tuning.yaml``, read by :func:`load_tuning_spec`):
  the search space (:class:`ParamSpec` per parameter), fixed parameters, the budget
  (trials and/or seconds), the objective, the TPE sampler and the pruner;
  :func:`suggest_params` draws a trial's parameters from the search space;
* the objective: :func:`prepare_tuning` prepares the backtest rows once, and
  :func:`split_scores` fits a trial's parameters laid over the model spec's
  ``training.params`` on the backtest's test splits in ascending date order, with the
  very same per-split fit (booster, early stopping, Platt calibration, negative
  subsampling and seeds) as ``fit_model``, so a trial's per-split AUC equals the
  backtest AUC ``riskml.train`` reports with those parameters. It yields split by
  split, so the verb reports the running mean AUC after each and the pruner can stop
  the trial early; the trial's value is the mean over all test dates (``objective:
  mean``) or the AUC of the latest test date alone (``objective: latest``, one fit per
  trial). The final model of the backtest is not fitted per trial: it is never scored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from riskml._specs import SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.features import Panel
from riskml.models._backtest import BacktestSpec, Split
from riskml.models._bundle import _sigmoid
from riskml.models._metrics import auc
from riskml.models._spec import ModelSpec, normalise_params
from riskml.models._train import TrainingMatrix, fit_split, lightgbm_params, prepare_rows

__all__ = [
    "TuningSpecLike",
    "ParamSpec",
    "PrunerSpec",
    "SamplerSpec",
    "SplitScore",
    "TuningRows",
    "TuningSpec",
    "load_tuning_spec",
    "prepare_tuning",
    "split_scores",
    "suggest_params",
]


class ParamSpec(SpecModel):
    """How one LightGBM parameter is sampled.

    Attributes
    ----------
    type : "int", "float" or "categorical"
        How Optuna draws the parameter: an integer or a float between ``low`` and
        ``high``, or one of ``choices``.
    low, high : float, optional
        Inclusive bounds of ``int`` and ``float`` parameters.
    log : bool
        Sample on a log scale (bounds must be positive; not with ``step``).
    step : float, optional
        Grid step of ``int`` (default 1) and ``float`` parameters.
    choices : list, optional
        The values of a ``categorical`` parameter.

    Examples
    --------
    >>> ParamSpec(type="float", low=0.01, high=0.2, log=True).log
    True
    >>> ParamSpec(type="int", low=0, high=10, log=True)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: ...log scale needs low > 0...
    """

    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(default=None, gt=0)
    choices: list[str | int | float | bool | None] | None = None

    @model_validator(mode="after")
    def _check(self) -> ParamSpec:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs a non-empty 'choices' list")
            if self.low is not None or self.high is not None or self.log or self.step is not None:
                raise ValueError("a categorical parameter takes only 'choices' (no low/high/log/step)")
            return self
        if self.choices is not None:
            raise ValueError(f"'choices' is only for categorical parameters, not {self.type}")
        if self.low is None or self.high is None:
            raise ValueError(f"an {self.type} parameter needs 'low' and 'high'")
        if not self.low < self.high:
            raise ValueError(f"low < high, got low={self.low} and high={self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0, got low={self.low}")
        if self.log and self.step is not None:
            raise ValueError("'log' and 'step' cannot be combined (Optuna samples one or the other)")
        if self.type == "int":
            for key, value in (("low", self.low), ("high", self.high), ("step", self.step)):
                if value is not None and not float(value).is_integer():
                    raise ValueError(f"an int parameter needs an integer {key}, got {value}")
        return self


class SamplerSpec(SpecModel):
    """The TPE sampler (seeded by :func:`tune`'s ``seed``).

    Attributes
    ----------
    n_startup_trials : int
        Trials drawn at random before TPE models the search space (e.g. 10).
    multivariate : bool
        Model the parameters jointly (multivariate TPE) rather than one by one.
    """

    n_startup_trials: int = Field(default=10, ge=0)
    multivariate: bool = True


class PrunerSpec(SpecModel):
    """The pruner that stops trials between backtest splits.

    Attributes
    ----------
    kind : {"median", "successive_halving", "none"}
        ``median``: stop a trial whose running mean AUC is below the median of earlier
        trials at the same split; ``successive_halving``: asynchronous successive
        halving over splits; ``none``: every trial runs every split.
    n_startup_trials : int
        ``median`` only: the first trials of a study, which are never pruned.
    n_warmup_steps : int
        ``median`` only: splits a trial runs before it can be pruned (1: from its
        second split on, since one split is noisy).
    min_resource : int
        ``successive_halving`` only: splits a trial runs before the first rung.
    reduction_factor : int
        ``successive_halving`` only: 1 in this many trials is promoted at each rung.

    Examples
    --------
    >>> PrunerSpec(kind="none").build().__class__.__name__
    'NopPruner'
    """

    kind: Literal["median", "successive_halving", "none"] = "median"
    n_startup_trials: int = Field(default=5, ge=0)
    n_warmup_steps: int = Field(default=1, ge=0)
    min_resource: int = Field(default=1, ge=1)
    reduction_factor: int = Field(default=2, ge=2)

    def build(self) -> Any:
        """The Optuna pruner."""
        import optuna

        if self.kind == "median":
            return optuna.pruners.MedianPruner(n_startup_trials=self.n_startup_trials,
                                               n_warmup_steps=self.n_warmup_steps)
        if self.kind == "successive_halving":
            return optuna.pruners.SuccessiveHalvingPruner(min_resource=self.min_resource,
                                                          reduction_factor=self.reduction_factor)
        return optuna.pruners.NopPruner()


class TuningSpec(SpecModel):
    """The tuning spec of ``experiments/tuning.yaml`` (see the file for each key).

    Attributes
    ----------
    n_trials : int or None
        Trial budget (None: bounded by ``timeout`` only).
    timeout : float or None
        Seconds budget; a running trial finishes first.
    objective : "mean" or "latest"
        Mean AUC over the backtest's test dates, or the AUC of the latest one.
    population : "all" or "random"
        The rows the AUC is computed on (every entity, or the random-inspection sample).
    sampler : SamplerSpec
        The TPE sampler's settings.
    pruner : PrunerSpec
        Which pruner stops poor trials between backtest splits.
    search_space : dict of str -> ParamSpec
        The sampled parameters by name (LightGBM's or their scikit-learn style
        aliases), at least one; none may also be in ``fixed``.
    fixed : dict
        Parameters every trial uses as they are.
    retrain : bool
        Train, log and register the model with the best parameters.

    Examples
    --------
    >>> spec = load_tuning_spec()
    >>> spec.objective, spec.search_space["learning_rate"].log
    ('mean', True)
    """

    n_trials: int | None = Field(default=30, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    objective: Literal["mean", "latest"] = "mean"
    population: Literal["all", "random"] = "all"
    sampler: SamplerSpec = Field(default_factory=SamplerSpec)
    pruner: PrunerSpec = Field(default_factory=PrunerSpec)
    search_space: dict[str, ParamSpec]
    fixed: dict[str, Any] = Field(default_factory=dict)
    retrain: bool = True

    @model_validator(mode="after")
    def _check(self) -> TuningSpec:
        if not self.search_space:
            raise ValueError("search_space needs at least one parameter")
        sampled = normalise_params(dict.fromkeys(self.search_space, 0), where="search_space")
        fixed = normalise_params(self.fixed, where="fixed")
        both = sorted(set(sampled) & set(fixed))
        if both:
            raise ValueError(f"parameter(s) {both} are both in search_space and fixed; keep one")
        return self


#: What a spec parameter accepts: a :class:`TuningSpec`, a YAML path, its mapping, or None for ``experiments/tuning.yaml``.
TuningSpecLike = TuningSpec | str | Path | Mapping[str, Any] | None


def load_tuning_spec(spec: TuningSpecLike = None) -> TuningSpec:
    """Read a tuning spec: None (bundled ``experiments/tuning.yaml``), a name, a path or a mapping.

    Raises
    ------
    riskml.SpecError
        Naming the file and the key that does not validate.

    Examples
    --------
    >>> load_tuning_spec({"search_space": {"num_leaves": {"type": "int", "low": 7, "high": 63}}}).n_trials
    30
    >>> load_tuning_spec({"search_space": {"is_unbalance": {"type": "categorical", "choices": [True]}}})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml._specs.SpecError: <tuning spec>: expected ...'is_unbalance' is set by riskml...
    """
    if isinstance(spec, TuningSpec):
        return spec
    if isinstance(spec, Mapping):
        return parse_spec(TuningSpec, dict(spec), "<tuning spec>")
    path = resolve_spec("experiments", "tuning" if spec is None else str(spec))
    return parse_spec(TuningSpec, load_yaml(path), path)


def suggest_params(trial: Any, space: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """Draw one value per parameter of ``space`` from an Optuna trial.

    Parameters
    ----------
    trial : optuna.Trial
    space : mapping of str -> ParamSpec

    Returns
    -------
    dict
        Parameter name -> value (int, float or a choice).

    Examples
    --------
    >>> import optuna
    >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    >>> space = {"num_leaves": ParamSpec(type="int", low=7, high=63, log=True),
    ...          "boosting": ParamSpec(type="categorical", choices=["gbdt", "dart"])}
    >>> params = suggest_params(study.ask(), space)
    >>> 7 <= params["num_leaves"] <= 63, params["boosting"] in ("gbdt", "dart")
    (True, True)
    """
    out: dict[str, Any] = {}
    for name, p in space.items():
        if p.type == "categorical":
            out[name] = trial.suggest_categorical(name, list(p.choices or []))
        elif p.type == "int":
            low, high = int(p.low or 0), int(p.high or 0)  # both set: checked by ParamSpec
            out[name] = trial.suggest_int(name, low, high, step=int(p.step or 1), log=p.log)
        else:
            out[name] = trial.suggest_float(name, float(p.low or 0), float(p.high or 0), step=p.step, log=p.log)
    return out


@dataclass(frozen=True, eq=False)
class TuningRows:
    """The backtest rows every trial fits on, prepared once by :func:`prepare_tuning`.

    Attributes
    ----------
    spec : ModelSpec
    bt : BacktestSpec
    X, y, usable, as_of, random_inspected, monotone
        The training matrix and per-row arrays exactly as :func:`riskml.models.fit_model`
        prepares them.
    matrix : TrainingMatrix
        ``X`` converted once for LightGBM, shared by every trial's fits.
    splits : list of (int, Split)
        The scored test splits: (index in ``fit_model``'s plan, split), in ascending date
        order (only the latest with ``objective: latest``).
    folds : ndarray or None
        The entity fold of every row for ``calibration.method: cross_fit``.
    """

    spec: ModelSpec
    bt: BacktestSpec
    X: pd.DataFrame
    matrix: TrainingMatrix
    y: np.ndarray
    usable: np.ndarray
    as_of: np.ndarray
    random_inspected: np.ndarray
    monotone: list[int]
    splits: list[tuple[int, Split]]
    folds: np.ndarray | None = None


@dataclass(frozen=True)
class SplitScore:
    """One backtest split of one trial: its test date, AUC and the boosting rounds used."""

    name: str
    auc: float
    rounds: int


def prepare_tuning(panel: Panel, labels: pd.DataFrame, spec: ModelSpec, bt: BacktestSpec,
                   features: Sequence[str] | None = None, objective: str = "mean") -> TuningRows:
    """The rows and test splits of the backtest a study tunes on, prepared as ``fit_model`` does.

    Parameters
    ----------
    panel : Panel
    labels : DataFrame
        The panel's labels.
    spec : ModelSpec
    bt : BacktestSpec
        The backtest, already for ``spec``'s target.
    features : sequence of str, optional
        Restrict the model to these features.
    objective : {"mean", "latest"}
        ``latest`` keeps the latest test split only.

    Returns
    -------
    TuningRows

    Raises
    ------
    ValueError
        When the backtest has no test date.
    """
    # fit_model's own preparation, so a trial's split fits equal fit_model's.
    prep = prepare_rows(panel, labels, spec, bt, features)
    tests = [(i, s) for i, s in enumerate(prep.splits) if s.test_as_of is not None]
    if not tests:
        raise ValueError("the backtest has no test date to tune on; check experiments/backtest.yaml test_dates")
    if objective == "latest":
        tests = tests[-1:]
    return TuningRows(
        spec=spec, bt=bt, X=prep.X, matrix=TrainingMatrix.from_frame(prep.X), y=prep.y, usable=prep.usable,
        as_of=prep.as_of,
        random_inspected=prep.labels["random_inspected"].to_numpy(bool), monotone=prep.monotone, splits=tests,
        folds=prep.folds,
    )


def split_scores(rows: TuningRows, params: Mapping[str, Any], population: str = "all") -> Iterator[SplitScore]:
    """The objective of one trial: the AUC of each test split fitted with ``params``, split by split.

    Each split is fitted exactly as :func:`riskml.models.fit_model` fits it (booster,
    early stopping, Platt calibration, negative subsampling, seed), so its AUC equals
    the backtest AUC ``riskml.train`` reports with these parameters. The splits are
    yielded one at a time, in ascending date order, so a caller can stop (prune) between
    them; nothing is logged.

    Parameters
    ----------
    rows : TuningRows
        From :func:`prepare_tuning`.
    params : mapping
        LightGBM parameters laid over the model spec's ``training.params``.
    population : {"all", "random"}
        The rows the AUC is computed on.

    Yields
    ------
    SplitScore

    Examples
    --------
    >>> from riskml.models import load_backtest_spec, load_model_spec
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=200, n_dates=8, seed=0)
    >>> spec = load_model_spec("credit")
    >>> bt = load_backtest_spec({"test_dates": "last 1", "min_train_dates": 2, "gap_days": 90}).for_target("credit")
    >>> scores = list(split_scores(prepare_tuning(panel, labels, spec, bt), {"num_leaves": 4}))
    >>> [s.name for s in scores], 0.5 < scores[0].auc <= 1.0
    (['2020-04-01'], True)
    """
    lgb_params, rounds = lightgbm_params(rows.spec, dict(params), rows.bt, rows.monotone)
    for index, split in rows.splits:
        booster, a, b, info = fit_split(split, rows.matrix, rows.y, rows.usable, rows.as_of, lgb_params, rounds,
                                         rows.bt, rows.bt.random_seed + index, folds=rows.folds)
        scored = rows.usable & (rows.as_of == np.datetime64(split.test_as_of, "ns"))
        if population == "random":
            scored &= rows.random_inspected
        scored = np.flatnonzero(scored)
        margin = booster.predict(rows.matrix.rows(scored), raw_score=True, num_threads=rows.bt.num_threads)
        probability = _sigmoid(a * margin + b)
        yield SplitScore(name=split.name, auc=auc(rows.y[scored], probability), rounds=int(info["rounds"]))
