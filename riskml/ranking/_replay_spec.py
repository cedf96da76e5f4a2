"""The replay spec (``experiments/replay.yaml``): which inspection policies to replay, and how.

A replay (:func:`riskml.ranking.replay`) walks the quarters of a period the way a bureau
lives them: train on what was known, score, grade, plan, inspect. The spec says which
quarters, how often the model is retrained and on which rows, where the labels of the
next trainings come from (the records, or what the replayed inspections found), which
policy is the bureau's baseline, and the policies themselves:

* ``risk_ranked``: the ``budget`` share of alive entities with the highest probability;
* ``random``: a seeded uniform draw of the same size ("double random");
* ``grade_rates``: a seeded draw per grade at ``rates`` (scaled to ``budget`` when one
  is given), plus the top blind spots for ``blind_spot_share`` of the budget.

:func:`load_replay_spec` validates the file into a frozen :class:`ReplaySpec`; errors name
the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping

import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import Field, field_validator, model_validator

from riskml._specs import SpecModel, parse_spec, read_spec
from riskml.ranking._spec import SourceFilter, check_source_filters
from riskml.records._sources import SourceCatalog

__all__ = ["ReplaySpecLike", "OutcomeSpec", "PolicySpec", "ReplaySpec", "ReplayTraining", "load_replay_spec"]


class PolicySpec(SpecModel):
    """One inspection policy of a replay.

    Attributes
    ----------
    name : str
        Short name used in the result tables (``risk_ranked_5``).
    kind : {"risk_ranked", "random", "grade_rates"}
    budget : float, optional
        Inspections per quarter as a share of the alive, scored entities (0.05 = 5 %).
        Required for ``risk_ranked`` and ``random``; for ``grade_rates`` it scales the
        rates so the plan has this size (without it, each grade is drawn at its rate
        and the plan's size follows the grades).
    rates : dict of str to float, optional
        Share of each grade drawn at random (``grade_rates`` only), in [0, 1].
    blind_spot_share : float
        Share of the budget given to the top-ranked blind spots (``grade_rates`` with
        a ``budget`` only); the grade draw gets the rest.
    order : {"risk", "random"}
        The order the quarter's inspections are carried out in: riskiest first, or at
        random. Sets the day of each inspection within the quarter (for "days
        earlier"). Default: ``random`` for the random policy, ``risk`` otherwise.
    label_en : str
        A readable name for tables and plots.

    Examples
    --------
    >>> from riskml.ranking._replay_spec import PolicySpec
    >>> PolicySpec(name="top5", kind="risk_ranked", budget=0.05).order
    'risk'
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    kind: Literal["risk_ranked", "random", "grade_rates"]
    budget: float | None = Field(default=None, gt=0, le=1)
    rates: dict[str, float] | None = None
    blind_spot_share: float = Field(default=0.0, ge=0, le=1)
    order: Literal["risk", "random"] | None = None
    label_en: str = ""

    @field_validator("rates")
    @classmethod
    def _rates_in_unit_interval(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            bad = {g: r for g, r in value.items() if not 0.0 <= r <= 1.0}
            if bad or not value:
                raise ValueError(f"rates must be a non-empty mapping of grade to a share in [0, 1]; got {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PolicySpec:
        if self.kind in ("risk_ranked", "random") and self.budget is None:
            raise ValueError(f"policy {self.name!r} ({self.kind}) needs a budget (a share of alive entities, e.g. 0.05)")
        if self.kind == "grade_rates" and not self.rates:
            raise ValueError(f"policy {self.name!r} (grade_rates) needs rates per grade, e.g. {{A: 0.03, D: 0.9}}")
        if self.kind != "grade_rates" and self.rates:
            raise ValueError(f"policy {self.name!r}: rates apply to kind grade_rates only, not {self.kind}")
        if self.blind_spot_share and (self.kind != "grade_rates" or self.budget is None):
            raise ValueError(f"policy {self.name!r}: blind_spot_share needs kind grade_rates and a budget")
        if self.order is None:
            object.__setattr__(self, "order", "random" if self.kind == "random" else "risk")
        return self


class ReplayTraining(SpecModel):
    """The ``training`` section: how the model is refitted during a replay.

    Attributes
    ----------
    retrain_every : int
        Quarters between refits (1: every quarter; 4: once a year). The model used in
        quarter ``t`` was fitted at the latest refit quarter ``<= t``, on what was known
        before that quarter.
    sample : {"all", "inspected", "weighted"}
        Training rows: every complete row, or the selection-aware sample of
        :func:`riskml.ranking.selection_aware_sample` (observed rows, inspection-driven
        features dropped; ``weighted`` adds inverse-propensity weights).
    params : dict
        LightGBM overrides for the replay's fits (e.g. fewer trees on a big market).
    backtest : dict
        Overrides of ``experiments/backtest.yaml`` for the replay's fits.

    Examples
    --------
    >>> from riskml.ranking._replay_spec import ReplayTraining
    >>> ReplayTraining().retrain_every, ReplayTraining().sample
    (4, 'all')
    """

    retrain_every: int = Field(default=4, ge=1)
    sample: Literal["all", "inspected", "weighted"] = "all"
    params: dict[str, Any] = Field(default_factory=dict)
    backtest: dict[str, Any] = Field(
        default_factory=lambda: {"test_dates": "last 1", "min_train_dates": 1, "targets": {"fraud": {"gap_days": 0}}}
    )


class OutcomeSpec(SpecModel):
    """The ``outcome`` section: what an inspection found, on real data.

    On a synthetic market the truth says whether an inspected entity violated. On real
    records, a planned inspection counts as carried out when a ``happened`` record of
    the entity is known in the quarter, and as finding a violation when a ``found``
    record is.

    Examples
    --------
    >>> from riskml.ranking._replay_spec import OutcomeSpec
    >>> OutcomeSpec().found.where
    {'result': 'violation'}
    """

    happened: SourceFilter = Field(default_factory=lambda: SourceFilter(source="inspections"))
    found: SourceFilter = Field(
        default_factory=lambda: SourceFilter(source="inspections", where={"result": "violation"})
    )


class ReplaySpec(SpecModel):
    """A replay of the quarterly supervision cycle (``experiments/replay.yaml``).

    Attributes
    ----------
    start, end : date
        The replayed quarters are the panel's as-of dates in ``[start, end]``.
    target : str
        The model spec (``credit``).
    fraud : bool
        Also refit the fraud model at each refit and judge it per quarter (on the
        truth's shell companies, and on observed cases).
    labels : {"records", "replayed"}
        ``records``: trainings read the labels the records give (what the bureau
        really learned). ``replayed``: each policy learns only what its own replayed
        inspections found during the period (records known before ``start`` still
        count): selective labels in the loop, one model per policy (synthetic
        market only).
    baseline : str
        The policy "days earlier" is measured against (a policy name).
    monitor : str
        The ranking spec (name or YAML path) whose blind-spot look-back, touch sources
        and selection settings the replay uses (default ``experiments/monitor.yaml``).
    seed : int
        Seed of every draw; the same data and spec give the same replay.
    inspectors : int
        Size of the inspector pool (0: no assignment).
    top_k : int
        ``k`` of the fraud model's precision at k.
    training : ReplayTraining
    outcome : OutcomeSpec
    policies : list of PolicySpec

    Examples
    --------
    >>> from riskml.ranking import load_replay_spec
    >>> spec = load_replay_spec("replay")
    >>> spec.baseline in [p.name for p in spec.policies]
    True
    """

    start: datetime.date
    end: datetime.date
    target: str = "credit"
    fraud: bool = True
    labels: Literal["records", "replayed"] = "records"
    baseline: str
    monitor: str = "monitor"
    seed: int = 0
    inspectors: int = Field(default=0, ge=0)
    top_k: int = Field(default=100, ge=1)
    training: ReplayTraining = Field(default_factory=ReplayTraining)
    outcome: OutcomeSpec = Field(default_factory=OutcomeSpec)
    policies: list[PolicySpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ReplaySpec:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        names = [p.name for p in self.policies]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"policy names must be unique; repeated: {dupes}")
        if self.baseline not in names:
            raise ValueError(f"baseline {self.baseline!r} is not a policy; policies: {names}")
        return self

    @property
    def period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, end)`` as Timestamps."""
        return pd.Timestamp(self.start), pd.Timestamp(self.end)

    def policy(self, name: str) -> PolicySpec:
        """The policy called ``name``."""
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(f"no policy {name!r}; policies: {[p.name for p in self.policies]}")


#: What a spec parameter accepts: a :class:`ReplaySpec`, the name or path of a YAML file, or its mapping.
ReplaySpecLike = ReplaySpec | str | Path | Mapping[str, Any]


def load_replay_spec(
    spec: ReplaySpecLike = "replay",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
    **overrides: Any,
) -> ReplaySpec:
    """Load and validate a replay spec.

    Parameters
    ----------
    spec : str, path, dict or ReplaySpec
        An experiments spec name (default ``"replay"``), a YAML path, the parsed
        mapping, or a ready :class:`ReplaySpec`.
    folder : str or Path, optional
        Folder of experiment specs instead of the bundled ``experiments/``.
    sources : SourceCatalog, optional
        Source declarations the outcome filters are checked against.
    **overrides
        Top-level keys replacing the spec's (``start="2024-01-01"``, ``training={...}``).

    Returns
    -------
    ReplaySpec

    Raises
    ------
    riskml.SpecError
        When the file is missing or a key is invalid; names the file and the key.

    Examples
    --------
    >>> spec = load_replay_spec(start="2024-01-01", end="2024-12-31")
    >>> str(spec.start), [p.kind for p in spec.policies][:2]
    ('2024-01-01', ['risk_ranked', 'random'])
    """
    if isinstance(spec, ReplaySpec) and not overrides:
        return spec
    if isinstance(spec, ReplaySpec):
        path: Path = Path("<ReplaySpec>")
        data: dict[str, Any] = spec.model_dump(mode="json")
    else:
        path, data = read_spec(spec, "experiments", folder)
    data.update(overrides)
    parsed = parse_spec(ReplaySpec, data, path)
    outcome = [("outcome.happened", parsed.outcome.happened), ("outcome.found", parsed.outcome.found)]
    check_source_filters(outcome, path, sources)
    return parsed
