"""Top reasons for many scored rows at once: TreeSHAP, points, reason texts in one call."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskml.explain._points import points_from_contributions
from riskml.explain._reasons import reasons_frame
from riskml.explain._treeshap import tree_contributions

__all__ = ["model_reasons"]


def model_reasons(model: Any, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """The ``k`` features that lowered each row's score most, in points, with texts.

    The same reasons :func:`riskml.predict` attaches to its scores: exact TreeSHAP of
    the model's booster, converted to score points through the calibrator and the
    scorecard, ranked and worded by :func:`reasons_frame`.

    Parameters
    ----------
    model : riskml.models.RiskModel
        The scoring model.
    frame : DataFrame
        Panel rows: ``entity_id``, ``as_of`` and the model's features.
    k : int, default 3
        Reasons per row.

    Returns
    -------
    DataFrame
        ``reason_{j}_feature``, ``reason_{j}_points``, ``reason_{j}_text_zh``,
        ``reason_{j}_text_en`` for ``j = 1..k``, one row per input row (fresh
        RangeIndex).

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> from riskml.models import fit_model
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> model = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
    ...                   params={"n_estimators": 10}).model
    >>> reasons = model_reasons(model, panel.frame.head(5), k=2)
    >>> list(reasons.columns[:4])
    ['reason_1_feature', 'reason_1_points', 'reason_1_text_zh', 'reason_1_text_en']
    >>> len(reasons)
    5
    """
    model = getattr(model, "grading", model)  # reasons explain the grade's score
    matrix = model.matrix(frame)
    contrib = tree_contributions(model.booster, matrix)
    _, points = points_from_contributions(contrib, model.policy, model.calib_a, model.calib_b)
    points = pd.DataFrame(points, columns=list(model.features))
    values = frame[list(model.features)].reset_index(drop=True)
    return reasons_frame(points, values, model.catalog, k=k).reset_index(drop=True)
