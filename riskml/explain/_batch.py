"""Explanations of many scored rows at once: TreeSHAP, points, reason texts, shap objects.

:func:`model_reasons` gives the top reasons :func:`riskml.predict` attaches to scores;
:func:`explain_rows` keeps every contribution of every row, in raw log-odds and in
score points, as a :class:`BatchExplanation` that sums by indicator group and converts
to a ``shap.Explanation`` so shap's own plots (beeswarm, waterfall, scatter) draw
riskml's exact values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from riskml.explain._points import points_by_dimension, points_from_contributions
from riskml.explain._reasons import reasons_frame
from riskml.explain._treeshap import tree_contributions

if TYPE_CHECKING:
    import shap
    from riskml.models import RiskModel

__all__ = ["BatchExplanation", "explain_rows", "model_reasons"]

#: units of :meth:`BatchExplanation.to_shap`
UNITS: tuple[str, ...] = ("points", "log-odds")


def model_reasons(model: RiskModel, frame: pd.DataFrame, k: int = 3) -> pd.DataFrame:
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
    batch = explain_rows(model, frame)
    return reasons_frame(batch.points, batch.data, model.catalog, k=k).reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class BatchExplanation:
    """Exact TreeSHAP explanations of many panel rows, in log-odds and in score points.

    ``base_points + points.sum(axis=1)`` is each row's score before overrides, and
    ``base_value + contributions.sum(axis=1)`` its raw booster margin, exactly.

    Attributes
    ----------
    rows : DataFrame
        ``entity_id`` and ``as_of`` of each row when the frame had them (RangeIndex).
    data : DataFrame
        The rows' feature values (RangeIndex), in the model's feature order.
    contributions : numpy.ndarray, shape (n_rows, n_features)
        TreeSHAP values in raw log-odds.
    base_value : numpy.ndarray, shape (n_rows,)
        The booster's expected margin (log-odds), the same for every row.
    points : DataFrame
        Contributions in score points (negative lowers the score), one column per
        feature.
    base_points : numpy.ndarray, shape (n_rows,)
        Score points of the base value.
    catalog : DataFrame
        The model's feature catalog (labels, indicator groups).

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> from riskml.models import fit_model
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> model = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
    ...                   params={"n_estimators": 10}).model
    >>> batch = explain_rows(model, panel.frame.head(50))
    >>> bool(np.allclose(batch.scores, model.score(panel.frame.head(50))["score"]))
    True
    >>> exp = batch.to_shap()
    >>> exp.values.shape == batch.points.shape, bool(exp.base_values[0] == batch.base_points[0])
    (True, True)
    """

    rows: pd.DataFrame
    data: pd.DataFrame
    contributions: np.ndarray = field(repr=False)
    base_value: np.ndarray = field(repr=False)
    points: pd.DataFrame = field(repr=False)
    base_points: np.ndarray = field(repr=False)
    catalog: pd.DataFrame = field(repr=False)

    @property
    def features(self) -> list[str]:
        """Feature names, in the model's order."""
        return list(self.points.columns)

    @property
    def scores(self) -> np.ndarray:
        """Score of each row (before overrides): base points plus feature points."""
        return self.base_points + self.points.to_numpy().sum(axis=1)

    def by_dimension(self) -> pd.DataFrame:
        """Points per indicator group, one column per group (see :func:`points_by_dimension`)."""
        return points_by_dimension(self.points, self.features, self.catalog)

    def to_shap(self, units: Literal["points", "log-odds"] = "points") -> shap.Explanation:
        """A ``shap.Explanation`` of the rows, for shap's plots.

        Parameters
        ----------
        units : {"points", "log-odds"}, default "points"
            ``points``: values are score points and base values the base points (they
            add up to the score); ``log-odds``: the raw TreeSHAP values and the
            booster's expected margin (they add up to the margin).

        Returns
        -------
        shap.Explanation
            ``values`` (n_rows, n_features), ``base_values`` (n_rows,), ``data`` the
            feature values as numbers (category codes, NaN when missing) for colouring,
            ``display_data`` the values as given, ``feature_names`` and, when known,
            ``instance_names`` (``entity_id@as_of``).

        Raises
        ------
        ValueError
            When ``units`` is not one of them.
        """
        import shap

        if units not in UNITS:
            raise ValueError(f"units must be one of {', '.join(UNITS)}; got {units!r}")
        if units == "points":
            values, base = self.points.to_numpy(dtype=np.float64), np.asarray(self.base_points, dtype=np.float64)
        else:
            values = np.asarray(self.contributions, dtype=np.float64)
            base = np.asarray(self.base_value, dtype=np.float64)
        numeric = np.column_stack([_as_numbers(self.data[c]) for c in self.features]) if self.features else None
        names = None
        if {"entity_id", "as_of"} <= set(self.rows.columns):
            as_of = pd.to_datetime(self.rows["as_of"]).dt.strftime("%Y-%m-%d")
            names = (self.rows["entity_id"].astype(str) + "@" + as_of).tolist()
        return shap.Explanation(
            values=values, base_values=base, data=numeric, display_data=self.data.to_numpy(dtype=object),
            feature_names=self.features, instance_names=names,
            output_names="score (points)" if units == "points" else "log-odds",
        )


def _as_numbers(column: pd.Series) -> np.ndarray:
    """Feature values as float64: category codes for categories (NaN when missing)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy(dtype=np.float64)
        return np.where(codes < 0, np.nan, codes)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def explain_rows(model: RiskModel, frame: pd.DataFrame) -> BatchExplanation:
    """Explain many panel rows at once: every feature's contribution, exact.

    The contributions are those of the published score, the one the grade is read
    from: the grade model's when ``model`` has one (``RiskModel.grading``, a
    through-the-cycle credit grade), as in :func:`riskml.explain` and the reasons of
    :func:`riskml.predict`. ``base_points + points.sum(axis=1)`` is then
    ``model.score(frame)["score"]`` before overrides.

    Parameters
    ----------
    model : riskml.models.RiskModel
        The scoring model.
    frame : DataFrame
        Panel rows with the model's features (and ``entity_id``, ``as_of`` if known).

    Returns
    -------
    BatchExplanation
        Convert with :meth:`BatchExplanation.to_shap` for shap's plots.

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> from riskml.models import fit_model
    >>> panel, labels = toy_panel(n_entities=300, n_dates=16, seed=0)
    >>> model = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
    ...                   params={"n_estimators": 10}).model
    >>> batch = explain_rows(model, panel.frame.head(20))
    >>> batch.points.shape == (20, len(model.features))
    True
    """
    model = getattr(model, "grading", model)
    features = list(model.features)
    contrib = tree_contributions(model.booster, model.matrix(frame))
    base_points, points = points_from_contributions(contrib, model.policy, model.calib_a, model.calib_b)
    keys = [c for c in ("entity_id", "as_of") if c in frame.columns]
    return BatchExplanation(
        rows=frame[keys].reset_index(drop=True),
        data=frame[features].reset_index(drop=True),
        contributions=np.asarray(contrib[:, :-1], dtype=np.float64),
        base_value=np.asarray(contrib[:, -1], dtype=np.float64),
        points=pd.DataFrame(points, columns=features),
        base_points=base_points,
        catalog=model.catalog,
    )
