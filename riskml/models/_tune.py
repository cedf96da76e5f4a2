"""Hyper-parameter tuning (超参数调优) of the LightGBM booster with Optuna.

:func:`tune` searches LightGBM parameters over the temporal backtest that
:func:`riskml.models.fit_model` runs, and (by default) trains, logs and registers the
model with the best ones through :func:`riskml.train`. The pieces:

* :class:`TuningSpec` (``experiments/tuning.yaml``, read by :func:`load_tuning_spec`):
  the search space (:class:`ParamSpec` per parameter), fixed parameters, the budget
  (trials and/or seconds), the objective, the TPE sampler and the pruner;
* the objective: each trial lays its parameters over the model spec's
  ``training.params`` and fits the backtest's test splits in ascending date order,
  with the very same per-split fit (booster, early stopping, Platt calibration,
  negative subsampling and seeds) as ``fit_model``, so a trial's per-split AUC equals
  the backtest AUC ``riskml.train`` reports with those parameters. After each split the
  trial reports the running mean AUC, so the pruner can stop it early; the trial's
  value is the mean over all test dates (``objective: mean``) or the AUC of the latest
  test date alone (``objective: latest``, one fit per trial). The final model of the
  backtest is not fitted per trial: it is never scored;
* tracking: one parent MLflow run per study in experiment ``riskml-<target>``, one
  nested run per trial (parameters, AUC per split, the running mean per step, state
  ``complete``/``pruned``/``fail``), and on the parent the best parameters, the best
  value, the trials table and the specs. Runs are written through an
  :class:`mlflow.MlflowClient` with explicit run ids, so no fluent "active run" is left
  open while ``riskml.train`` logs the retrained model.

The study lives in memory unless ``storage`` names an Optuna storage (``True``: the
SQLite file ``optuna.db`` under the riskml home), which also lets a named study resume.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from riskml._specs import SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.models._backtest import BacktestSpec, Split, load_backtest_spec
from riskml.models._bundle import _sigmoid
from riskml.models._metrics import auc
from riskml.models._spec import ModelSpec, load_model_spec, normalise_params
from riskml.models._train import fit_split, lightgbm_params, prepare_rows
from riskml.records._spreadsheet import write_csv

__all__ = [
    "ParamSpec",
    "PrunerSpec",
    "SamplerSpec",
    "TuneResult",
    "TuningSpec",
    "load_tuning_spec",
    "suggest_params",
    "tune",
]

logger = logging.getLogger(__name__)

#: Trial states as written to MLflow tags and the trials table.
TRIAL_STATES: tuple[str, ...] = ("complete", "pruned", "fail", "running", "waiting")
PRUNERS: tuple[str, ...] = ("median", "successive_halving", "none")
OPTUNA_DB = "optuna.db"
TRIALS_ARTIFACT = "tuning/trials.csv"
STATE_TAG = "riskml.trial_state"
PARENT_TAG = "mlflow.parentRunId"


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


def load_tuning_spec(spec: str | Path | Mapping[str, Any] | TuningSpec | None = None) -> TuningSpec:
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
class TuneResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    best_params : dict
        The best trial's parameters (sampled and fixed): what ``riskml.train(...,
        params=best_params)`` takes.
    best_value : float
        Its objective value (mean or latest backtest AUC).
    trials : DataFrame
        One row per trial: ``number``, ``state`` (complete, pruned, fail),
        ``value`` (complete trials only), ``splits`` (splits fitted), ``seconds``,
        ``run_id`` (the nested MLflow run, missing when not logged),
        ``auc_<test date>`` per split fitted and ``params_<name>`` per sampled
        parameter.
    parent_run_id : str or None
        The study's MLflow run (None when ``log=False``).
    train_result : riskml.TrainResult or None
        The model retrained with the best parameters (None when ``retrain=False``).
    study : optuna.Study or None
        The Optuna study (for its visualisations).

    Examples
    --------
    >>> from riskml.models import tune
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=200, n_dates=8, seed=0)
    >>> result = tune(panel, labels=labels, n_trials=1, log=False, retrain=False, show_progress=False,
    ...               backtest={"test_dates": "last 1", "min_train_dates": 2, "gap_days": 90},
    ...               search_space={"num_leaves": {"type": "int", "low": 4, "high": 8}})
    >>> sorted(result.best_params), result.trials["state"].tolist(), result.train_result is None
    (['num_leaves', 'subsample_freq'], ['complete'], True)
    """

    best_params: dict[str, Any]
    best_value: float
    trials: pd.DataFrame
    parent_run_id: str | None
    train_result: Any = None
    study: Any = None


