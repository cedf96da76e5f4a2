"""What would change the grade: record-level what-ifs and the contrast with the next band.

An appeal asks two questions. *What if* a record changed: a penalty repaired, a
listing ended, an annual report filed, a record shown to be wrong and removed?
:func:`what_ifs` applies each such change to a copy of the entity's records,
rebuilds the entity's panel row at the as-of date with the same feature spec
(:func:`entity_row`), scores it with the same model and reports the new score, grade
and points. The changes a reviewer may test are data (``models/appeal_actions.yaml``,
loaded by :func:`load_actions`), not code.

*Why this grade and not the next better one?* :func:`contrast` compares the entity's
points per feature and per indicator group with the mean points of the entities of
the same as-of date whose score lies in the next better band.

Rebuilding one entity's row is exact and fast: the panel kernel
(:func:`riskml.features._engine.compute_bucket`) is a pure function of one entity's records;
only cross-entity features (``network.yaml``) read other entities' records, and they
are recomputed from the full tables for that one row.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from riskml._specs import SpecError, SpecModel, bundled_dir, load_yaml, parse_spec
from riskml._time import day_number, from_day_number, in_force
from riskml.explain._points import dimension_columns, points_by_dimension, points_from_contributions
from riskml.explain._treeshap import tree_contributions
from riskml.features import _network
from riskml.features._engine import compute_bucket
from riskml.features._kernels import NEVER, to_days
from riskml.features._spec import FeatureSpec
from riskml.records._sources import SourceCatalog

__all__ = [
    "ActionsLike",
    "AppealAction",
    "AppealActions",
    "Contrast",
    "ScoredRows",
    "WHATIF_COLUMNS",
    "contrast",
    "entity_records",
    "entity_row",
    "load_actions",
    "negative_sources",
    "score_rows",
    "what_ifs",
]

logger = logging.getLogger(__name__)

ACTIONS_FILE = "appeal_actions.yaml"
#: columns of :func:`what_ifs` output
WHATIF_COLUMNS: tuple[str, ...] = (
    "action", "label_zh", "label_en", "source", "record_id", "reason", "score", "new_score", "delta_points",
    "grade", "new_grade", "new_grade_by_score", "new_override", "changed_features", "text_zh", "text_en",
)  # fmt: skip


class AppealAction(SpecModel):
    """One change to test: which source, which column, what change (see the YAML header).

    Attributes
    ----------
    name : str
        The action's name, shown in the ``action`` column of the what-ifs and in the id
        of a record it adds (e.g. ``repair_penalty``).
    kind : {"set_date", "add_record", "remove_record"}
        ``set_date``: set ``column`` of a record behind a reason to the day before the
        as-of date (a penalty repaired, a listing ended); ``add_record``: add one record
        to ``source``, known the day before the as-of date (an annual report filed);
        ``remove_record``: drop a record behind a reason (shown to be wrong).
    source : str
        The source the action changes (e.g. ``penalties``); ``"*"`` (``remove_record``
        only) stands for any source but the entity registry.
    column : str, optional
        For ``set_date``: the date column to set (e.g. ``repaired``); the action is
        offered only on records where it is still empty.
    for_sources : list of str
        For ``add_record``: the sources whose reasons offer the action (e.g.
        ``[annual_reports, abnormal_list]``). Empty: ``source`` alone.
    copy_latest : list of str
        For ``add_record``: columns copied from the entity's latest record of
        ``source`` known before the new one (e.g. ``[year, revenue]``).
    increment : dict of str to float
        For ``add_record``: amounts added to copied columns (e.g. ``{year: 1}`` for the
        next year's report).
    values : dict
        For ``add_record``: values set on the new record, after copying (e.g.
        ``{late: true}``); columns neither copied nor set stay empty.
    label_zh : str
        Chinese name of the change shown to the reviewer (e.g. ``完成信用修复``);
        empty: ``name``.
    label_en : str
        English name of the change shown to the reviewer (e.g. ``Credit repair
        completed``); empty: ``name``.
    conduct : {"compliant"}
        The action's direction of conduct. A compliant act (a report filed, a repair,
        leaving a list, a wrong negative record removed) must never lower the grade's
        score; the grade model is built so it cannot (see
        :mod:`riskml.models._grade_model`). A ``remove_record`` action is offered only
        on negative sources: those none of the model's features counts in the
        entity's favour (:func:`negative_sources`).
    """

    name: str = Field(min_length=1)
    kind: Literal["set_date", "add_record", "remove_record"]
    source: str = Field(min_length=1)
    column: str | None = None
    for_sources: tuple[str, ...] = ()
    copy_latest: tuple[str, ...] = ()
    increment: dict[str, float] = Field(default_factory=dict)
    values: dict[str, Any] = Field(default_factory=dict)
    label_zh: str = ""
    label_en: str = ""
    conduct: Literal["compliant"] = "compliant"

    @model_validator(mode="after")
    def _fits_kind(self) -> AppealAction:
        if self.kind == "set_date" and not self.column:
            raise ValueError("a set_date action needs 'column' (the date column to set)")
        if self.source == "*" and self.kind != "remove_record":
            raise ValueError("source '*' (any source) only applies to remove_record actions")
        return self

    def offered_for(self, source: str) -> bool:
        """Whether the action applies to a reason reading ``source``."""
        if self.kind == "add_record":
            return source in (self.for_sources or (self.source,))
        return self.source in ("*", source)


class AppealActions(SpecModel):
    """The actions of ``appeal_actions.yaml`` and how many records to try per reason.

    Attributes
    ----------
    version : 1
        Version of the file's schema; 1, the only one so far.
    max_records_per_reason : int
        How many records behind one reason each record-level action (``set_date``,
        ``remove_record``) is tried on, in the reason's evidence order; ``add_record``
        is tried once per action.
    actions : list of AppealAction
        The changes to test, in order. Empty: no what-ifs.

    Examples
    --------
    >>> actions = load_actions()
    >>> [a.name for a in actions.actions][:2]
    ['repair_penalty', 'exit_abnormal_list']
    """

    version: Literal[1] = 1
    max_records_per_reason: int = Field(default=3, ge=1)
    actions: tuple[AppealAction, ...] = ()


#: What a spec parameter accepts: an ``AppealActions``, a YAML path, its mapping, or None for ``models/appeal_actions.yaml``.
ActionsLike = AppealActions | str | Path | Mapping[str, Any] | None


def load_actions(path: ActionsLike = None,
                 sources: SourceCatalog | None = None) -> AppealActions:
    """Load and check the appeal actions (default: the bundled ``models/appeal_actions.yaml``).

    Parameters
    ----------
    path : path, mapping or AppealActions, optional
    sources : SourceCatalog, optional
        When given, each action's source and columns must be declared there.

    Returns
    -------
    AppealActions

    Raises
    ------
    riskml.SpecError
        Naming the file and key of a malformed action or an undeclared source/column.

    Examples
    --------
    >>> load_actions({"actions": [{"name": "fix", "kind": "remove_record", "source": "*"}]}).actions[0].kind
    'remove_record'
    """
    if isinstance(path, AppealActions):
        actions, file = path, "<appeal actions>"
    elif isinstance(path, Mapping):
        actions, file = parse_spec(AppealActions, dict(path), "<appeal actions>"), "<appeal actions>"
    else:
        file = Path(path) if path is not None else bundled_dir("models") / ACTIONS_FILE
        actions = parse_spec(AppealActions, load_yaml(file), file)
    if sources is not None:
        bundled = path is None
        if bundled:
            # riskml's default actions name the built-in sources; records with custom
            # sources simply have fewer actions (explicit action files stay strict)
            kept = [a for a in actions.actions if a.source == "*" or a.source in sources]
            if len(kept) < len(actions.actions):
                logger.info("appeal actions for sources absent from the records skipped: %s",
                            sorted({a.source for a in actions.actions} - {a.source for a in kept}))
                actions = actions.model_copy(update={"actions": tuple(kept)})
        for i, action in enumerate(actions.actions):
            if action.source == "*":
                continue
            if action.source not in sources:
                raise SpecError(file, f"actions.{i}.source", f"a declared source; declared: {sorted(sources.sources)}",
                                action.source)
            declared = sources[action.source].columns
            named = [c for c in (action.column, *action.copy_latest, *action.increment, *action.values) if c]
            for column in named:
                if column not in declared:
                    raise SpecError(file, f"actions.{i}", f"columns of source {action.source!r}: {sorted(declared)}",
                                    column)
            if action.column and declared[action.column].type != "date":
                raise SpecError(file, f"actions.{i}.column", "a date column", action.column)
    return actions


# ----------------------------------------------------------------------------- rebuilding rows


def _network_sources(spec: FeatureSpec, sources: SourceCatalog) -> set[str]:
    network = spec.network
    if network is None:
        return set()
    return {network.invoices.source, sources.entity_source, *network.negative_lists}


def entity_records(records: Mapping[str, pd.DataFrame], entity_id: str, sources: SourceCatalog) -> dict[str, pd.DataFrame]:
    """Only the rows of ``entity_id`` in every declared table (its registry row included).

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.records import load_sources
    >>> recs = {"changes": pd.DataFrame({"change_id": ["C1", "C2"], "entity_id": ["E0000001", "E0000002"]})}
    >>> entity_records(recs, "E0000002", load_sources())["changes"]["change_id"].tolist()
    ['C2']
    """
    out: dict[str, pd.DataFrame] = {}
    for name, table in records.items():
        if name not in sources:
            continue
        key = sources[name].entity_key
        hit = (table[key].astype("str") == str(entity_id)).to_numpy(dtype=bool, na_value=False)
        out[name] = table.loc[hit].reset_index(drop=True)
    return out


def entity_row(
    records: Mapping[str, pd.DataFrame],
    entity_id: str,
    as_of: Any,
    spec: FeatureSpec,
    sources: SourceCatalog,
    *,
    own: Mapping[str, pd.DataFrame] | None = None,
    changed: Mapping[str, pd.DataFrame] | None = None,
    cross: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The panel row of one entity at ``as_of``, equal to its row of ``build_panel``.

    Parameters
    ----------
    records : mapping of str to DataFrame
        All records (cross-entity features read other entities' records).
    entity_id : str
    as_of : date-like
    spec : FeatureSpec
        The feature spec of the panel.
    sources : SourceCatalog
        Source declarations of ``records``.
    own : mapping, optional
        The entity's rows (:func:`entity_records`), when already at hand.
    changed : mapping, optional
        Replacement tables of the entity's own rows (a what-if); the full tables of
        those sources are patched for the cross-entity features.
    cross : DataFrame, optional
        Cross-entity values to reuse when nothing they read changed.

    Returns
    -------
    DataFrame
        One row (``entity_id``, ``as_of``, features), or no row when the entity is
        not alive at ``as_of``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec().subset(["penalties_count_365d"])
    >>> ents = pd.DataFrame({"entity_id": ["E0000001"], "established": pd.to_datetime(["2020-01-01"]),
    ...                      "deregistered": pd.to_datetime([None])})
    >>> pens = pd.DataFrame({"penalty_id": ["P1"], "entity_id": ["E0000001"],
    ...     "published": pd.to_datetime(["2023-06-01"]), "repaired": pd.to_datetime([None])})
    >>> row = entity_row({"entities": ents, "penalties": pens}, "E0000001", "2024-01-01", spec, spec.sources)
    >>> float(row.loc[0, "penalties_count_365d"])
    1.0
    """
    day = day_number(as_of)
    own = dict(own) if own is not None else entity_records(records, entity_id, sources)
    if changed:
        own.update(changed)
    entities = own.get(sources.entity_source)
    if entities is None or len(entities) == 0:
        raise KeyError(f"entity {entity_id!r} is not in the {sources.entity_source!r} table")
    ent = sources.entities
    established = to_days(entities[ent.known_at].to_numpy(dtype="datetime64[ns]"))[0]
    ended = to_days(entities[ent.valid_to].to_numpy(dtype="datetime64[ns]"))[0] if ent.valid_to else NEVER
    # The engine's rule: alive when established before as_of and not deregistered before it.
    if not in_force(established, ended, day):
        return pd.DataFrame({"entity_id": pd.Series([], dtype="str"), "as_of": pd.Series([], dtype="datetime64[ns]")})
    frame = compute_bucket(own, entities, np.array([day], dtype=np.int64), spec, sources)
    if spec.network is None or len(frame) == 0:
        return frame
    touched = set(changed or ()) & _network_sources(spec, sources)
    if cross is None or touched:
        cross = _cross_row(records, entity_id, day, spec, sources, own, touched)
    return pd.concat([frame, cross.reset_index(drop=True)], axis=1)


