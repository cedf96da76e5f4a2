"""The cross-entity spec (``features/network.yaml``): which network features, over which sources.

:func:`load_network_spec` validates ``network.yaml`` into a frozen :class:`NetworkSpec`
and :func:`check_network_spec` checks it against the source catalog: the invoice
source, its amount and voided columns, the lists and identity columns each measure
reads. The computation lives in :mod:`riskml.features._network`; the feature
library's loader (:func:`riskml.features.load_feature_spec`) attaches the spec to the
:class:`~riskml.features.FeatureSpec` when the folder has a ``network.yaml``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec
from riskml.features._sources import resolve_sources
from riskml.features._windows import parse_window
from riskml.records._sources import SourceCatalog, SourceSpec, load_sources

__all__ = ["MEASURES", "InvoiceSource", "NetworkFeature", "NetworkSpec", "check_network_spec", "load_network_spec"]

#: The measures a network feature can compute, with what each one means.
MEASURES: dict[str, str] = {
    "counterparties": "distinct counterparties (buyers and sellers) in the window",
    "young_counterparty_share": "share of invoice value (in + out) with counterparties registered "
    "under `young_counterparty_days` before the invoice date",
    "new_counterparty_share": "share of the window's counterparties never seen before the window",
    "in_out_log_ratio": "log(1 + bought value) - log(1 + sold value) in the window",
    "round_amount_share": "share of sold value in amounts divisible by one of `round_multiples`",
    "burstiness": "invoices sold per day in the window / invoices sold per day in the baseline",
    "voided_share": "share of sold invoices voided",
    "cycle_value_share": "share of invoice value (in + out) on directed 2- or 3-hop cycles",
    "on_cycle": "1 when an invoice of the window lies on a directed 2- or 3-hop cycle, else 0",
    "negative_counterparty_share": "share of invoice value (in + out) with counterparties on a "
    "negative list (at the as-of date or at the invoice date, see `when`)",
    "shared_identity": "other live entities sharing the registry value of `column`",
}
# Measures over non-voided invoices (a voided invoice moved no value).
_LIVE_ONLY = frozenset(MEASURES) - {"voided_share", "shared_identity"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class InvoiceSource(SpecModel):
    """The invoice source: seller = its entity key, buyer = its counterparty.

    Attributes
    ----------
    source : str
        The declared source holding the invoices; it must have a ``counterparty``
        (the buyer) column. Windows use its ``known_at``, counterparty ages its
        ``event_at`` (or ``known_at``).
    amount : str
        Its int or float column with the invoice value (CNY); the value measures
        (shares, log ratio) weigh invoices by it, a missing amount counts as 0.
    voided : str, optional
        Its bool column marking voided invoices: they move no value and are left out
        of every measure but ``voided_share``. None: no invoice is voided (and
        ``voided_share`` is refused).
    """

    source: str = "invoices"
    amount: str = "amount"
    voided: str | None = "voided"


class NetworkFeature(SpecModel):
    """One cross-entity feature: a measure over a window, with labels and direction.

    Attributes
    ----------
    name : str
        The panel column, lower_snake_case and unique in the file (e.g.
        ``invoice_counterparties_90d``).
    measure : str
        What to compute, one of :data:`MEASURES` (e.g. ``counterparties``,
        ``cycle_value_share``), each documented there.
    window : str, optional
        The window ``<n>d``: invoices known in ``[t - n days, t)``. Required (and
        finite, not ``all``) for every measure but ``shared_identity``, which is a
        state at ``t`` and takes none.
    baseline : str, optional
        For ``burstiness`` only: the longer reference window (e.g. ``365d`` against a
        ``90d`` window): the feature is the window's sold invoices per day over the
        baseline's.
    when : {"as_of", "invoice"}
        For ``negative_counterparty_share``: whether a counterparty counts as listed
        when on a negative list at the as-of date (``as_of``) or at the invoice date
        (``invoice``). Other measures ignore it.
    column : str, optional
        For ``shared_identity`` only: the entity-source column whose value entities
        share (e.g. ``legal_rep_id``, ``address_id``); only the count of other live
        entities sharing it becomes a feature.
    label_zh : str
        Chinese label of the feature (e.g. ``近90天发票往来对象数``).
    label_en : str
        English label of the feature.
    direction : {1, 0, -1}
        How risk moves as the value grows: 1 up, -1 down, 0 no stated direction
        (both extremes suspect); with ``training.monotone_from_catalog`` the booster
        is constrained to it.
    """

    name: str
    measure: Literal[
        "counterparties",
        "young_counterparty_share",
        "new_counterparty_share",
        "in_out_log_ratio",
        "round_amount_share",
        "burstiness",
        "voided_share",
        "cycle_value_share",
        "on_cycle",
        "negative_counterparty_share",
        "shared_identity",
    ]
    window: str | None = None
    baseline: str | None = None
    when: Literal["as_of", "invoice"] = "as_of"
    column: str | None = None
    label_zh: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    direction: Literal[-1, 0, 1]

    @model_validator(mode="after")
    def _measure_needs(self) -> NetworkFeature:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"name must be lower_snake_case, got {self.name!r}")
        if self.measure == "shared_identity":
            if not self.column:
                raise ValueError("measure 'shared_identity' needs 'column' (an entity-source column)")
            if self.window or self.baseline:
                raise ValueError("measure 'shared_identity' is a state at the as-of date; drop 'window'/'baseline'")
            return self
        if self.window is None:
            raise ValueError(f"measure {self.measure!r} needs a 'window' like '365d'")
        if math.isnan(parse_window(self.window)):
            raise ValueError(f"measure {self.measure!r} needs a finite window like '365d', not 'all'")
        if self.measure == "burstiness":
            if self.baseline is None or math.isnan(parse_window(self.baseline)):
                raise ValueError("measure 'burstiness' needs a finite 'baseline' window like '365d'")
            if parse_window(self.baseline) <= parse_window(self.window):
                raise ValueError(f"'baseline' ({self.baseline}) must be longer than 'window' ({self.window})")
        elif self.baseline is not None:
            raise ValueError(f"'baseline' only applies to measure 'burstiness', not {self.measure!r}")
        if self.column is not None:
            raise ValueError(f"'column' only applies to measure 'shared_identity', not {self.measure!r}")
        return self

    @property
    def window_days(self) -> float:
        """Window length in days (NaN for states at the as-of date)."""
        return parse_window(self.window) if self.window else math.nan


class NetworkSpec(SpecModel):
    """The cross-entity feature spec (``features/network.yaml``).

    Attributes
    ----------
    invoices : InvoiceSource
        The invoice source and its amount / voided columns.
    established : str or None
        Registry column with the registration date; default the registry's
        ``known_at``.
    negative_lists : tuple of str
        List sources (membership: ``known_at < d`` and ``valid_to`` null or ``>= d``).
    young_counterparty_days : int
        A counterparty registered fewer days than this before the invoice is young.
    round_multiples : tuple of float
        An amount divisible by one of these is round.
    features : tuple of NetworkFeature
        The features, in output order; names unique. Empty: no cross-entity features.
    version : 1
        Version of the file's schema; 1, the only one so far.
    """

    version: Literal[1] = 1
    invoices: InvoiceSource = InvoiceSource()
    established: str | None = None
    negative_lists: tuple[str, ...] = ()
    young_counterparty_days: int = Field(default=180, gt=0)
    round_multiples: tuple[float, ...] = (1000.0, 10000.0)
    features: tuple[NetworkFeature, ...] = ()
    _folder: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_names(self) -> NetworkSpec:
        names = [f.name for f in self.features]
        dups = sorted({n for n in names if names.count(n) > 1})
        if dups:
            raise ValueError(f"feature names must be unique; repeated: {dups}")
        if any(m <= 0 for m in self.round_multiples):
            raise ValueError(f"round_multiples must be positive, got {list(self.round_multiples)}")
        return self

    @property
    def feature_names(self) -> list[str]:
        """Names of the features, in output order."""
        return [f.name for f in self.features]


def load_network_spec(path: str | Path, sources: SourceCatalog | None = None) -> NetworkSpec:
    """Load and validate a cross-entity feature spec (``network.yaml``).

    Parameters
    ----------
    path : str or Path
        The YAML file.
    sources : SourceCatalog, optional
        Sources to check the spec against. Default: the built-in sources plus a
        ``sources.yaml`` next to ``path``.

    Returns
    -------
    NetworkSpec

    Raises
    ------
    riskml.SpecError
        When the file is missing, does not match the schema, or names a source or
        column the catalog does not declare (with the right type); the message names
        the file, the key and what was expected.

    Examples
    --------
    >>> from riskml._specs import bundled_dir
    >>> spec = load_network_spec(bundled_dir("features") / "network.yaml")
    >>> spec.invoices.source, "invoice_cycle_value_share_365d" in spec.feature_names
    ('invoices', True)
    """
    path = Path(path)
    spec = parse_spec(NetworkSpec, load_yaml(path), path)
    spec._folder = str(path.resolve().parent)
    catalog = sources if sources is not None else _default_catalog(spec)
    check_network_spec(spec, catalog, path)
    return spec


def _default_catalog(spec: NetworkSpec) -> SourceCatalog:
    if spec._folder is not None:
        # The feature library's own rule: built-in sources plus the folder's sources.yaml.
        return resolve_sources(Path(spec._folder), None)
    return load_sources()


def check_network_spec(spec: NetworkSpec, catalog: SourceCatalog, file: str | Path = "network.yaml") -> None:
    """Check that the sources and columns ``spec`` names are declared with usable types.

    Raises
    ------
    riskml.SpecError
        Naming the key and what was expected.

    Examples
    --------
    >>> from riskml._specs import bundled_dir
    >>> from riskml.records import load_sources
    >>> spec = load_network_spec(bundled_dir("features") / "network.yaml")
    >>> check_network_spec(spec, load_sources()) is None
    True
    """
    inv = spec.invoices
    if inv.source not in catalog:
        raise SpecError(file, "invoices.source", f"a declared source; declared: {sorted(catalog)}", inv.source)
    src = catalog[inv.source]
    if src.counterparty is None:
        raise SpecError(file, "invoices.source", "a source with a 'counterparty' (buyer) column", inv.source)
    _check_column(src, inv.amount, ("int", "float"), file, "invoices.amount")
    if inv.voided is not None:
        _check_column(src, inv.voided, ("bool",), file, "invoices.voided")
    if spec.established is not None:
        _check_column(catalog.entities, spec.established, ("date",), file, "established")
    for i, name in enumerate(spec.negative_lists):
        if name not in catalog:
            raise SpecError(file, f"negative_lists.{i}", f"a declared source; declared: {sorted(catalog)}", name)
    for i, f in enumerate(spec.features):
        if f.measure == "shared_identity":
            _check_column(catalog.entities, f.column or "", ("str", "category", "int"), file, f"features.{i}.column")
        if f.measure == "voided_share" and inv.voided is None:
            raise SpecError(file, f"features.{i}.measure", "'invoices.voided' set for measure 'voided_share'")
        if f.measure == "negative_counterparty_share" and not spec.negative_lists:
            raise SpecError(file, "negative_lists", "at least one list source for 'negative_counterparty_share'")


def _check_column(src: SourceSpec, column: str, types: tuple[str, ...], file: str | Path, key: str) -> None:
    if column not in src.columns:
        raise SpecError(file, key, f"a column of source {src.name!r}; columns: {sorted(src.columns)}", column)
    if src.columns[column].type not in types:
        raise SpecError(file, key, f"a column of type {' or '.join(types)}", f"{column} ({src.columns[column].type})")


# ----------------------------------------------------------------------------- steps
