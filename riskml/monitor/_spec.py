"""The ranking and monitoring spec (``experiments/monitor.yaml``).

One file says which sources count as "touched by supervision" for blind spots, which
sources make a label observed for selection handling, the default plan rates and
budget, the group columns and flag of the fairness checks, and the thresholds whose
crossing raises a monitoring warning. :func:`load_monitor_spec` validates it into a
frozen :class:`MonitorSpec`; every function that reads it also accepts one directly.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.features._spec import Where, check_where
from riskml.records._sources import SourceCatalog, load_sources

__all__ = [
    "BlindSpotSpec",
    "MonitorSpec",
    "PlanSpec",
    "SelectionSpec",
    "SourceFilter",
    "Thresholds",
    "load_monitor_spec",
    "parse_days",
]

_DAYS_RE = re.compile(r"^\s*([0-9]+)\s*([yd]?)\s*$")
#: Days in one year of a look-back such as "3y": the feature library's 365-day year.
DAYS_PER_YEAR = 365


def parse_days(value: str | int | float) -> int:
    """A look-back or horizon as whole days: ``"3y"`` (365-day years), ``"90d"`` or a number.

    Parameters
    ----------
    value : str, int or float
        ``"<n>y"``, ``"<n>d"``, ``"<n>"`` or a non-negative number of days.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When ``value`` is not one of these forms or is negative.

    Examples
    --------
    >>> parse_days("3y"), parse_days("90d"), parse_days(30)
    (1095, 90, 30)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number of days or '<n>y'/'<n>d', got {value!r}")
    if isinstance(value, int | float):
        if value < 0 or value != int(value):
            raise ValueError(f"expected a whole, non-negative number of days, got {value!r}")
        return int(value)
    match = _DAYS_RE.match(str(value))
    if not match:
        raise ValueError(f"expected a number of days or '<n>y'/'<n>d' (e.g. '3y', '1095d'), got {value!r}")
    n, unit = int(match.group(1)), match.group(2)
    return n * DAYS_PER_YEAR if unit == "y" else n


class SourceFilter(SpecModel):
    """Records of ``source`` matching ``where`` (column: value | [values] | {min, max}).

    Attributes
    ----------
    source : str
        The declared source whose records count (e.g. ``inspections``).
    where : dict
        Only records matching this filter count: a column maps to a value, a list of
        values (any matches) or a range ``{min: x, max: y}`` (inclusive), e.g.
        ``{kind: random}``; missing values never match. Empty: every record of the
        source.

    Examples
    --------
    >>> from riskml.monitor import SourceFilter
    >>> SourceFilter(source="inspections", where={"kind": "random"}).where
    {'kind': 'random'}
    """

    source: str
    where: Where = Field(default_factory=dict)


class BlindSpotSpec(SpecModel):
    """The ``blind_spots`` section: look-back and which sources touch an entity.

    Attributes
    ----------
    lookback : str or int
        How far back a touch counts: ``"<n>y"`` (365-day years), ``"<n>d"`` or a
        number of days (e.g. ``3y`` = 1095 days). An entity is a blind spot at the
        as-of date ``t`` when no ``touch_sources`` record is known in ``[t - lookback,
        t)``.
    touch_sources : list of SourceFilter
        The records that count as supervision touching their entity (e.g.
        inspections, penalties); at least one.

    Examples
    --------
    >>> from riskml.monitor import BlindSpotSpec
    >>> spec = BlindSpotSpec(lookback="2y", touch_sources=[{"source": "inspections"}])
    >>> spec.lookback_days, spec.touch_sources[0].source
    (730, 'inspections')
    """

    lookback: str | int = "3y"
    touch_sources: list[SourceFilter] = Field(min_length=1)

    @field_validator("lookback")
    @classmethod
    def _valid_lookback(cls, value: str | int) -> str | int:
        parse_days(value)
        return value

    @property
    def lookback_days(self) -> int:
        """The look-back in days."""
        return parse_days(self.lookback)


class SelectionSpec(SpecModel):
    """The ``selection`` section: when a label counts as observed.

    Attributes
    ----------
    horizon_days : int
        Length of the label horizon in days (e.g. 365, the model's horizon): a row's
        label at ``t`` counts as observed when an ``observed_sources`` record is known
        in ``[t, t + horizon_days)``.
    observed_sources : list of SourceFilter
        The records that observe an entity's label, mostly inspections; at least one.

    Examples
    --------
    >>> from riskml.monitor import SelectionSpec
    >>> spec = SelectionSpec(observed_sources=[{"source": "inspections"}])
    >>> spec.horizon_days, spec.observed_sources[0].where
    (365, {})
    """

    horizon_days: int = Field(default=365, gt=0)
    observed_sources: list[SourceFilter] = Field(min_length=1)


