"""Labels from the future: which entities a future record marks as positive.

A model spec (``models/<target>.yaml``) declares its label under ``label:``: the
rules that make an entity positive (``positive_when``: sources with optional
``where`` filters, and optionally an aggregate of a column with a threshold), the
horizon (days or calendar months), what counts as having observed the outcome
(``observed_when``), the random-inspection sample ("double random", the unbiased
evaluation sample) and an optional population filter on registry columns.

For a grid row ``(entity, t)`` a rule holds when a matching record becomes known in
``[t, t + horizon)`` (or the aggregate of those records passes its threshold): the
mirror image of the features, which see only ``known_at < t``. Records are sorted
once per rule by ``entity_code * 2**20 + known_day``; each row's records are the
contiguous range between two ``np.searchsorted`` positions (see
:mod:`riskml.features._kernels`), so counts are differences of positions and sums,
means, minima and maxima are ``ufunc.reduceat`` over those ranges.

A label is only as good as the records behind it: rows whose horizon (or feature
windows) is not covered by their sources are marked incomplete, never labeled 0
(:mod:`riskml.labels._coverage`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.features._kernels import NEVER, SortedRecords, entity_codes, to_days
from riskml.features._spec import Where, check_where, where_mask
from riskml.labels._coverage import SourceCoverage, records_span, source_coverage, window_problems
from riskml.records._sources import SourceCatalog, load_sources

if TYPE_CHECKING:
    from riskml.features import Panel

__all__ = ["LABEL_COLUMNS", "LabelRule", "LabelSpec", "load_label_spec", "make_labels"]

logger = logging.getLogger(__name__)

#: Columns of :func:`make_labels`' result, after ``entity_id`` and ``as_of`` (it also
#: has ``observed``; labels made elsewhere may leave it out: every row observed).
LABEL_COLUMNS: tuple[str, ...] = ("label", "random_inspected", "complete", "in_population")

#: Threshold keys of an aggregated :class:`LabelRule` and their comparisons.
THRESHOLDS: dict[str, str] = {"at_least": ">=", "at_most": "<=", "above": ">", "below": "<"}
#: Column types an aggregation other than ``count`` can read.
NUMERIC_TYPES: tuple[str, ...] = ("int", "float", "bool")


class LabelRule(SpecModel):
    """Records of ``source`` matching ``where``, optionally aggregated with a threshold.

    With ``aggregation: any`` (the default) the rule holds when at least one matching
    record is known in the horizon. Otherwise the matching records' ``column`` is
    aggregated over the horizon (``count`` needs no column) and compared with exactly
    one threshold: mean ``inspection_score`` below 90 is ``{aggregation: mean, column:
    inspection_score, below: 90}``; at least 2 complaints is ``{aggregation: count,
    at_least: 2}``. A row with no matching record has count and sum 0 and no mean,
    min or max, so a ``mean``/``min``/``max`` rule does not hold there.

    Attributes
    ----------
    source : str
        The declared source whose records the rule matches (e.g. ``penalties``).
    where : dict
        Only records matching this filter count: a column maps to a value, a list of
        values (any matches) or a range ``{min: x, max: y}`` (inclusive), e.g.
        ``{amount: {min: 10000}}``; missing values never match. Empty: every record of
        the source.
    aggregation : {"any", "count", "sum", "mean", "min", "max"}
        How the matching records of the horizon are summarised.
    column : str, optional
        The numeric column aggregated (``sum``, ``mean``, ``min``, ``max``); missing
        values are skipped.
    at_least, at_most, above, below : float, optional
        The threshold (``>=``, ``<=``, ``>``, ``<``); exactly one with an
        aggregation other than ``any``.

    Examples
    --------
    >>> from riskml.labels._labels import LabelRule
    >>> rule = LabelRule(source="penalties", where={"amount": {"min": 10000}})
    >>> rule.source, rule.where["amount"].min, rule.aggregation
    ('penalties', 10000.0, 'any')
    >>> LabelRule(source="complaints", aggregation="count", at_least=2).describe()
    'count of complaints >= 2'
    """

    source: str
    where: Where = Field(default_factory=dict)
    aggregation: Literal["any", "count", "sum", "mean", "min", "max"] = "any"
    column: str | None = None
    at_least: float | None = None
    at_most: float | None = None
    above: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _threshold(self) -> LabelRule:
        given = [k for k in THRESHOLDS if getattr(self, k) is not None]
        if self.aggregation == "any":
            if given or self.column is not None:
                raise ValueError(f"aggregation 'any' takes no column or threshold (got {given or [self.column]}); "
                                 "set aggregation to count, sum, mean, min or max")
            return self
        if len(given) != 1:
            raise ValueError(f"aggregation {self.aggregation!r} needs exactly one of {list(THRESHOLDS)}; got {given}")
        if self.aggregation != "count" and self.column is None:
            raise ValueError(f"aggregation {self.aggregation!r} needs a 'column' (a numeric column of the source)")
        return self

    @property
    def threshold(self) -> tuple[str, float] | None:
        """``(operator, value)`` of the threshold, or None for ``any``."""
        for key, op in THRESHOLDS.items():
            value = getattr(self, key)
            if value is not None:
                return op, float(value)
        return None

    def describe(self) -> str:
        """The rule in words, e.g. ``mean inspection_score of inspections < 90``."""
        if self.threshold is None:
            return f"any record of {self.source}"
        op, value = self.threshold
        what = self.aggregation if self.column is None else f"{self.aggregation} {self.column}"
        return f"{what} of {self.source} {op} {value:g}"


class LabelSpec(SpecModel):
    """The ``label:`` section of a model spec.

    Attributes
    ----------
    horizon_days : int, optional
        Length of the future window ``[t, t + horizon_days)`` in days.
    horizon_months : int, optional
        Length of the window in calendar months instead: ``[t, t + horizon_months)``
        by the calendar, so a yearly horizon holds exactly one 31 December in leap
        years too. Give exactly one of the two; with months, :attr:`horizon_days`
        becomes the longest such window in days (the backtest's gap).
    positive_when : list of LabelRule
        The label is 1 when any rule holds in the window (a matching record, or an
        aggregate over the window passing its threshold).
    observed_when : list of LabelRule
        What counts as observing the outcome (e.g. an inspection in the window):
        rows where no rule holds are *unobserved*, not negative (the ``observed``
        column). Empty: every row is observed.
    unobserved : {"exclude", "negative"}
        What training and backtest metrics do with unobserved rows: leave them out
        (default) or count them as negatives, as a label without ``observed_when``
        would.
    random_inspection : LabelRule, optional
        Records marking the unbiased (randomly inspected) sample in the window.
    population : dict, optional
        A filter on the entity registry's columns; rows outside it are not labelled
        (``in_population`` False).
    name : str
        The target's name, filled in from the model spec's ``name`` (or its file name);
        leave it out.

    Examples
    --------
    >>> from riskml.labels import LabelSpec
    >>> spec = LabelSpec(horizon_days=180, positive_when=[{"source": "tax_cases"}])
    >>> spec.positive_when[0].source, spec.random_inspection is None
    ('tax_cases', True)
    >>> LabelSpec(horizon_months=12, positive_when=[{"source": "tax_cases"}]).horizon_days
    366
    """

    horizon_days: int | None = Field(default=None, gt=0)
    horizon_months: int | None = Field(default=None, gt=0)
    positive_when: list[LabelRule] = Field(min_length=1)
    observed_when: list[LabelRule] = Field(default_factory=list)
    unobserved: Literal["exclude", "negative"] = "exclude"
    random_inspection: LabelRule | None = None
    population: Where | None = None
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _one_horizon(cls, data: Any) -> Any:
        if isinstance(data, dict):
            days, months = data.get("horizon_days"), data.get("horizon_months")
            derived = months is not None and isinstance(months, int) and days == longest_months(months)
            if (days is None) == (months is None) and not derived:
                raise ValueError("give exactly one of horizon_days (e.g. 365) and horizon_months (e.g. 12)")
            if months is not None and isinstance(months, int) and months > 0:
                data = {**data, "horizon_days": longest_months(months)}
        return data

    def window_end(self, as_of: np.ndarray) -> np.ndarray:
        """First day after the label window of each as-of day (days since 1970)."""
        start = np.asarray(as_of, dtype=np.int64)
        if self.horizon_months is None:
            return start + int(self.horizon_days or 0)
        days, inverse = np.unique(start, return_inverse=True)
        stamps = pd.DatetimeIndex(days.astype("datetime64[D]")) + pd.DateOffset(months=self.horizon_months)
        return to_days(stamps.to_numpy(dtype="datetime64[ns]"))[inverse]


def longest_months(months: int) -> int:
    """The longest ``[t, t + months)`` in days, over four years of start days (a leap cycle).

    Examples
    --------
    >>> longest_months(12), longest_months(1), longest_months(3)
    (366, 31, 92)
    """
    starts = pd.date_range("2000-01-01", "2003-12-31", freq="D")
    return int(((starts + pd.DateOffset(months=months)) - starts).days.max())


def load_label_spec(
    target: str | Path | LabelSpec = "credit",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
    *,
    check_sources: bool = True,
) -> LabelSpec:
    """The label of a model spec, validated against the declared sources.

    Parameters
    ----------
    target : str, path or LabelSpec
        A model spec name (``"credit"``, ``"fraud"``), a path to a model spec YAML,
        or a ready :class:`LabelSpec` (returned as is).
    folder : str or Path, optional
        Folder of model specs instead of the bundled ``models/``.
    sources : SourceCatalog, optional
        Source declarations to check sources and columns against (default built-in).
    check_sources : bool, default True
        False: check the label's structure only, not its sources and columns (for
        labels that are already made, e.g. training from a ready panel whose
        sources riskml was not given).

    Returns
    -------
    LabelSpec

    Raises
    ------
    riskml.SpecError
        When the spec has no ``label`` section, or it names an unknown source,
        column or category; the message names the file, the key, the source
        declarations checked against and the allowed values.

    Examples
    --------
    >>> from riskml.labels import load_label_spec
    >>> spec = load_label_spec("credit")
    >>> spec.horizon_days, [r.source for r in spec.positive_when][:2]
    (365, ['abnormal_list', 'serious_violations'])
    """
    if isinstance(target, LabelSpec):
        return target
    path = resolve_spec("models", str(target), folder)
    data = load_yaml(path)
    if "label" not in data:
        raise SpecError(path, "label", "a 'label' section (horizon_days, positive_when, ...)")
    spec = parse_label(data["label"], data.get("name", path.stem), path)
    if check_sources:
        check_label(spec, sources, path)
    return spec


def parse_label(section: Any, name: str, where: str | Path) -> LabelSpec:
    """A ``label:`` mapping parsed into a :class:`LabelSpec`; errors name ``label.<key>``.

    Examples
    --------
    >>> parse_label({"horizon_months": 12, "positive_when": [{"source": "penalties"}]}, "x", "<spec>").horizon_days
    366
    """
    if not isinstance(section, dict):
        raise SpecError(where, "label", "a mapping (horizon_days, positive_when, ...)", section)
    try:
        return parse_spec(LabelSpec, {**section, "name": name}, where)
    except SpecError as exc:
        raise SpecError(where, f"label.{exc.key}" if exc.key else "label", exc.expected, exc.got) from None


def check_label(spec: LabelSpec, sources: SourceCatalog | None, where: str | Path) -> None:
    """Check a label's sources, columns and categories against source declarations.

    Parameters
    ----------
    spec : LabelSpec
    sources : SourceCatalog or None
        The declarations the label's records follow (a custom world, or the built-in
        sources extended); None: riskml's built-in ``features/sources.yaml``.
    where : str or Path
        The spec file, named in errors.

    Raises
    ------
    riskml.SpecError
        Naming the file, the key, the source declarations used and what is allowed.

    Examples
    --------
    >>> spec = LabelSpec(horizon_days=365, positive_when=[{"source": "inspections", "aggregation": "mean",
    ...                  "column": "inspection_score", "below": 90}])
    >>> check_label(spec, None, "<spec>")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml._specs.SpecError: <spec>: label.positive_when.0.column: expected a numeric column of source 'inspections' in riskml's built-in sources (features/sources.yaml; pass the records' own declarations, e.g. sources=...); numeric columns: [] (got 'inspection_score')
    """
    catalog = sources if sources is not None else load_sources()
    origin = ("riskml's built-in sources (features/sources.yaml; pass the records' own declarations, "
              "e.g. sources=...)" if sources is None else "the records' source declarations")
    rules = [(f"label.positive_when.{i}", r) for i, r in enumerate(spec.positive_when)]
    rules += [(f"label.observed_when.{i}", r) for i, r in enumerate(spec.observed_when)]
    if spec.random_inspection is not None:
        rules.append(("label.random_inspection", spec.random_inspection))
    for key, rule in rules:
        if rule.source not in catalog:
            raise SpecError(where, f"{key}.source",
                            f"a source declared in {origin}; declared: {sorted(catalog.sources)}", rule.source)
        declared = catalog[rule.source]
        try:
            check_where(rule.where, declared, where, f"{key}.where")
        except SpecError as exc:
            raise SpecError(where, exc.key, f"{exc.expected} (in {origin})", exc.got) from None
        if rule.column is not None:
            numeric = sorted(c for c, col in declared.columns.items() if col.type in NUMERIC_TYPES and not col.personal)
            if rule.column not in numeric:
                raise SpecError(where, f"{key}.column",
                                f"a numeric column of source {rule.source!r} in {origin}; numeric columns: {numeric}",
                                rule.column)
    if spec.population:
        check_where(spec.population, catalog.entities, where, "label.population")


def _grid(index: Any) -> pd.DataFrame:
    frame = getattr(index, "frame", index)
    if not isinstance(frame, pd.DataFrame) or not {"entity_id", "as_of"} <= set(frame.columns):
        raise TypeError(
            "index must be a Panel or a DataFrame with columns entity_id and as_of; "
            f"got {type(index).__name__}{'' if not isinstance(frame, pd.DataFrame) else ' with ' + str(list(frame.columns)[:5])}"
        )
    if not pd.api.types.is_datetime64_dtype(frame["as_of"]):
        raise TypeError(f"index['as_of'] must be datetime64, not {frame['as_of'].dtype}")
    return frame[["entity_id", "as_of"]].reset_index(drop=True)


def _matching(
    tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, rule: LabelRule, ids: pd.Index,
) -> tuple[SortedRecords, np.ndarray | None]:
    """The rule's matching records sorted by (entity, known day), and its column's values in that order."""
    spec = catalog[rule.source]
    if rule.source not in tables:
        raise ValueError(f"records have no {rule.source!r} table, which the label reads; present: {sorted(tables)}")
    table = tables[rule.source]
    keep = where_mask(table, rule.where) if rule.where else np.ones(len(table), dtype=bool)
    ent = entity_codes(ids, table[spec.entity_key])
    known = to_days(table[spec.known_at].to_numpy(dtype="datetime64[ns]"))
    keep &= (ent >= 0) & (known != NEVER)
    values = None
    if rule.column is not None:
        values = pd.to_numeric(table[rule.column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        keep &= ~np.isnan(values)
    records = SortedRecords(ent[keep].astype(np.int64), known[keep])
    return records, None if values is None else records.take(values[keep])


def _holds(
    tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, rule: LabelRule, ids: pd.Index, code: np.ndarray,
    start: np.ndarray, stop: np.ndarray,
) -> np.ndarray:
    """Whether the rule holds for each grid row over its window ``[start, stop)``."""
    records, values = _matching(tables, catalog, rule, ids)
    lo = records.position(code, start)
    hi = records.position(code, stop)
    count = hi - lo
    if rule.threshold is None:
        return count > 0
    if rule.aggregation == "count":
        agg = count.astype(np.float64)
    elif rule.aggregation in ("sum", "mean"):
        total = np.nan_to_num(_range_reduce(values, lo, hi, np.add), nan=0.0)
        agg = total if rule.aggregation == "sum" else np.where(count > 0, total / np.maximum(count, 1), np.nan)
        # a mean of exactly 90 is not below 90, whatever the order of the additions
        agg = np.round(agg, 9)
    else:
        agg = _range_reduce(values, lo, hi, np.minimum if rule.aggregation == "min" else np.maximum)
    op, value = rule.threshold
    with np.errstate(invalid="ignore"):
        return {">=": agg >= value, "<=": agg <= value, ">": agg > value, "<": agg < value}[op] & ~np.isnan(agg)


def _range_reduce(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, ufunc: np.ufunc) -> np.ndarray:
    """``ufunc.reduce(values[lo:hi])`` for every row at once (NaN where the range is empty)."""
    out = np.full(len(lo), np.nan)
    full = hi > lo
    if not full.any():
        return out
    # reduceat over interleaved (lo, hi) pairs reduces values[lo:hi] at the even
    # positions; a sentinel keeps hi == len(values) a valid index
    padded = np.append(values, np.nan)
    pairs = np.column_stack([lo[full], hi[full]]).ravel()
    out[full] = ufunc.reduceat(padded, pairs)[::2]
    return out


def make_labels(
    records: Mapping[str, pd.DataFrame],
    index: Panel | pd.DataFrame,
    target: str | Path | LabelSpec = "credit",
    *,
    coverage: Literal["drop", "refuse"] = "drop",
) -> pd.DataFrame:
    """Labels for every (entity, as-of) row of ``index``.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
        The records, including those known after the as-of dates.
    index : Panel or DataFrame
        Rows to label: a :class:`riskml.features.Panel` or a frame with ``entity_id``
        and ``as_of`` (datetime64).
    target : str, path or LabelSpec
        The model spec whose ``label:`` section defines the label (``"credit"``,
        ``"fraud"``, a YAML path) or a :class:`LabelSpec`.
    coverage : {"drop", "refuse"}, default "drop"
        What to do with as-of dates whose label horizon is not covered by the
        label's sources (it starts before their coverage, runs past its end or into
        a gap; see :mod:`riskml.labels._coverage`), or whose feature windows (when
        ``index`` is a Panel) reach into a gap of their source: ``"drop"`` marks
        their rows incomplete (never trained on or evaluated, never a 0) and logs a
        warning naming the dates and the reason; ``"refuse"`` raises.

    Returns
    -------
    DataFrame
        ``entity_id``, ``as_of`` (in ``index`` order), ``label`` (int8: the label's
        rules hold in ``[as_of, as_of + horizon)``; meaningful only where
        ``complete`` and ``observed``), ``random_inspected`` (bool: a matching
        random inspection is known in the same window), ``complete`` (bool: the
        window, and the panel's feature windows, lie within the covered period of
        their sources), ``in_population`` (bool) and ``observed`` (bool: the
        label's ``observed_when`` holds in the window; always True without it).

    Raises
    ------
    ValueError
        With ``coverage="refuse"``, when an as-of date is not covered; the message
        names the dates and why.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.labels import make_labels
    >>> ents = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "entity_type": ["enterprise", "individual"],
    ...     "established": pd.to_datetime(["2020-01-01", "2020-01-01"])})
    >>> cases = pd.DataFrame({"case_id": ["T1"], "entity_id": ["E0000001"], "confirmed": pd.to_datetime(["2023-05-01"])})
    >>> insp = pd.DataFrame({"inspection_id": ["I1"], "entity_id": ["E0000002"], "kind": ["random"],
    ...     "closed": pd.to_datetime(["2024-12-31"])})
    >>> index = pd.DataFrame({"entity_id": ["E0000001", "E0000002"], "as_of": pd.to_datetime(["2023-01-01"] * 2)})
    >>> out = make_labels({"entities": ents, "tax_cases": cases, "inspections": insp}, index, "fraud")
    >>> out[["label", "random_inspected", "complete", "in_population"]].to_dict("list")
    {'label': [1, 0], 'random_inspected': [False, False], 'complete': [True, True], 'in_population': [True, False]}
    """
    if coverage not in ("drop", "refuse"):
        raise ValueError(f"coverage must be 'drop' or 'refuse', not {coverage!r}")
    catalog = getattr(records, "catalog", None)
    if not isinstance(catalog, SourceCatalog):
        catalog = load_sources()
    spec = load_label_spec(target, sources=catalog)
    if not isinstance(records, Mapping):
        raise TypeError(f"records must be riskml.records.Records or a dict of DataFrames, not {type(records).__name__}")
    tables = dict(records.items())
    grid = _grid(index)
    ids = pd.Index(pd.unique(grid["entity_id"].to_numpy(dtype=object)))
    code = entity_codes(ids, grid["entity_id"])
    start = to_days(grid["as_of"].to_numpy(dtype="datetime64[ns]"))
    stop = spec.window_end(start)

    label = np.zeros(len(grid), dtype=bool)
    for rule in spec.positive_when:
        label |= _holds(tables, catalog, rule, ids, code, start, stop)
    observed = np.ones(len(grid), dtype=bool)
    if spec.observed_when:
        observed = np.zeros(len(grid), dtype=bool)
        for rule in spec.observed_when:
            observed |= _holds(tables, catalog, rule, ids, code, start, stop)
    if spec.random_inspection is not None:
        random_inspected = _holds(tables, catalog, spec.random_inspection, ids, code, start, stop)
    else:
        random_inspected = np.zeros(len(grid), dtype=bool)

    complete = _covered(tables, catalog, spec, index, start, stop, coverage)
    _warn_uncovered_days(spec, start, stop)

    in_population = np.ones(len(grid), dtype=bool)
    if spec.population:
        ent_spec = catalog.entities
        registry = tables.get(catalog.entity_source)
        if registry is None:
            raise ValueError(f"records have no {catalog.entity_source!r} table, which the label population reads")
        members = registry.loc[where_mask(registry, spec.population), ent_spec.entity_key]
        in_population = grid["entity_id"].isin(members).to_numpy(dtype=bool)

    out = grid.copy()
    out["label"] = label.astype(np.int8)
    out["random_inspected"] = random_inspected
    out["complete"] = complete
    out["in_population"] = in_population
    out["observed"] = observed
    logger.info(
        "labels %s: %d rows, %.2f%% positive, %d complete, %d observed", spec.name, len(out),
        100 * label.mean() if len(out) else 0.0, int(complete.sum()), int((complete & observed).sum()),
    )
    return out


def _label_sources(spec: LabelSpec) -> list[str]:
    rules = [*spec.positive_when, *spec.observed_when]
    return list(dict.fromkeys(r.source for r in rules))


def _covered(
    tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, spec: LabelSpec, index: Any, start: np.ndarray,
    stop: np.ndarray, mode: str,
) -> np.ndarray:
    """Whether each row's label horizon (and feature windows) lie in covered time; warn or refuse otherwise."""
    span = records_span(tables, catalog)
    label_cov = [source_coverage(s, tables, catalog, span) for s in _label_sources(spec)]
    dates, first, inverse = np.unique(start, return_index=True, return_inverse=True)
    reasons = window_problems(dates, stop[first], label_cov, "label horizon")
    feature_cov = _feature_windows(getattr(index, "catalog", None), tables, catalog, span)
    for width, covs in feature_cov.items():
        # a feature window is compared with the gaps only: its start may precede the
        # records (an entity's history begins somewhere) and its end is the as-of date
        gaps_only = [SourceCoverage(c.source, -NEVER, NEVER, c.gaps, c.derived) for c in covs]
        more = window_problems(dates - width, dates, gaps_only, f"{width}-day feature window")
        reasons = [r or m for r, m in zip(reasons, more, strict=True)]
    gapped = {c.source: c for c in label_cov if c.gaps}
    gapped.update({c.source: c for covs in feature_cov.values() for c in covs})
    for cov in gapped.values():
        if cov.derived:
            logger.warning("coverage of %s; declare `coverage:` for the source to state it", cov.describe())
    bad = [i for i, r in enumerate(reasons) if r]
    if bad:
        listed = "; ".join(f"{np.datetime64(int(dates[i]), 'D')}: {reasons[i]}" for i in bad)
        message = f"label {spec.name or ''}: {len(bad)} as-of date(s) not covered by the records: {listed}"
        if mode == "refuse":
            raise ValueError(message + ". Pass as-of dates inside the coverage, or coverage='drop'")
        logger.warning("%s. Their rows are left unlabeled (complete=False), not labeled 0", message)
    ok = np.array([not r for r in reasons], dtype=bool)
    return ok[inverse] if len(start) else np.zeros(0, dtype=bool)


