"""The MLflow pyfunc form of a :class:`~riskml.models.RiskModel`.

A trained model is logged as an MLflow "models from code" pyfunc: a three-line code
file that builds :class:`RiskModelPyfunc`, plus two artifacts,

* ``risk_model``: the folder written by ``RiskModel.save`` (LightGBM text model,
  JSON and Parquet; no pickle), and
* ``riskml_pyfunc``: a small JSON naming the model class and the feature schema.

``load_context`` rebuilds the RiskModel with ``RiskModel.load``; ``predict`` takes a
panel-like pandas DataFrame (``entity_id``, ``as_of`` and the model's features) and
returns one row per input row with the columns of :data:`OUTPUT_COLUMNS`. ``predict``
is plain pandas, so ``mlflow.pyfunc.load_model``, MLflow serving and
``mlflow.pyfunc.spark_udf`` all work on it. Categorical features are declared as
``string`` inputs: MLflow's schema enforcement refuses pandas ``category`` columns,
so convert a panel with :func:`pyfunc_input` before calling the pyfunc directly.

Requirements are pinned from the installed versions of riskml's dependencies, so
logging does not spawn MLflow's requirement-inference subprocess.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

__all__ = [
    "ARTIFACT_META",
    "ARTIFACT_MODEL",
    "OUTPUT_COLUMNS",
    "RiskModelPyfunc",
    "clean_rows",
    "model_signature",
    "output_columns",
    "pinned_requirements",
    "predict_frame",
    "pyfunc_input",
    "write_model_code",
]

logger = logging.getLogger(__name__)

ARTIFACT_MODEL = "risk_model"
ARTIFACT_META = "riskml_pyfunc"
META_FILE = "riskml_pyfunc.json"
ID_COLUMNS = ("entity_id", "as_of")
OUTPUT_COLUMNS = ("probability", "score", "grade_by_score", "grade", "override", "points_to_next_grade")
_STRING_OUTPUTS = ("grade_by_score", "grade", "override")
# Packages riskml needs at scoring time when its own metadata cannot be read.
_FALLBACK_DISTS = ("numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "shap", "mlflow", "pyyaml", "pydantic")

_MODEL_CODE = '''"""riskml pyfunc entry point (MLflow models from code)."""
from mlflow.models import set_model

from riskml.models._pyfunc import RiskModelPyfunc

set_model(RiskModelPyfunc())
'''


class RiskModelPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow PythonModel scoring panels with a saved RiskModel.

    The RiskModel is read from the ``risk_model`` artifact in :meth:`load_context`;
    no Python object is pickled.

    Examples
    --------
    >>> RiskModelPyfunc().model is None
    True
    """

    # The logged signature validates inputs; MLflow's type-hint validation of
    # ``predict`` would second-guess it (and warns about hints it cannot use).
    _skip_type_hint_validation = True

    def __init__(self) -> None:
        self.model: Any = None

    def load_context(self, context: Any) -> None:
        """Load the RiskModel from the model's artifacts."""
        meta = json.loads(Path(context.artifacts[ARTIFACT_META]).read_text(encoding="utf-8"))
        cls = _import_class(meta["model_class"])
        self.model = cls.load(context.artifacts[ARTIFACT_MODEL])
        logger.debug("loaded %s model with %d features", meta.get("target"), len(self.model.features))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Score a panel-like DataFrame; see :func:`predict_frame`."""
        return predict_frame(self.model, model_input)


def predict_frame(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Score ``frame`` with ``model`` and return the pyfunc output columns.

    Inputs arriving through MLflow's schema enforcement or Spark may carry
    categoricals as plain strings, numbers as objects and dates as strings; they are
    coerced here before ``model.score`` so every entry point gives the same result.

    Parameters
    ----------
    model : RiskModel
        A trained model.
    frame : pandas.DataFrame
        ``entity_id``, ``as_of`` and the model's feature columns; extra columns are
        ignored.

    Returns
    -------
    pandas.DataFrame
        One row per input row (same order, fresh RangeIndex) with columns
        :data:`OUTPUT_COLUMNS`; grades and override names as strings (``""`` for
        no override), numbers as float64.

    Examples
    --------
    >>> import pandas as pd
    >>> class Constant:  # any object with RiskModel's ``features``/``categories``/``score``
    ...     features, categories = ("x",), {}
    ...     def score(self, frame):
    ...         n = len(frame)
    ...         return pd.DataFrame({"entity_id": frame["entity_id"], "as_of": frame["as_of"],
    ...             "probability": [0.1] * n, "score": [600.0] * n, "grade_by_score": ["B"] * n,
    ...             "grade": ["B"] * n, "override": [""] * n, "points_to_next_grade": [40.0] * n})
    >>> frame = pd.DataFrame({"entity_id": ["E0000001"], "as_of": ["2024-01-01"], "x": ["1.5"]})
    >>> predict_frame(Constant(), frame).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'probability': 0.1, 'score': 600.0, 'grade_by_score': 'B', 'grade': 'B', 'override': '',
      'points_to_next_grade': 40.0}]
    """
    if model is None:
        raise RuntimeError("the pyfunc has no RiskModel; it must be loaded with mlflow.pyfunc.load_model")
    return output_columns(model.score(clean_rows(model, frame)))