def _cross_row(records: Mapping[str, pd.DataFrame], entity_id: str, day: int, spec: FeatureSpec,
               sources: SourceCatalog, own: Mapping[str, pd.DataFrame], touched: set[str]) -> pd.DataFrame:
    tables = dict(records.items())
    for name in touched:
        # The entity's rows of the full table are replaced by its changed rows.
        key = sources[name].entity_key
        others = tables[name].loc[(tables[name][key].astype("str") != str(entity_id)).to_numpy(dtype=bool, na_value=True)]
        tables[name] = pd.concat([others, own[name]], ignore_index=True)
    grid = pd.DataFrame({"entity_id": pd.array([str(entity_id)], dtype="str"), "as_of_day": np.array([day], dtype=np.int64)})
    values, _ = _network.network_features(tables, tables[sources.entity_source], grid, spec.network, sources)
    return values


@dataclass(frozen=True)
class ScoredRows:
    """Scores, grades and points of panel rows under one model (see :func:`score_rows`).

    Attributes
    ----------
    scores : DataFrame
        :meth:`riskml.models.RiskModel.score` output.
    base_points : ndarray
        Base points per row.
    points : DataFrame
        Points per model feature, one row per panel row.
    """

    scores: pd.DataFrame
    base_points: np.ndarray
    points: pd.DataFrame