@dataclass(frozen=True, eq=False)
class _Backtest:
    """The backtest inputs shared by every trial, prepared once."""

    spec: ModelSpec
    bt: BacktestSpec
    X: pd.DataFrame
    y: np.ndarray
    usable: np.ndarray
    as_of: np.ndarray
    random_inspected: np.ndarray
    monotone: list[int]
    splits: list[tuple[int, Split]]  # (index in fit_model's plan, split), test splits only


def _prepare(panel: Any, labels: pd.DataFrame, spec: ModelSpec, bt: BacktestSpec, features: Sequence[str] | None,
             objective: str) -> _Backtest:
    # fit_model's own preparation, so a trial's split fits equal fit_model's.
    prep = prepare_rows(panel, labels, spec, bt, features)
    tests = [(i, s) for i, s in enumerate(prep.splits) if s.test_as_of is not None]
    if not tests:
        raise ValueError("the backtest has no test date to tune on; check experiments/backtest.yaml test_dates")
    if objective == "latest":
        tests = tests[-1:]
    return _Backtest(
        spec=spec, bt=bt, X=prep.X, y=prep.y, usable=prep.usable, as_of=prep.as_of,
        random_inspected=prep.labels["random_inspected"].to_numpy(bool), monotone=prep.monotone, splits=tests,
    )


def _objective_fn(data: _Backtest, tuning: TuningSpec, tracker: _Tracker | None) -> Any:
    import optuna

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = {**tuning.fixed, **suggest_params(trial, tuning.search_space)}
        run_id = tracker.start_trial(trial.number, params) if tracker is not None else None
        if run_id is not None:
            trial.set_user_attr("run_id", run_id)
        aucs: dict[str, float] = {}
        rounds_used: dict[str, int] = {}
        running: list[float] = []
        try:
            lgb_params, rounds = lightgbm_params(data.spec, params, data.bt, data.monotone)
            for step, (index, split) in enumerate(data.splits):
                booster, a, b, info = fit_split(split, data.X, data.y, data.usable, data.as_of, lgb_params, rounds,
                                                 data.bt, data.bt.random_seed + index)
                rows = data.usable & (data.as_of == np.datetime64(split.test_as_of, "ns"))
                if tuning.population == "random":
                    rows &= data.random_inspected
                rows = np.flatnonzero(rows)
                probability = _sigmoid(a * booster.predict(data.X.iloc[rows], raw_score=True) + b)
                aucs[split.name] = auc(data.y[rows], probability)
                rounds_used[split.name] = int(info["rounds"])
                trial.set_user_attr("auc", aucs)
                finite = [v for v in aucs.values() if math.isfinite(v)]
                if not finite:
                    continue
                running.append(float(np.mean(finite)))
                trial.report(running[-1], step)
                if trial.should_prune():
                    raise optuna.TrialPruned(
                        f"trial {trial.number} pruned after split {split.name}: mean AUC {running[-1]:.4f}")
            if not running:
                raise ValueError(f"no test split has both outcomes in population {tuning.population!r}: "
                                 f"AUC is undefined on {sorted(aucs)}")
            value = running[-1]
        except optuna.TrialPruned:
            if run_id is not None:
                tracker.end_trial(run_id, "pruned", aucs, rounds_used, running, None, time.perf_counter() - started)
            logger.info("trial %d pruned after %d split(s)", trial.number, len(aucs))
            raise
        except BaseException:
            if run_id is not None:
                tracker.end_trial(run_id, "fail", aucs, rounds_used, running, None, time.perf_counter() - started)
            raise
        if run_id is not None:
            tracker.end_trial(run_id, "complete", aucs, rounds_used, running, value, time.perf_counter() - started)
        logger.info("trial %d: AUC %.4f (%.1f s) %s", trial.number, value, time.perf_counter() - started, params)
        return value

    return objective


