"""Rule warnings (规则预警): the bureau's rule-based warnings, next to model scores.

Each rule of ``models/warnings.yaml`` names a source, a row filter and conditions on
dates relative to ``as_of`` (known recently, still open, a date falling within a number
of days); :func:`rule_warnings` lists every hit with the record behind it. Rules are
point-in-time: only records known before ``as_of`` count. The engine knows no source
by name: a custom source gets rules the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec
from riskml._time import day_number, in_force
from riskml.features._kernels import NEVER, to_days
from riskml.features._spec import Where, check_where, where_mask
from riskml.ranking._window import alive_at, catalog_of
from riskml.records._sources import SourceCatalog, load_sources

if TYPE_CHECKING:
    from riskml._time import DatesLike

__all__ = ["WarningRulesLike", "WARNING_COLUMNS", "DateWindow", "WarningRule", "WarningRules", "load_warning_rules", "rule_warnings"]

logger = logging.getLogger(__name__)

#: Columns of :func:`rule_warnings`' result.
WARNING_COLUMNS: tuple[str, ...] = ("entity_id", "as_of", "rule", "source", "record_id", "date", "label_zh", "label_en")


class DateWindow(SpecModel):
    """``min_days <= (column - as_of) <= max_days``, in whole days.

    Attributes
    ----------
    column : str
        The source's date column compared with the as-of date (e.g. ``expiry``); a
        record with no date never matches, and the warning reports this date.
    min_days : int, optional
        Fewest days from the as-of date to the date, inclusive (0: today or later;
        negative values reach into the past). None: no lower bound.
    max_days : int, optional
        Most days from the as-of date to the date, inclusive (e.g. 29 for "within 30
        days"). None: no upper bound. A window needs ``min_days`` or ``max_days``.
    """

    column: str
    min_days: int | None = None
    max_days: int | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> DateWindow:
        if self.min_days is None and self.max_days is None:
            raise ValueError("a date window needs min_days and/or max_days")
        if self.min_days is not None and self.max_days is not None and self.min_days > self.max_days:
            raise ValueError(f"min_days ({self.min_days}) > max_days ({self.max_days})")
        return self


class WarningRule(SpecModel):
    """One rule warning: which records of which source raise it, and when.

    Attributes
    ----------
    name : str
        The rule's name, unique in the file; the ``rule`` column of the warnings (e.g.
        ``abnormal_list``).
    source : str
        The declared source whose records raise the warning (e.g. ``licences``); only
        records known before the as-of date count.
    where : dict
        Only records matching this filter count: a column maps to a value, a list of
        values (any matches) or a range ``{min: x, max: y}`` (inclusive), e.g.
        ``{all_zero: true}``. Empty: every record.
    known_within_days : int, optional
        Only records known in the last this many days before the as-of date (e.g. 365).
        None: known at any time before it.
    open : bool or list of str
        Only records still open at the as-of date: ``true`` when the source's
        ``valid_to`` is empty or on or after it (refused for a source without
        ``valid_to``); a list names date columns that must all be empty or on or after
        it (e.g. ``[expiry, revoked]``). ``false``: open or not.
    date : DateWindow, optional
        Only records whose date column falls within a number of days of the as-of date
        (e.g. a licence expiring in 0 to 29 days). None: no date condition, and the
        warning reports the record's ``known_at``.
    label_zh : str
        Chinese text of the warning (e.g. ``列入经营异常名录``).
    label_en : str
        English text of the warning (e.g. ``On the abnormal-operation list``).

    Examples
    --------
    >>> from riskml.monitor._warnings import WarningRule
    >>> rule = WarningRule(name="licence_expiring_30d", source="licences", open=["expiry", "revoked"],
    ...                    date={"column": "expiry", "min_days": 0, "max_days": 29})
    >>> rule.open, rule.date.max_days
    (['expiry', 'revoked'], 29)
    """

    name: str = Field(min_length=1)
    source: str
    where: Where = Field(default_factory=dict)
    known_within_days: int | None = Field(default=None, gt=0)
    open: bool | list[str] = False
    date: DateWindow | None = None
    label_zh: str = ""
    label_en: str = ""


class WarningRules(SpecModel):
    """The rules of ``models/warnings.yaml``.

    Attributes
    ----------
    rules : list of WarningRule
        The rules, at least one, names unique; warnings list their hits by rule.

    Examples
    --------
    >>> from riskml.monitor._warnings import load_warning_rules
    >>> [r.name for r in load_warning_rules().rules][:2]
    ['all_zero_annual_report', 'abnormal_list']
    """

    rules: list[WarningRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> WarningRules:
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"rule names must be unique; repeated: {dupes}")
        return self


#: What a spec parameter accepts: a :class:`WarningRules`, a YAML path, its mapping, or None for ``models/warnings.yaml``.
WarningRulesLike = WarningRules | str | Path | Mapping[str, Any] | None


def load_warning_rules(
    rules: str | Path | WarningRules | Mapping[str, Any] = "warnings",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
) -> WarningRules:
    """Load and validate rule warnings against the source declarations.

    Parameters
    ----------
    rules : str, path, mapping or WarningRules, default "warnings"
        A model spec name (``models/warnings.yaml``), a YAML path, the parsed mapping,
        or ready rules.
    folder : str or Path, optional
        Folder of model specs instead of the bundled ``models/``.
    sources : SourceCatalog, optional
        Declarations to check against (default built-in).

    Returns
    -------
    WarningRules

    Raises
    ------
    riskml.SpecError
        On an unknown source or column, a non-date column in ``date`` or ``open``, or
        ``open: true`` on a source without ``valid_to``; names the file and key.

    Examples
    --------
    >>> load_warning_rules({"rules": [{"name": "x", "source": "penalties"}]}).rules[0].open
    False
    """
    if isinstance(rules, WarningRules):
        parsed, path = rules, Path("<rules>")
    elif isinstance(rules, Mapping):
        path = Path("<dict>")
        parsed = parse_spec(WarningRules, dict(rules), path)
    else:
        path = resolve_spec("models", str(rules), folder)
        parsed = parse_spec(WarningRules, load_yaml(path), path)
    catalog = sources or load_sources()
    for i, rule in enumerate(parsed.rules):
        key = f"rules.{i}"
        if rule.source not in catalog:
            raise SpecError(path, f"{key}.source", f"a declared source; declared: {sorted(catalog.sources)}", rule.source)
        spec = catalog[rule.source]
        check_where(rule.where, spec, path, f"{key}.where")
        if rule.open is True and not spec.valid_to:
            raise SpecError(path, f"{key}.open", f"a list of date columns: source {rule.source!r} declares no valid_to", True)
        dates = list(rule.open) if isinstance(rule.open, list) else []
        if rule.date is not None:
            dates.append(rule.date.column)
        for column in dates:
            if column not in spec.columns or spec.columns[column].type != "date":
                found = spec.columns[column].type if column in spec.columns else "missing"
                raise SpecError(path, key, f"a date column of {rule.source!r} (got {column!r}: {found})")
    return parsed


def _days(table: pd.DataFrame, column: str) -> np.ndarray:
    return to_days(table[column].to_numpy(dtype="datetime64[ns]"))


def rule_warnings(
    records: Mapping[str, pd.DataFrame],
    as_of: DatesLike,
    rules: WarningRulesLike = None,
) -> pd.DataFrame:
    """Every rule warning at each as-of date, with the record behind it.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
    as_of : date or iterable of dates
    rules : str, path, mapping or WarningRules, optional
        Default ``models/warnings.yaml``.

    Returns
    -------
    DataFrame
        ``WARNING_COLUMNS``: ``entity_id``, ``as_of``, ``rule``, ``source``,
        ``record_id``, ``date`` (the rule's date column, else the record's
        ``known_at``), ``label_zh``, ``label_en``; one row per (as-of date, rule,
        record), sorted by as_of, entity and rule. Entities not alive at ``as_of``
        (when the records hold the registry) are left out.

    Raises
    ------
    ValueError
        When records lack a table a rule reads or ``as_of`` is not a calendar date
        (a time of day or a timezone is refused, as everywhere: see ``riskml._time``).

    Examples
    --------
    >>> import pandas as pd
    >>> lic = pd.DataFrame({"licence_id": ["L1", "L2"], "entity_id": ["E0000001", "E0000002"],
    ...     "issued": pd.to_datetime(["2020-01-01", "2020-01-01"]),
    ...     "expiry": pd.to_datetime(["2024-01-20", "2024-06-01"]), "revoked": pd.to_datetime([None, None])})
    >>> out = rule_warnings({"licences": lic}, "2024-01-01",
    ...     {"rules": [{"name": "expiring", "source": "licences", "open": ["expiry", "revoked"],
    ...                 "date": {"column": "expiry", "min_days": 0, "max_days": 29}}]})
    >>> out[["entity_id", "rule", "record_id"]].to_dict("list")
    {'entity_id': ['E0000001'], 'rule': ['expiring'], 'record_id': ['L1']}
    """
    catalog = catalog_of(records)
    parsed = load_warning_rules(rules if rules is not None else "warnings", sources=catalog)
    days = np.unique(day_number(as_of))
    parts = []
    for rule in parsed.rules:
        if rule.source not in records:
            raise ValueError(f"rule {rule.name!r} reads source {rule.source!r}, which the records lack; present: {sorted(records)}")
        spec = catalog[rule.source]
        table = records[rule.source]
        base = where_mask(table, rule.where) if rule.where else np.ones(len(table), dtype=bool)
        known = _days(table, spec.known_at)
        base &= known != NEVER
        open_columns = [spec.valid_to] if rule.open is True else list(rule.open or [])
        end = np.full(len(table), NEVER, dtype=np.int64)
        for column in open_columns:
            end = np.minimum(end, _days(table, column))
        date = _days(table, rule.date.column) if rule.date is not None else known
        for t in days:
            hit = base & in_force(known, end, t)  # end is NEVER without open columns
            if rule.known_within_days is not None:
                hit &= known >= t - rule.known_within_days
            if rule.date is not None:
                delta = date - t
                hit &= date != NEVER
                if rule.date.min_days is not None:
                    hit &= delta >= rule.date.min_days
                if rule.date.max_days is not None:
                    hit &= delta <= rule.date.max_days
            if not hit.any():
                continue
            rows = np.flatnonzero(hit)
            parts.append(pd.DataFrame({
                "entity_id": table[spec.entity_key].to_numpy()[rows],
                "as_of": np.full(len(rows), t, dtype="datetime64[D]").astype("datetime64[ns]"),
                "rule": rule.name,
                "source": rule.source,
                "record_id": table[spec.record_id].to_numpy()[rows],
                "date": date[rows].astype("datetime64[D]").astype("datetime64[ns]"),
                "label_zh": rule.label_zh,
                "label_en": rule.label_en,
            }))  # fmt: skip
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype="datetime64[ns]" if c in ("as_of", "date") else "str") for c in WARNING_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    for column in ("entity_id", "rule", "source", "record_id", "label_zh", "label_en"):
        out[column] = out[column].astype("str")
    alive = alive_at(records, out["entity_id"], to_days(out["as_of"].to_numpy()), catalog)
    out = out.loc[alive].sort_values(["as_of", "entity_id", "rule", "record_id"], kind="stable", ignore_index=True)
    logger.info("rule warnings: %d hits at %d as-of date(s)", len(out), len(days))
    return out
