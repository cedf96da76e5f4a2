"""Labels from the future: which entities a future record marks as positive.

A model spec (``models/<target>.yaml``) declares its label under ``label:``: the
records that make an entity positive (``positive_when``: sources with optional
``where`` filters), the horizon, the random-inspection sample ("double random", the
unbiased evaluation sample) and an optional population filter on registry columns.

For a grid row ``(entity, t)`` the label is 1 when a matching record becomes known in
``[t, t + horizon)``: the mirror image of the features, which see only
``known_at < t``. Records are sorted once per rule by ``entity_code * 2**20 +
known_day`` and counted with ``np.searchsorted`` (see :mod:`riskml.features._kernels`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.features._kernels import NEVER, SortedRecords, entity_codes, to_days
from riskml.features._spec import Where, check_where, where_mask
from riskml.records._sources import SourceCatalog, load_sources

__all__ = ["LABEL_COLUMNS", "LabelRule", "LabelSpec", "load_label_spec", "make_labels"]

logger = logging.getLogger(__name__)

#: Columns of :func:`make_labels`' result, after ``entity_id`` and ``as_of``.
LABEL_COLUMNS: tuple[str, ...] = ("label", "random_inspected", "complete", "in_population")


class LabelRule(SpecModel):
    """Records of ``source`` matching ``where`` (column: value | [values] | {min, max}).

    Attributes
    ----------
    source : str
        The declared source whose records the rule matches (e.g. ``penalties``).
    where : dict
        Only records matching this filter count: a column maps to a value, a list of
        values (any matches) or a range ``{min: x, max: y}`` (inclusive), e.g.
        ``{amount: {min: 10000}}``; missing values never match. Empty: every record of
        the source.

    Examples
    --------
    >>> from riskml.labels import LabelRule
    >>> rule = LabelRule(source="penalties", where={"amount": {"min": 10000}})
    >>> rule.source, rule.where["amount"].min
    ('penalties', 10000.0)
    """

    source: str
    where: Where = Field(default_factory=dict)


class LabelSpec(SpecModel):
    """The ``label:`` section of a model spec.

    Attributes
    ----------
    horizon_days : int
        Length of the future window ``[t, t + horizon_days)``.
    positive_when : list of LabelRule
        Any matching record known in the window makes the label 1.
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
    """

    horizon_days: int = Field(gt=0)
    positive_when: list[LabelRule] = Field(min_length=1)
    random_inspection: LabelRule | None = None
    population: Where | None = None
    name: str = ""


def load_label_spec(
    target: str | Path | LabelSpec = "credit",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
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

    Returns
    -------
    LabelSpec

    Raises
    ------
    riskml.SpecError
        When the spec has no ``label`` section, or it names an unknown source,
        column or category; the message names the file and key.

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
    try:
        spec = parse_spec(LabelSpec, {**data["label"], "name": data.get("name", path.stem)}, path)
    except SpecError as exc:
        raise SpecError(path, f"label.{exc.key}" if exc.key else "label", exc.expected, exc.got) from None
    catalog = sources or load_sources()
    rules = [(f"label.positive_when.{i}", r) for i, r in enumerate(spec.positive_when)]
    if spec.random_inspection is not None:
        rules.append(("label.random_inspection", spec.random_inspection))
    for key, rule in rules:
        if rule.source not in catalog:
            raise SpecError(path, f"{key}.source", f"a declared source; declared: {sorted(catalog.sources)}", rule.source)
        check_where(rule.where, catalog[rule.source], path, f"{key}.where")
    if spec.population:
        check_where(spec.population, catalog.entities, path, "label.population")
    return spec


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


def _hits(
    tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog, rule: Any, ids: pd.Index, code: np.ndarray,
    start: np.ndarray, horizon: int,
) -> np.ndarray:
    """Whether each grid row has a matching record known in ``[start, start + horizon)``."""
    spec = catalog[rule.source]
    if rule.source not in tables:
        raise ValueError(f"records have no {rule.source!r} table, which the label reads; present: {sorted(tables)}")
    table = tables[rule.source]
    keep = where_mask(table, rule.where) if rule.where else np.ones(len(table), dtype=bool)
    ent = entity_codes(ids, table[spec.entity_key])
    known = to_days(table[spec.known_at].to_numpy(dtype="datetime64[ns]"))
    keep &= (ent >= 0) & (known != NEVER)
    records = SortedRecords(ent[keep].astype(np.int64), known[keep])
    lo = records.position(code, start)
    hi = records.position(code, start + horizon)
    return hi > lo


def make_labels(
    records: Mapping[str, pd.DataFrame],
    index: Any,
    target: str | Path | LabelSpec = "credit",
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

    Returns
    -------
    DataFrame
        ``entity_id``, ``as_of`` (in ``index`` order), ``label`` (int8: a matching
        record is known in ``[as_of, as_of + horizon)``), ``random_inspected``
        (bool: a matching random inspection is known in the same window),
        ``complete`` (bool: the whole window lies within the data, i.e.
        ``as_of + horizon <= last known date + 1 day``) and ``in_population`` (bool).

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
    horizon = spec.horizon_days

    label = np.zeros(len(grid), dtype=bool)
    for rule in spec.positive_when:
        label |= _hits(tables, catalog, rule, ids, code, start, horizon)
    if spec.random_inspection is not None:
        random_inspected = _hits(tables, catalog, spec.random_inspection, ids, code, start, horizon)
    else:
        random_inspected = np.zeros(len(grid), dtype=bool)

    last_known = _last_known_day(tables, catalog)
    complete = start + horizon <= last_known + 1

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
    logger.info(
        "labels %s: %d rows, %.2f%% positive, %d complete", spec.name, len(out), 100 * label.mean() if len(out) else 0.0,
        int(complete.sum()),
    )
    return out


def _last_known_day(tables: Mapping[str, pd.DataFrame], catalog: SourceCatalog) -> int:
    last = None
    for name, table in tables.items():
        if name not in catalog or len(table) == 0:
            continue
        days = to_days(table[catalog[name].known_at].to_numpy(dtype="datetime64[ns]"))
        days = days[days != NEVER]
        if len(days):
            last = int(days.max()) if last is None else max(last, int(days.max()))
    if last is None:
        raise ValueError("records have no known_at dates: cannot tell which label horizons are complete")
    return last