class _Tracker:
    """Parent and nested MLflow runs of one study, written by explicit run id."""

    def __init__(self, target: str) -> None:
        from riskml.tracking import configure, ensure_experiment

        self.config = configure()
        self.client = self.config.client()
        self.experiment_id = ensure_experiment(target, self.config)
        self.target = target
        self.parent_id = ""

    def start_parent(self, run_name: str, params: Mapping[str, Any], tags: Mapping[str, str],
                     specs: Mapping[str, Any]) -> str:
        import yaml

        from riskml.tracking._health import process_tags

        run = self.client.create_run(self.experiment_id, run_name=run_name,
                                     tags={"riskml.target": self.target, "riskml.kind": "tuning",
                                           **process_tags(), **tags})
        self.parent_id = run.info.run_id
        self._log(self.parent_id, params=params)
        for name, spec in specs.items():
            self.client.log_text(self.parent_id, yaml.safe_dump(spec, allow_unicode=True, sort_keys=False),
                                 f"specs/{name}.yaml")
        return self.parent_id

    def start_trial(self, number: int, params: Mapping[str, Any]) -> str:
        from riskml.tracking._health import process_tags

        run = self.client.create_run(self.experiment_id, run_name=f"trial-{number:03d}", tags={
            PARENT_TAG: self.parent_id, "riskml.target": self.target, "riskml.kind": "tuning-trial",
            "riskml.trial_number": str(number), STATE_TAG: "running", **process_tags()})
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def end_trial(self, run_id: str, state: str, aucs: Mapping[str, float], rounds: Mapping[str, int],
                  running: Sequence[float], value: float | None, seconds: float) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(f"auc.split_{name}", v, now, 0) for name, v in aucs.items() if math.isfinite(v)]
        metrics += [Metric(f"rounds.split_{name}", float(r), now, 0) for name, r in rounds.items()]
        # the running mean per step draws the pruning curve in the MLflow UI
        metrics += [Metric("objective", v, now, step) for step, v in enumerate(running)]
        metrics.append(Metric("seconds", seconds, now, 0))
        if value is not None:
            metrics.append(Metric("value", value, now, 0))
        self._log(run_id, metrics=metrics, tags={STATE_TAG: state})
        # a pruned trial is a finished run: only an error makes it FAILED
        self.client.set_terminated(run_id, "FAILED" if state == "fail" else "FINISHED")

    def end_parent(self, *, status: str, best_params: Mapping[str, Any] | None, best_value: float | None,
                   trials: pd.DataFrame, tags: Mapping[str, str]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(f"trials.{state}", float((trials["state"] == state).sum()), now, 0)
                   for state in ("complete", "pruned", "fail")] if len(trials) else []
        if best_value is not None:
            metrics.append(Metric("best_value", best_value, now, 0))
        params = {f"best.{k}": v for k, v in (best_params or {}).items()}
        self._log(self.parent_id, metrics=metrics, params=params, tags=tags)
        self.client.log_text(self.parent_id, write_csv(trials, index=False), TRIALS_ARTIFACT)
        self.client.set_terminated(self.parent_id, status)

    def _log(self, run_id: str, *, metrics: Sequence[Any] = (), params: Mapping[str, Any] | None = None,
             tags: Mapping[str, str] | None = None) -> None:
        from mlflow.entities import Param, RunTag

        self.client.log_batch(
            run_id, metrics=list(metrics),
            params=[Param(str(k), str(v)[:6000]) for k, v in (params or {}).items()],
            tags=[RunTag(str(k), str(v)) for k, v in (tags or {}).items()],
        )


def _trials_table(study: Any, space: Mapping[str, ParamSpec]) -> pd.DataFrame:
    rows = []
    for t in study.trials:
        duration = t.duration.total_seconds() if t.duration is not None else float("nan")
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name.lower(),
            # Optuna gives a pruned trial its last running mean: not comparable to a full backtest
            "value": float(t.value) if t.state.name == "COMPLETE" and t.value is not None else float("nan"),
            "splits": len(t.user_attrs.get("auc", {})),
            "seconds": duration,
            "run_id": t.user_attrs.get("run_id"),
        }
        row.update({f"auc_{name}": v for name, v in t.user_attrs.get("auc", {}).items()})
        row.update({f"params_{name}": t.params.get(name) for name in space})
        rows.append(row)
    base = ["number", "state", "value", "splits", "seconds", "run_id"]
    table = pd.DataFrame(rows, columns=base if not rows else None)
    if table.empty:
        return table.astype({"number": "int64", "state": "str", "value": "float64", "splits": "int64",
                             "seconds": "float64", "run_id": "str"})
    auc_cols = sorted(c for c in table.columns if c.startswith("auc_"))
    param_cols = [c for c in table.columns if c.startswith("params_")]
    table = table[base + auc_cols + param_cols]
    return table.astype({"number": "int64", "state": "str", "splits": "int64", "run_id": "str"})


def _storage(storage: str | bool | None) -> str | None:
    if storage is None or storage is False:
        return None
    if storage is True:
        from riskml.tracking._store import resolve_home

        home = resolve_home()
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / OPTUNA_DB}"
    if not isinstance(storage, str):
        raise TypeError(f"storage must be None, True or an Optuna storage URL, got {type(storage).__name__}")
    return storage


