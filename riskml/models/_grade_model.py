"""The credit grade's own footing: a through-the-cycle score on conduct features.

A point-in-time (PIT) probability answers "will this entity violate in the coming
year, calendar and all": the right thing to rank inspections by. A published credit
grade must instead reflect conduct, not the season it is read in (the distinction
rating agencies draw between point-in-time and through-the-cycle ratings). A model
spec declares the grade's footing in its ``grade_score`` section::

    grade_score:
      basis: through_the_cycle
      aggregations: [count, sum, distinct_count, on_list, open_count, open_sum]
      status: [active, all]
      conduct_only: true
      exclude: [inspections_count_365d]
      attributes: [industry]
      calibration: long_run

The grade model is a second booster trained by :func:`riskml.models.fit_model` on the
features the section selects (:func:`grade_features`):

* only aggregations that are step functions of records (a count in a window, a list
  or open state), so the score moves only when a record is known, leaves its window or
  ends ("no news, no change"); recency (``days_since_*``), time left, ages, shares,
  means and latest values move with the calendar or against a compliant act (a late
  report filed raises the late-filing *share*);
* only features with a declared direction of conduct (``conduct_only``), each
  monotone-constrained in that direction, and no counts of ended (repaired) records,
  so filing a report, a repair, leaving a list or removing a wrong negative record can
  never cost points (:func:`compliant_effect` states the argument per feature);
* calibrated to the long-run rate (``calibration: long_run``): the Platt slope from
  the out-of-time calibration dates, the intercept moved so the mean probability over
  every training quarter equals the default rate pooled over those quarters, rather
  than the rate of the latest quarter.

The PIT booster stays the model's ``probability``; the grade model gives ``score``,
the grades and every explanation in points.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from riskml._specs import SpecError, SpecModel, parse_spec
from riskml.models._bundle import _sigmoid

__all__ = ["GRADE_AGGREGATIONS", "GradeScoreSpec", "compliant_effect", "grade_features", "grade_score_spec",
           "long_run_intercept"]

#: Aggregations that are step functions of the records and monotone under a compliant act.
# ``max``, ``min`` and ``mean`` are missing when no record is counted, and a missing value
# escapes LightGBM's monotone constraints (it takes a learned default branch).
GRADE_AGGREGATIONS: tuple[str, ...] = ("count", "sum", "distinct_count", "on_list", "open_count", "open_sum")


class GradeScoreSpec(SpecModel):
    """The ``grade_score`` section of a model spec: what the credit grade is computed from.

    Attributes
    ----------
    basis : {"through_the_cycle", "point_in_time"}
        ``point_in_time`` grades the PIT probability itself (no second model).
    aggregations : list of str
        Catalog aggregations the grade may use (a subset of :data:`GRADE_AGGREGATIONS`).
    status : list of {"active", "all"}
        Record statuses counted; counts of ended (repaired) records are left out.
    kinds : list of {"window", "state"}
        Feature kinds: the entity's own records (not static registry values, whose
        ages move with the calendar, nor other entities' records).
    conduct_only : bool
        Only features with a declared direction of conduct (``direction != 0``).
    exclude : list of str
        Further features left out, by name.
    attributes : list of str
        Static registry features added by name (e.g. ``industry``): they never move
        with the calendar and no appeal action changes them.
    calibration : {"long_run", "latest"}
        ``long_run`` matches the mean probability to the rate pooled over all training
        quarters; ``latest`` keeps the Platt fit on the latest calibration dates.

    Examples
    --------
    >>> GradeScoreSpec().basis, GradeScoreSpec().calibration
    ('through_the_cycle', 'long_run')
    """

    basis: Literal["through_the_cycle", "point_in_time"] = "through_the_cycle"
    aggregations: list[Literal["count", "sum", "distinct_count", "on_list", "open_count", "open_sum"]] = Field(
        default_factory=lambda: list(GRADE_AGGREGATIONS))
    status: list[Literal["active", "all"]] = Field(default_factory=lambda: ["active", "all"])
    kinds: list[Literal["window", "state"]] = Field(default_factory=lambda: ["window", "state"])
    conduct_only: bool = True
    exclude: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)
    calibration: Literal["long_run", "latest"] = "long_run"


def grade_score_spec(model_spec: dict[str, Any], where: str = "<model spec>") -> GradeScoreSpec | None:
    """The validated ``grade_score`` section of a raw model spec, or None when absent.

    Raises
    ------
    riskml.SpecError
        Naming the key when the section does not match :class:`GradeScoreSpec`.

    Examples
    --------
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> grade_score_spec(load_yaml(resolve_spec("models", "credit"))).basis
    'through_the_cycle'
    >>> grade_score_spec({"name": "x"}) is None
    True
    """
    raw = model_spec.get("grade_score")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SpecError(where, "grade_score", "a mapping (basis, aggregations, status, kinds, conduct_only, "
                        "exclude, calibration)", raw)
    try:
        return parse_spec(GradeScoreSpec, raw, where)
    except SpecError as exc:
        raise SpecError(where, f"grade_score.{exc.key}", exc.expected, exc.got) from None


def _status(catalog: pd.DataFrame) -> pd.Series:
    # catalogs written before the status column existed count every record
    if "status" in catalog.columns:
        return catalog["status"].fillna("all").astype("str")
    return pd.Series("all", index=catalog.index)


def grade_features(catalog: pd.DataFrame, spec: GradeScoreSpec, available: list[str] | None = None) -> list[str]:
    """The features the grade model uses, in catalog order.

    Parameters
    ----------
    catalog : DataFrame
        Feature catalog (index: name; ``aggregation``, ``direction``, ``kind`` and,
        when known, ``status``).
    spec : GradeScoreSpec
    available : list of str, optional
        Restrict to these names (e.g. the features a model was trained with).

    Raises
    ------
    ValueError
        When no catalog feature passes the declaration.

    Examples
    --------
    >>> cat = pd.DataFrame({"aggregation": ["count", "days_since_last", "count", "count"],
    ...                     "direction": [1, 1, 0, -1], "kind": "window",
    ...                     "status": ["active", "all", "all", "ended"]}, index=["a", "b", "c", "d"])
    >>> grade_features(cat, GradeScoreSpec())
    ['a']
    """
    keep = catalog["aggregation"].isin(spec.aggregations) & _status(catalog).isin(spec.status)
    keep &= catalog["kind"].isin(spec.kinds)
    keep &= ~catalog.index.isin(spec.exclude)
    keep |= catalog.index.isin(spec.attributes) & (catalog["kind"] == "static") & (catalog["aggregation"] != "age")
    if spec.conduct_only:
        keep &= (catalog["direction"].fillna(0).astype(int) != 0) | catalog.index.isin(spec.attributes)
    if available is not None:
        keep &= catalog.index.isin(available)
    names = [str(n) for n in catalog.index[keep]]
    if not names:
        raise ValueError("no feature of the catalog fits the model spec's grade_score section "
                         f"(aggregations {spec.aggregations}, status {spec.status}); widen it or set "
                         "basis: point_in_time")
    return names


def compliant_effect(aggregation: str, direction: int, status: str = "all") -> str:
    """Why a compliant act cannot raise a grade feature's risk contribution.

    A compliant act removes a negative record from a count (a wrong record removed), ends
    it (a repair, leaving a list: an active count, an open state or a list membership
    falls) or adds a positive record (a report filed: a count with direction -1 rises).
    A monotone constraint in the feature's direction then never lowers the score.

    Returns
    -------
    str
        ``"never_lowers"`` for the grade's aggregations and statuses, ``"unsafe"`` else.

    Examples
    --------
    >>> compliant_effect("count", 1, "active"), compliant_effect("share", 1)
    ('never_lowers', 'unsafe')
    """
    if aggregation in GRADE_AGGREGATIONS and status in ("active", "all") and direction in (-1, 1):
        return "never_lowers"
    return "unsafe"


def long_run_intercept(margin: np.ndarray, y: np.ndarray, a: float, b: float) -> float:
    """The Platt intercept that makes the mean probability equal the pooled rate.

    Solves ``mean(sigmoid(a * margin + b')) = mean(y)`` for ``b'`` by bisection
    (the left side rises with ``b'``).

    Examples
    --------
    >>> m = np.linspace(-3, 1, 1001)
    >>> b = long_run_intercept(m, (m > 0.5).astype(float), 1.0, 0.0)
    >>> round(float(np.mean(1 / (1 + np.exp(-(m + b))))), 4), round(float(np.mean(m > 0.5)), 4)
    (0.1249, 0.1249)
    """
    target = float(np.mean(y))
    if not 0 < target < 1:
        raise ValueError(f"the long-run calibration needs both outcomes; the rate is {target}")
    lo, hi = b - 20.0, b + 20.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        p = np.mean(_sigmoid(a * margin + mid))
        lo, hi = (mid, hi) if p < target else (lo, mid)
        if hi - lo < 1e-10:
            break
    out = 0.5 * (lo + hi)
    if not math.isfinite(out):
        raise ValueError("the long-run intercept did not converge")
    return out
