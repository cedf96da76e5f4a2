"""Ranking (监管盲区与抽查计划): blind spots, inspection plans and their evaluation.

:func:`blind_spots` lists the entities no inspection or penalty touched in a look-back,
ranked by predicted risk; :func:`selection_aware_sample` gives the rows (and weights)
to train a model that ranks them without learning "never inspected means safe";
:func:`inspection_plan` draws a seeded random sample per grade plus the top blind
spots and assigns inspectors; :func:`evaluate_plan` replays strategies against the
truth of a synthetic market. Which sources count as "touched" and the default rates
come from ``experiments/monitor.yaml``.

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

__all__ = [
    "EVALUATION_COLUMNS",
    "PLAN_COLUMNS",
    "STRATEGIES",
    "SelectionSample",
    "assign_inspectors",
    "blind_spots",
    "evaluate_plan",
    "inspection_plan",
    "observed_in_horizon",
    "scaled_grade_counts",
    "selection_aware_sample",
]
