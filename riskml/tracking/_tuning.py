"""The MLflow runs of a tuning study: one parent run, one nested run per trial.

``riskml.tune`` writes through :class:`TuningRuns` with plain values (parameters,
AUC per split, states, the trials table); nothing here knows Optuna. On the parent
run: the study's settings, the specs, and at the end the best parameters, the best
value, the trial counts per state and ``tuning/trials.csv``. Each trial is a nested
run (tag ``mlflow.parentRunId``) holding its parameters, the AUC and boosting rounds
per backtest split, the running mean per step (the pruning curve in the MLflow UI)
and its state ``complete``/``pruned``/``fail``.

Runs are written through an :class:`mlflow.MlflowClient` with explicit run ids, so no
fluent "active run" is left open while ``riskml.train`` logs the retrained model.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import yaml

from riskml.records._spreadsheet import write_csv
from riskml.tracking._health import process_tags
from riskml.tracking._store import configure, ensure_experiment

__all__ = ["PARENT_TAG", "STATE_TAG", "TRIALS_ARTIFACT", "TuningRuns"]

TRIALS_ARTIFACT = "tuning/trials.csv"
STATE_TAG = "riskml.trial_state"
PARENT_TAG = "mlflow.parentRunId"


class TuningRuns:
    """Parent and nested MLflow runs of one study, written by explicit run id.

    Parameters
    ----------
    target : str
        The model target: runs go to experiment ``riskml-<target>``.

    Examples
    --------
    >>> runs = TuningRuns("credit")
    >>> parent = runs.start_parent("tune-doc", params={"n_trials": 1}, tags={}, specs={})
    >>> trial = runs.start_trial(0, {"num_leaves": 7})
    >>> runs.end_trial(trial, "complete", {"2024-01-01": 0.7}, {"2024-01-01": 12}, [0.7], 0.7, 0.1)
    >>> table = pd.DataFrame({"number": [0], "state": ["complete"], "value": [0.7], "run_id": [trial]})
    >>> runs.end_parent(status="FINISHED", best_params={"num_leaves": 7}, best_value=0.7, trials=table, tags={})
    >>> runs.client.get_run(parent).data.metrics["best_value"]
    0.7
    """

    def __init__(self, target: str) -> None:
        self.config = configure()
        self.client = self.config.client()
        self.experiment_id = ensure_experiment(target, self.config)
        self.target = target
        self.parent_id = ""

    def start_parent(self, run_name: str, params: Mapping[str, Any], tags: Mapping[str, str],
                     specs: Mapping[str, Any]) -> str:
        """Create the study's run with its settings and spec texts; return its id."""
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
        """Create trial ``number``'s nested run (state ``running``) with its parameters; return its id."""
        run = self.client.create_run(self.experiment_id, run_name=f"trial-{number:03d}", tags={
            PARENT_TAG: self.parent_id, "riskml.target": self.target, "riskml.kind": "tuning-trial",
            "riskml.trial_number": str(number), STATE_TAG: "running", **process_tags()})
        self._log(run.info.run_id, params=params)
        return run.info.run_id

    def end_trial(self, run_id: str, state: str, aucs: Mapping[str, float], rounds: Mapping[str, int],
                  running: Sequence[float], value: float | None, seconds: float) -> None:
        """Log a trial's AUC and rounds per split, its running mean per step and its state; close its run."""
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

    def link_retrained(self, run_id: str) -> None:
        """Tag the training run of the model retrained with the best parameters with this study's run."""
        self.client.set_tag(run_id, "riskml.tuning_run_id", self.parent_id)

    def end_parent(self, *, status: str, best_params: Mapping[str, Any] | None, best_value: float | None,
                   trials: pd.DataFrame, tags: Mapping[str, str]) -> None:
        """Log the best parameters and value, the trial counts and ``tuning/trials.csv``; close the study's run."""
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
