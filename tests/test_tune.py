"""Hyper-parameter tuning: search space, pruning, reproducibility, budget and MLflow runs."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from riskml import SpecError, TuneResult, tune
from riskml.models import load_tuning_spec
from riskml.models._testing import toy_panel

BACKTEST = {"test_dates": "last 2", "min_train_dates": 2, "num_threads": 1,
            "calibration": {"early_stopping_rounds": 10}, "top_k": [50, 0.1]}
SPACE = {
    "num_leaves": {"type": "int", "low": 4, "high": 31, "log": True},
    "learning_rate": {"type": "float", "low": 0.05, "high": 0.3, "log": True},
    "n_estimators": {"type": "int", "low": 20, "high": 60, "step": 10},
    "min_child_samples": {"type": "int", "low": 10, "high": 100},
}


@pytest.fixture(scope="module")
def toy():
    return toy_panel(n_entities=800, n_dates=16, seed=3)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    """One MLflow store for this module (creating one takes seconds); environment restored after."""
    import mlflow

    from riskml.tracking import configure

    saved = {k: os.environ.get(k) for k in ("RISKML_HOME", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    path = tmp_path_factory.mktemp("tune-home")
    os.environ["RISKML_HOME"] = str(path)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    configure()
    yield path
    # unset rather than re-configure: the next riskml call configures its own home
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _run(toy, **kwargs) -> TuneResult:
    panel, labels = toy
    options = {"n_trials": 3, "backtest": BACKTEST, "search_space": SPACE, "log": False, "retrain": False}
    options.update(kwargs)
    return tune(panel, labels=labels, **options)


def _client():
    from mlflow import MlflowClient

    from riskml.tracking import configure

    config = configure()
    return MlflowClient(tracking_uri=config.tracking_uri, registry_uri=config.registry_uri)


def _children(client, parent_id: str):
    experiment = client.get_experiment_by_name("riskml-credit")
    return client.search_runs([experiment.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")


class PruneAfterFirstTrial(optuna.pruners.BasePruner):
    """Every trial but the first is pruned after its first split."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number >= 1


def test_best_params_come_from_the_search_space_and_retrain_reproduces_the_best_value(toy, home: Path):
    result = _run(toy, log=True, retrain=True)

    params = result.best_params
    assert 4 <= params["num_leaves"] <= 31 and isinstance(params["num_leaves"], int)
    assert 0.05 <= params["learning_rate"] <= 0.3
    assert params["n_estimators"] in range(20, 61, 10)
    assert 10 <= params["min_child_samples"] <= 100
    assert params["subsample_freq"] == 1  # fixed in experiments/tuning.yaml
    assert result.best_value == pytest.approx(result.trials["value"].max())
    # the trial objective is the backtest riskml.train reports with the same params
    metrics = result.train_result.metrics
    assert metrics.loc[metrics["population"] == "all", "auc"].mean() == pytest.approx(result.best_value, abs=1e-12)

    client = _client()
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["riskml.best_run_id"] == result.train_result.run_id
    assert parent.data.metrics["best_value"] == pytest.approx(result.best_value)
    assert parent.data.params["best.num_leaves"] == str(params["num_leaves"])
    assert "tuning/trials.csv" in [f.path for f in client.list_artifacts(result.parent_run_id, "tuning")]
    children = _children(client, result.parent_run_id)
    assert len(children) == 3
    assert {r.info.run_id for r in children} == set(result.trials["run_id"])
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["riskml.trial_state"] == "complete"
        assert {"auc.split_2022-01-01", "auc.split_2022-04-01", "value"} <= set(run.data.metrics)
    challenger = client.get_model_version_by_alias("riskml-credit", "challenger")
    assert challenger.run_id == result.train_result.run_id


def test_a_pruned_trial_is_recorded_as_pruned_not_failed(toy, home: Path):
    result = _run(toy, log=True, pruner=PruneAfterFirstTrial())

    assert result.trials["state"].tolist() == ["complete", "pruned", "pruned"]
    assert result.trials["splits"].tolist() == [2, 1, 1]
    assert [t.state for t in result.study.trials][1:] == [optuna.trial.TrialState.PRUNED] * 2
    assert result.best_value == result.trials["value"].iloc[0]

    client = _client()
    runs = {r.data.tags["riskml.trial_number"]: r for r in _children(client, result.parent_run_id)}
    assert [runs[n].data.tags["riskml.trial_state"] for n in ("0", "1", "2")] == ["complete", "pruned", "pruned"]
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    assert "value" not in runs["1"].data.metrics
    assert len(client.get_metric_history(runs["1"].info.run_id, "objective")) == 1
    parent = client.get_run(result.parent_run_id)
    assert parent.data.metrics["trials.pruned"] == 2
    assert parent.data.tags["riskml.best_run_id"] == runs["0"].info.run_id  # no retrain: the best trial


