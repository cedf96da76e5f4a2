"""A small synthetic market, a real credit model on its panel, and the entity to explain.

Imported by the ``test_appeal_*`` modules (``tests/explain/conftest.py`` belongs to
the contribution tests). Everything is session-cached: the market, its validated
records, the panel at a few quarterly as-of dates, a LightGBM model wrapped in a
:class:`riskml.models.RiskModel` with the panel's spec hash, and the default explanation
of one penalised entity.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import lightgbm as lgb
import pandas as pd

from riskml._specs import load_yaml, resolve_spec
from riskml.explain._explanation import Explanation, explain_entity
from riskml.features import build_panel, load_feature_spec
from riskml.labels import make_labels
from riskml.models import RiskModel
from riskml.models._train import fit_platt
from riskml.records import validate
from riskml.synth import make_market

KEY = "appeal-tests-pseudonym-key-0123456789"
AS_OF = pd.Timestamp("2024-07-01")
# One declared action (repairs of the entity's penalties) instead of the bundled four:
# for tests whose assertions do not depend on the actions it keeps the what-ifs and the
# path-to-next-grade search (hundreds of rebuilt rows with the bundled actions) short.
REPAIR_ONLY = {"actions": [{"name": "repair_penalty", "kind": "set_date", "source": "penalties",
                            "column": "repaired", "label_zh": "完成信用修复", "label_en": "Credit repair completed"}]}
TRAIN_DATES = [str(d.date()) for d in pd.date_range("2021-07-01", "2023-07-01", freq="QS")]


@dataclass(frozen=True, eq=False)
class AppealCase:
    raw: object
    records: object
    spec: object
    model: RiskModel
    panel: object  # the panel of every entity at AS_OF


@functools.cache
def appeal_case(n_entities: int = 1500, seed: int = 7) -> AppealCase:
    market = make_market(n_entities=n_entities, seed=seed)
    records = validate(market.records, now=market.end + pd.Timedelta(days=1), key=KEY)
    spec = load_feature_spec()
    train = build_panel(records, TRAIN_DATES, spec)
    labels = make_labels(records, train, "credit")
    keep = labels["complete"].to_numpy() & labels["in_population"].to_numpy()
    features = train.feature_names
    X = train.frame.loc[keep, features].reset_index(drop=True)
    y = labels.loc[keep, "label"].to_numpy()
    params = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 30,
              "seed": 0, "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, y), 60)
    a, b = fit_platt(booster.predict(X, raw_score=True), y)
    model = RiskModel.from_parts(
        "credit", booster, X, spec_hash=train.spec_hash, calib_a=a, calib_b=b,
        model_spec=load_yaml(resolve_spec("models", "credit")), catalog=train.catalog,
        metadata={"model_version": "3", "run_id": "0123456789abcdef0123456789abcdef", "trained_at": "2024-06-30T00:00:00+00:00"},
    )
    panel = build_panel(records, [AS_OF], spec)
    return AppealCase(raw=market.records, records=records, spec=spec, model=model, panel=panel)


@functools.cache
def default_explanation() -> Explanation:
    """The explanation, with default settings, of the lowest-scored penalised entity (computed once).

    The appeal tests only read it; the path-to-next-grade search inside makes it the
    costliest object of these tests.
    """
    case = appeal_case()
    return explain_entity(penalised_entities(case)[0], AS_OF, records=case.records, model=case.model, spec=case.spec)


def penalised_entities(case: AppealCase, exactly_one: bool = False) -> list[str]:
    """Entities alive at AS_OF with an unrepaired penalty known in the year before (lowest score first)."""
    pens = case.records["penalties"]
    known = pens[(pens["published"] < AS_OF) & (pens["published"] >= AS_OF - pd.Timedelta(days=365))
                 & pens["repaired"].isna()]
    counts = pens[pens["published"] < AS_OF]["entity_id"].value_counts()
    ids = set(known["entity_id"])
    if exactly_one:
        ids &= set(counts[counts == 1].index)
    scores = case.model.score(case.panel.frame)
    scores = scores[scores["entity_id"].isin(ids)].sort_values(["score", "entity_id"])
    return scores["entity_id"].tolist()


def lowest_scored(case: AppealCase) -> str:
    scores = case.model.score(case.panel.frame).sort_values(["score", "entity_id"])
    return str(scores["entity_id"].iloc[0])


def feature_values_of(case: AppealCase, entity_id: str) -> pd.Series:
    frame = case.panel.frame
    return frame[frame["entity_id"] == entity_id].iloc[0]

