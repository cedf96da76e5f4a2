"""The explanation of one entity's grade at one as-of date, for a reviewer.

:func:`explain_entity` rebuilds the entity's panel row at ``as_of`` from the records
(so the explanation depends only on records known before ``as_of``), scores it,
splits the score into base points and points per feature and per indicator group
(exact TreeSHAP, see :mod:`riskml.explain._points`), picks the top reasons with the
records behind them (:func:`~riskml.explain._evidence.evidence_for`), tries the
changes an appeal may bring (:func:`~riskml.explain._whatif.what_ifs`) and contrasts
the entity with the next better band (:func:`~riskml.explain._whatif.contrast`).

The result, an :class:`Explanation`, is a frozen value: ``to_frame()`` for analysts,
``to_dict()`` for JSON, ``to_html()`` for the reviewer's report
(:mod:`riskml.explain._report`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._specs import load_yaml, resolve_spec
from riskml._time import as_of_date
from riskml._version import __version__
from riskml.explain._evidence import evidence_for, source_catalog
from riskml.explain._path import GradePath, path_to_next_grade
from riskml.explain._points import dimension_columns, points_by_dimension
from riskml.explain._reasons import top_reasons
from riskml.explain._report import render_report
from riskml.explain._whatif import (
    AppealActions,
    Contrast,
    entity_records,
    entity_row,
    load_actions,
    score_rows,
    what_ifs,
    contrast,
)
from riskml.features import build_panel
from riskml.features._engine import _empty_table
from riskml.features._network import network_catalog
from riskml.features._spec import FeatureSpec, load_feature_spec
from riskml.models import RiskModel
from riskml.tracking import load_model, resolve_version

if TYPE_CHECKING:
    from riskml._time import DateLike
    from riskml.features import Panel

__all__ = ["REPRODUCIBILITY_EN", "REPRODUCIBILITY_ZH", "Explanation", "explain_entity"]

logger = logging.getLogger(__name__)
# Catalog columns of the indicator group a feature belongs to.
_GROUP_COLUMNS = ("dimension", "dimension_zh", "dimension_en", "dimension_rank")

#: the reproducibility statement every explanation carries
REPRODUCIBILITY_ZH = (
    "本说明仅依据评估基准日（{as_of}）之前已知的记录（known_at 早于基准日）重新计算得出；"
    "同一模型版本、同一主体、同一基准日，今后任何时候重新生成，结果完全相同，基准日之后新增的记录不影响本说明。"
)
REPRODUCIBILITY_EN = (
    "This explanation is recomputed from the records known before the as-of date ({as_of}) only "
    "(known_at earlier than as_of). The same model version, entity and as-of date give the identical "
    "explanation whenever it is produced again; records added after the as-of date do not change it."
)


def _plain(value: Any) -> Any:
    """A JSON-safe Python value (NaN/NA -> None, dates -> ISO strings, numpy -> Python)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_plain(r) for r in value.to_dict("records")]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return None if math.isnan(number) or math.isinf(number) else number
    if isinstance(value, int | str):
        return value
    return str(value)