def score_rows(model: Any, frame: pd.DataFrame) -> ScoredRows:
    """Score panel rows and split each score into base points and feature points.

    ``scores`` is :meth:`RiskModel.score` output; ``points`` has one column per
    model feature; ``base_points + points.sum(axis=1) == scores["score"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> rows = pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp("2024-01-01")], "x": [0.3]})
    >>> out = score_rows(_tiny_model(), rows)
    >>> bool(abs(out.base_points[0] + out.points.sum(axis=1)[0] - out.scores["score"][0]) < 1e-9)
    True
    """
    frame = frame.reset_index(drop=True)
    scores = model.score(frame)
    contrib = tree_contributions(model.booster, model.matrix(frame))
    base, points = points_from_contributions(contrib, model.policy, model.calib_a, model.calib_b)
    return ScoredRows(scores=scores, base_points=base, points=pd.DataFrame(points, columns=list(model.features)))


# ----------------------------------------------------------------------------- what-ifs


def _apply(action: AppealAction, table: pd.DataFrame, record_id: str | None, entity_id: str, day: int,
           sources: SourceCatalog, source: str) -> pd.DataFrame:
    """The entity's rows of ``source`` after the action."""
    spec = sources[source]
    before = from_day_number(day - 1)
    if action.kind == "remove_record":
        return table.loc[table[spec.record_id].astype("str") != record_id].reset_index(drop=True)
    if action.kind == "set_date":
        out = table.copy()
        hit = (out[spec.record_id].astype("str") == record_id).to_numpy()
        out.loc[hit, action.column] = before
        return out
    # add_record: a new record known the day before as_of
    known = table[spec.known_at]
    latest = table.loc[known < before].sort_values([spec.known_at, spec.record_id]).tail(1)
    new: dict[str, Any] = {}
    for column, col_spec in spec.columns.items():
        value: Any = None
        if column in action.copy_latest and len(latest):
            value = latest[column].iloc[0]
            if column in action.increment and not pd.isna(value):
                value = value + action.increment[column]
        if column in action.values:
            value = action.values[column]
        if col_spec.type == "date":
            value = pd.NaT if value is None else pd.Timestamp(value)
        new[column] = value
    new[spec.record_id] = f"{action.name}:{entity_id}:{from_day_number(day).date()}"
    new[spec.entity_key] = entity_id
    for column in {spec.known_at, spec.event_at} - {None}:
        new[column] = before
    row = pd.DataFrame({c: [new.get(c)] for c in table.columns})
    for column in table.columns:
        dtype = table[column].dtype
        try:
            row[column] = row[column].astype(dtype)
        except (TypeError, ValueError):
            # e.g. a missing int in an int64 column: let concat choose a nullable type
            row[column] = row[column].astype("Float64") if pd.api.types.is_integer_dtype(dtype) else row[column]
    return pd.concat([table, row], ignore_index=True)