def tune(
    data: Any,
    target: str = "credit",
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    search_space: Mapping[str, Any] | None = None,
    backtest: Any = None,
    seed: int = 0,
    log: bool = True,
    show_progress: bool | None = None,
    labels: pd.DataFrame | None = None,
    feature_spec: Any = None,
    truth: pd.DataFrame | None = None,
    spec: str | Path | Mapping[str, Any] | TuningSpec | None = None,
    retrain: bool | None = None,
    pruner: Any = None,
    storage: str | bool | None = None,
    study_name: str | None = None,
    as_of: Any = "quarterly",
    features: Sequence[str] | None = None,
) -> TuneResult:
    """Tune LightGBM parameters on the temporal backtest; retrain and register the best.

    Parameters
    ----------
    data : Records, dict of DataFrame, path or Panel
        Records (validated here if they are not yet) or a ready panel; with a panel,
        ``labels`` must be given.
    target : str, default "credit"
        Model spec name in ``models/`` or a YAML path.
    n_trials : int, optional
        Trial budget; default the tuning spec's ``n_trials``.
    timeout : float, optional
        Seconds budget; default the tuning spec's ``timeout``. The study stops at the
        first bound reached; a running trial finishes first.
    search_space : mapping, optional
        ``{name: {type, low, high, log, step, choices}}`` replacing the tuning spec's.
    backtest : path, dict or BacktestSpec, optional
        Backtest spec (default ``experiments/backtest.yaml``); its test dates are the
        objective's splits.
    seed : int, default 0
        Seed of the TPE sampler: the same seed, data and specs give the same
        parameters trial by trial. (LightGBM's own seed is the backtest's
        ``random_seed``.)
    log : bool, default True
        Log a parent MLflow run with one nested run per trial in experiment
        ``riskml-<target>``; the retrained model is logged and registered as
        ``challenger``.
    show_progress : bool, optional
        Progress bar over trials (default: when attached to a terminal).
    labels : DataFrame, optional
        Labels for a panel (default: made from the records by the model spec).
    feature_spec : path or FeatureSpec, optional
        The feature library (default: built-in ``features/``).
    truth : DataFrame, optional
        Synthetic truth: adds the oracle AUC to the retrained model's metrics.
    spec : str, path, mapping or TuningSpec, optional
        Tuning spec (default ``experiments/tuning.yaml``).
    retrain : bool, optional
        Train the final model with the best parameters through :func:`riskml.train`
        (default: the spec's ``retrain``).
    pruner : optuna.pruners.BasePruner, optional
        Overrides the spec's pruner. It sees one step per backtest split.
    storage : str or bool, optional
        Optuna storage URL; ``True`` for ``sqlite:///<riskml home>/optuna.db``;
        default in memory.
    study_name : str, optional
        With ``storage``, an existing study of this name is resumed.
    as_of : "quarterly" or list of dates
        The panel's as-of grid when ``data`` are records.
    features : sequence of str, optional
        Restrict the model to these features.

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError
        When neither ``n_trials`` nor ``timeout`` bounds the study, or the backtest
        cannot be planned on the data.
    RuntimeError
        When no trial completes (all pruned or failed); the parent run is still
        logged with its trials table.

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> result = tune(panel, labels=labels, n_trials=2, log=False, retrain=False,
    ...               backtest={"test_dates": "last 2", "min_train_dates": 2},
    ...               search_space={"num_leaves": {"type": "int", "low": 4, "high": 16},
    ...                             "n_estimators": {"type": "int", "low": 10, "high": 30}})
    >>> result.trials["state"].tolist(), 4 <= result.best_params["num_leaves"] <= 16
    (['complete', 'complete'], True)
    """
    import optuna

    from riskml._pipeline import _as_records, _is_panel, panel_and_labels
    from riskml._progress import progress_enabled

    tuning = load_tuning_spec(spec)
    if search_space is not None:
        tuning = parse_spec(TuningSpec, {**tuning.model_dump(), "search_space": dict(search_space)},
                            "<tune(search_space=...)>")
    n_trials = tuning.n_trials if n_trials is None else int(n_trials)
    timeout = tuning.timeout if timeout is None else float(timeout)
    if n_trials is None and timeout is None:
        raise ValueError("tune needs a budget: n_trials and timeout are both None (argument and tuning spec)")
    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    retrain = tuning.retrain if retrain is None else bool(retrain)
    sources = None
    if not _is_panel(data):
        data = _as_records(data)
        sources = data.catalog  # a label may read the records' own (custom) sources
    model_spec = load_model_spec(target, sources=sources)
    if model_spec.model.kind != "lightgbm":
        raise ValueError(
            f"tune searches LightGBM parameters, but the {model_spec.name} spec has model kind "
            f"{model_spec.model.kind!r}; train scorecard settings (model.max_bins, model.min_iv, ...) with riskml.train"
        )
    bt = load_backtest_spec(backtest).for_target(model_spec.name)

    panel, labels = panel_and_labels(data, model_spec, labels=labels, as_of=as_of, feature_spec=feature_spec,
                                     show_progress=show_progress)
    prepared = _prepare(panel, labels, model_spec, bt, features, tuning.objective)

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    tracker: _Tracker | None = None
    if log:
        tracker = _Tracker(model_spec.name)
        tracker.start_parent(
            f"tune-{model_spec.name}-{stamp}",
            params={"n_trials": n_trials, "timeout": timeout, "seed": seed, "objective": tuning.objective,
                    "population": tuning.population, "test_dates": ",".join(s.name for _, s in prepared.splits),
                    "pruner": type(pruner).__name__ if pruner is not None else tuning.pruner.kind,
                    **{f"fixed.{k}": v for k, v in tuning.fixed.items()}},
            tags={"riskml.spec_hash": str(getattr(panel, "spec_hash", ""))},
            specs={"tuning": tuning.model_dump(mode="json", exclude_none=True), "model": model_spec.raw,
                   "backtest": bt.model_dump(mode="json")},
        )

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=tuning.sampler.n_startup_trials,
                                         multivariate=tuning.sampler.multivariate)
    storage_url = _storage(storage)
    study = optuna.create_study(
        direction="maximize", sampler=sampler, pruner=pruner if pruner is not None else tuning.pruner.build(),
        storage=storage_url, study_name=study_name or f"riskml-{model_spec.name}-{stamp}",
        load_if_exists=study_name is not None,
    )
    if tracker is not None:
        study.set_user_attr("parent_run_id", tracker.parent_id)
    started = time.perf_counter()
    logger.info("tuning %s: %s trial(s), timeout %s s, %d split(s) per trial, %d parameter(s)",
                model_spec.name, n_trials, timeout, len(prepared.splits), len(tuning.search_space))
    try:
        study.optimize(_objective_fn(prepared, tuning, tracker), n_trials=n_trials, timeout=timeout,
                       show_progress_bar=progress_enabled(show_progress))
    except BaseException:
        if tracker is not None:
            tracker.end_parent(status="FAILED", best_params=None, best_value=None,
                               trials=_trials_table(study, tuning.search_space), tags={})
        raise
    trials = _trials_table(study, tuning.search_space)
    completed = trials[trials["state"] == "complete"]
    if completed.empty:
        counts = trials["state"].value_counts().to_dict()
        if tracker is not None:
            tracker.end_parent(status="FINISHED", best_params=None, best_value=None, trials=trials,
                               tags={"riskml.tune_outcome": "no complete trial"})
        logged = f"; the study is MLflow run {tracker.parent_id}" if tracker is not None else ""
        raise RuntimeError(f"no trial completed in {time.perf_counter() - started:.1f} s ({counts}){logged}; "
                           "raise n_trials or timeout, or use a less aggressive pruner")

    best = study.best_trial
    best_params = {**tuning.fixed, **best.params}
    best_value = float(best.value)
    logger.info("tuning %s: best AUC %.4f (trial %d of %d, %d pruned) in %.1f s: %s", model_spec.name, best_value,
                best.number, len(trials), int((trials["state"] == "pruned").sum()),
                time.perf_counter() - started, best_params)

    train_result = None
    parent_id = tracker.parent_id if tracker is not None else None
    try:
        if retrain:
            from riskml._pipeline import train

            train_result = train(panel, target, labels=labels, backtest=backtest, params=best_params, truth=truth,
                                 features=features, log=log, show_progress=show_progress)
            if tracker is not None and train_result.run_id is not None:
                tracker.client.set_tag(train_result.run_id, "riskml.tuning_run_id", parent_id)
    except BaseException:
        if tracker is not None:
            tracker.end_parent(status="FAILED", best_params=best_params, best_value=best_value, trials=trials,
                               tags={"riskml.best_trial": str(best.number)})
        raise
    if tracker is not None:
        best_trial_run = str(best.user_attrs.get("run_id", ""))
        best_run = train_result.run_id if train_result is not None and train_result.run_id else best_trial_run
        tracker.end_parent(status="FINISHED", best_params=best_params, best_value=best_value, trials=trials, tags={
            "riskml.best_run_id": best_run, "riskml.best_trial_run_id": best_trial_run,
            "riskml.best_trial": str(best.number), "riskml.best_params": json.dumps(best_params, default=str)})
    return TuneResult(best_params=best_params, best_value=best_value, trials=trials, parent_run_id=parent_id,
                      train_result=train_result, study=study)