class PlanSpec(SpecModel):
    """The ``plan`` section: sampling rate per grade, blind spots added, budget share.

    Attributes
    ----------
    rates : dict of str to float
        Share of each grade's entities an inspection plan draws at random, in [0, 1]
        (e.g. ``{A: 0.03, D: 0.9}``); every grade in the scores needs one.
    blind_spots : int
        How many top-ranked blind spots not already drawn a plan adds to the random
        draw; 0: none.
    budget_share : float
        Inspections per quarter when strategies are compared (``evaluate_plan``), as a
        share of the scored entities (e.g. 0.05 = 5 %).

    Examples
    --------
    >>> from riskml.monitor import PlanSpec
    >>> plan = PlanSpec(rates={"A": 0.03, "D": 0.9})
    >>> plan.rates["D"], plan.blind_spots, plan.budget_share
    (0.9, 0, 0.05)
    """

    rates: dict[str, float] = Field(min_length=1)
    blind_spots: int = Field(default=0, ge=0)
    budget_share: float = Field(default=0.05, gt=0, le=1)

    @field_validator("rates")
    @classmethod
    def _rates_in_unit_interval(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {g: r for g, r in value.items() if not 0.0 <= r <= 1.0}
        if bad:
            raise ValueError(f"rates must lie in [0, 1]; got {bad}")
        return value


class Thresholds(SpecModel):
    """The ``thresholds`` section: when a monitoring number raises a warning.

    Attributes
    ----------
    score_psi : float
        Largest population stability index of the score distribution, reference to
        current quarter, before a warning (0.25 is the usual "shifted" mark).
    feature_psi : float
        Largest PSI of any one feature before a warning (one warning per feature).
    grade_share_change : float
        Largest absolute change of a grade's share of the scored entities between
        the two dates (0.10 = 10 percentage points).
    group_ratio : list of float
        ``[low, high]``: a group's flag rate, precision or false-positive rate divided
        by the reference group's (the largest group) raises a warning outside this
        range.
    min_group_size : int
        Groups with fewer rows are reported but not checked against ``group_ratio``.

    Examples
    --------
    >>> from riskml.monitor import Thresholds
    >>> limits = Thresholds(score_psi=0.1)
    >>> limits.score_psi, limits.group_ratio
    (0.1, (0.8, 1.25))
    """

    score_psi: float = Field(default=0.25, ge=0)
    feature_psi: float = Field(default=0.25, ge=0)
    grade_share_change: float = Field(default=0.10, ge=0, le=1)
    group_ratio: tuple[float, float] = (0.8, 1.25)
    min_group_size: int = Field(default=50, ge=1)

    @field_validator("group_ratio")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= value[0] <= value[1]:
            raise ValueError(f"group_ratio must be [low, high] with 0 <= low <= high; got {list(value)}")
        return value


class MonitorSpec(SpecModel):
    """``experiments/monitor.yaml``: blind spots, selection, plans, monitoring thresholds.

    Attributes
    ----------
    blind_spots : BlindSpotSpec
        Which records touch an entity, and over what look-back (``riskml.blind_spots``).
    selection : SelectionSpec
        When a label counts as observed, for selection-aware blind-spot models.
    plan : PlanSpec
        Default grade rates, blind spots and budget of inspection plans.
    psi_bins : int
        Quantile bins of the reference distribution in the score and feature PSI.
    groups : list of str
        Registry columns whose groups the fairness checks compare (e.g. ``district``);
        a column the scores lack is read from the entities, or skipped.
    flag : str or dict
        Which entities the fairness checks count as flagged: a grade (``D``: flagged
        when the grade is D) or ``{min_probability: p}`` (flagged when the probability
        is at least ``p``).
    thresholds : Thresholds
        When a monitoring number raises a warning.

    Examples
    --------
    >>> from riskml.monitor import load_monitor_spec
    >>> spec = load_monitor_spec()
    >>> spec.blind_spots.lookback_days, [s.source for s in spec.blind_spots.touch_sources]
    (1095, ['inspections', 'penalties'])
    >>> spec.thresholds.group_ratio
    (0.8, 1.25)
    """

    blind_spots: BlindSpotSpec
    selection: SelectionSpec
    plan: PlanSpec
    psi_bins: int = Field(default=10, ge=2)
    groups: list[str] = Field(default_factory=lambda: ["district", "industry", "entity_type"])
    flag: str | dict[str, float] = "D"
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _flag_form(self) -> MonitorSpec:
        if isinstance(self.flag, dict) and set(self.flag) != {"min_probability"}:
            raise ValueError(f"flag must be a grade or {{min_probability: p}}; got {self.flag}")
        return self


def load_monitor_spec(
    spec: str | Path | MonitorSpec | dict[str, Any] = "monitor",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
) -> MonitorSpec:
    """Load and validate the ranking and monitoring spec.

    Parameters
    ----------
    spec : str, path, dict or MonitorSpec
        An experiments spec name (default ``"monitor"``), a YAML path, the parsed
        mapping, or a ready :class:`MonitorSpec` (returned as is).
    folder : str or Path, optional
        Folder of experiment specs instead of the bundled ``experiments/``.
    sources : SourceCatalog, optional
        Source declarations the source filters are checked against (default built-in).

    Returns
    -------
    MonitorSpec

    Raises
    ------
    riskml.SpecError
        When the file is missing or a key is invalid; names the file and the key.

    Examples
    --------
    >>> load_monitor_spec().plan.rates["D"]
    0.9
    """
    if isinstance(spec, MonitorSpec):
        return spec
    if isinstance(spec, dict):
        path: Path = Path("<dict>")
        data = spec
    else:
        path = resolve_spec("experiments", str(spec), folder)
        data = load_yaml(path)
    parsed = parse_spec(MonitorSpec, data, path)
    catalog = sources or load_sources()
    filters = [(f"blind_spots.touch_sources.{i}", f) for i, f in enumerate(parsed.blind_spots.touch_sources)]
    filters += [(f"selection.observed_sources.{i}", f) for i, f in enumerate(parsed.selection.observed_sources)]
    for key, flt in filters:
        if flt.source not in catalog:
            raise SpecError(path, f"{key}.source", f"a declared source; declared: {sorted(catalog.sources)}", flt.source)
        check_where(flt.where, catalog[flt.source], path, f"{key}.where")
    return parsed
