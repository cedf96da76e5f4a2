"""The feature library as declarative specs (``features/*.yaml``).

One YAML file per indicator group (dimension). Each file lists *entries*; an entry
names a record source, an optional row filter (``where``) and what to compute from
the matching records: window aggregates (``windows`` x ``aggregations``), state
features at the as-of date (``state``) or static registry values (``static``,
``age``). :func:`load_feature_spec` validates every file against the declared sources
(``sources.yaml``) and expands the entries into :class:`FeatureDef` objects, one per
panel column, with deterministic names, bilingual labels and a risk direction.

The vocabulary (``AGGREGATIONS``, ``STATES``) sits at the top of this module; error
messages list the allowed values. The indicator groups are data too: a dimension file
(:mod:`riskml.features._dimensions`) maps each feature to the group its points add up in.
"""

from __future__ import annotations

import json
import logging
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, Field, model_validator

from riskml._specs import SpecError, SpecModel, bundled_dir, load_yaml, parse_spec, spec_hash
from riskml.features._dimensions import DIMENSIONS_FILE, DimensionSpec, load_dimension_spec
from riskml.features._network_spec import load_network_spec
from riskml.features._sources import SOURCES_FILE, resolve_sources
from riskml.features._windows import parse_window
from riskml.records._sources import SourceCatalog, SourceSpec

__all__ = [
    "AGGREGATIONS",
    "CATALOG_COLUMNS",
    "STATES",
    "FeatureDef",
    "FeatureEntry",
    "FeatureFile",
    "FeatureSpec",
    "FeatureSpecLike",
    "load_feature_spec",
    "where_mask",
]

logger = logging.getLogger(__name__)

#: Window aggregations over the records known in ``[t - w, t)``.
AGGREGATIONS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "max",
    "min",
    "distinct_count",
    "days_since_last",
    "days_since_first",
    "share",
)
#: State features at the as-of date ``t`` (over all records known before ``t``).
STATES: tuple[str, ...] = ("on_list", "open_count", "open_sum", "days_to_expiry", "latest", "days_since_last")
#: Columns of a panel's feature catalog, in order.
CATALOG_COLUMNS: tuple[str, ...] = (
    "source",
    "dimension",
    "dimension_zh",
    "dimension_en",
    "dimension_rank",
    "label_zh",
    "label_en",
    "direction",
    "kind",
    "aggregation",
    "column",
    "window_days",
    "where",
    "inspection_driven",
    "status",
)
# Files in a feature folder that are not feature files of this module.
NETWORK_FILE = "network.yaml"

# Column types each value aggregation accepts.
_VALUE_TYPES: dict[str, tuple[str, ...]] = {
    "sum": ("int", "float", "bool"),
    "mean": ("int", "float", "bool"),
    "max": ("int", "float"),
    "min": ("int", "float"),
    "distinct_count": ("str", "category", "int", "bool"),
    "share": ("bool",),
    "latest": ("int", "float", "bool", "category"),
    "open_sum": ("int", "float"),
}
# Aggregations whose value falls as the risk signal rises (recency, time to expiry).
_INVERTED = frozenset({"days_since_last", "days_since_first", "days_to_expiry"})


def _check_window(value: str) -> str:
    parse_window(value)
    return value


def _check_aggregation(value: str) -> str:
    if value not in AGGREGATIONS:
        raise ValueError(f"an aggregation, one of {', '.join(AGGREGATIONS)}; got {value!r}")
    return value


def _check_state(value: str) -> str:
    if value not in STATES:
        raise ValueError(f"a state feature, one of {', '.join(STATES)}; got {value!r}")
    return value


Window = Annotated[str, AfterValidator(_check_window)]
Aggregation = Annotated[str, AfterValidator(_check_aggregation)]
State = Annotated[str, AfterValidator(_check_state)]
Scalar = str | int | float | bool


