"""The grade policy of a model spec: PDO scorecard, score bands, overrides, white list.

A :class:`GradePolicy` is read from the ``scorecard``, ``grades``, ``overrides`` and
``white_list`` sections of ``models/<target>.yaml``. It is data: the functions in
:mod:`riskml.grading._grades` apply it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec

__all__ = ["GradeBand", "GradePolicy", "GradeOverride", "Scorecard", "WhiteListRule"]

#: sections of a model spec that make up its grade policy
POLICY_SECTIONS: tuple[str, ...] = ("scorecard", "grades", "overrides", "white_list")


class Scorecard(SpecModel):
    """PDO scaling: ``score = offset + factor * ln(good:bad odds)``, ``factor = pdo / ln 2``.

    Attributes
    ----------
    base_score : float
        Score points at the reference odds ``base_odds`` (e.g. 600).
    base_odds : float
        Good:bad odds that score ``base_score``: 20 means a risk of 1 in 21 (4.8 %)
        scores ``base_score``.
    pdo : float
        Points to double the odds: each doubling of the good:bad odds adds ``pdo``
        points (e.g. 40: odds 40:1 score 640 when 20:1 score 600).

    Examples
    --------
    >>> from riskml.grading._policy import Scorecard
    >>> card = Scorecard(base_score=600, base_odds=20, pdo=40)
    >>> card.base_score, card.base_odds, card.pdo
    (600.0, 20.0, 40.0)
    """

    base_score: float
    base_odds: float = Field(gt=0)
    pdo: float = Field(gt=0)


class GradeBand(SpecModel):
    """One score band: entities with ``score >= min_score`` (and not a better band).

    Attributes
    ----------
    grade : str
        The grade's name (e.g. ``A``), unique in the policy.
    min_score : float, optional
        Lowest score of the band, inclusive. Bands come best first with strictly
        decreasing ``min_score``; the last band has none (``.nan`` or null) and
        catches every other score.
    label_zh : str
        Chinese name of the grade in explanations and reports (e.g. ``信用风险低``).
    label_en : str
        English name of the grade in explanations and reports (e.g. ``Low risk``).

    Examples
    --------
    >>> from riskml.grading._policy import GradeBand
    >>> GradeBand(grade="A", min_score=630, label_en="Low risk").catches_all
    False
    >>> GradeBand(grade="D", min_score=float("nan")).catches_all
    True
    """

    grade: str = Field(min_length=1)
    min_score: float | None = None
    label_zh: str = ""
    label_en: str = ""

    @property
    def catches_all(self) -> bool:
        """Whether this band has no lower bound (the last band)."""
        return self.min_score is None or math.isnan(self.min_score)


class GradeOverride(SpecModel):
    """A rule that caps the grade when a panel feature lies in ``[min, max]``.

    Attributes
    ----------
    name : str
        The rule's name, unique in the policy; written to the graded rows' ``override``
        column when the rule lowers a grade (e.g. ``abnormal_list``).
    feature : str
        The panel feature the condition reads (e.g. ``abnormal_list_on_list``); grading
        fails when the features lack it.
    min : float, optional
        The rule holds when the feature is at least ``min``; None: no lower bound. A
        rule needs ``min`` or ``max``, and a missing feature value never matches.
    max : float, optional
        The rule holds when the feature is at most ``max``; None: no upper bound.
    grade_at_most : str
        The best grade an entity keeps while the rule holds, one of the policy's
        grades: a better grade is lowered to it, a worse one stays.
    label_zh : str
        Chinese reason shown in explanations (e.g. ``列入经营异常名录``).
    label_en : str
        English reason shown in explanations (e.g. ``On the abnormal-operation list``).

    Examples
    --------
    >>> from riskml.grading._policy import GradeOverride
    >>> rule = GradeOverride(name="abnormal_list", feature="abnormal_list_on_list", min=1, grade_at_most="C")
    >>> rule.min, rule.max, rule.grade_at_most
    (1.0, None, 'C')
    """

    name: str = Field(min_length=1)
    feature: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    grade_at_most: str
    label_zh: str = ""
    label_en: str = ""

    @model_validator(mode="after")
    def _has_condition(self) -> GradeOverride:
        if self.min is None and self.max is None:
            raise ValueError("an override needs min and/or max")
        return self


class WhiteListRule(SpecModel):
    """Loan white list (以信授贷): entities of ``grade`` with none of the features > 0.

    Attributes
    ----------
    grade : str
        The final grade (after overrides) an entity must have, one of the policy's
        grades (e.g. ``A``).
    exclude_when_positive : list of str
        Panel features that keep an entity off the list when above zero or missing
        (e.g. ``judicial_open_count``). Empty: every entity of ``grade`` qualifies.

    Examples
    --------
    >>> from riskml.grading._policy import WhiteListRule
    >>> WhiteListRule(grade="A", exclude_when_positive=["judicial_open_count"]).exclude_when_positive
    ('judicial_open_count',)
    """

    grade: str
    exclude_when_positive: tuple[str, ...] = ()


class GradePolicy(SpecModel):
    """Scorecard scaling, score bands (best first), overrides and white list of a model.

    Build it with :meth:`from_model_spec`; errors name the file and the key.

    Parameters
    ----------
    target : str
        The model's name (``credit``, ``fraud``, ...).
    scorecard : Scorecard
        ``base_score``, ``base_odds`` (good:bad) and ``pdo``.
    grades : tuple of GradeBand
        Bands best first with strictly decreasing ``min_score``; the last band has no
        lower bound (``min_score: .nan`` or null) and catches every other score.
    overrides : tuple of GradeOverride
        Rules applied after the bands, in order; each caps the grade.
    white_list : WhiteListRule or None
        Which entities may be offered credit-based lending.

    Examples
    --------
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> [band.grade for band in policy.grades]
    ['A', 'B', 'C', 'D']
    >>> round(policy.factor, 4), round(policy.offset, 2)
    (57.7078, 427.12)
    """

    target: str = ""
    scorecard: Scorecard
    grades: tuple[GradeBand, ...] = Field(min_length=2)
    overrides: tuple[GradeOverride, ...] = ()
    white_list: WhiteListRule | None = None

    @field_validator("overrides", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return () if value is None else value

    @model_validator(mode="after")
    def _consistent(self) -> GradePolicy:
        problems = _policy_problems(self)
        if problems:
            key, expected, got = problems[0]
            raise ValueError(f"{key}: expected {expected} (got {got!r})")
        return self

    @property
    def factor(self) -> float:
        """Points per unit of log-odds: ``pdo / ln 2``."""
        return self.scorecard.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Score at even odds: ``base_score - factor * ln(base_odds)``."""
        return self.scorecard.base_score - self.factor * math.log(self.scorecard.base_odds)

    @property
    def grade_names(self) -> tuple[str, ...]:
        """Grades best first."""
        return tuple(band.grade for band in self.grades)

    @property
    def min_scores(self) -> tuple[float, ...]:
        """Lower score bounds of every band except the last, best first."""
        return tuple(float(band.min_score) for band in self.grades[:-1])  # type: ignore[arg-type]

    @classmethod
    def from_model_spec(cls, spec: str | Path | dict[str, Any], *, folder: str | Path | None = None) -> GradePolicy:
        """Read the grade policy of a model spec.

        Parameters
        ----------
        spec : str, Path or dict
            A model name (``"credit"``, resolved in ``folder`` or the bundled
            ``models/``), a path to a YAML file, or the already-loaded mapping.
        folder : str or Path, optional
            Folder of model specs to resolve a name in.

        Returns
        -------
        GradePolicy

        Raises
        ------
        SpecError
            Naming the file, the key (e.g. ``grades.1.min_score``) and what was expected.

        Examples
        --------
        >>> policy = GradePolicy.from_model_spec("fraud")
        >>> policy.target, policy.scorecard.base_odds
        ('fraud', 200.0)
        """
        if isinstance(spec, dict):
            data, file = spec, "<model spec>"
        else:
            path = Path(spec)
            if path.suffix in {".yaml", ".yml"} or path.exists():
                path = path.resolve()
            else:
                path = resolve_spec("models", str(spec), folder)
            data, file = load_yaml(path), str(path)
        missing = [s for s in ("scorecard", "grades") if s not in data]
        if missing:
            raise SpecError(file, missing[0], "a section of the grade policy (scorecard, grades)")
        payload = {key: data[key] for key in POLICY_SECTIONS if key in data}
        payload["target"] = str(data.get("name", Path(file).stem))
        # check the cross-field rules first so that the error names the exact key
        try:
            draft = GradePolicy.model_construct(**_loose(payload))
            problems = _policy_problems(draft)
        except (TypeError, ValueError, AttributeError, KeyError):
            problems = []  # malformed sections: the schema check below names them
        if problems:
            key, expected, got = problems[0]
            raise SpecError(file, key, expected, got)
        return parse_spec(cls, payload, file)


