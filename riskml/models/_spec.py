"""Model specs: ``models/<target>.yaml`` loaded into a :class:`ModelSpec`.

A model spec holds everything that defines one model besides the data: its label
(``label:``, parsed by :func:`riskml.labels.load_label_spec`), how it is trained
(``training:``) and the grade policy (``scorecard``, ``grades``, ``overrides``,
``white_list``, parsed by :mod:`riskml.models._policy`). The raw mapping is kept
verbatim in :attr:`ModelSpec.raw` so a trained model carries the exact spec it was
built from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from riskml._specs import SpecError, SpecModel, load_yaml, parse_spec, resolve_spec, spec_hash
from riskml.labels import load_label_spec
from riskml.labels._labels import check_label, parse_label

if TYPE_CHECKING:
    from riskml.labels import LabelSpec
    from riskml.records import SourceCatalog

__all__ = ["LIGHTGBM_ALIASES", "MODEL_KINDS", "ModelKindSpec", "ModelSpec", "ModelSpecLike", "TrainingSpec", "load_model_spec"]

logger = logging.getLogger(__name__)

#: scikit-learn style names accepted in ``training.params`` and the LightGBM names
#: they stand for; ``n_estimators`` becomes the number of boosting rounds.
LIGHTGBM_ALIASES: dict[str, str] = {
    "n_estimators": "num_iterations",
    "min_child_samples": "min_data_in_leaf",
    "subsample": "bagging_fraction",
    "subsample_freq": "bagging_freq",
    "colsample_bytree": "feature_fraction",
    "reg_lambda": "lambda_l2",
    "reg_alpha": "lambda_l1",
    "min_child_weight": "min_sum_hessian_in_leaf",
    "random_state": "seed",
    "n_jobs": "num_threads",
}

#: Default positives of the calibration slice: Platt's slope and intercept, and an
#: early-stopping AUC, are noisy on a few dozen positives.
DEFAULT_CALIBRATION_POSITIVES = 100

#: LightGBM parameters that would distort probabilities or break determinism; the
#: trainer sets these itself.
FORBIDDEN_PARAMS: tuple[str, ...] = ("is_unbalance", "scale_pos_weight", "objective")


#: the model kinds a spec's ``model.kind`` may name
MODEL_KINDS: tuple[str, ...] = ("lightgbm", "scorecard")


class ModelKindSpec(SpecModel):
    """The ``model:`` section of a model spec: which kind of model is trained.

    ``lightgbm`` (the default) is the calibrated gradient-boosted model; ``scorecard``
    is a points table (评分卡): monotone WoE binning of each feature in its catalog
    direction and a logistic regression, scaled to the spec's ``scorecard`` PDO
    scale (see :mod:`riskml.models._scorecard`). Both give the same grades,
    overrides, calibration, backtest and MLflow bundle. The other keys only apply to
    a scorecard.

    Examples
    --------
    >>> ModelKindSpec(kind="scorecard").max_bins
    5
    """

    kind: Literal["lightgbm", "scorecard"] = Field(
        "lightgbm", description="`lightgbm` (calibrated gradient boosting) or `scorecard` (a publishable points table).")
    max_bins: int = Field(5, ge=2, le=20, description="Scorecard: most bins (ranges) per feature.")
    min_bin_share: float = Field(
        0.05, gt=0.0, lt=0.5, description="Scorecard: smallest share of training rows a bin may hold.")
    min_iv: float = Field(
        0.02, ge=0.0, description="Scorecard: features whose information value (IV) on the training rows is below "
        "this get no points (0.02 is the usual 'useless' bound).")
    points_decimals: int = Field(
        0, ge=0, le=3, description="Scorecard: decimals of the published points (0: whole points, whose sums are "
        "exact). An entity's score is the base points plus the points of its bins.")
    l2: float = Field(
        1e-4, ge=0.0, description="Scorecard: L2 penalty of the WoE logistic regression (added to its mean "
        "log-loss).")
    drop_features: list[str] = Field(
        default_factory=list, description="Panel features this model does not use (either kind), e.g. those "
        "feature screening (`riskml.models.screen_features`) found weak. A through-the-cycle grade model reads "
        "the features its `grade_score` section selects, whether or not they are dropped here.")
    max_train_rows: int = Field(
        100_000, ge=1_000, description="Scorecard: most rows the binning and regression see (negatives "
        "subsampled at a known rate, as for LightGBM; calibration removes the shift).")


class TrainingSpec(SpecModel):
    """The ``training:`` section of a model spec.

    Attributes
    ----------
    objective : "binary"
        The LightGBM objective; riskml models are binary classifiers.
    monotone_from_catalog : bool
        Constrain each numeric feature to move the risk in the catalog's
        ``direction`` (+1 up, -1 down, 0 free).
    params : dict
        LightGBM parameters (LightGBM or scikit-learn style names, see
        :data:`LIGHTGBM_ALIASES`).
    calibration_min_positives : int
        Positive labels the out-of-time calibration slice should hold: the slice
        (``calibration.dates`` of the backtest) grows to earlier as-of dates until it
        does, keeping the backtest's ``min_train_dates`` for the booster; training
        warns when it cannot. 0: never grow.

    Examples
    --------
    >>> TrainingSpec(params={"num_leaves": 15}).lightgbm_params()
    {'num_leaves': 15}
    """

    objective: Literal["binary"] = "binary"
    monotone_from_catalog: bool = True
    params: dict[str, Any] = Field(default_factory=dict)
    calibration_min_positives: int = Field(default=DEFAULT_CALIBRATION_POSITIVES, ge=0)

    def lightgbm_params(self) -> dict[str, Any]:
        """``params`` with scikit-learn style names translated to LightGBM names."""
        return normalise_params(self.params)


def normalise_params(params: dict[str, Any], where: str = "params") -> dict[str, Any]:
    """Translate scikit-learn style parameter names to LightGBM's; refuse distorting ones.

    Examples
    --------
    >>> normalise_params({"subsample": 0.8, "n_estimators": 100})
    {'bagging_fraction': 0.8, 'num_iterations': 100}
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = LIGHTGBM_ALIASES.get(key, key)
        if name in FORBIDDEN_PARAMS:
            raise ValueError(
                f"{where}: {key!r} is set by riskml (binary objective; class imbalance is handled by "
                "out-of-time Platt calibration, not by reweighting); remove it"
            )
        if name in out and out[name] != value:
            raise ValueError(f"{where}: {key!r} and another alias both set {name!r} ({out[name]!r} vs {value!r})")
        out[name] = value
    return out


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """A model spec (``models/<target>.yaml``), validated.

    Attributes
    ----------
    name : str
        The target name (``credit``, ``fraud``, or a custom one).
    label_zh, label_en : str
        Display names.
    label : riskml.labels.LabelSpec
        The label definition (horizon, positive records, random inspections,
        population).
    training : TrainingSpec
        How the booster is trained.
    model : ModelKindSpec
        The kind of model (``lightgbm`` or ``scorecard``) and the scorecard's settings.
    raw : dict
        The YAML mapping as read; the grade policy is built from it.
    path : Path or None
        The file it was read from.

    Examples
    --------
    >>> spec = load_model_spec("credit")
    >>> spec.name, spec.horizon_days, spec.training.monotone_from_catalog
    ('credit', 365, True)
    """

    name: str
    label_zh: str
    label_en: str
    label: LabelSpec
    training: TrainingSpec
    raw: dict[str, Any] = field(repr=False)
    path: Path | None = None
    model: ModelKindSpec = field(default_factory=ModelKindSpec)

    @property
    def horizon_days(self) -> int:
        """Length of the label window in days."""
        return int(self.label.horizon_days)

    def hash(self) -> str:
        """Stable hash of the raw spec."""
        return spec_hash(self.raw)


