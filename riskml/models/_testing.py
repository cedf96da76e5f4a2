"""Small generated panels with known structure, for examples and tests of the models layer.

:func:`toy_panel` returns a :class:`riskml.features.Panel` and labels shaped like
:func:`riskml.labels.make_labels` output, where the risk of every row follows a known
logistic model of a few features (with their catalog ``direction``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskml.features import Panel

__all__ = ["TOY_COEFFICIENTS", "toy_panel"]

#: true log-odds effects of the toy features (industry adds +0.6 for "food")
TOY_COEFFICIENTS: dict[str, float] = {
    "penalties_count_365d": 0.8,
    "complaints_count_365d": 0.35,
    "registered_capital": -0.004,
    "entity_age_years": -0.08,
    "serious_violations_on_list": 1.5,
    "abnormal_list_on_list": 1.0,
}
_DIRECTIONS = {**{k: int(np.sign(v)) for k, v in TOY_COEFFICIENTS.items()}, "industry": 0, "noise": 0}
INDUSTRIES = ["retail", "food", "manufacturing", "services"]


def toy_panel(
    n_entities: int = 2_000, n_dates: int = 12, seed: int = 0, *, intercept: float = -3.2,
    start: str = "2019-07-01", random_share: float = 0.15,
):
    """A toy panel and its labels.

    Parameters
    ----------
    n_entities, n_dates : int
        Entities (all alive at every date) and quarterly as-of dates.
    seed : int
        Random seed.
    intercept : float
        Base log-odds of a violation in the horizon.
    start : str
        First as-of date.
    random_share : float
        Share of rows randomly inspected.

    Returns
    -------
    (Panel, DataFrame)
        The panel (features float64, ``industry`` categorical) and labels with
        ``label``, ``random_inspected``, ``complete`` (the last 4 dates are not) and
        ``in_population``; the second frame also carries the true ``risk``.

    Examples
    --------
    >>> panel, labels = toy_panel(n_entities=10, n_dates=6)
    >>> panel.frame.shape, int(labels["complete"].sum())
    ((60, 10), 20)
    """
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n_dates, freq="QS")
    n = n_entities * n_dates
    ids = np.tile(np.array([f"E{i:07d}" for i in range(1, n_entities + 1)]), n_dates)
    step = np.repeat(np.arange(n_dates), n_entities)
    latent = np.tile(rng.normal(size=n_entities), n_dates) + 0.3 * rng.normal(size=n)
    industry = np.tile(rng.integers(0, len(INDUSTRIES), n_entities), n_dates)
    age0 = np.tile(rng.uniform(0, 15, n_entities), n_dates)
    frame = pd.DataFrame({
        "entity_id": pd.array(ids, dtype="str"),
        "as_of": np.repeat(dates.to_numpy(dtype="datetime64[ns]"), n_entities),
        "penalties_count_365d": rng.poisson(np.exp(latent - 1.0)).astype(np.float64),
        "complaints_count_365d": rng.poisson(np.exp(0.5 * latent)).astype(np.float64),
        "registered_capital": np.where(rng.uniform(size=n) < 0.05, np.nan, rng.lognormal(4, 1, n)),
        "entity_age_years": age0 + step / 4,
        "serious_violations_on_list": (rng.uniform(size=n) < 0.02 * np.exp(0.5 * latent)).astype(np.float64),
        "abnormal_list_on_list": (rng.uniform(size=n) < 0.05 * np.exp(0.5 * latent)).astype(np.float64),
        "industry": pd.Categorical.from_codes(industry, categories=INDUSTRIES),
        "noise": rng.normal(size=n),
    })
    logit = intercept + 0.6 * (industry == 1)
    for name, coef in TOY_COEFFICIENTS.items():
        logit = logit + coef * np.nan_to_num(frame[name].to_numpy(), nan=50.0)
    risk = 1.0 / (1.0 + np.exp(-logit))
    labels = pd.DataFrame({
        "entity_id": frame["entity_id"],
        "as_of": frame["as_of"],
        "label": (rng.uniform(size=n) < risk).astype(np.int8),
        "random_inspected": rng.uniform(size=n) < random_share,
        "complete": step < n_dates - 4,
        "in_population": np.ones(n, dtype=bool),
        "risk": risk,
    })
    names = [c for c in frame.columns if c not in ("entity_id", "as_of")]
    catalog = pd.DataFrame({
        "source": ["toy"] * len(names),
        "dimension": ["penalties"] * len(names),
        "label_zh": names,
        "label_en": names,
        "direction": [_DIRECTIONS[c] for c in names],
        "kind": ["event"] * len(names),
        "aggregation": ["count"] * len(names),
        "column": [""] * len(names),
        "window_days": [365.0] * len(names),
        "where": [""] * len(names),
        "inspection_driven": [False] * len(names),
    }, index=pd.Index(names, name="name"))
    return Panel(frame=frame, catalog=catalog, spec_hash="toy0000000000000"), labels
