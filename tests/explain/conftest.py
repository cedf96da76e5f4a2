"""Small Panel-like data and real LightGBM boosters for the explanation tests."""

from __future__ import annotations

from collections.abc import Callable

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

INDUSTRIES = [f"I{k:02d}" for k in range(12)]
DISTRICTS = ["D0", "D1", "D2", "D3", "D4"]


def market_matrix(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Mostly-zero counts, continuous values with NaN, flags and categories, plus labels."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    cols: dict[str, np.ndarray] = {}
    for j in range(8):
        cols[f"count_{j}"] = rng.poisson(np.exp(0.8 * risk + np.log(0.05 + 0.04 * j))).astype(float)
    for j in range(5):
        value = np.round(rng.lognormal(3 + 0.3 * risk, 1.0), 2)
        if j % 2 == 0:
            value[rng.random(n) < 0.25] = np.nan
        cols[f"amount_{j}"] = value
    cols["signed"] = np.round(rng.normal(size=n) + 0.3 * risk, 1)  # zeros and negatives
    cols["flag"] = (rng.random(n) < 0.2).astype(float)
    frame = pd.DataFrame(cols)
    industry = rng.choice(INDUSTRIES, n)
    industry = np.where(rng.random(n) < 0.05, None, industry)
    frame["industry"] = pd.Categorical(industry, categories=INDUSTRIES)
    frame["district"] = pd.Categorical(rng.choice(DISTRICTS, n), categories=DISTRICTS)
    logit = -2.5 + 1.2 * risk + 0.4 * (frame["industry"].cat.codes.to_numpy() % 3 == 0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


def train_booster(frame: pd.DataFrame | np.ndarray, y: np.ndarray, seed: int, **params: object) -> lgb.Booster:
    base = {
        "objective": "binary",
        "num_leaves": 15,
        "learning_rate": 0.1,
        "min_data_in_leaf": 20,
        "min_data_per_group": 10,
        "cat_smooth": 1.0,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": seed,
        "verbose": -1,
        "num_threads": 2,
    }
    rounds = int(params.pop("rounds", 40))  # type: ignore[call-overload]
    categorical = params.pop("categorical_feature", "auto")
    base.update(params)
    return lgb.train(base, lgb.Dataset(frame, y, categorical_feature=categorical), rounds)


@pytest.fixture(scope="session")
def make_market() -> Callable[[int, int], tuple[pd.DataFrame, np.ndarray]]:
    return market_matrix


@pytest.fixture(scope="session")
def make_booster() -> Callable[..., lgb.Booster]:
    return train_booster


@pytest.fixture(scope="session")
def panel_catalog() -> pd.DataFrame:
    """A feature catalog shaped like ``Panel.catalog`` for :func:`market_matrix`'s columns."""
    rows = []
    for j in range(8):
        rows.append((f"count_{j}", "penalties" if j < 4 else "complaints", f"近365天记录{j}", f"Records {j} (365d)",
                     1, "count"))
    for j in range(5):
        rows.append((f"amount_{j}", "financing", f"金额{j}", f"Amount {j}", 1, "sum"))
    rows += [
        ("signed", "operation", "经营指标", "Operating index", 0, "latest"),
        ("flag", "registration", "标记", "Flag", 1, "state"),
        ("industry", "registration", "行业", "Industry", 0, "latest"),
        ("district", "registration", "区县", "District", 0, "latest"),
    ]
    catalog = pd.DataFrame(rows, columns=["feature", "dimension", "label_zh", "label_en", "direction", "aggregation"])
    return catalog.set_index("feature")