def _loose(payload: dict[str, Any]) -> dict[str, Any]:
    """Sections as lightweight objects for the cross-field check before validation."""
    out = dict(payload)
    out["scorecard"] = Scorecard.model_validate(payload["scorecard"])
    out["grades"] = tuple(GradeBand.model_validate(b) for b in payload["grades"])
    out["overrides"] = tuple(GradeOverride.model_validate(o) for o in payload.get("overrides") or ())
    wl = payload.get("white_list")
    out["white_list"] = WhiteListRule.model_validate(wl) if wl is not None else None
    return out


def _policy_problems(policy: GradePolicy) -> list[tuple[str, str, Any]]:
    """Cross-field rules as (key, expected, got); empty when the policy is consistent."""
    problems: list[tuple[str, str, Any]] = []
    grades = policy.grades
    names = [band.grade for band in grades]
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            problems.append((f"grades.{i}.grade", "unique grade names", name))
        seen.add(name)
    previous = math.inf
    for i, band in enumerate(grades):
        last = i == len(grades) - 1
        if last:
            if not band.catches_all:
                problems.append(
                    (f"grades.{i}.min_score", "the last band to catch all scores (.nan or null)", band.min_score)
                )
            continue
        if band.catches_all or not math.isfinite(float(band.min_score)):  # type: ignore[arg-type]
            problems.append((f"grades.{i}.min_score", "a finite number (only the last band catches all)", band.min_score))
            continue
        if not band.min_score < previous:  # type: ignore[operator]
            problems.append(
                (f"grades.{i}.min_score", f"bands best first with strictly decreasing min_score (< {previous})",
                 band.min_score)
            )
        previous = float(band.min_score)  # type: ignore[arg-type]
    override_names: set[str] = set()
    for i, rule in enumerate(policy.overrides):
        if rule.grade_at_most not in names:
            problems.append((f"overrides.{i}.grade_at_most", f"one of the grades {names}", rule.grade_at_most))
        if rule.name in override_names:
            problems.append((f"overrides.{i}.name", "unique override names", rule.name))
        override_names.add(rule.name)
        if rule.min is not None and rule.max is not None and rule.min > rule.max:
            problems.append((f"overrides.{i}.max", f"max >= min ({rule.min})", rule.max))
    if policy.white_list is not None and policy.white_list.grade not in names:
        problems.append(("white_list.grade", f"one of the grades {names}", policy.white_list.grade))
    return problems
