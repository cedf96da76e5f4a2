"""The verb ``tune``: search LightGBM parameters with Optuna, then train the best model.

:func:`tune` sits beside :func:`riskml.train` and composes the parts like the other
verbs: records -> panel and labels (as ``train`` builds them) -> the tuning spec and the
pure objective of :mod:`riskml.models` (:func:`~riskml.models._tune.prepare_tuning`,
:func:`~riskml.models._tune.split_scores`) run by an Optuna study -> the study's MLflow
runs (:class:`riskml.tracking._tuning.TuningRuns`: one parent run, one nested run per
trial) -> ``riskml.train`` with the best parameters, which logs and registers the model
as ``challenger``.

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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._pipeline import TrainResult, is_panel, panel_and_labels, train
from riskml._progress import progress_enabled
from riskml._specs import parse_spec
from riskml.models import BacktestSpec, load_backtest_spec, load_model_spec
from riskml.models._tune import (
    ParamSpec,
    TuningRows,
    TuningSpec,
    load_tuning_spec,
    prepare_tuning,
    split_scores,
    suggest_params,
)
from riskml.features import FeatureSpec, Panel
from riskml.records import Records
from riskml.records._boundary import as_records
from riskml.tracking._store import resolve_home
from riskml.tracking._tuning import TuningRuns

if TYPE_CHECKING:  # pragma: no cover
    import optuna
    from riskml._time import DatesLike
    from riskml.models._tune import TuningSpecLike
    from riskml.models._backtest import BacktestSpecLike

__all__ = ["TuneResult", "tune"]

logger = logging.getLogger(__name__)

OPTUNA_DB = "optuna.db"


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
    >>> from riskml import tune
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
    train_result: TrainResult | None = None
    study: optuna.Study | None = None


def _objective_fn(rows: TuningRows, tuning: TuningSpec, runs: TuningRuns | None) -> Any:
    """The Optuna objective: the pure per-split scores, reported for pruning and logged per trial."""
    import optuna

    def objective(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        params = {**tuning.fixed, **suggest_params(trial, tuning.search_space)}
        run_id = runs.start_trial(trial.number, params) if runs is not None else None
        if run_id is not None:
            trial.set_user_attr("run_id", run_id)
        aucs: dict[str, float] = {}
        rounds_used: dict[str, int] = {}
        running: list[float] = []
        try:
            for step, split in enumerate(split_scores(rows, params, tuning.population)):
                aucs[split.name] = split.auc
                rounds_used[split.name] = split.rounds
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
                runs.end_trial(run_id, "pruned", aucs, rounds_used, running, None, time.perf_counter() - started)
            logger.info("trial %d pruned after %d split(s)", trial.number, len(aucs))
            raise
        except BaseException:
            if run_id is not None:
                runs.end_trial(run_id, "fail", aucs, rounds_used, running, None, time.perf_counter() - started)
            raise
        if run_id is not None:
            runs.end_trial(run_id, "complete", aucs, rounds_used, running, value, time.perf_counter() - started)
        logger.info("trial %d: AUC %.4f (%.1f s) %s", trial.number, value, time.perf_counter() - started, params)
        return value

    return objective


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
        home = resolve_home()
        home.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{home / OPTUNA_DB}"
    if not isinstance(storage, str):
        raise TypeError(f"storage must be None, True or an Optuna storage URL, got {type(storage).__name__}")
    return storage


def tune(
    data: Records | Mapping[str, pd.DataFrame] | str | Path | Panel,
    target: str = "credit",
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    search_space: Mapping[str, Any] | None = None,
    backtest: BacktestSpecLike = None,
    seed: int = 0,
    log: bool = True,
    show_progress: bool | None = None,
    labels: pd.DataFrame | None = None,
    feature_spec: FeatureSpec | str | Path | None = None,
    truth: pd.DataFrame | None = None,
    spec: TuningSpecLike = None,
    retrain: bool | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    storage: str | bool | None = None,
    study_name: str | None = None,
    as_of: DatesLike = "quarterly",
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
    if not is_panel(data):
        data = as_records(data)
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
    prepared = prepare_tuning(panel, labels, model_spec, bt, features, tuning.objective)

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    runs: TuningRuns | None = None
    if log:
        runs = TuningRuns(model_spec.name)
        runs.start_parent(
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
    if runs is not None:
        study.set_user_attr("parent_run_id", runs.parent_id)
    started = time.perf_counter()
    logger.info("tuning %s: %s trial(s), timeout %s s, %d split(s) per trial, %d parameter(s)",
                model_spec.name, n_trials, timeout, len(prepared.splits), len(tuning.search_space))
    try:
        study.optimize(_objective_fn(prepared, tuning, runs), n_trials=n_trials, timeout=timeout,
                       show_progress_bar=progress_enabled(show_progress))
    except BaseException:
        if runs is not None:
            runs.end_parent(status="FAILED", best_params=None, best_value=None,
                               trials=_trials_table(study, tuning.search_space), tags={})
        raise
    trials = _trials_table(study, tuning.search_space)
    completed = trials[trials["state"] == "complete"]
    if completed.empty:
        counts = trials["state"].value_counts().to_dict()
        if runs is not None:
            runs.end_parent(status="FINISHED", best_params=None, best_value=None, trials=trials,
                               tags={"riskml.tune_outcome": "no complete trial"})
        logged = f"; the study is MLflow run {runs.parent_id}" if runs is not None else ""
        raise RuntimeError(f"no trial completed in {time.perf_counter() - started:.1f} s ({counts}){logged}; "
                           "raise n_trials or timeout, or use a less aggressive pruner")

    best = study.best_trial
    best_params = {**tuning.fixed, **best.params}
    best_value = float(best.value)
    logger.info("tuning %s: best AUC %.4f (trial %d of %d, %d pruned) in %.1f s: %s", model_spec.name, best_value,
                best.number, len(trials), int((trials["state"] == "pruned").sum()),
                time.perf_counter() - started, best_params)

    train_result = None
    parent_id = runs.parent_id if runs is not None else None
    try:
        if retrain:
            train_result = train(panel, target, labels=labels, backtest=backtest, params=best_params, truth=truth,
                                 features=features, log=log, show_progress=show_progress)
            if runs is not None and train_result.run_id is not None:
                runs.link_retrained(train_result.run_id)
    except BaseException:
        if runs is not None:
            runs.end_parent(status="FAILED", best_params=best_params, best_value=best_value, trials=trials,
                               tags={"riskml.best_trial": str(best.number)})
        raise
    if runs is not None:
        best_trial_run = str(best.user_attrs.get("run_id", ""))
        best_run = train_result.run_id if train_result is not None and train_result.run_id else best_trial_run
        runs.end_parent(status="FINISHED", best_params=best_params, best_value=best_value, trials=trials, tags={
            "riskml.best_run_id": best_run, "riskml.best_trial_run_id": best_trial_run,
            "riskml.best_trial": str(best.number), "riskml.best_params": json.dumps(best_params, default=str)})
    return TuneResult(best_params=best_params, best_value=best_value, trials=trials, parent_run_id=parent_id,
                      train_result=train_result, study=study)
