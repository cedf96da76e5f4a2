"""Ranking's spec: the sections of ``experiments/monitor.yaml`` that blind spots and plans read.

``experiments/monitor.yaml`` is one file shared by two readers. Ranking reads three of its
sections: which sources count as "touched by supervision" for blind spots
(``blind_spots``), which sources make a label observed for selection handling
(``selection``), and the default plan rates and budget (``plan``).
:func:`load_ranking_spec` validates them into a frozen :class:`RankingSpec`; the
monitoring sections (thresholds, fairness groups) belong to
:func:`riskml.monitor._spec.load_monitor_spec`, whose :class:`~riskml.monitor._spec.MonitorSpec` is a
:class:`RankingSpec` with those sections added and validates the whole file. Every
function that reads the spec also accepts a ready object.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from riskml._specs import SpecError, SpecModel, parse_spec, read_spec
from riskml.features._spec import Where, check_where
from riskml.records._sources import SourceCatalog, load_sources

__all__ = [
    "RankingSpecLike",
    "BlindSpotSpec",
    "PlanSpec",
    "RankingSpec",
    "SelectionSpec",
    "SourceFilter",
    "check_source_filters",
    "load_ranking_spec",
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
    >>> from riskml.ranking._spec import SourceFilter
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
    >>> from riskml.ranking._spec import BlindSpotSpec
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
    >>> from riskml.ranking._spec import SelectionSpec
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
    >>> from riskml.ranking._spec import PlanSpec
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


class RankingSpec(SpecModel):
    """The ranking sections of ``experiments/monitor.yaml``: blind spots, selection, plans.

    Attributes
    ----------
    blind_spots : BlindSpotSpec
        Which records touch an entity, and over what look-back (``riskml.blind_spots``).
    selection : SelectionSpec
        When a label counts as observed, for selection-aware blind-spot models.
    plan : PlanSpec
        Default grade rates, blind spots and budget of inspection plans.

    Examples
    --------
    >>> from riskml.ranking._spec import load_ranking_spec
    >>> spec = load_ranking_spec()
    >>> spec.blind_spots.lookback_days, [s.source for s in spec.blind_spots.touch_sources]
    (1095, ['inspections', 'penalties'])
    """

    blind_spots: BlindSpotSpec
    selection: SelectionSpec
    plan: PlanSpec

    def source_filters(self) -> list[tuple[str, SourceFilter]]:
        """Every source filter of the spec with its dotted key (for error messages)."""
        filters = [(f"blind_spots.touch_sources.{i}", f) for i, f in enumerate(self.blind_spots.touch_sources)]
        return filters + [(f"selection.observed_sources.{i}", f) for i, f in enumerate(self.selection.observed_sources)]


def check_source_filters(
    filters: Iterable[tuple[str, SourceFilter]], path: str | Path, sources: SourceCatalog | None = None
) -> None:
    """Check that each filter names a declared source and filters on its columns.

    Parameters
    ----------
    filters : iterable of (str, SourceFilter)
        Each filter with its dotted key in the spec file (e.g. ``outcome.found``).
    path : str or Path
        The spec file, named by the error.
    sources : SourceCatalog, optional
        Source declarations to check against (default built-in).

    Raises
    ------
    riskml.SpecError
        When a source is not declared or ``where`` names an unknown column or value;
        names the file and the key.

    Examples
    --------
    >>> from riskml.ranking._spec import SourceFilter
    >>> check_source_filters([("touch", SourceFilter(source="inspections"))], "<dict>")
    >>> check_source_filters([("touch", SourceFilter(source="visits"))], "<dict>")
    Traceback (most recent call last):
    ...
    riskml._specs.SpecError: <dict>: touch.source: expected a declared source; ...
    """
    catalog = sources or load_sources()
    for key, flt in filters:
        if flt.source not in catalog:
            raise SpecError(path, f"{key}.source", f"a declared source; declared: {sorted(catalog.sources)}", flt.source)
        check_where(flt.where, catalog[flt.source], path, f"{key}.where")


#: What a spec parameter accepts: a :class:`RankingSpec` (a monitor spec is one), the name or path of a YAML file, or its mapping.
RankingSpecLike = RankingSpec | str | Path | Mapping[str, Any]


def load_ranking_spec(
    spec: RankingSpecLike = "monitor",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
) -> RankingSpec:
    """Load and validate the ranking sections of a monitor spec.

    Parameters
    ----------
    spec : str, path, dict or RankingSpec
        An experiments spec name (default ``"monitor"``), a YAML path, the parsed
        mapping, or a ready :class:`RankingSpec` (a :class:`~riskml.monitor._spec.MonitorSpec`
        is one; returned as is).
    folder : str or Path, optional
        Folder of experiment specs instead of the bundled ``experiments/``.
    sources : SourceCatalog, optional
        Source declarations the source filters are checked against (default built-in).

    Returns
    -------
    RankingSpec

    Raises
    ------
    riskml.SpecError
        When the file is missing or a ranking key is invalid; names the file and the
        key. The other sections are left to :func:`riskml.monitor._spec.load_monitor_spec`.

    Examples
    --------
    >>> load_ranking_spec().plan.rates["D"]
    0.9
    """
    if isinstance(spec, RankingSpec):
        return spec
    path, data = read_spec(spec, "experiments", folder)
    own = {key: value for key, value in data.items() if key in RankingSpec.model_fields}
    parsed = parse_spec(RankingSpec, own, path)
    check_source_filters(parsed.source_filters(), path, sources)
    return parsed
