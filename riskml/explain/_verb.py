"""The verb ``riskml.explain(entity_id, as_of, records=...)``: one entity's grade, explained.

The verb resolves the model (:func:`riskml.tracking._resolve.resolve_model`: a model, a version,
an alias or the champion) and the records (:func:`riskml.records._boundary.as_records`), then
calls :func:`explain_entity`. It lives in this package because ``riskml.explain`` is
both the subpackage and the verb: the package's module object is callable and calls
:func:`explain` (see ``riskml/explain/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from riskml.explain._explanation import Explanation, explain_entity
from riskml.explain._whatif import AppealActions
from riskml.features import FeatureSpec
from riskml.models import RiskModel
from riskml.records import Records
from riskml.records._boundary import as_records
from riskml.tracking._resolve import resolve_model

__all__ = ["explain"]


def explain(
    entity_id: str,
    as_of: Any,
    *,
    records: Records | Mapping[str, pd.DataFrame] | str | Path,
    target: str = "credit",
    model: RiskModel | int | str | None = None,
    k: int = 5,
    feature_spec: FeatureSpec | str | Path | None = None,
    actions: AppealActions | Mapping[str, Any] | str | Path | None = None,
) -> Explanation:
    """Explain one entity's grade at ``as_of``: points, reasons, evidence, what-ifs.

    The panel row is rebuilt from the records as they were known at ``as_of``, so the
    same model version, entity and date always give the same explanation, even after
    newer records arrive.

    Parameters
    ----------
    entity_id : str
        The (pseudonymised) entity id.
    as_of : date-like
        The as-of date of the grade.
    records : Records, dict of DataFrame or path
        The bureau's records (validated here if they are not yet).
    target : str, default "credit"
    model : RiskModel, int, str, optional
        A model, a registered version, or an alias; default the ``champion``.
    k : int, default 5
        Number of top reasons.
    feature_spec : path or FeatureSpec, optional
        The feature library the model was trained with (default: built-in).
    actions : path or mapping, optional
        What-if actions (default ``models/appeal_actions.yaml``; actions on sources
        the records do not have are skipped).

    Returns
    -------
    riskml.explain.Explanation
        With ``to_html(path)``, ``to_frame()`` and ``to_dict()``.

    Raises
    ------
    LookupError
        When ``model`` is None and the target has no champion (the message says when
        that is because the backtest had too few confirmed cases).

    Examples
    --------
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=1500, seed=0)
    >>> result = riskml.train(market.records, "credit", params={"n_estimators": 30},
    ...                       backtest={"test_dates": "last 1"}, log=False)
    >>> scores = riskml.predict(market.records, model=result.model, explain=0)
    >>> worst = scores.sort_values("score").iloc[0]
    >>> e = riskml.explain(worst["entity_id"], worst["as_of"], records=market.records, model=result.model)
    >>> bool(abs(e.base_points + e.to_frame()["points"].sum() - e.score) < 1e-6)
    True
    """
    risk_model = resolve_model(target, model)
    return explain_entity(entity_id, as_of, records=as_records(records), model=risk_model, target=target, k=k,
                          spec=feature_spec, actions=actions)