def test_no_completed_trial_raises_and_still_logs_the_study(toy, home: Path):
    with pytest.raises(RuntimeError, match="no trial completed") as raised:
        _run(toy, n_trials=2, log=True, pruner=optuna.pruners.ThresholdPruner(lower=1.0))

    client = _client()
    parent = client.get_run(re.search(r"MLflow run (\w+)", str(raised.value)).group(1))
    assert parent.data.metrics["trials.pruned"] == 2
    assert parent.info.status == "FINISHED"
    assert {r.data.tags["riskml.trial_state"] for r in _children(client, parent.info.run_id)} == {"pruned"}


def test_the_same_seed_gives_the_same_trial_params(toy):
    params = [c for c in _run(toy, seed=11).trials.columns if c.startswith("params_")]
    first, second = _run(toy, seed=11).trials, _run(toy, seed=11).trials
    other = _run(toy, seed=12).trials
    pd.testing.assert_frame_equal(first[params], second[params])
    np.testing.assert_allclose(first["value"], second["value"])
    assert not first[params].equals(other[params])


def test_the_timeout_stops_the_study(toy):
    started = time.perf_counter()
    result = _run(toy, n_trials=10_000, timeout=1.0)
    elapsed = time.perf_counter() - started

    trials = result.trials
    assert 1 <= len(trials) < 10_000
    starts = pd.to_datetime([t.datetime_start for t in result.study.trials])
    assert (starts - starts.min()).max() <= pd.Timedelta(seconds=1.0)
    # only the trial running at the deadline may overrun it
    assert elapsed < 1.0 + trials["seconds"].max() + 5.0


def test_objective_latest_scores_only_the_latest_test_date_on_the_random_sample(toy):
    spec = {**load_tuning_spec().model_dump(), "objective": "latest", "population": "random"}
    result = _run(toy, n_trials=2, spec=spec)

    assert result.trials["splits"].tolist() == [1, 1]
    assert [c for c in result.trials.columns if c.startswith("auc_")] == ["auc_2022-04-01"]
    np.testing.assert_allclose(result.trials["value"], result.trials["auc_2022-04-01"])


def test_tuning_from_records_builds_the_panel_and_labels(tmp_path: Path):
    import riskml

    market = riskml.synth.make_market(n_entities=1500, seed=0)
    result = tune(market.records, "credit", n_trials=2, log=False, retrain=False,
                  backtest={**BACKTEST, "test_dates": "last 1"}, search_space=SPACE)

    assert result.trials["state"].tolist() == ["complete", "complete"]
    assert 0.5 < result.best_value <= 1.0
    assert result.parent_run_id is None and result.train_result is None


@pytest.mark.parametrize(("space", "message"), [
    ({"num_leaves": {"type": "int", "low": 0, "high": 31, "log": True}}, "log scale needs low > 0"),
    ({"learning_rate": {"type": "float", "low": 0.3, "high": 0.1}}, "low < high"),
    ({"num_leaves": {"type": "int", "low": 4.5, "high": 31}}, "integer low"),
    ({"boosting": {"type": "categorical"}}, "non-empty 'choices'"),
    ({"scale_pos_weight": {"type": "float", "low": 1, "high": 10}}, "set by riskml"),
    ({"bagging_freq": {"type": "int", "low": 1, "high": 5}}, "both in search_space and fixed"),
])
def test_an_invalid_search_space_is_refused_with_the_reason(toy, space, message):
    with pytest.raises(SpecError, match=message):
        _run(toy, search_space=space)


def test_a_study_without_any_budget_is_refused(toy):
    spec = {**load_tuning_spec().model_dump(), "n_trials": None, "timeout": None}
    with pytest.raises(ValueError, match="needs a budget"):
        _run(toy, n_trials=None, spec=spec)


def test_tuning_on_a_panel_needs_labels(toy):
    with pytest.raises(ValueError, match="needs labels="):
        tune(toy[0], n_trials=1, log=False)
