"""Small generated panels and trained models for the tracking tests.

Models are real LightGBM boosters with Platt calibration on the raw margin. The
RiskModel class is riskml's own when it is importable, else the contract stand-in in
``standin_model.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from riskml._specs import load_yaml, resolve_spec

# A fake natural-person value in a column that is not a feature: it must never reach
# any artifact.
PERSONAL_NAME = "张三丰"
PERSONAL_PHONE = "13800138000"
AS_OF = pd.to_datetime(["2022-01-01", "2022-04-01", "2022-07-01", "2022-10-01", "2023-01-01"])
TEST_DATES = AS_OF[-2:]
NUMERIC = ["penalties_count_365d", "complaints_count_365d", "registered_capital",
           "serious_violations_on_list", "abnormal_list_on_list"]
CATEGORIES = {"industry": ["retail", "food", "manufacturing"]}
FEATURES = (*NUMERIC, "industry")
HERE = Path(__file__).resolve().parent


def make_panel(n_entities: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Panel frame (entity_id, as_of, features, a personal column) and its labels."""
    rng = np.random.default_rng(seed)
    n = n_entities * len(AS_OF)
    ids = np.tile([f"E{i:07d}" for i in range(1, n_entities + 1)], len(AS_OF))
    frame = pd.DataFrame({
        "entity_id": pd.array(ids, dtype="str"),
        "as_of": np.repeat(AS_OF.to_numpy(), n_entities),
        "penalties_count_365d": rng.poisson(0.5, n).astype("float64"),
        "complaints_count_365d": rng.poisson(1.0, n).astype("float64"),
        "registered_capital": np.where(rng.uniform(size=n) < 0.1, np.nan, rng.lognormal(3, 1, n)),
        "serious_violations_on_list": (rng.uniform(size=n) < 0.03).astype("float64"),
        "abnormal_list_on_list": (rng.uniform(size=n) < 0.08).astype("float64"),
        "industry": pd.Categorical(rng.choice(CATEGORIES["industry"], n), categories=CATEGORIES["industry"]),
        "legal_rep_name": pd.array([f"{PERSONAL_NAME} {PERSONAL_PHONE}"] * n, dtype="str"),
    })
    logit = (-3.0 + 1.2 * frame["penalties_count_365d"] + 0.5 * frame["complaints_count_365d"]
             + 2.0 * frame["abnormal_list_on_list"] + 0.6 * (frame["industry"] == "food"))
    label = pd.Series((rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype("int8"), name="label")
    return frame, label


def catalog() -> pd.DataFrame:
    rows = [{"feature": f, "source": f.split("_")[0], "dimension": "penalties", "label_zh": f, "label_en": f,
             "direction": 1, "kind": "event", "aggregation": "count", "column": "", "window_days": 365,
             "where": "", "inspection_driven": False} for f in FEATURES]
    return pd.DataFrame(rows).set_index("feature")


@dataclass(frozen=True)
class Trained:
    model: Any
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    frame: pd.DataFrame


def train(frame: pd.DataFrame, label: pd.Series, *, target: str = "credit", shuffle_labels: bool = False,
          rounds: int = 30, seed: int = 0) -> Trained:
    """Train on the first as-of dates, test on the last two; calibrate on the train margin."""
    from standin_model import StandInRiskModel

    y = label.to_numpy().copy()
    if shuffle_labels:
        np.random.default_rng(seed + 1).shuffle(y)
    train_rows = (frame["as_of"] < TEST_DATES[0]).to_numpy()
    X = frame[list(FEATURES)]
    booster = lgb.train({"objective": "binary", "num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 20,
                         "verbose": -1, "seed": seed, "num_threads": 1},
                        lgb.Dataset(X[train_rows], y[train_rows]), num_boost_round=rounds)
    margin = booster.predict(X, raw_score=True)
    platt = LogisticRegression(C=1e6).fit(margin[train_rows].reshape(-1, 1), y[train_rows])
    spec = load_yaml(resolve_spec("models", "credit"))
    policy = {**spec["scorecard"], "grades": spec["grades"], "overrides": spec["overrides"]}
    model = StandInRiskModel(
        target=target, features=FEATURES, categories=CATEGORIES, spec_hash="0123456789abcdef", booster=booster,
        calib_a=float(platt.coef_[0, 0]), calib_b=float(platt.intercept_[0]), rules=policy, catalog=catalog(),
        model_spec=spec, metadata={"trained_at": "2023-02-01T00:00:00", "train_as_of": [str(d.date()) for d in AS_OF[:-2]],
                                   "test_as_of": [str(d.date()) for d in TEST_DATES],
                                   "params": {"num_leaves": 7, "learning_rate": 0.1, "rounds": rounds}},
    )
    test = frame[~train_rows]
    scored = model.score(test)
    predictions = scored.assign(label=y[~train_rows])
    rows = []
    for as_of, part in predictions.groupby("as_of"):
        for population, sel in (("all", slice(None)), ("random", slice(0, len(part) // 3))):
            p, t = part["probability"].to_numpy()[sel], part["label"].to_numpy()[sel]
            bins = np.minimum((np.argsort(np.argsort(p)) * 10) // len(p), 9)
            cal = np.abs(np.bincount(bins, p) - np.bincount(bins, t)).sum() / len(p)
            rows.append({"test_as_of": as_of, "population": population, "auc": roc_auc_score(t, p),
                         "calibration_error": cal, "brier": float(np.mean((p - t) ** 2))})
    return Trained(model=model, metrics=pd.DataFrame(rows), predictions=predictions, frame=frame)


def subprocess_env(home: Path) -> dict[str, str]:
    """Environment for a fresh Python process that must find the same store and model class."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["RISKML_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