def negative_sources(catalog: pd.DataFrame) -> set[str]:
    """Sources whose records only ever count against an entity in this catalog.

    Removing such a record (shown to be wrong) is a compliant act; removing a record of
    a source some feature counts in the entity's favour (a commendation, a filed report)
    is not offered.

    Examples
    --------
    >>> cat = pd.DataFrame({"source": ["penalties", "inspections", "inspections"], "direction": [1, 1, -1]})
    >>> sorted(negative_sources(cat))
    ['penalties']
    """
    if "source" not in catalog.columns or "direction" not in catalog.columns:
        return set()
    lowest = catalog.groupby(catalog["source"].astype("str"))["direction"].min()
    return set(lowest.index[lowest >= 0])


def _candidates(actions: AppealActions, reasons: Sequence[Mapping[str, Any]], sources: SourceCatalog,
                negative: set[str] | None = None) -> list[tuple[AppealAction, str, str | None, str]]:
    """(action, source, record id or None, reason feature), deduplicated, in reason order."""
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for reason in reasons:
        evidence = reason.get("evidence")
        feature = str(reason["feature"])
        read = reason.get("source") or (str(evidence["source"].iloc[0]) if evidence is not None and len(evidence) else None)
        for action in actions.actions:
            if action.kind == "add_record":
                if read and action.offered_for(read) and (action.name, action.source, None) not in seen:
                    seen.add((action.name, action.source, None))
                    out.append((action, action.source, None, feature))
                continue
            if evidence is None or len(evidence) == 0:
                continue
            rows = evidence[evidence["source"] != sources.entity_source]
            if action.kind == "set_date":
                rows = rows[rows["source"] == action.source]
                if action.column in rows.columns:
                    rows = rows[rows[action.column].isna()]
            elif action.source != "*":
                rows = rows[rows["source"] == action.source]
            if action.kind == "remove_record" and negative is not None:
                rows = rows[rows["source"].astype("str").isin(negative)]
            for source, record_id in rows[["source", "record_id"]].head(actions.max_records_per_reason).itertuples(index=False):
                key = (action.name, str(source), str(record_id))
                if key not in seen:
                    seen.add(key)
                    out.append((action, str(source), str(record_id), feature))
    return out