def _feature_windows(
    panel_catalog: Any, tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, span: tuple[int, int],
) -> dict[int, list[SourceCoverage]]:
    """Finite feature windows of a panel (days) and the coverage of the sources they read; only gapped sources."""
    if not isinstance(panel_catalog, pd.DataFrame) or not {"source", "window_days"} <= set(panel_catalog.columns):
        return {}
    out: dict[int, list[SourceCoverage]] = {}
    windows = panel_catalog.dropna(subset=["window_days"])
    for source, part in windows.groupby("source", sort=True):
        if source not in catalog:
            continue
        cov = source_coverage(str(source), tables, catalog, span)
        if not cov.gaps:
            continue
        width = int(part["window_days"].max())
        out.setdefault(width, []).append(cov)
    return out


def _warn_uncovered_days(spec: LabelSpec, start: np.ndarray, stop: np.ndarray) -> None:
    """Warn when consecutive as-of windows leave a day or two between them (a day horizon on a calendar grid)."""
    dates, first = np.unique(start, return_index=True)
    if len(dates) < 2 or spec.horizon_months is not None:
        return
    ends = stop[first][:-1]
    hole = (dates[1:] > ends) & (dates[1:] - ends <= 3)
    if hole.any():
        missed = [str(np.datetime64(int(d), "D")) for d in ends[hole]][:5]
        logger.warning(
            "label %s: the %d-day horizon leaves day(s) between consecutive as-of dates in no label window (from %s); "
            "records known then label no row. On a calendar grid use horizon_months (e.g. 12) instead",
            spec.name, spec.horizon_days, ", ".join(missed),
        )
