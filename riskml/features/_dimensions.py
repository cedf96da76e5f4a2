"""Indicator groups (指标维度) as data: which group each feature's points add up in.

A dimension file (``features/dimensions/*.yaml``) declares the groups a bureau reports
by, in reporting order, each with Chinese and English labels, and which features belong
to each: the names feature files give themselves (their ``dimension:`` key, ``network``
for ``network.yaml``) through ``includes``, or feature names through fnmatch
``features`` patterns (a pattern wins over ``includes``). riskml ships SAMR's five
groups (国市监信发〔2022〕6号, the default) and Dezhou's five; a bureau writes its own file
and passes it to :func:`riskml.features.load_feature_spec` without a code change.

The resolved group lands in the feature catalog's ``dimension`` column with its labels
(``dimension_zh``, ``dimension_en``) and position (``dimension_rank``), so a trained
model carries the grouping it was trained with and explanations, reports and benchmarks
read it from the catalog.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, field_validator, model_validator

from riskml._specs import SpecError, SpecModel, bundled_dir, load_yaml, parse_spec

__all__ = ["DEFAULT_DIMENSIONS", "DimensionSpec", "IndicatorGroup", "load_dimension_spec"]

#: The bundled dimension file used when a feature folder has no ``dimensions.yaml``.
DEFAULT_DIMENSIONS = "samr"
#: A feature folder's own dimension file.
DIMENSIONS_FILE = "dimensions.yaml"
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class IndicatorGroup(SpecModel):
    """One indicator group of a dimension file.

    Attributes
    ----------
    name : str
        Identifier of the group, lower_snake_case (e.g. ``supervision``); the value of
        the catalog's ``dimension`` column.
    label_zh : str
        Chinese name shown in reports (e.g. ``监管信息``).
    label_en : str
        English name shown in reports (e.g. ``Supervision records``).
    includes : list of str
        Names feature files give themselves (their ``dimension:`` key; ``network`` for
        the cross-entity features) whose features belong to this group.
    features : list of str
        Feature-name patterns (fnmatch, e.g. ``judicial_*``) that belong to this group
        whatever their file; a pattern wins over ``includes``.

    Examples
    --------
    >>> group = IndicatorGroup(name="sanctions", label_zh="惩戒记录", label_en="Sanctions",
    ...                        includes=["penalties"], features=["judicial_*"])
    >>> DimensionSpec(dimensions=[group]).group_of("judicial_open_count", "financing")
    'sanctions'
    """

    name: str
    label_zh: str
    label_en: str
    includes: list[str] = Field(default_factory=list)
    features: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError(f"a lower_snake_case group name, not {value!r}")
        return value


class DimensionSpec(SpecModel):
    """A dimension file: the indicator groups in reporting order.

    Attributes
    ----------
    version : int
        Format version, 1.
    label_zh, label_en : str, optional
        Name of the indicator system (e.g. the regulation it follows).
    dimensions : list of IndicatorGroup
        The groups, at least one, in reporting order; names unique, and a name in
        ``includes`` claimed by one group only.

    Examples
    --------
    >>> spec = load_dimension_spec("dezhou")
    >>> spec.names
    ['registration', 'operation', 'penalties', 'complaints', 'commendations']
    >>> spec.group_of("judicial_freeze_count_1095d", "financing")
    'penalties'
    >>> spec.group_of("mortgages_open_count", "financing")
    'operation'
    """

    version: Literal[1] = 1
    label_zh: str | None = None
    label_en: str | None = None
    dimensions: list[IndicatorGroup] = Field(min_length=1)
    _file: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _unique(self) -> DimensionSpec:
        names = [g.name for g in self.dimensions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"group names must be unique; repeated: {twice}")
        claimed: dict[str, str] = {}
        for group in self.dimensions:
            for name in group.includes:
                if name in claimed and claimed[name] != group.name:
                    raise ValueError(f"{name!r} is included by both {claimed[name]!r} and {group.name!r}; keep one")
                claimed[name] = group.name
        return self

    @property
    def names(self) -> list[str]:
        """Group names in reporting order."""
        return [g.name for g in self.dimensions]

    def group_of(self, feature: str, declared: str) -> str | None:
        """The group of ``feature`` whose file declares ``dimension: declared``; None if none claims it."""
        for group in self.dimensions:
            if any(fnmatch.fnmatchcase(feature, p) for p in group.features):
                return group.name
        for group in self.dimensions:
            if declared == group.name or declared in group.includes:
                return group.name
        return None

    def expected(self) -> str:
        """What a feature file's ``dimension:`` may be, for error messages."""
        included = sorted({n for g in self.dimensions for n in g.includes})
        where = f" of {self._file}" if self._file else ""
        return f"a group{where} ({', '.join(self.names)}) or a name one includes ({', '.join(included)})"

    def assign(self, catalog: pd.DataFrame) -> pd.DataFrame:
        """``catalog`` with its ``dimension`` resolved to groups and their labels and rank.

        Rows whose ``dimension`` no group claims keep it as their own label and follow
        the groups (rank = number of groups).

        Examples
        --------
        >>> catalog = pd.DataFrame({"dimension": ["network", "financing"]},
        ...                        index=["invoice_counterparties_90d", "judicial_open_count"])
        >>> load_dimension_spec().assign(catalog)[["dimension", "dimension_zh", "dimension_rank"]].values.tolist()
        [['related', '关联关系信息', 3], ['supervision', '监管信息', 2]]
        """
        out = catalog.copy()
        declared = out["dimension"].fillna("").astype(str).tolist()
        groups = [self.group_of(str(f), d) or d for f, d in zip(out.index, declared, strict=True)]
        by_name = {g.name: (i, g.label_zh, g.label_en) for i, g in enumerate(self.dimensions)}
        unknown = (len(self.dimensions), None, None)
        out["dimension"] = pd.array(groups, dtype="str")
        out["dimension_zh"] = pd.array([by_name.get(g, unknown)[1] or g for g in groups], dtype="str")
        out["dimension_en"] = pd.array([by_name.get(g, unknown)[2] or g for g in groups], dtype="str")
        out["dimension_rank"] = np.array([by_name.get(g, unknown)[0] for g in groups], dtype=np.int64)
        return out


def load_dimension_spec(dimensions: str | Path | DimensionSpec | None = None) -> DimensionSpec:
    """Load a dimension file: a bundled name (``"samr"``, ``"dezhou"``) or a path.

    Parameters
    ----------
    dimensions : str, Path or DimensionSpec, optional
        A path to a YAML dimension file, the name of a bundled one, or a loaded spec
        (returned as is). None: the default, SAMR's five groups.

    Returns
    -------
    DimensionSpec

    Raises
    ------
    riskml.SpecError
        When the file is missing or does not match the schema; the message names the
        file, the key and what was expected.

    Examples
    --------
    >>> [g.label_zh for g in load_dimension_spec().dimensions]
    ['企业基础属性信息', '企业动态信息', '监管信息', '关联关系信息', '社会评价信息']
    """
    if isinstance(dimensions, DimensionSpec):
        return dimensions
    bundled = bundled_dir("features") / "dimensions"
    name = DEFAULT_DIMENSIONS if dimensions is None else dimensions
    path = Path(name)
    if not path.is_file():
        path = bundled / f"{name}.yaml"
        if not path.is_file():
            known = sorted(p.stem for p in bundled.glob("*.yaml"))
            raise SpecError(Path(name), "", f"an existing dimension file or a bundled one: {known}")
    spec = parse_spec(DimensionSpec, load_yaml(path), path)
    spec._file = str(path)
    return spec