def _fmt_points(x: float) -> str:
    rounded = round(float(x), 1)
    return f"{0.0 if rounded == 0 else rounded:+.1f}"


def what_ifs(
    records: Mapping[str, pd.DataFrame],
    entity_id: str,
    as_of: Any,
    reasons: Sequence[Mapping[str, Any]],
    model: Any,
    spec: FeatureSpec,
    sources: SourceCatalog,
    *,
    actions: AppealActions | None = None,
    baseline: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score the entity again after each change the actions offer for its reasons.

    Parameters
    ----------
    records : mapping of str to DataFrame
        All validated records.
    entity_id, as_of
        The entity and as-of date explained.
    reasons : sequence of mapping
        Top reasons with ``feature`` and ``evidence`` (from :func:`evidence_for`).
    model : RiskModel
    spec : FeatureSpec
        The model's feature spec.
    sources : SourceCatalog
    actions : AppealActions, optional
        Default: :func:`load_actions`.
    baseline : DataFrame, optional
        The entity's current panel row (rebuilt when not given).

    Returns
    -------
    DataFrame
        One row per change tried (``WHATIF_COLUMNS``): the action and its labels,
        the record changed (``record_id`` empty for an added record), the reason it
        answers, old and new score, ``delta_points = new_score - score``, old and new
        grade, the features whose value changed, and a sentence in Chinese and
        English ("若完成信用修复（P00000012）：+35.0 分 → B"). Sorted by points
        gained, most first.

    Examples
    --------
    See :func:`riskml.explain._explanation.explain_entity`, which calls this.
    """
    actions = actions if actions is not None else load_actions(sources=sources)
    day = day_number(as_of)
    own = entity_records(records, entity_id, sources)
    if baseline is None:
        baseline = entity_row(records, entity_id, as_of, spec, sources, own=own)
    cross_cols = [c for c in baseline.columns if spec.network is not None and c in spec.network.feature_names]
    cross = baseline[cross_cols] if cross_cols else None
    base = score_rows(model, baseline)
    old_score = float(base.scores["score"].iloc[0])
    old_grade = str(base.scores["grade"].iloc[0])
    rows, frames = [], []
    for action, source, record_id, feature in _candidates(actions, reasons, sources, negative_sources(model.catalog)):
        table = own.get(source)
        if table is None:
            continue
        changed = {source: _apply(action, table, record_id, entity_id, day, sources, source)}
        frame = entity_row(records, entity_id, as_of, spec, sources, own=own, changed=changed, cross=cross)
        frames.append(frame)
        rows.append((action, source, record_id, feature))
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype="float64" if c in ("score", "new_score", "delta_points") else "str")
                             for c in WHATIF_COLUMNS})
    scored = score_rows(model, pd.concat(frames, ignore_index=True))
    features = list(model.features)
    before_values = baseline[features].iloc[0]
    out = []
    for i, (action, source, record_id, feature) in enumerate(rows):
        new_score = float(scored.scores["score"].iloc[i])
        new_grade = str(scored.scores["grade"].iloc[i])
        after = frames[i][features].iloc[0]
        diff = [f for f in features if not _same(before_values[f], after[f])]
        delta = new_score - old_score
        rid = record_id or ""
        what = f"（{rid}）" if rid else ""
        out.append({
            "action": action.name, "label_zh": action.label_zh or action.name, "label_en": action.label_en or action.name,
            "source": source, "record_id": rid, "reason": feature, "score": old_score, "new_score": new_score,
            "delta_points": delta, "grade": old_grade, "new_grade": new_grade,
            "new_grade_by_score": str(scored.scores["grade_by_score"].iloc[i]),
            "new_override": str(scored.scores["override"].iloc[i]), "changed_features": "; ".join(diff),
            "text_zh": f"若{action.label_zh or action.name}{what}：{_fmt_points(delta)} 分 → {new_grade}",
            "text_en": f"If {(action.label_en or action.name)[:1].lower()}{(action.label_en or action.name)[1:]}"
                       f"{f' ({rid})' if rid else ''}: {_fmt_points(delta)} points -> {new_grade}",
        })
    result = pd.DataFrame(out, columns=list(WHATIF_COLUMNS))
    return result.sort_values(["delta_points", "action", "record_id"], ascending=[False, True, True],
                              kind="stable", ignore_index=True)


def _same(a: Any, b: Any) -> bool:
    if pd.isna(a) and pd.isna(b):
        return True
    if pd.isna(a) or pd.isna(b):
        return False
    try:
        return bool(math.isclose(float(a), float(b), rel_tol=0, abs_tol=1e-12))
    except (TypeError, ValueError):
        return str(a) == str(b)


# ----------------------------------------------------------------------------- contrast


@dataclass(frozen=True)
class Contrast:
    """Why this grade and not the next better one.

    Attributes
    ----------
    grade, better_grade : str
        The entity's score band and the next better band.
    band : tuple of float
        Score range ``[low, high)`` of the better band (``high`` is inf for the best).
    n_reference : int
        Reference entities of the same as-of date in that band.
    score, band_mean_score : float
    by_dimension : DataFrame
        ``dimension``, ``label_zh``, ``label_en``, ``points``, ``band_mean_points``,
        ``gap`` (entity minus band mean), most negative gap first.
    by_feature : DataFrame
        ``feature``, ``label_zh``, ``label_en``, ``dimension``, ``points``,
        ``band_mean_points``, ``gap``, most negative gap first.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskml.explain._whatif import contrast
    >>> from riskml.grading import GradePolicy
    >>> catalog = pd.DataFrame({"dimension": ["penalties"], "label_zh": ["处罚"], "label_en": ["Penalties"]},
    ...                        index=["pen"])
    >>> c = contrast(pd.Series({"pen": -40.0}), 500.0, "D", pd.DataFrame({"pen": [0.0, 2.0]}),
    ...              np.array([530.0, 560.0]), GradePolicy.from_model_spec("credit"), catalog)
    >>> c.grade, c.better_grade, c.band, c.by_dimension["gap"].tolist()
    ('D', 'C', (510.0, 570.0), [-41.0])
    """

    grade: str
    better_grade: str
    band: tuple[float, float]
    n_reference: int
    score: float
    band_mean_score: float
    by_dimension: pd.DataFrame
    by_feature: pd.DataFrame


def contrast(
    points_row: pd.Series,
    score: float,
    grade_by_score: str,
    reference_points: pd.DataFrame,
    reference_scores: np.ndarray | pd.Series,
    policy: Any,
    catalog: pd.DataFrame,
) -> Contrast | None:
    """Compare an entity's points with the mean points of the next better score band.

    Parameters
    ----------
    points_row : Series
        The entity's points per feature.
    score : float
    grade_by_score : str
        The entity's score band.
    reference_points : DataFrame
        Points per feature (same columns) of scored entities of the same as-of date.
    reference_scores : array-like
        Their scores, row-aligned.
    policy : GradePolicy
    catalog : DataFrame
        Feature catalog (``dimension``, ``label_zh``, ``label_en``).

    Returns
    -------
    Contrast or None
        None for the best band, or when no reference entity lies in the better band.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from riskml.grading import GradePolicy
    >>> policy = GradePolicy.from_model_spec("credit")
    >>> catalog = pd.DataFrame({"dimension": ["penalties", "registration"], "label_zh": ["处罚", "年限"],
    ...                         "label_en": ["Penalties", "Age"]}, index=["pen", "age"])
    >>> ref = pd.DataFrame({"pen": [0.0, 2.0], "age": [5.0, 3.0]})
    >>> c = contrast(pd.Series({"pen": -40.0, "age": 1.0}), 500.0, "D", ref, np.array([530.0, 560.0]), policy, catalog)
    >>> c.better_grade, c.n_reference, c.by_feature["feature"].tolist()
    ('C', 2, ['pen', 'age'])
    """
    names = list(policy.grade_names)
    if grade_by_score not in names:
        raise ValueError(f"grade {grade_by_score!r} is not a grade of the policy {names}")
    idx = names.index(grade_by_score)
    if idx == 0:
        return None
    mins = list(policy.min_scores)
    low = float(mins[idx - 1])
    high = float(mins[idx - 2]) if idx >= 2 else math.inf
    scores = np.asarray(reference_scores, dtype=np.float64)
    in_band = (scores >= low) & (scores < high)
    if not in_band.any():
        return None
    features = list(points_row.index)
    mean = reference_points.loc[in_band, features].mean(axis=0)
    by_feature = pd.DataFrame({
        "feature": pd.array(features, dtype="str"),
        "label_zh": catalog.reindex(features)["label_zh"].fillna("").astype("str").to_numpy(),
        "label_en": catalog.reindex(features)["label_en"].fillna("").astype("str").to_numpy(),
        "dimension": catalog.reindex(features)["dimension"].fillna("").astype("str").to_numpy(),
        "points": points_row.to_numpy(dtype=np.float64),
        "band_mean_points": mean.to_numpy(dtype=np.float64),
    })
    by_feature["gap"] = by_feature["points"] - by_feature["band_mean_points"]
    by_feature = by_feature.sort_values(["gap", "feature"], kind="stable", ignore_index=True)
    dims = points_by_dimension(np.vstack([points_row.to_numpy(dtype=np.float64), mean.to_numpy(dtype=np.float64)]),
                               features, catalog.reindex(features).fillna({"dimension": ""}))
    by_dimension = pd.DataFrame({
        **dimension_columns(dims.columns, catalog),
        "points": dims.iloc[0].to_numpy(),
        "band_mean_points": dims.iloc[1].to_numpy(),
    })
    by_dimension["gap"] = by_dimension["points"] - by_dimension["band_mean_points"]
    by_dimension = by_dimension.sort_values(["gap", "dimension"], kind="stable", ignore_index=True)
    return Contrast(
        grade=grade_by_score, better_grade=names[idx - 1], band=(low, high), n_reference=int(in_band.sum()),
        score=float(score), band_mean_score=float(scores[in_band].mean()), by_dimension=by_dimension,
        by_feature=by_feature,
    )
