"""Ranking (监管盲区与抽查计划): blind spots, inspection plans and their evaluation.

:func:`blind_spots` lists the entities no inspection or penalty touched in a look-back,
ranked by predicted risk; :func:`selection_aware_sample` gives the rows (and weights) to
train a model that ranks them without learning "never inspected means safe";
:func:`inspection_plan` draws a seeded random sample per grade plus the top blind spots
and assigns inspectors; :func:`evaluate_plan` compares strategies on given scores
against the truth of a synthetic market; :func:`replay` replays the quarterly cycle
(train on what was known, plan, inspect, learn) without look-ahead, with the policies of
``experiments/replay.yaml``. Which sources count as "touched" and the default rates come
from the ranking sections of ``experiments/monitor.yaml``
(:func:`~riskml.ranking._spec.load_ranking_spec`).

Examples
--------
>>> import pandas as pd
>>> from riskml.ranking import inspection_plan
>>> scores = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "grade": ["D", "A"]})
>>> inspection_plan(scores, {"A": 0.0, "D": 1.0})[["entity_id", "reason"]].to_dict("list")
{'entity_id': ['E0000001'], 'reason': ['random_D']}
"""

from __future__ import annotations

from riskml.ranking._blind_spots import blind_spots, selection_aware_sample
from riskml.ranking._evaluate import evaluate_plan
from riskml.ranking._plan import inspection_plan
from riskml.ranking._replay import Replay, records_known_before, replay
from riskml.ranking._replay_spec import load_replay_spec

__all__ = [
    "Replay",
    "blind_spots",
    "evaluate_plan",
    "inspection_plan",
    "load_replay_spec",
    "records_known_before",
    "replay",
    "selection_aware_sample",
]
