"""The trained model bundle: :class:`RiskModel`.

A RiskModel holds what scoring needs and nothing that must be pickled: the feature
list (the booster's column order) and the levels of each categorical feature, the
spec hash of the panel it was trained on, the LightGBM booster, the Platt calibrator
``calibrated_logit = calib_a * raw_margin + calib_b``, the grade policy, the catalog
rows of its features, the raw model spec and training metadata.

On disk (:meth:`RiskModel.save`) it is a folder of three files::

    booster.txt      LightGBM text model
    model.json       everything else (sorted keys, so equal models give equal bytes)
    catalog.parquet  the feature catalog rows
    grade/           the grade model, the same three files (when there is one)

The grade policy is rebuilt from the stored model spec on :meth:`RiskModel.load`.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from riskml._specs import load_yaml, resolve_spec
from riskml.grading import score_from_logit
from riskml.models._integrity import ModelFileError, check_booster_text
from riskml.models._policy import grade_frame, policy_features, policy_from_spec

if TYPE_CHECKING:
    import lightgbm as lgb
    from riskml.features import Panel
    from riskml.grading import GradePolicy

__all__ = ["FORMAT", "RiskModel"]

logger = logging.getLogger(__name__)

#: format tag written into ``model.json``
FORMAT = "riskml.RiskModel/1"
BOOSTER_FILE = "booster.txt"
META_FILE = "model.json"
CATALOG_FILE = "catalog.parquet"
GRADE_DIR = "grade"
_META_KEYS = ("target", "features", "categories", "spec_hash", "calib_a", "calib_b", "model_spec", "metadata")
ID_COLUMNS = ("entity_id", "as_of")
SCORE_COLUMNS = ("entity_id", "as_of", "probability", "score", "grade_by_score", "grade", "override",
                 "points_to_next_grade")


def _frame_and_hash(panel: Any) -> tuple[pd.DataFrame, str | None]:
    """A DataFrame and the spec hash it carries (a Panel carries one; a frame does not)."""
    if isinstance(panel, pd.DataFrame):
        return panel, None
    frame = getattr(panel, "frame", None)
    if isinstance(frame, pd.DataFrame):
        return frame, getattr(panel, "spec_hash", None)
    raise TypeError(f"expected a Panel or a pandas DataFrame of panel rows, got {type(panel).__name__}")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # split by sign so large |x| neither overflows nor loses the small tail
    out = np.empty_like(x, dtype=np.float64)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


@dataclass(frozen=True, eq=False)
class RiskModel:
    """A trained, calibrated and graded risk model.

    Attributes
    ----------
    target : str
        Model name (``credit``, ``fraud``, ...).
    features : tuple of str
        Feature names in the booster's column order.
    categories : dict of str to list of str
        Levels of each categorical feature, in code order.
    spec_hash : str
        Hash of the feature spec of the panel the model was trained on.
    booster : lightgbm.Booster
        The tree ensemble; its raw output is the log-odds margin.
    calib_a, calib_b : float
        Platt calibration on the raw margin:
        ``calibrated_logit = calib_a * raw_margin + calib_b``.
    policy : riskml.grading.GradePolicy
        Scorecard scaling, score bands and overrides.
    catalog : DataFrame
        Catalog rows of the features (index: feature name).
    model_spec : dict
        The model spec mapping the model was trained with.
    metadata : dict
        JSON-ready training facts: trained_at, train/test as-of dates, metrics,
        params, riskml version.
    grade_model : RiskModel or None
        The through-the-cycle model the grade comes from (see
        :mod:`riskml.models._grade_model`); when None the grade follows this model's
        point-in-time probability.

    Examples
    --------
    >>> import lightgbm as lgb, numpy as np, pandas as pd
    >>> from riskml._specs import load_yaml, resolve_spec
    >>> rng = np.random.default_rng(0)
    >>> frame = pd.DataFrame({"entity_id": [f"E{i:07d}" for i in range(500)],
    ...                       "as_of": pd.Timestamp("2024-01-01"), "x": rng.normal(size=500)})
    >>> y = (frame["x"] + rng.normal(size=500) > 1).astype(int)
    >>> booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1},
    ...                     lgb.Dataset(frame[["x"]], y), 10)
    >>> spec = load_yaml(resolve_spec("models", "fraud"))
    >>> model = RiskModel.from_parts("fraud", booster, frame[["x"]], spec_hash="abc", calib_a=1.0,
    ...                              calib_b=0.0, model_spec=spec)
    >>> model.score(frame).columns.tolist()[:4]
    ['entity_id', 'as_of', 'probability', 'score']
    """

    target: str
    features: tuple[str, ...]
    categories: dict[str, list[str]]
    spec_hash: str
    booster: lgb.Booster = field(repr=False)
    calib_a: float
    calib_b: float
    policy: GradePolicy = field(repr=False)
    catalog: pd.DataFrame = field(repr=False)
    model_spec: dict[str, Any] = field(repr=False)
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    grade_model: RiskModel | None = field(default=None, repr=False)

    @property
    def grading(self) -> RiskModel:
        """The model whose score is the grade: the grade model, or this one.

        Explanations, what-ifs and migration reports speak in its points.

        Examples
        --------
        >>> model = _tiny_model()
        >>> model.grading is model
        True
        """
        return self.grade_model if self.grade_model is not None else self

    #: format tag and file of the scoring model; a subclass with another model kind
    #: (:class:`riskml.models.ScorecardModel`) sets its own
    _format: ClassVar[str] = FORMAT
    _booster_file: ClassVar[str] = BOOSTER_FILE

    @classmethod
    def _read_booster(cls, text: str, path: Path) -> Any:
        # LightGBM aborts the process on some malformed texts: check the structure first.
        check_booster_text(text, path)
        import lightgbm as lgb

        try:
            return lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, ValueError) as exc:  # JSONDecodeError: its pandas_categorical line
            raise ModelFileError(f"{path} is not a valid LightGBM model ({exc}); the file is corrupt") from None

    def __post_init__(self) -> None:
        if self.booster.num_feature() != len(self.features):
            raise ValueError(
                f"the booster has {self.booster.num_feature()} features but {len(self.features)} feature names were given"
            )
        unknown = [c for c in self.categories if c not in self.features]
        if unknown:
            raise ValueError(f"categories given for columns that are not features: {unknown}")
        if not (math.isfinite(self.calib_a) and math.isfinite(self.calib_b)):
            raise ValueError(f"calibration must be finite, got a={self.calib_a!r}, b={self.calib_b!r}")

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_parts(
        cls,
        target: str,
        booster: lgb.Booster,
        X: pd.DataFrame,
        *,
        spec_hash: str,
        calib_a: float,
        calib_b: float,
        model_spec: dict[str, Any],
        catalog: pd.DataFrame | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> RiskModel:
        """Assemble a model from a booster and a frame with its training columns.

        Feature order and categorical levels are read from ``X``'s columns and dtypes.

        Examples
        --------
        See :class:`RiskModel`.
        """
        features = tuple(str(c) for c in X.columns)
        categories = {c: [str(v) for v in X[c].cat.categories] for c in features
                      if isinstance(X[c].dtype, pd.CategoricalDtype)}
        if catalog is None:
            catalog = pd.DataFrame(index=pd.Index(list(features), name="feature"))
        return cls(
            target=target, features=features, categories=categories, spec_hash=spec_hash, booster=booster,
            calib_a=float(calib_a), calib_b=float(calib_b), policy=policy_from_spec(model_spec),
            catalog=catalog.reindex(list(features)), model_spec=model_spec, metadata=dict(metadata or {}),
        )

    # ------------------------------------------------------------------ checks

    def check_panel(self, frame: pd.DataFrame | Panel, spec_hash: str | None = None) -> None:
        """Refuse a panel that lacks the model's columns or was built from another spec.

        Parameters
        ----------
        frame : DataFrame or Panel
            Panel rows. A :class:`riskml.features.Panel` brings its own spec hash.
        spec_hash : str, optional
            Spec hash of the panel (overrides the Panel's); not checked when None.

        Raises
        ------
        ValueError
            Naming the missing columns (and the extra feature-like ones, which hint at
            a different feature spec), or both spec hashes.

        Examples
        --------
        >>> import pandas as pd
        >>> model = _tiny_model()
        >>> model.check_panel(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp(0)], "y": [1.0]}))
        Traceback (most recent call last):
        ...
        ValueError: the panel lacks 1 column(s) the fraud model needs: ['x']; it has 1 column(s) the model does not use: ['y']
        """
        frame, panel_hash = _frame_and_hash(frame)
        spec_hash = spec_hash if spec_hash is not None else panel_hash
        needed = [*ID_COLUMNS, *self.features, *[f for f in policy_features(self.policy) if f not in self.features]]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            extra = [c for c in frame.columns if c not in needed]
            tail = f"; it has {len(extra)} column(s) the model does not use: {extra[:10]}" if extra else ""
            raise ValueError(
                f"the panel lacks {len(missing)} column(s) the {self.target} model needs: {missing[:10]}{tail}"
            )
        if spec_hash is not None and spec_hash != self.spec_hash:
            raise ValueError(
                f"the panel was built with feature spec {spec_hash} but the {self.target} model was trained on "
                f"spec {self.spec_hash}; rebuild the panel with the model's feature spec or retrain"
            )

    # ------------------------------------------------------------------ prediction

    def matrix(self, frame: pd.DataFrame | Panel) -> pd.DataFrame:
        """The feature matrix in model order: float64 numerics, categoricals with the stored levels.

        Category values the model never saw become missing (logged).

        Examples
        --------
        >>> import pandas as pd
        >>> _tiny_model().matrix(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp(0)],
        ...                                    "x": [1], "extra": ["a"]})).dtypes.to_dict()
        {'x': dtype('float64')}
        """
        self.check_panel(frame)
        frame, _ = _frame_and_hash(frame)
        columns: dict[str, Any] = {}
        for name in self.features:
            col = frame[name]
            if name in self.categories:
                levels = self.categories[name]
                if isinstance(col.dtype, pd.CategoricalDtype) and list(col.cat.categories) == levels:
                    columns[name] = col.array
                    continue
                values = col.astype("str").where(col.notna())
                cat = pd.Categorical(values, categories=levels)
                unseen = int((pd.isna(cat) & values.notna().to_numpy()).sum())
                if unseen:
                    logger.warning("%s: %d value(s) not among the %d trained levels are treated as missing",
                                   name, unseen, len(levels))
                columns[name] = cat
            else:
                if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
                    raise TypeError(f"feature {name!r} must be numeric for the {self.target} model, got dtype {col.dtype}")
                columns[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))

    def raw_margin(self, frame: pd.DataFrame | Panel) -> np.ndarray:
        """The booster's raw log-odds output for each row."""
        return np.asarray(self.booster.predict(self.matrix(frame), raw_score=True), dtype=np.float64)

    def calibrated_logit(self, frame: pd.DataFrame | Panel) -> np.ndarray:
        """``calib_a * raw_margin + calib_b``: calibrated log-odds of the bad outcome."""
        return self.calib_a * self.raw_margin(frame) + self.calib_b

    def predict_proba(self, frame: pd.DataFrame | Panel) -> np.ndarray:
        """Calibrated probability of the bad outcome for each row.

        Examples
        --------
        >>> import pandas as pd
        >>> p = _tiny_model().predict_proba(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp(0)],
        ...                                               "x": [0.5]}))
        >>> bool(0 < p[0] < 1)
        True
        """
        return _sigmoid(self.calibrated_logit(frame))

    def score_points(self, frame: pd.DataFrame | Panel, *, logit: np.ndarray | None = None) -> np.ndarray:
        """Score points of each row: ``offset - factor * calibrated_logit``.

        ``logit`` is the rows' :meth:`calibrated_logit` when the caller has it already.

        Examples
        --------
        >>> import pandas as pd
        >>> bool(_tiny_model().score_points(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp(0)],
        ...                                                "x": [0.5]}))[0] > 0)
        True
        """
        return score_from_logit(self.calibrated_logit(frame) if logit is None else logit, self.policy)

    def score(self, frame: pd.DataFrame | Panel) -> pd.DataFrame:
        """Probability, score points and grades for each panel row.

        Returns
        -------
        DataFrame
            ``entity_id``, ``as_of``, ``probability`` (point-in-time), ``score`` (the
            grade's: through-the-cycle when the model has a grade model), ``grade_by_score``,
            ``grade`` (after overrides), ``override`` (its name, or ``""``) and
            ``points_to_next_grade`` (NaN for the best grade), in input row order.

        Examples
        --------
        >>> import pandas as pd
        >>> out = _tiny_model().score(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp(0)],
        ...                                         "x": [0.5]}))
        >>> out.columns.tolist()
        ['entity_id', 'as_of', 'probability', 'score', 'grade_by_score', 'grade', 'override', 'points_to_next_grade']
        """
        self.check_panel(frame)
        frame, _ = _frame_and_hash(frame)
        logit = self.calibrated_logit(frame)
        # the point-in-time probability ranks inspections; the grade has its own footing
        grade_logit = logit if self.grade_model is None else self.grade_model.calibrated_logit(frame)
        override_cols = list(dict.fromkeys(policy_features(self.policy)))
        features = pd.DataFrame({c: frame[c].to_numpy() for c in override_cols}, index=pd.RangeIndex(len(frame)))
        graded = grade_frame(grade_logit, features, self.policy,
                             score=self.grading.score_points(frame, logit=grade_logit))
        out = pd.DataFrame({
            "entity_id": frame["entity_id"].to_numpy(),
            "as_of": frame["as_of"].to_numpy(),
            "probability": _sigmoid(logit),
        }, index=pd.RangeIndex(len(frame)))
        out["entity_id"] = out["entity_id"].astype("str")
        for name in graded.columns:
            out[name] = graded[name].to_numpy()
        return out[list(SCORE_COLUMNS)]

    # ------------------------------------------------------------------ persistence

    def save(self, directory: str | Path) -> Path:
        """Write the model to ``directory`` (created if needed); no pickle.

        The same model always gives the same bytes.

        Examples
        --------
        >>> import tempfile
        >>> folder = _tiny_model().save(tempfile.mkdtemp())
        >>> sorted(p.name for p in folder.iterdir())
        ['booster.txt', 'catalog.parquet', 'model.json']
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / self._booster_file).write_text(self.booster.model_to_string(), encoding="utf-8")
        meta = {
            "format": self._format,
            "target": self.target,
            "features": list(self.features),
            "categories": {k: list(v) for k, v in self.categories.items()},
            "spec_hash": self.spec_hash,
            "calib_a": self.calib_a,
            "calib_b": self.calib_b,
            "model_spec": self.model_spec,
            "metadata": self.metadata,
            "grade_model": self.grade_model is not None,
        }
        text = json.dumps(_jsonable(meta), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=True)
        (directory / META_FILE).write_text(text + "\n", encoding="utf-8")
        self.catalog.to_parquet(directory / CATALOG_FILE, index=True)
        if self.grade_model is not None:
            self.grade_model.save(directory / GRADE_DIR)
        logger.info("saved %s model (%d features) to %s", self.target, len(self.features), directory)
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> RiskModel:
        """Read a model written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            When a file of the bundle is missing.
        ModelFileError
            When a file is corrupt: ``model.json`` not a riskml model, ``booster.txt``
            truncated or malformed (checked before LightGBM reads it, which would
            abort the process), ``catalog.parquet`` unreadable. The message names
            the file.

        Examples
        --------
        >>> import tempfile
        >>> model = _tiny_model()
        >>> RiskModel.load(model.save(tempfile.mkdtemp())).features
        ('x',)
        """
        directory = Path(directory)
        for name in (cls._booster_file, META_FILE, CATALOG_FILE):
            if not (directory / name).is_file():
                raise FileNotFoundError(f"{directory} is not a saved {cls.__name__}: {name} is missing")
        meta_path, booster_path = directory / META_FILE, directory / cls._booster_file
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{meta_path} is not valid JSON ({exc}); the file is corrupt") from None
        if not isinstance(meta, dict) or meta.get("format") != cls._format:
            got = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
            raise ModelFileError(f"{meta_path}: expected format {cls._format!r}, got {got!r}")
        missing = [k for k in _META_KEYS if k not in meta]
        if missing:
            raise ModelFileError(f"{meta_path} lacks {missing}; the file is corrupt or not a riskml model")
        try:
            text = booster_path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ModelFileError(f"{booster_path} is not UTF-8 text; the file is corrupt") from None
        booster = cls._read_booster(text, booster_path)
        try:
            catalog = pd.read_parquet(directory / CATALOG_FILE)
        except Exception as exc:  # pyarrow raises several types for a corrupt file
            raise ModelFileError(f"{directory / CATALOG_FILE} cannot be read ({exc}); the file is corrupt") from None
        grade_model = None
        if meta.get("grade_model"):
            if not (directory / GRADE_DIR).is_dir():
                raise FileNotFoundError(f"{directory} is not a complete RiskModel: its grade model folder "
                                        f"{GRADE_DIR}/ is missing")
            grade_model = RiskModel.load(directory / GRADE_DIR)
        return cls(
            target=meta["target"], features=tuple(meta["features"]), categories=meta["categories"],
            spec_hash=meta["spec_hash"], booster=booster, calib_a=float(meta["calib_a"]),
            calib_b=float(meta["calib_b"]), policy=policy_from_spec(meta["model_spec"]),
            catalog=catalog, model_spec=meta["model_spec"], metadata=meta["metadata"], grade_model=grade_model,
        )


def _jsonable(obj: Any) -> Any:
    """Plain JSON types for dates, numpy scalars and arrays (deterministic output)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def _tiny_model() -> RiskModel:
    """A one-feature fraud model for the docstring examples."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 1))
    y = (x[:, 0] + rng.normal(size=400) > 1).astype(int)
    X = pd.DataFrame({"x": x[:, 0]})
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0},
                        lgb.Dataset(X, y), 5)
    return RiskModel.from_parts("fraud", booster, X, spec_hash="0" * 16, calib_a=1.0, calib_b=0.0,
                                model_spec=load_yaml(resolve_spec("models", "fraud")))
