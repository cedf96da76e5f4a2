"""The monitoring spec (``experiments/monitor.yaml``).

One file says which sources count as "touched by supervision" for blind spots, which
sources make a label observed for selection handling, the default plan rates and
budget (ranking's sections, :class:`riskml.ranking._spec.RankingSpec`), and the group columns
and flag of the fairness checks and the thresholds whose crossing raises a monitoring
warning (monitoring's own). :func:`load_monitor_spec` validates the whole file into a
frozen :class:`MonitorSpec`; every function that reads it also accepts one directly.
"""

from __future__ import annotations

from collections.abc import Mapping

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from riskml._specs import SpecModel, parse_spec, read_spec
from riskml.ranking._spec import RankingSpec
from riskml.ranking._spec import check_source_filters
from riskml.records._sources import SourceCatalog

__all__ = ["MonitorSpecLike", "MonitorSpec", "Thresholds", "load_monitor_spec"]


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
    >>> from riskml.monitor._spec import Thresholds
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


class MonitorSpec(RankingSpec):
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
    >>> from riskml.monitor._spec import load_monitor_spec
    >>> spec = load_monitor_spec()
    >>> spec.blind_spots.lookback_days, [s.source for s in spec.blind_spots.touch_sources]
    (1095, ['inspections', 'penalties'])
    >>> spec.thresholds.group_ratio
    (0.8, 1.25)
    """

    psi_bins: int = Field(default=10, ge=2)
    groups: list[str] = Field(default_factory=lambda: ["district", "industry", "entity_type"])
    flag: str | dict[str, float] = "D"
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @model_validator(mode="after")
    def _flag_form(self) -> MonitorSpec:
        if isinstance(self.flag, dict) and set(self.flag) != {"min_probability"}:
            raise ValueError(f"flag must be a grade or {{min_probability: p}}; got {self.flag}")
        return self


#: What a spec parameter accepts: a :class:`MonitorSpec`, the name or path of a YAML file, or its mapping.
MonitorSpecLike = MonitorSpec | str | Path | Mapping[str, Any]


def load_monitor_spec(
    spec: MonitorSpecLike = "monitor",
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
    path, data = read_spec(spec, "experiments", folder)
    parsed = parse_spec(MonitorSpec, data, path)
    check_source_filters(parsed.source_filters(), path, sources)
    return parsed
