"""Ranking (监管盲区与抽查计划): blind spots, inspection plans and their evaluation.

:func:`blind_spots` lists the entities no inspection or penalty touched in a look-back,
ranked by predicted risk; :func:`selection_aware_sample` gives the rows (and weights)
to train a model that ranks them without learning "never inspected means safe";
:func:`inspection_plan` draws a seeded random sample per grade plus the top blind
spots and assigns inspectors; :func:`evaluate_plan` compares strategies on given
scores against the truth of a synthetic market; :func:`replay` replays the quarterly
cycle (train on what was known, plan, inspect, learn) without look-ahead, with the
policies of ``experiments/replay.yaml``. Which sources count as "touched" and the default rates
come from the ranking sections of ``experiments/monitor.yaml`` (:func:`load_ranking_spec`).

Examples
--------
>>> import pandas as pd
>>> from riskml.ranking import inspection_plan
>>> scores = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "grade": ["D", "A"]})
>>> inspection_plan(scores, {"A": 0.0, "D": 1.0})[["entity_id", "reason"]].to_dict("list")
{'entity_id': ['E0000001'], 'reason': ['random_D']}
"""

from __future__ import annotations

from riskml.ranking._blind_spots import SelectionSample, blind_spots, observed_in_horizon, selection_aware_sample
from riskml.ranking._evaluate import EVALUATION_COLUMNS, STRATEGIES, evaluate_plan, scaled_grade_counts
from riskml.ranking._plan import PLAN_COLUMNS, assign_inspectors, inspection_plan
from riskml.ranking._replay import QUARTER_COLUMNS, Replay, records_known_before, replay
from riskml.ranking._replay_spec import (
    POLICY_KINDS,
    OutcomeSpec,
    PolicySpec,
    ReplaySpec,
    ReplayTraining,
    load_replay_spec,
)
from riskml.ranking._spec import (
    BlindSpotSpec,
    PlanSpec,
    RankingSpec,
    SelectionSpec,
    SourceFilter,
    load_ranking_spec,
    parse_days,
)

__all__ = [
    "EVALUATION_COLUMNS",
    "PLAN_COLUMNS",
    "POLICY_KINDS",
    "QUARTER_COLUMNS",
    "BlindSpotSpec",
    "OutcomeSpec",
    "PlanSpec",
    "PolicySpec",
    "RankingSpec",
    "Replay",
    "ReplaySpec",
    "ReplayTraining",
    "STRATEGIES",
    "SelectionSample",
    "SelectionSpec",
    "SourceFilter",
    "assign_inspectors",
    "blind_spots",
    "evaluate_plan",
    "inspection_plan",
    "load_ranking_spec",
    "load_replay_spec",
    "observed_in_horizon",
    "parse_days",
    "records_known_before",
    "replay",
    "scaled_grade_counts",
    "selection_aware_sample",
]