def output_columns(scored: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's output columns of ``RiskModel.score`` output: strings (``""`` for none) and float64.

    Examples
    --------
    >>> scored = pd.DataFrame({"probability": [0.1], "score": [600.0], "grade_by_score": ["B"], "grade": ["B"],
    ...                        "override": [None], "points_to_next_grade": [40.0]})
    >>> output_columns(scored)["override"].tolist()
    ['']
    """
    scored = scored.reset_index(drop=True)
    out = pd.DataFrame(index=pd.RangeIndex(len(scored)))
    for name in OUTPUT_COLUMNS:
        values = scored[name]
        if name in _STRING_OUTPUTS:
            out[name] = values.astype("object").where(values.notna(), "").astype("str")
        else:
            out[name] = values.astype("float64").to_numpy()
    return out


def clean_rows(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Panel rows coerced to the model's dtypes, whichever way they arrived.

    Categoricals may come as plain strings, numbers as objects and dates as strings
    or ``datetime.date`` (MLflow's schema enforcement, Spark); they become the panel
    dtypes: ``entity_id`` str, ``as_of`` datetime64[ns], categorical features with
    the model's levels, numeric features float64. Extra columns are dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> class Tiny:
    ...     features, categories = ("x", "kind"), {"kind": ["a", "b"]}
    >>> rows = clean_rows(Tiny(), pd.DataFrame({"entity_id": ["E0000001"], "as_of": ["2024-01-01"],
    ...                                         "x": ["1.5"], "kind": ["b"]}))
    >>> rows.dtypes.astype(str).to_dict()
    {'entity_id': 'str', 'as_of': 'datetime64[ns]', 'x': 'float64', 'kind': 'category'}
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame of panel rows, got {type(frame).__name__}")
    missing = [c for c in (*ID_COLUMNS, *model.features) if c not in frame.columns]
    if missing:
        raise ValueError(f"input is missing {len(missing)} column(s) the model needs: {missing[:10]}")
    columns: dict[str, Any] = {
        "entity_id": frame["entity_id"].astype("str"),
        "as_of": pd.to_datetime(frame["as_of"]).astype("datetime64[ns]"),
    }
    categories = dict(model.categories)
    for name in model.features:
        col = frame[name]
        if name in categories:
            columns[name] = pd.Categorical(col.astype("str").where(col.notna()), categories=categories[name])
        else:
            columns[name] = pd.to_numeric(col, errors="coerce").astype("float64")
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


def pyfunc_input(frame: pd.DataFrame) -> pd.DataFrame:
    """A panel frame as the pyfunc expects it: categorical columns as strings.

    MLflow's schema enforcement refuses pandas ``category`` columns for ``string``
    inputs, so panels (whose categorical features are ``category``) are converted
    before ``pyfunc.predict``; missing values stay missing. Other columns are kept.

    Examples
    --------
    >>> frame = pd.DataFrame({"industry": pd.Categorical(["food", None])})
    >>> pyfunc_input(frame)["industry"].tolist()
    ['food', nan]
    """
    categorical = [c for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]
    if not categorical:
        return frame
    return frame.assign(**{c: frame[c].astype("str").where(frame[c].notna()) for c in categorical})


def model_signature(model: Any) -> Any:
    """MLflow signature of the pyfunc: features as double (NaN allowed) or string.

    Examples
    --------
    >>> class Tiny:
    ...     features, categories = ("amount", "industry"), {"industry": ["retail", "food"]}
    >>> sig = model_signature(Tiny())
    >>> [(c.name, c.type.name) for c in sig.inputs.inputs][2:]
    [('amount', 'double'), ('industry', 'string')]
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    categories = dict(model.categories)
    inputs = [ColSpec("string", "entity_id"), ColSpec("datetime", "as_of")]
    inputs += [ColSpec("string" if f in categories else "double", f) for f in model.features]
    outputs = [ColSpec("string" if c in _STRING_OUTPUTS else "double", c) for c in OUTPUT_COLUMNS]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def pinned_requirements() -> list[str]:
    """``name==version`` for riskml and its installed runtime dependencies.

    Examples
    --------
    >>> any(r.startswith("lightgbm==") for r in pinned_requirements())
    True
    """
    try:
        declared = metadata.requires("riskml") or []
        pins = [f"riskml=={metadata.version('riskml')}"]
    except metadata.PackageNotFoundError:
        declared, pins = list(_FALLBACK_DISTS), []
    for requirement in declared:
        if "extra ==" in requirement or "extra==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            logger.warning("dependency %s of riskml is not installed; not pinned", name)
    return sorted(set(pins), key=pins.index)


def write_model_code(folder: Path) -> Path:
    """Write the models-from-code entry file into ``folder`` and return its path.

    Examples
    --------
    >>> import tempfile
    >>> write_model_code(Path(tempfile.mkdtemp())).name
    'riskml_pyfunc_model.py'
    """
    path = Path(folder) / "riskml_pyfunc_model.py"
    path.write_text(_MODEL_CODE, encoding="utf-8")
    return path


def write_meta(model: Any, folder: Path) -> Path:
    """Write the JSON naming the model class and schema; return its path."""
    cls = type(model)
    meta = {
        "model_class": f"{cls.__module__}:{cls.__qualname__}",
        "target": model.target,
        "spec_hash": model.spec_hash,
        "features": list(model.features),
        "categories": {k: list(v) for k, v in dict(model.categories).items()},
        "output_columns": list(OUTPUT_COLUMNS),
    }
    path = Path(folder) / META_FILE
    path.write_text(json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False), encoding="utf-8")
    return path


def _import_class(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not hasattr(obj, "load"):
        raise TypeError(f"{path} has no 'load' method; expected a RiskModel class")
    return obj