class Range(SpecModel):
    """A numeric range filter ``{min: x, max: y}``; both bounds inclusive.

    Attributes
    ----------
    min : float, optional
        Lowest matching value (e.g. ``10000`` for penalties of at least 10,000 CNY);
        None: no lower bound. A range needs ``min`` or ``max`` and applies to int and
        float columns only; a missing value never matches.
    max : float, optional
        Highest matching value; None: no upper bound.
    """

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some_bound(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("a range needs 'min' and/or 'max'")
        return self


WhereValue = Range | list[Scalar] | Scalar
Where = dict[str, WhereValue]


class FeatureEntry(SpecModel):
    """One entry of a feature file; it expands into one or more features.

    ``ended_by`` names date columns that end a record's effect (a credit repair, a
    revocation): the record is *ended* at ``t`` when any of them is before ``t``.
    ``status`` chooses which records window features count: ``active`` (not ended;
    the default when ``ended_by`` is given), ``ended`` or ``all``.

    Attributes
    ----------
    source : str
        The declared source whose records the entry reads (e.g. ``penalties``).
    name : str, optional
        Prefix of the generated feature names, lower_snake_case:
        ``<name>_<aggregation>_<window>``, ``<name>_<column>_<aggregation>_<window>``,
        ``<name>_<state>``, ``<name>_open_<column>``, ``<name>_latest_<column>``,
        ``<name>_age_years``. None: the source name. Static features are named after
        their column.
    label_zh : str, optional
        Chinese subject of the feature labels (``行政处罚`` gives ``近365天行政处罚次数``);
        None: the source's ``label_zh``, else the source name.
    label_en : str, optional
        English subject of the feature labels (``Penalties`` gives ``Penalties: number,
        last 365 days``); None: the source's ``label_en``, else the source name.
    where : dict
        Only records matching this filter count: a column maps to a value, a list of
        values (any matches) or a range ``{min: x, max: y}`` (inclusive), e.g.
        ``{severity: serious}``; missing values never match and category values must
        be declared. Empty: every record. Not allowed with ``static`` or ``age``.
    windows : list of str
        Windows of the ``aggregations``: ``<n>d`` counts the records known in
        ``[t - n days, t)``, ``all`` every record known before ``t``. Needed exactly
        when ``aggregations`` is given.
    aggregations : list of str
        Window aggregations (``count``, ``sum``, ``mean``, ``max``, ``min``,
        ``distinct_count``, ``days_since_last``, ``days_since_first``, ``share``): one
        feature per window, per aggregation and per value column.
    column : str or list of str, optional
        Value column(s) of the value aggregations (``sum``, ``mean``, ``max``,
        ``min``, ``distinct_count``, ``share``) and of the states ``open_sum`` and
        ``latest``: one feature per column. A column must be declared, not personal,
        and of a type the aggregation takes (``share``: bool; ``sum``/``mean``: int,
        float or bool). ``count`` and ``days_since_*`` need none.
    state : list of str
        State features at the as-of date ``t``, over all records known before ``t``
        (``on_list``, ``open_count``, ``open_sum``, ``days_to_expiry``, ``latest``,
        ``days_since_last``); ``on_list``, ``open_count``, ``open_sum`` and ``days_to_expiry`` need a source
        with ``valid_to``.
    static : list of str
        Columns of the entity source taken as features, one per column, named after
        the column (non-personal int, float, bool or category columns; entity source
        only).
    age : bool
        Add ``<name>_age_years``: years from the entity's ``known_at`` (its
        establishment) to the as-of date (entity source only).
    ended_by : list of str
        Date columns of the source that end a record's effect (e.g. ``[repaired]``):
        a record is ended at ``t`` when any of them is before ``t``.
    status : {"active", "ended", "all"}, optional
        Which records the window features (and ``latest``) count; ``active`` and
        ``ended`` need ``ended_by``. None: ``active`` with ``ended_by``, else ``all``.
    direction : {1, 0, -1}
        How risk moves as the counted amount grows: 1 up, -1 down, 0 no stated
        direction. Recency and time-left features (``days_since_last``,
        ``days_since_first``, ``days_to_expiry``) take the opposite sign; category
        features always 0. With ``training.monotone_from_catalog`` the booster is
        constrained to it.
    directions : dict of str to {1, 0, -1}
        Overrides of ``direction`` for one aggregation, state, ``age`` or static column,
        taken as given (not inverted), e.g. ``{days_to_expiry: 1}``.
    inspection_driven : bool
        The features measure inspection activity (how often the bureau looked) rather
        than the entity's conduct; the blind-spot ranking drops them by default.
    filed_within_days : int, optional
        Only records known at most this many days after their period (year) ended:
        reports filed early in the filing season (a source with ``due``). None: every
        record.
    missed_deadlines : bool
        Count the source's missed filing deadlines instead of its records (a source
        with ``due``; see :mod:`riskml.features._deadlines`): one per year whose record
        was not known by the last filing day, known that day and open until the record
        is known. Takes the ``count`` aggregation and the ``open_count`` and
        ``on_list`` states, without ``where``, ``column`` or ``ended_by``.
    """

    source: str
    name: str | None = None
    label_zh: str | None = None
    label_en: str | None = None
    where: Where = Field(default_factory=dict)
    windows: list[Window] = Field(default_factory=list)
    aggregations: list[Aggregation] = Field(default_factory=list)
    column: str | list[str] | None = None
    state: list[State] = Field(default_factory=list)
    static: list[str] = Field(default_factory=list)
    age: bool = False
    ended_by: list[str] = Field(default_factory=list)
    status: Literal["active", "ended", "all"] | None = None
    direction: Literal[-1, 0, 1] = 1
    directions: dict[str, Literal[-1, 0, 1]] = Field(default_factory=dict)
    inspection_driven: bool = False
    filed_within_days: int | None = Field(default=None, ge=0)
    missed_deadlines: bool = False

    @model_validator(mode="after")
    def _something_to_compute(self) -> FeatureEntry:
        if not (self.aggregations or self.state or self.static or self.age):
            raise ValueError("an entry needs 'aggregations', 'state', 'static' or 'age'")
        if self.aggregations and not self.windows:
            raise ValueError("'aggregations' need 'windows' (e.g. [90d, 365d, all])")
        if self.windows and not self.aggregations:
            raise ValueError("'windows' need 'aggregations'")
        for key in self.directions:
            if key not in AGGREGATIONS and key not in STATES and key != "age" and key not in self.static:
                raise ValueError(f"'directions' keys are aggregations, states, 'age' or static columns; got {key!r}")
        return self

    @property
    def columns(self) -> list[str]:
        """The value columns (``column`` as a list)."""
        if self.column is None:
            return []
        return [self.column] if isinstance(self.column, str) else list(self.column)


class ColumnLabel(SpecModel):
    """Chinese and English names of a source column, for feature labels.

    Attributes
    ----------
    zh : str
        Chinese name of the column in feature labels (e.g. ``违法事由``).
    en : str
        English name of the column, as it reads inside a label (e.g. ``causes`` gives
        ``Penalties: distinct causes, last 365 days``).
    """

    zh: str
    en: str


class FeatureFile(SpecModel):
    """One feature file: a dimension (indicator group) and its entries.

    ``column_labels`` names source columns in feature labels where ``sources.yaml``
    gives no label (``{amount: {zh: 金额, en: amount}}``).

    Attributes
    ----------
    dimension : str
        Where the file's features belong among the indicator groups (指标维度): a group
        of the loaded dimension file or a name one of its groups ``includes`` (the
        built-in files: ``registration``, ``operation``, ``penalties``,
        ``complaints``, ``commendations``, ``financing``, ``invoices``); explanations
        sum score points by the group.
    label_zh : str, optional
        Chinese name of the file's topic, for the reader of the file (e.g.
        ``行政处罚与失信名单``); catalogs and reports name groups from the dimension
        file, not from here.
    label_en : str, optional
        English name of the dimension, for the reader of the file (e.g. ``Penalties &
        negative lists``).
    column_labels : dict of str to ColumnLabel
        Names of source columns in this file's feature labels; they win over the
        labels in ``sources.yaml``.
    features : list of FeatureEntry
        The entries, at least one; feature names must be unique across the folder.
    """

    dimension: str
    label_zh: str | None = None
    label_en: str | None = None
    column_labels: dict[str, ColumnLabel] = Field(default_factory=dict)
    features: list[FeatureEntry] = Field(min_length=1)


class FeatureDef(SpecModel):
    """One panel column: everything the engine and the catalog need to know.

    Examples
    --------
    >>> from riskml.features import load_feature_spec
    >>> f = {f.name: f for f in load_feature_spec().features}["penalties_serious_count_1095d"]
    >>> f.aggregation, f.window_days, f.status, f.ended_by
    ('count', 1095.0, 'active', ('repaired',))
    """

    name: str
    source: str
    dimension: str
    label_zh: str
    label_en: str
    direction: Literal[-1, 0, 1]
    kind: Literal["window", "state", "static", "cross"]
    aggregation: str
    column: str | None = None
    window_days: float | None = None
    where: Where = Field(default_factory=dict)
    ended_by: tuple[str, ...] = ()
    status: Literal["active", "ended", "all"] = "all"
    inspection_driven: bool = False
    categories: tuple[str, ...] | None = None
    filed_within_days: int | None = None
    missed_deadlines: bool = False
    file: str = ""

    @property
    def categorical(self) -> bool:
        """Whether the panel column is a pandas category."""
        return self.categories is not None

    @property
    def time_dependent(self) -> bool:
        """Whether the set of counted records depends on ``t`` beyond ``known_at < t``."""
        return self.status != "all" or self.aggregation in ("on_list", "open_count", "open_sum", "days_to_expiry")


class FeatureSpec(SpecModel):
    """A loaded feature library: the sources it reads and every feature it defines.

    Attributes
    ----------
    sources : SourceCatalog
        The source declarations the features were validated against.
    features : tuple of FeatureDef
        One per panel column, in panel order.
    network : Any
        The cross-entity spec (``network.yaml``) when present and supported.
    dimensions : DimensionSpec, optional
        The indicator groups the features were assigned to; None: the default.
    folder : str
        Where the spec was loaded from.

    Examples
    --------
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec().subset(["penalties_count_365d", "judicial_open_count"])
    >>> spec.feature_names, spec.used_sources
    (['judicial_open_count', 'penalties_count_365d'], ['judicial', 'penalties'])
    """

    sources: SourceCatalog
    features: tuple[FeatureDef, ...]
    network: Any = None
    dimensions: DimensionSpec | None = None
    folder: str = ""

    @property
    def feature_names(self) -> list[str]:
        """Names of the (non-cross) features, in panel order."""
        return [f.name for f in self.features]

    @property
    def used_sources(self) -> list[str]:
        """Sources the features read, in first-use order."""
        return list(dict.fromkeys(f.source for f in self.features))

    def hash(self) -> str:
        """Stable hash of the features and the declarations of the sources they use."""
        used = {n: self.sources[n] for n in sorted({*self.used_sources, self.sources.entity_source})}
        network = self.network.model_dump(mode="json") if hasattr(self.network, "model_dump") else self.network
        # The indicator group is how points are reported, not what is computed: regrouping
        # leaves the hash (and a model's acceptance of the panel) unchanged.
        features = [f.model_dump(mode="json", exclude={"file", "dimension"}) for f in self.features]
        return spec_hash(features, used, network)

    def subset(self, names: list[str]) -> FeatureSpec:
        """This spec with only the features ``names`` (in spec order).

        Raises
        ------
        KeyError
            When a name is not a feature of the spec.
        """
        unknown = sorted(set(names) - set(self.feature_names))
        if unknown:
            raise KeyError(f"not features of this spec: {unknown}; see FeatureSpec.feature_names")
        keep = set(names)
        return self.model_copy(update={"features": tuple(f for f in self.features if f.name in keep), "network": None})

    def catalog(self) -> pd.DataFrame:
        """The feature catalog: one row per feature, indexed by name (``CATALOG_COLUMNS``)."""
        return self.group(_catalog_frame(self.features))

    def group(self, catalog: pd.DataFrame) -> pd.DataFrame:
        """``catalog`` (e.g. the cross-entity features' rows) with this spec's indicator groups.

        Examples
        --------
        >>> from riskml.features import load_feature_spec
        >>> spec = load_feature_spec(dimensions="dezhou")
        >>> spec.catalog().loc["judicial_freeze_count_1095d", ["dimension", "dimension_zh"]].tolist()
        ['penalties', '处罚与负面清单']
        """
        return (self.dimensions or load_dimension_spec()).assign(catalog)


def _catalog_frame(features: tuple[FeatureDef, ...] | list[FeatureDef]) -> pd.DataFrame:
    """Catalog DataFrame of feature definitions (indexed by name, ``CATALOG_COLUMNS``)."""
    rows = [
        {
            "name": f.name,
            "source": f.source,
            "dimension": f.dimension,
            "dimension_zh": "",
            "dimension_en": "",
            "dimension_rank": 0,
            "label_zh": f.label_zh,
            "label_en": f.label_en,
            "direction": int(f.direction),
            "kind": f.kind,
            "aggregation": f.aggregation,
            "column": f.column or "",
            "window_days": np.nan if f.window_days is None else float(f.window_days),
            "where": _where_json(f.where),
            "inspection_driven": bool(f.inspection_driven),
            "status": f.status,
        }
        for f in features
    ]
    frame = pd.DataFrame(rows, columns=["name", *CATALOG_COLUMNS])
    frame["direction"] = frame["direction"].astype("int64")
    frame["window_days"] = frame["window_days"].astype("float64")
    frame["inspection_driven"] = frame["inspection_driven"].astype(bool)
    return frame.set_index("name")


def _where_json(where: Where) -> str:
    if not where:
        return ""
    plain = {k: (v.model_dump(exclude_none=True) if isinstance(v, Range) else v) for k, v in where.items()}
    return json.dumps(plain, sort_keys=True, ensure_ascii=False)


def where_mask(frame: pd.DataFrame, where: Where | dict[str, Any]) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` matching a ``where`` filter.

    ``where`` maps a column to a value, a list of values (any matches) or a range
    ``{min: x, max: y}`` (inclusive). Missing values never match.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"severity": ["minor", "serious", None], "amount": [10.0, 5e4, 2e4]})
    >>> where_mask(df, {"severity": ["general", "serious"]}).tolist()
    [False, True, False]
    >>> where_mask(df, {"amount": {"min": 10000}}).tolist()
    [False, True, True]
    """
    mask = np.ones(len(frame), dtype=bool)
    for column, condition in where.items():
        col = frame[column]
        if isinstance(condition, dict):
            condition = Range(**condition)
        if isinstance(condition, Range):
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            ok = ~np.isnan(values)
            if condition.min is not None:
                ok &= values >= condition.min
            if condition.max is not None:
                ok &= values <= condition.max
        else:
            wanted = condition if isinstance(condition, list) else [condition]
            if col.dtype == bool or str(col.dtype) == "boolean":
                wanted = [bool(w) for w in wanted]
            ok = col.isin(wanted).to_numpy(dtype=bool, na_value=False) & col.notna().to_numpy(dtype=bool)
        mask &= ok
    return mask


# ----------------------------------------------------------------------------- loading


#: What a ``feature_spec`` parameter accepts: a :class:`FeatureSpec`, the folder of a
#: feature library, or None for the built-in one.
FeatureSpecLike = FeatureSpec | str | Path | None


def load_feature_spec(
    folder: str | Path | None = None,
    sources: SourceCatalog | str | Path | None = None,
    dimensions: str | Path | DimensionSpec | None = None,
) -> FeatureSpec:
    """Load and validate a feature library folder.

    Parameters
    ----------
    folder : str or Path, optional
        Folder of feature YAML files (one per dimension), or a single feature file.
        Default: riskml's built-in library. ``sources.yaml`` in the folder declares
        extra (custom) sources, added to the built-in ones; ``network.yaml`` holds the
        cross-entity features and is read by their own parser.
    sources : SourceCatalog or path, optional
        Source declarations to validate against instead of built-in + folder.
    dimensions : str, Path or DimensionSpec, optional
        The indicator groups: a dimension file, or the name of a bundled one
        (``"samr"``, SAMR's five groups; ``"dezhou"``, Dezhou's five). None: the
        folder's ``dimensions.yaml`` if it has one, else ``"samr"``.

    Returns
    -------
    FeatureSpec

    Raises
    ------
    riskml.SpecError
        When a file does not match the schema, names an unknown source, column,
        category, or a dimension no indicator group claims, or two entries generate the same feature name. The
        message names the file, the key and what was expected.

    Examples
    --------
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec()
    >>> "abnormal_list_on_list" in spec.feature_names
    True
    >>> spec.catalog().loc["penalties_serious_count_1095d", ["dimension", "dimension_zh"]].tolist()
    ['supervision', '监管信息']
    """
    base = Path(folder) if folder is not None else bundled_dir("features")
    if base.is_file():
        files, base_dir = [base], base.parent
    elif base.is_dir():
        files = sorted(p for p in base.glob("*.y*ml") if p.name not in (SOURCES_FILE, NETWORK_FILE, DIMENSIONS_FILE))
        base_dir = base
    else:
        raise SpecError(base, "", "an existing folder of feature YAML files (or one file)")
    catalog = resolve_sources(base_dir, sources)
    own_dimensions = base_dir / DIMENSIONS_FILE
    if dimensions is None and own_dimensions.is_file():
        dimensions = own_dimensions
    groups = load_dimension_spec(dimensions)

    features: list[FeatureDef] = []
    seen: dict[str, str] = {}
    for path in files:
        parsed = parse_spec(FeatureFile, load_yaml(path), path)
        for i, entry in enumerate(parsed.features):
            for feature in _expand(entry, parsed, catalog, path, f"features.{i}"):
                group = groups.group_of(feature.name, parsed.dimension)
                if group is None:
                    raise SpecError(path, "dimension", groups.expected(), parsed.dimension)
                feature = feature.model_copy(update={"dimension": group})
                if feature.name in seen:
                    raise SpecError(
                        path, f"features.{i}.name", f"a unique feature name; {feature.name!r} is also made by {seen[feature.name]}"
                    )
                seen[feature.name] = f"{path.name}"
                features.append(feature)
    if not features:
        raise SpecError(base, "", "at least one feature file (*.yaml besides sources.yaml/network.yaml)")

    network = None
    network_path = base_dir / NETWORK_FILE
    if network_path.is_file() and base.is_dir():
        network = load_network_spec(network_path)
    logger.info("loaded %d features from %d files in %s", len(features), len(files), base)
    return FeatureSpec(sources=catalog, features=tuple(features), network=network, dimensions=groups, folder=str(base))


def _column_label(source: SourceSpec, column: str, file: FeatureFile) -> tuple[str, str]:
    if column in file.column_labels:
        named = file.column_labels[column]
        return named.zh, named.en
    spec = source.columns[column]
    en = spec.label_en or column.replace("_", " ")
    return spec.label_zh or column, en[:1].lower() + en[1:]


def _window_phrase(days: float | None) -> tuple[str, str]:
    if days is None:
        return "历史累计", "all history"
    return f"近{int(days)}天", f"last {int(days)} days"


def check_where(where: Where, source: SourceSpec, path: str | Path, key: str) -> None:
    """Check a ``where`` filter against a source's columns; :class:`SpecError` if bad.

    Columns must be declared, ranges apply to numeric columns only and category
    values must be declared categories.
    """
    declared = sorted(source.columns)
    for column, condition in where.items():
        if column not in source.columns:
            raise SpecError(path, key, f"a column of source {source.name!r}; declared: {declared}", column)
        col = source.columns[column]
        if isinstance(condition, Range):
            if col.type not in ("int", "float"):
                raise SpecError(path, f"{key}.{column}", f"a value or list for a {col.type} column, not a range")
        elif col.type == "category":
            values = condition if isinstance(condition, list) else [condition]
            bad = [v for v in values if v not in (col.categories or ())]
            if bad:
                raise SpecError(path, f"{key}.{column}", f"categories of {column!r}: {list(col.categories or ())}", bad)


def _check_columns(entry: FeatureEntry, source: SourceSpec, path: Path, key: str) -> None:
    declared = sorted(source.columns)
    for column in entry.columns:
        if column not in source.columns:
            raise SpecError(path, f"{key}.column", f"a column of source {source.name!r}; declared: {declared}", column)
        if source.columns[column].personal:
            raise SpecError(path, f"{key}.column", "a non-personal column (personal data never becomes a feature)", column)
    check_where(entry.where, source, path, f"{key}.where")
    for column in entry.ended_by:
        if column not in source.columns or source.columns[column].type != "date":
            dates = [c for c, s in source.columns.items() if s.type == "date"]
            raise SpecError(path, f"{key}.ended_by", f"date columns of source {source.name!r}: {dates}", column)


def _check_missed_deadlines(entry: FeatureEntry, source: SourceSpec, path: Path, key: str) -> None:
    """Missed deadlines need a source with ``due`` and take counts and open states only."""
    if source.due is None:
        raise SpecError(path, f"{key}.missed_deadlines", f"a source with a 'due' obligation ({source.name!r} declares "
                        "none: add due: {period: <int column>, last_day: MM-DD, first_period: <year>} in sources.yaml)",
                        True)
    bad = sorted({*entry.aggregations} - {"count"}) + sorted({*entry.state} - {"open_count", "on_list"})
    if bad:
        raise SpecError(path, key, "aggregations [count] and states [open_count, on_list] with missed_deadlines", bad)
    if entry.where or entry.column or entry.ended_by or entry.static or entry.age:
        raise SpecError(path, key, "no where, column, ended_by, static or age with missed_deadlines",
                        [k for k in ("where", "column", "ended_by", "static", "age") if getattr(entry, k)])


def _expand(entry: FeatureEntry, file: FeatureFile, catalog: SourceCatalog, path: Path, key: str) -> list[FeatureDef]:
    """The features one entry defines, with names, labels and directions."""
    if entry.source not in catalog:
        raise SpecError(path, f"{key}.source", f"a declared source; declared: {sorted(catalog.sources)}", entry.source)
    source = catalog[entry.source]
    _check_columns(entry, source, path, key)
    prefix = entry.name or entry.source
    if not re.match(r"^[a-z][a-z0-9_]*$", prefix):
        raise SpecError(path, f"{key}.name", "a lower_snake_case name prefix", prefix)
    lz = entry.label_zh or source.label_zh or entry.source
    le = entry.label_en or source.label_en or entry.source.replace("_", " ")
    if entry.missed_deadlines:
        _check_missed_deadlines(entry, source, path, key)
    if entry.filed_within_days is not None and source.due is None:
        raise SpecError(path, f"{key}.filed_within_days", f"a source with a 'due' obligation ({source.name!r} "
                        "declares none)", entry.filed_within_days)
    status = entry.status or ("active" if entry.ended_by else "all")
    if status != "all" and not entry.ended_by:
        raise SpecError(path, f"{key}.status", "'ended_by' date columns when status is active or ended", status)
    common = dict(
        source=entry.source,
        dimension=file.dimension,
        where=entry.where,
        ended_by=tuple(entry.ended_by),
        inspection_driven=entry.inspection_driven,
        missed_deadlines=entry.missed_deadlines,
        filed_within_days=entry.filed_within_days,
        file=str(path),
    )

    def direction(agg: str) -> int:
        if agg in entry.directions:
            return entry.directions[agg]
        return -entry.direction if agg in _INVERTED else entry.direction

    def value_columns(agg: str, sub: str) -> list[str]:
        cols = entry.columns
        if not cols:
            raise SpecError(path, f"{key}.column", f"a value column for aggregation {agg!r}")
        allowed = _VALUE_TYPES[agg]
        for c in cols:
            if source.columns[c].type not in allowed:
                raise SpecError(
                    path, f"{key}.column", f"a column of type {'/'.join(allowed)} for {sub} {agg!r}", f"{c} ({source.columns[c].type})"
                )
        return cols

    out: list[FeatureDef] = []
    for window in entry.windows:
        days = parse_window(window)
        wdays = None if math.isnan(days) else days
        wz, we = _window_phrase(wdays)
        suffix = "all" if wdays is None else window
        for agg in entry.aggregations:
            if agg in ("count", "days_since_last", "days_since_first"):
                targets: list[str | None] = [None]
            else:
                targets = list(value_columns(agg, "aggregation"))
            for col in targets:
                cz, ce = _column_label(source, col, file) if col else ("", "")
                name = f"{prefix}_{agg}_{suffix}" if col is None else f"{prefix}_{col}_{agg}_{suffix}"
                label_zh, label_en = _window_labels(agg, lz, le, cz, ce, wz, we)
                out.append(
                    FeatureDef(
                        name=name, label_zh=label_zh, label_en=label_en, direction=direction(agg), kind="window",
                        aggregation=agg, column=col, window_days=wdays, status=status, **common,
                    )
                )
    for state in entry.state:
        if (state in ("on_list", "open_count", "open_sum", "days_to_expiry") and source.valid_to is None
                and not entry.missed_deadlines):
            raise SpecError(path, f"{key}.state", f"a source with 'valid_to' for state {state!r}", entry.source)
        targets = list(value_columns(state, "state")) if state in ("open_sum", "latest") else [None]
        for col in targets:
            cz, ce = _column_label(source, col, file) if col else ("", "")
            name = {
                "open_sum": f"{prefix}_open_{col}",
                "latest": f"{prefix}_latest_{col}",
            }.get(state, f"{prefix}_{state}")
            label_zh, label_en = _state_labels(state, lz, le, cz, ce)
            categories = None
            dir_ = direction(state)
            if state == "latest" and col is not None and source.columns[col].type == "category":
                categories = tuple(source.columns[col].categories or ())
                dir_ = 0
            out.append(
                FeatureDef(
                    name=name, label_zh=label_zh, label_en=label_en, direction=dir_, kind="state", aggregation=state,
                    column=col, window_days=None, status="all" if state != "latest" else status,
                    categories=categories, **common,
                )
            )
    if entry.static or entry.age:
        if entry.source != catalog.entity_source:
            raise SpecError(path, f"{key}.static", f"static features from the entity source {catalog.entity_source!r}", entry.source)
        if entry.where or entry.ended_by:
            raise SpecError(path, f"{key}.where", "no 'where'/'ended_by' on static features (one registry row per entity)")
    if entry.age:
        out.append(
            FeatureDef(
                name=f"{prefix}_age_years", label_zh=f"{lz}成立年限（年）", label_en=f"{le}: age in years",
                direction=entry.directions.get("age", entry.direction), kind="static",
                aggregation="age", **{**common, "where": {}},
            )
        )
    for col in entry.static:
        if col not in source.columns:
            raise SpecError(path, f"{key}.static", f"a column of source {source.name!r}; declared: {sorted(source.columns)}", col)
        spec = source.columns[col]
        if spec.personal or spec.type not in ("int", "float", "bool", "category"):
            raise SpecError(path, f"{key}.static", "a non-personal int, float, bool or category column", f"{col} ({spec.type})")
        cz, ce = _column_label(source, col, file)
        is_cat = spec.type == "category"
        out.append(
            FeatureDef(
                name=col, label_zh=cz, label_en=ce[:1].upper() + ce[1:], direction=0 if is_cat else entry.directions.get(col, entry.direction),
                kind="static", aggregation="value", column=col,
                categories=tuple(spec.categories or ()) if is_cat else None, **{**common, "where": {}},
            )
        )
    return out


def _window_labels(agg: str, lz: str, le: str, cz: str, ce: str, wz: str, we: str) -> tuple[str, str]:
    zh = {
        "count": f"{wz}{lz}次数",
        "sum": f"{wz}{lz}{cz}合计",
        "mean": f"{wz}{lz}{cz}均值",
        "max": f"{wz}{lz}{cz}最大值",
        "min": f"{wz}{lz}{cz}最小值",
        "distinct_count": f"{wz}{lz}{cz}种类数",
        "days_since_last": f"距最近一次{lz}天数（{wz}）",
        "days_since_first": f"距首次{lz}天数（{wz}）",
        "share": f"{wz}{lz}中{cz}占比",
    }[agg]
    en = {
        "count": f"{le}: number, {we}",
        "sum": f"{le}: total {ce}, {we}",
        "mean": f"{le}: mean {ce}, {we}",
        "max": f"{le}: largest {ce}, {we}",
        "min": f"{le}: smallest {ce}, {we}",
        "distinct_count": f"{le}: distinct {ce}, {we}",
        "days_since_last": f"{le}: days since the latest, {we}",
        "days_since_first": f"{le}: days since the first, {we}",
        "share": f"{le}: share {ce}, {we}",
    }[agg]
    return zh, en


def _state_labels(state: str, lz: str, le: str, cz: str, ce: str) -> tuple[str, str]:
    zh = {
        "on_list": f"当前列入{lz}",
        "open_count": f"当前有效{lz}数",
        "open_sum": f"当前有效{lz}{cz}合计",
        "days_to_expiry": f"{lz}最近到期剩余天数",
        "latest": f"最近一次{lz}{cz}",
        "days_since_last": f"距最近一次{lz}天数",
    }[state]
    en = {
        "on_list": f"{le}: currently listed",
        "open_count": f"{le}: open now",
        "open_sum": f"{le}: open {ce} total",
        "days_to_expiry": f"{le}: days to the nearest expiry",
        "latest": f"{le}: latest {ce}",
        "days_since_last": f"{le}: days since the latest",
    }[state]
    return zh, en
