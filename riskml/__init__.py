"""riskml: credit-risk grades, fraud warnings and inspection priorities for
market-supervision bureaus (市场监管信用风险分类).

The verbs users need are importable from here; heavy dependencies (LightGBM, SHAP,
MLflow) load only when a verb that needs them is first used, so ``import riskml``
stays fast.

Examples
--------
>>> import riskml
>>> market = riskml.synth.make_market(n_entities=200, seed=0)
>>> sorted(market.records)[:3]
['abnormal_list', 'annual_reports', 'changes']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from riskml._specs import SpecError
from riskml._version import __version__

# public name -> "module:attribute" (or "module" for a subpackage)
_LAZY: dict[str, str] = {
    # subpackages
    "records": "riskml.records",
    "synth": "riskml.synth",
    "features": "riskml.features",
    "labels": "riskml.labels",
    "models": "riskml.models",
    "grading": "riskml.grading",
    "explain": "riskml.explain",
    "tracking": "riskml.tracking",
    "ranking": "riskml.ranking",
    "monitor": "riskml.monitor",
    "ledger": "riskml.ledger",
    "spark": "riskml.spark",  # pyspark itself loads only when a Spark function runs
    # verbs
    "build_panel": "riskml.features:build_panel",
    "Panel": "riskml.features:Panel",
    "make_labels": "riskml.labels:make_labels",
    "train": "riskml._pipeline:train",
    "promote": "riskml._pipeline:promote",
    "predict": "riskml._pipeline:predict",
    "TrainResult": "riskml._pipeline:TrainResult",
    "tune": "riskml._tune:tune",
    "TuneResult": "riskml._tune:TuneResult",
    "blind_spots": "riskml.ranking:blind_spots",
    "inspection_plan": "riskml.ranking:inspection_plan",
    "evaluate_plan": "riskml.ranking:evaluate_plan",
    "publish": "riskml.ledger:publish",
    "score_quarter": "riskml._job:score_quarter",
    "replay": "riskml.ranking:replay",
}

__all__ = ["SpecError", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'riskml' has no attribute {name!r}")
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attr) if attr else module
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover
    from riskml import features, grading, labels, ledger, models, monitor, ranking, records, spark, synth, tracking
    from riskml._job import score_quarter
    from riskml.ledger import publish
    from riskml._pipeline import TrainResult, predict, promote, train
    from riskml._tune import TuneResult, tune
    from riskml.ranking import blind_spots, evaluate_plan, inspection_plan, replay
    from riskml.features import Panel, build_panel
    from riskml.labels import make_labels