@dataclass(frozen=True, eq=False)
class Explanation:
    """Why an entity got its grade at an as-of date, traceable to the records.

    Attributes
    ----------
    target : str
        The model (``credit``, ``fraud``).
    entity_id : str
        The entity (no personal data is ever part of an explanation).
    as_of : Timestamp
    entity : dict
        Registry attributes (type, industry, district, established ...).
    probability, score : float
    grade, grade_by_score : str
        Final grade (after overrides) and the score band.
    grade_label_zh, grade_label_en : str
    override : str
        Name of the override that capped the grade, "" when none.
    overrides : tuple of dict
        The overrides that applied: name, labels, feature, value, grade_at_most.
    points_to_next_grade : float
        Points the score needs to reach the next better band (NaN for the best).
    next_grade : str
        The next better band ("" for the best).
    base_points : float
        The score of an entity with every feature at its average effect.
    features : DataFrame
        One row per model feature: ``feature``, ``value``, ``points`` (for a
        scorecard also ``bin``, the range of its points table that applied),
        ``dimension``, ``label_zh``, ``label_en``, ``direction``.
    dimensions : DataFrame
        Points per indicator group: ``dimension``, ``label_zh``, ``label_en``,
        ``points``. ``base_points + points.sum() == score``.
    reasons : tuple of dict
        Top reasons (``feature``, ``points``, ``value``, ``text_zh``, ``text_en``,
        ``source``, ``evidence`` DataFrame), most negative first.
    whatifs : DataFrame
        :func:`riskml.explain._whatif.what_ifs` output.
    contrast : Contrast or None
        Comparison with the next better band.
    model_info : dict
        ``model_version``, ``run_id``, ``spec_hash``, ``trained_at`` and the riskml
        version the model was trained with.
    riskml_version : str
        The riskml version that produced the explanation.
    path : GradePath or None
        The smallest set of declared actions reaching the next better grade, or why
        none does (:func:`riskml.explain.path_to_next_grade`).

    Examples
    --------
    >>> from riskml.explain import explain_entity
    >>> records, model = _tiny_case()
    >>> e = explain_entity("E0000001", "2024-01-01", records=records, model=model, k=1)
    >>> e.grade, e.next_grade, e.dimensions["dimension"].tolist()
    ('C', 'B', ['basic', 'supervision'])
    """

    target: str
    entity_id: str
    as_of: pd.Timestamp
    entity: dict[str, Any]
    probability: float
    score: float
    grade: str
    grade_by_score: str
    grade_label_zh: str
    grade_label_en: str
    override: str
    overrides: tuple[dict[str, Any], ...]
    points_to_next_grade: float
    next_grade: str
    base_points: float
    features: pd.DataFrame = field(repr=False)
    dimensions: pd.DataFrame = field(repr=False)
    reasons: tuple[dict[str, Any], ...] = field(repr=False)
    whatifs: pd.DataFrame = field(repr=False)
    contrast: Contrast | None = field(repr=False)
    model_info: dict[str, Any] = field(repr=False)
    riskml_version: str = ""
    path: GradePath | None = field(default=None, repr=False)

    @property
    def reproducibility(self) -> tuple[str, str]:
        """The reproducibility statement (zh, en)."""
        day = self.as_of.date().isoformat()
        return REPRODUCIBILITY_ZH.format(as_of=day), REPRODUCIBILITY_EN.format(as_of=day)

    def to_frame(self) -> pd.DataFrame:
        """Per-feature rows: feature, value, points, dimension, labels, direction.

        Examples
        --------
        See :func:`explain_entity`.
        """
        return self.features.copy()

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-safe Python values (dates as ISO strings, NaN as None).

        Equal explanations give equal dicts, so ``json.dumps(e.to_dict(), sort_keys=True)``
        is a stable fingerprint of an explanation.
        """
        contrast = None
        if self.contrast is not None:
            c = self.contrast
            contrast = {
                "grade": c.grade, "better_grade": c.better_grade, "band": [c.band[0], c.band[1]],
                "n_reference": c.n_reference, "score": c.score, "band_mean_score": c.band_mean_score,
                "by_dimension": c.by_dimension, "by_feature": c.by_feature,
            }
        zh, en = self.reproducibility
        return _plain({
            "target": self.target,
            "entity_id": self.entity_id,
            "as_of": self.as_of,
            "entity": self.entity,
            "probability": self.probability,
            "score": self.score,
            "grade": self.grade,
            "grade_by_score": self.grade_by_score,
            "grade_label_zh": self.grade_label_zh,
            "grade_label_en": self.grade_label_en,
            "override": self.override,
            "overrides": list(self.overrides),
            "points_to_next_grade": self.points_to_next_grade,
            "next_grade": self.next_grade,
            "base_points": self.base_points,
            "features": self.features,
            "dimensions": self.dimensions,
            "reasons": list(self.reasons),
            "whatifs": self.whatifs,
            "contrast": contrast,
            "model": self.model_info,
            "riskml_version": self.riskml_version,
            "path": None if self.path is None else {
                "grade": self.path.grade, "target_grade": self.path.target_grade, "status": self.path.status,
                "minimal": self.path.minimal, "score": self.path.score, "new_score": self.path.new_score,
                "points_needed": self.path.points_needed, "remaining": self.path.remaining,
                "candidates": self.path.candidates, "actions": self.path.actions,
                "summary_zh": self.path.summary("zh"), "summary_en": self.path.summary("en"),
            },
            "reproducibility_zh": zh,
            "reproducibility_en": en,
        })

    def to_html(self, path: str | Path | None = None, note: str = "") -> str:
        """The reviewer's report: one self-contained HTML page in Chinese and English.

        Parameters
        ----------
        path : str or Path, optional
            Also write the page there (UTF-8).
        note : str
            Optional caption under the title (what data the page shows).

        Returns
        -------
        str
            The page; the same explanation always gives the same bytes.
        """
        html = render_report(self, note=note)
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html


def _event_texts(reason: Mapping[str, Any], evidence: pd.DataFrame, catalog: pd.DataFrame,
                 as_of: pd.Timestamp) -> dict[str, str]:
    """Reason texts that name the event, not the elapsed time.

    A recency feature reads "the latest complaint on 2023-01-23 (C00000012), 480 days
    ago" rather than "480 days since the last complaint"; a count adds the date of
    the latest record behind it. Reasons without dated records keep their text.
    """
    column = "event_at" if "event_at" in evidence.columns else "known_at"
    if len(evidence) == 0 or column not in evidence.columns:
        return {}
    dated = evidence[pd.to_datetime(evidence[column], errors="coerce").notna()]
    if len(dated) == 0:
        return {}
    latest = dated.assign(_d=pd.to_datetime(dated[column])).sort_values(["_d", "record_id"]).iloc[-1]
    day = latest["_d"].date().isoformat()
    ago = int((as_of - latest["_d"].normalize()).days)
    rid = str(latest["record_id"])
    row = catalog.loc[reason["feature"]]
    points = f"{float(reason['points']):+.1f}"
    if str(row.get("aggregation", "")) in ("days_since_last", "days_since_first"):
        which_zh, which_en = ("最近一次", "latest") if row.get("aggregation") == "days_since_last" else ("首次", "first")
        source_zh = str(row.get("label_zh", "")).split("：")[0].split(":")[0]
        source_en = str(row.get("label_en", "")).split(":")[0]
        return {"text_zh": f"{source_zh}：{which_zh}记录 {rid}（{day}，{ago} 天前）（{points}分）",
                "text_en": f"{source_en}: the {which_en} record {rid} on {day}, {ago} days ago ({points} points)"}
    return {"text_zh": f"{reason['text_zh']}；最近一次 {day}（{rid}）",
            "text_en": f"{reason['text_en']}; the latest on {day} ({rid})"}


def _entity_attributes(row: pd.DataFrame, sources: Any) -> dict[str, Any]:
    """Non-personal descriptive registry columns: categories and the registration dates."""
    ent = sources.entities
    out: dict[str, Any] = {}
    for column, spec in ent.columns.items():
        if spec.personal or column not in row.columns or column == ent.entity_key:
            continue
        if spec.type == "category" or column in (ent.known_at, ent.valid_to):
            value = row[column].iloc[0]
            out[column] = None if pd.isna(value) else (str(value) if spec.type == "category" else pd.Timestamp(value))
    return out


def _catalog_for(model: Any, spec: FeatureSpec) -> pd.DataFrame:
    """Catalog rows of the model's features: the model's own, completed from the spec."""
    spec_catalog = spec.catalog()
    if spec.network is not None:
        spec_catalog = pd.concat([spec_catalog, spec.group(network_catalog(spec.network))])
    features = list(model.features)
    own = model.catalog if isinstance(getattr(model, "catalog", None), pd.DataFrame) else pd.DataFrame()
    catalog = spec_catalog.reindex(features)
    known = catalog["dimension"].notna()
    for column in own.columns:
        if column in catalog.columns:
            catalog[column] = own[column].reindex(features).where(own[column].reindex(features).notna(), catalog[column])
    # Points are grouped by the dimension file loaded now, for the features it knows.
    for column in _GROUP_COLUMNS:
        catalog[column] = spec_catalog[column].reindex(features).where(known, catalog[column])
    return catalog


def _model_info(model: Any, model_version: str | None, run_id: str | None) -> dict[str, Any]:
    meta = dict(getattr(model, "metadata", {}) or {})
    spec = getattr(model, "model_spec", None) or {}
    return {
        "target": str(model.target),
        "label_zh": str(spec.get("label_zh", "")),
        "label_en": str(spec.get("label_en", "")),
        "model_version": str(model_version or meta.get("model_version") or meta.get("version") or ""),
        "run_id": str(run_id or meta.get("run_id") or meta.get("mlflow_run_id") or ""),
        "spec_hash": str(model.spec_hash),
        "trained_at": str(meta.get("trained_at", "")),
        "trained_with_riskml": str(meta.get("riskml_version", "")),
    }


def _reference_frame(reference: Any, as_of: pd.Timestamp) -> pd.DataFrame:
    frame = getattr(reference, "frame", reference)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"reference must be a Panel or a DataFrame of panel rows, not {type(reference).__name__}")
    if "as_of" not in frame.columns:
        raise ValueError("reference rows need an 'as_of' column (panel rows of the explained as-of date)")
    rows = frame[frame["as_of"] == as_of]
    if len(rows) == 0:
        raise ValueError(f"reference has no rows at as_of {as_of.date()}; pass panel rows of that date")
    return rows.reset_index(drop=True)


def explain_entity(
    entity_id: str,
    as_of: DateLike,
    *,
    records: Mapping[str, pd.DataFrame],
    model: RiskModel | None = None,
    target: str = "credit",
    k: int = 5,
    reference: Panel | pd.DataFrame | None = None,
    spec: FeatureSpec | str | Path | None = None,
    actions: AppealActions | str | Path | None = None,
    model_version: str | None = None,
    run_id: str | None = None,
) -> Explanation:
    """Explain one entity's score and grade at an as-of date, traceable to the records.

    Parameters
    ----------
    entity_id : str
    as_of : date-like
        The as-of date (midnight) of the grade being explained.
    records : Records or dict of str to DataFrame
        Validated (pseudonymised) records; only those known before ``as_of`` are read.
    model : RiskModel, optional
        The model that graded the entity. Default: the ``champion`` of ``target`` in
        the MLflow registry (:func:`riskml.tracking.load_model`).
    target : str, default "credit"
        Model target, used when ``model`` is None.
    k : int, default 5
        Number of top reasons (features that lowered the score most).
    reference : Panel or DataFrame, optional
        Panel rows of the same as-of date for the contrast with the next better band.
        Default: the panel of every entity alive at ``as_of``, rebuilt from ``records``.
    spec : FeatureSpec or path, optional
        The feature spec the model was trained on (default: riskml's built-in one);
        its hash must equal the model's.
    actions : AppealActions or path, optional
        What-if actions (default ``models/appeal_actions.yaml``).
    model_version, run_id : str, optional
        Registry version and MLflow run of the model, when the model's metadata does
        not carry them.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        When the feature spec does not match the model, or the entity is not alive
        (registered and not deregistered) at ``as_of``.
    KeyError
        When the entity is not in the registry.

    Examples
    --------
    >>> records, model = _tiny_case()
    >>> e = explain_entity("E0000001", "2024-01-01", records=records, model=model, k=2)
    >>> bool(abs(e.base_points + e.to_frame()["points"].sum() - e.score) < 1e-6)
    True
    >>> e.reasons[0]["feature"], len(e.reasons[0]["evidence"])
    ('penalties_count_365d', 2)
    """
    as_of = as_of_date(as_of)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if model is None:
        found = resolve_version(target)
        model_version = model_version or str(found.version)
        run_id = run_id or str(found.run_id)
        model = load_model(target, version=found.version)
    if spec is None or isinstance(spec, str | Path):
        spec = load_feature_spec(spec)
    if spec.hash() != model.spec_hash:
        raise ValueError(
            f"the feature spec {spec.hash()} is not the one the {model.target} model was trained on "
            f"({model.spec_hash}); pass spec= the model's feature spec"
        )
    # the grade and its points come from the grade model (through-the-cycle) when there is one
    registered, model = model, getattr(model, "grading", model)
    sources = source_catalog(records, spec)
    actions = actions if isinstance(actions, AppealActions) else load_actions(actions, sources=sources)
    entity_id = str(entity_id)

    own = entity_records(records, entity_id, sources)
    row = entity_row(records, entity_id, as_of, spec, sources, own=own)
    if len(row) == 0:
        raise ValueError(
            f"entity {entity_id} is not alive at {as_of.date()} (registered before and not deregistered before "
            "that date); there is no grade to explain"
        )
    catalog = _catalog_for(model, spec)
    scored = score_rows(model, row)
    graded = scored.scores.iloc[0]
    points = scored.points.iloc[0]
    base_points = float(scored.base_points[0])
    features = list(model.features)
    values = row[features].iloc[0]

    feature_frame = pd.DataFrame({
        "feature": pd.array(features, dtype="str"),
        "value": [v if not isinstance(v, float) else float(v) for v in values.tolist()],
        "points": points.to_numpy(dtype=np.float64),
        "dimension": catalog["dimension"].fillna("").astype("str").to_numpy(),
        "label_zh": catalog["label_zh"].fillna("").astype("str").to_numpy(),
        "label_en": catalog["label_en"].fillna("").astype("str").to_numpy(),
        "direction": catalog["direction"].fillna(0).astype("int64").to_numpy(),
    })
    if hasattr(model, "applied_rows"):  # a scorecard: each feature's points are a row of its published table
        applied = model.applied_rows(row).set_index("feature")["bin"]
        feature_frame["bin"] = feature_frame["feature"].map(applied).fillna("").astype("str")
    dims = points_by_dimension(points.to_numpy()[None, :], features, catalog.fillna({"dimension": ""}))
    dimensions = pd.DataFrame({
        **dimension_columns(dims.columns, catalog),
        "points": dims.iloc[0].to_numpy(dtype=np.float64),
    })

    reasons = []
    for reason in top_reasons(points, values, catalog, k=k):
        feature = reason["feature"]
        evidence = evidence_for(records, entity_id, as_of, feature, catalog, spec=spec)
        reason = {**reason, **_event_texts(reason, evidence, catalog, as_of)}
        reasons.append({**reason, "source": str(catalog.loc[feature, "source"]), "evidence": evidence})

    whatifs = what_ifs(records, entity_id, as_of, reasons, model, spec, sources, actions=actions, baseline=row)
    path = path_to_next_grade(records, entity_id, as_of, model, spec, sources, actions=actions, own=own)

    if reference is None:
        ref_rows = build_panel(records, [as_of], spec).frame
    else:
        ref_rows = _reference_frame(reference, as_of)
    ref_scored = score_rows(model, ref_rows)
    contrast_ = contrast(points, float(graded["score"]), str(graded["grade_by_score"]), ref_scored.points,
                         ref_scored.scores["score"].to_numpy(), model.policy, catalog)

    names = list(model.policy.grade_names)
    band = model.policy.grades[names.index(str(graded["grade"]))]
    by_score = names.index(str(graded["grade_by_score"]))
    applied = []
    fired = {n for n in str(graded["override"]).split(";") if n}
    for rule in model.policy.overrides:
        if rule.name in fired:
            applied.append({
                "name": rule.name, "label_zh": rule.label_zh, "label_en": rule.label_en, "feature": rule.feature,
                "value": _plain(row[rule.feature].iloc[0]) if rule.feature in row.columns else None,
                "grade_at_most": rule.grade_at_most,
            })
    return Explanation(
        target=str(model.target),
        entity_id=entity_id,
        as_of=as_of,
        entity=_entity_attributes(own[sources.entity_source], sources),
        probability=float(graded["probability"]),
        score=float(graded["score"]),
        grade=str(graded["grade"]),
        grade_by_score=str(graded["grade_by_score"]),
        grade_label_zh=band.label_zh,
        grade_label_en=band.label_en,
        override=str(graded["override"]),
        overrides=tuple(applied),
        points_to_next_grade=float(graded["points_to_next_grade"]),
        next_grade=names[by_score - 1] if by_score > 0 else "",
        base_points=base_points,
        features=feature_frame,
        dimensions=dimensions,
        reasons=tuple(reasons),
        whatifs=whatifs,
        contrast=contrast_,
        model_info=_model_info(registered, model_version, run_id),
        riskml_version=__version__,
        path=path,
    )


def _tiny_case() -> tuple[dict[str, pd.DataFrame], Any]:
    """Records of three entities and a small credit model, for the docstring examples."""
    import lightgbm as lgb

    spec = load_feature_spec()
    tables = {name: _empty_table(src) for name, src in spec.sources.sources.items()}
    ents = tables["entities"]
    n = 3
    tables["entities"] = pd.DataFrame({
        "entity_id": pd.array([f"E{i:07d}" for i in range(1, n + 1)], dtype="str"),
        "entity_type": pd.Categorical(["enterprise"] * n, categories=ents["entity_type"].cat.categories),
        "industry": pd.Categorical(["retail"] * n, categories=ents["industry"].cat.categories),
        "district": pd.Categorical(["D01", "D02", "D01"], categories=ents["district"].cat.categories),
        "registered_capital": [50.0, 80.0, 20.0],
        "established": pd.to_datetime(["2018-01-01", "2019-05-01", "2020-03-01"]),
        "deregistered": pd.to_datetime([None] * n),
        "legal_rep_id": pd.array(["p_" + "1" * 32, "p_" + "2" * 32, "p_" + "3" * 32], dtype="str"),
        "legal_rep_name": pd.array(["p_" + "4" * 32, "p_" + "5" * 32, "p_" + "6" * 32], dtype="str"),
        "legal_rep_phone": pd.array([None] * n, dtype="str"),
        "address_id": pd.array(["A1", "A2", "A3"], dtype="str"),
    })
    pens = tables["penalties"]
    tables["penalties"] = pd.DataFrame({
        "penalty_id": pd.array(["P1", "P2"], dtype="str"),
        "entity_id": pd.array(["E0000001", "E0000001"], dtype="str"),
        "decided": pd.to_datetime(["2023-03-01", "2023-08-01"]),
        "published": pd.to_datetime(["2023-03-20", "2023-08-20"]),
        "amount": [2000.0, 15000.0],
        "severity": pd.Categorical(["general", "serious"], categories=pens["severity"].cat.categories),
        "cause": pd.Categorical(["pricing", "food_safety"], categories=pens["cause"].cat.categories),
        "issuing_unit": pd.Categorical(["county_bureau"] * 2, categories=pens["issuing_unit"].cat.categories),
        "repaired": pd.to_datetime([None, None]),
    })
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"penalties_count_365d": rng.poisson(0.5, 2000).astype(float),
                      "entity_age_years": rng.uniform(0, 10, 2000)})
    y = (rng.random(2000) < 1 / (1 + np.exp(2.5 - X["penalties_count_365d"] + 0.1 * X["entity_age_years"])))
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0, "num_leaves": 4},
                        lgb.Dataset(X, y.astype(int)), 20)
    model = RiskModel.from_parts("credit", booster, X, spec_hash=spec.hash(), calib_a=1.0, calib_b=0.0,
                                 model_spec=load_yaml(resolve_spec("models", "credit")))
    return tables, model