#: What a model spec parameter (``target``) accepts: a :class:`ModelSpec`, a target name
#: (``"credit"``, ``"fraud"``: ``models/<target>.yaml``), a YAML path or a mapping.
ModelSpecLike = ModelSpec | str | Path | Mapping[str, Any]


def load_model_spec(
    target: ModelSpecLike = "credit",
    folder: str | Path | None = None,
    sources: SourceCatalog | None = None,
    *,
    check_sources: bool = True,
) -> ModelSpec:
    """Load and validate a model spec.

    Parameters
    ----------
    target : str, path, dict or ModelSpec
        A spec name (``"credit"``, ``"fraud"``: a file in ``folder`` or the bundled
        ``models/``), a path to a YAML file, an already-read mapping, or a
        :class:`ModelSpec` (returned as is).
    folder : str or Path, optional
        Folder of model specs instead of the bundled one.
    sources : SourceCatalog, optional
        Source declarations the label is checked against (default: the built-in
        sources); pass a custom catalog when the label reads a custom source.
    check_sources : bool, default True
        False: do not check the label's sources and columns (its labels are made
        already, e.g. a ready panel with ``labels=``). A mapping ``target`` is
        checked only against given ``sources``.

    Returns
    -------
    ModelSpec

    Raises
    ------
    riskml.SpecError
        When the file is missing or a section does not match its schema; the
        message names the file and the key.

    Examples
    --------
    >>> spec = load_model_spec("fraud")
    >>> spec.label.population, spec.training.params["num_leaves"]
    ({'entity_type': 'enterprise'}, 31)
    """
    if isinstance(target, ModelSpec):
        return target
    path: Path | None
    if isinstance(target, dict):
        data, path = dict(target), None
        where: str | Path = "<model spec>"
    else:
        path = resolve_spec("models", str(target), folder)
        data = load_yaml(path)
        where = path
    name = data.get("name") or (path.stem if path is not None else "")
    if not isinstance(name, str) or not name:
        raise SpecError(where, "name", "a non-empty string naming the target", data.get("name"))
    if "label" not in data:
        raise SpecError(where, "label", "a 'label' section (horizon_days, positive_when, ...)")
    label = _label_spec(data, path, where, name, sources, check_sources)
    raw_training = data.get("training") or {}
    if not isinstance(raw_training, dict):
        raise SpecError(where, "training", "a mapping (objective, monotone_from_catalog, params)", raw_training)
    try:
        training = parse_spec(TrainingSpec, raw_training, where)
    except SpecError as exc:
        raise SpecError(where, f"training.{exc.key}" if exc.key else "training", exc.expected, exc.got) from None
    try:
        training.lightgbm_params()
    except ValueError as exc:
        raise SpecError(where, "training.params", str(exc)) from None
    raw_model = data.get("model") or {}
    if not isinstance(raw_model, dict):
        raise SpecError(where, "model", f"a mapping with kind: one of {list(MODEL_KINDS)}", raw_model)
    try:
        model = parse_spec(ModelKindSpec, raw_model, where)
    except SpecError as exc:
        raise SpecError(where, f"model.{exc.key}" if exc.key else "model", exc.expected, exc.got) from None
    return ModelSpec(
        model=model,
        name=name,
        label_zh=str(data.get("label_zh", name)),
        label_en=str(data.get("label_en", name)),
        label=label,
        training=training,
        raw=data,
        path=path,
    )


def _label_spec(data: dict[str, Any], path: Path | None, where: str | Path, name: str, sources: Any,
                check_sources: bool) -> Any:
    if path is not None:
        return load_label_spec(path, sources=sources, check_sources=check_sources)
    label = parse_label(data["label"], name, where)
    if check_sources and sources is not None:
        check_label(label, sources, where)
    return label
