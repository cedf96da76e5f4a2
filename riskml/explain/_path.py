"""The path to the next grade: the smallest set of declared actions that reaches it.

For an entity below the best grade, :func:`path_to_next_grade` lists every declared
appeal action (``models/appeal_actions.yaml``) on every record it applies to (a
repair of each unrepaired penalty, leaving each list the entity is on, one more
annual report, removing each record of a negative source), scores each alone, then
searches combinations of the most valuable ones by size (one action, then pairs,
then triples) and returns the first size at which some combination reaches the next
better grade (after overrides), the combination with the most points at that size.

When no small combination reaches it, every action is applied at once. Each action
moves the grade model's features only in their favourable direction and the grade
model is monotone in each of them, so if all actions together fall short, no subset
reaches the grade: the path is *proven absent* and the remaining band distance is
reported. If all together reach it but no combination of at most ``max_actions``
does, the actions are added in order of their points until it is reached (a path,
flagged as not proven minimal).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._time import as_of_date, day_number
from riskml.explain._whatif import (
    AppealAction,
    AppealActions,
    _apply,
    entity_records,
    entity_row,
    load_actions,
    negative_sources,
)
from riskml.features._engine import compute_bucket
from riskml.features._spec import FeatureSpec
from riskml.records._sources import SourceCatalog

if TYPE_CHECKING:
    from riskml._time import DateLike
    from riskml.models import RiskModel

__all__ = ["PATH_COLUMNS", "PATH_SUMMARY_COLUMNS", "GradePath", "declared_changes", "path_summaries", "path_to_next_grade",
           "variant_rows"]

#: columns of :attr:`GradePath.actions`
PATH_COLUMNS: tuple[str, ...] = ("step", "action", "label_zh", "label_en", "source", "record_id", "points_alone")

Change = tuple[AppealAction, str, str | None]


@dataclass(frozen=True)
class GradePath:
    """The smallest set of declared actions reaching the next better grade, or why none does.

    Attributes
    ----------
    entity_id : str
    as_of : Timestamp
    grade : str
        The current grade (after overrides).
    target_grade : str
        The next better grade ("" at the best grade).
    status : {"best_grade", "reached", "none_reaches"}
    minimal : bool
        Whether no smaller set of declared actions reaches ``target_grade``.
    score, new_score : float
        The score now and after the path's actions (after all actions when none
        reaches).
    points_needed : float
        Points from the score to the target band's lower bound (0 when only an
        override holds the grade down).
    remaining : float
        Points still missing to the target band after every declared action
        (``none_reaches`` only; 0 otherwise).
    candidates : int
        Declared actions that apply to the entity's records.
    actions : DataFrame
        The path (``PATH_COLUMNS``): one row per action, with the points it gains
        alone; empty when none reaches.

    Examples
    --------
    >>> p = GradePath("E1", pd.Timestamp("2024-07-01"), "C", "B", "none_reaches", True, 520.0, 540.0, 50.0, 30.0,
    ...               2, pd.DataFrame(columns=list(PATH_COLUMNS)))
    >>> p.summary()
    'No declared action reaches B: after all 2 of them 30.0 points remain.'
    """

    entity_id: str
    as_of: pd.Timestamp
    grade: str
    target_grade: str
    status: str
    minimal: bool
    score: float
    new_score: float
    points_needed: float
    remaining: float
    candidates: int
    actions: pd.DataFrame = field(repr=False)

    @property
    def n_actions(self) -> int:
        """Number of actions on the path (0 when none reaches or at the best grade)."""
        return len(self.actions)

    def summary(self, lang: str = "en") -> str:
        """One sentence for a reviewer (``lang`` ``"en"`` or ``"zh"``).

        Examples
        --------
        >>> p = GradePath("E1", pd.Timestamp("2024-07-01"), "A", "", "best_grade", True, 650.0, 650.0, 0.0, 0.0, 0,
        ...               pd.DataFrame(columns=list(PATH_COLUMNS)))
        >>> p.summary()
        'Already at the best grade A.'
        """
        zh = lang == "zh"
        if self.status == "best_grade":
            return f"已是最高等级 {self.grade}。" if zh else f"Already at the best grade {self.grade}."
        if self.status == "none_reaches":
            if zh:
                return (f"没有已声明的措施能使等级升至 {self.target_grade}：全部 {self.candidates} 项措施后"
                        f"仍差 {self.remaining:.1f} 分。")
            return (f"No declared action reaches {self.target_grade}: after all {self.candidates} of them "
                    f"{self.remaining:.1f} points remain.")
        label = "label_zh" if zh else "label_en"
        parts = [f"{text}{f' ({rid})' if rid else ''} {pts:+.1f}" for text, rid, pts in
                 zip(self.actions[label], self.actions["record_id"], self.actions["points_alone"])]
        gain = self.new_score - self.score
        if zh:
            return f"升至 {self.target_grade} 需 {self.n_actions} 项措施（合计 {gain:+.1f} 分）：" + "；".join(parts)
        return (f"{self.n_actions} action(s) reach {self.target_grade} ({gain:+.1f} points together): "
                + "; ".join(parts))


def declared_changes(actions: AppealActions, own: Mapping[str, pd.DataFrame], sources: SourceCatalog, as_of: Any,
                     negative: set[str], limit: int | None = None) -> list[Change]:
    """Every declared action on every record of the entity it applies to (``limit`` per action and source).

    Examples
    --------
    >>> from riskml.explain._explanation import _tiny_case
    >>> from riskml.records import load_sources
    >>> records, _ = _tiny_case()
    >>> own = entity_records(records, "E0000001", load_sources())
    >>> [(a.name, s, r) for a, s, r in declared_changes(load_actions(), own, load_sources(), "2024-01-01", {"penalties"})]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('repair_penalty', 'penalties', 'P1'), ('repair_penalty', 'penalties', 'P2'),
     ('file_annual_report', 'annual_reports', None), ('remove_wrong_record', 'penalties', 'P1'),
     ('remove_wrong_record', 'penalties', 'P2')]
    """
    as_of = as_of_date(as_of)
    out: list[Change] = []
    for action in actions.actions:
        if action.kind == "add_record":
            if action.source in own:
                out.append((action, action.source, None))
            continue
        names = [action.source] if action.source != "*" else sorted(negative & set(own))
        for name in names:
            table = own.get(name)
            if table is None or name == sources.entity_source:
                continue
            src = sources[name]
            known = table[table[src.known_at] < as_of]
            if action.kind == "set_date":
                if action.column not in known.columns:
                    continue
                known = known[known[action.column].isna()]
            ids = known[src.record_id].astype("str")
            out.extend((action, name, rid) for rid in (ids if limit is None else ids.head(limit)))
    return out


def _applied(changes: list[Change], own: Mapping[str, pd.DataFrame], entity_id: str, day: int,
             sources: SourceCatalog, cache: dict[Any, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The changed tables of the entity after ``changes`` (per source, applied in order)."""
    by_source: dict[str, list[Change]] = {}
    for change in changes:
        by_source.setdefault(change[1], []).append(change)
    tables: dict[str, pd.DataFrame] = {}
    for source, mine in by_source.items():
        key = (source, tuple((a.name, r) for a, _, r in mine))
        if cache is not None and key in cache:
            tables[source] = cache[key]
            continue
        table = own[source]
        for action, _, record_id in mine:
            table = _apply(action, table, record_id, entity_id, day, sources, source)
        tables[source] = table
        if cache is not None:
            cache[key] = table
    return tables


def variant_rows(own: Mapping[str, pd.DataFrame], variants: list[list[Change]], entity_id: str, as_of: Any,
                 spec: FeatureSpec, sources: SourceCatalog) -> pd.DataFrame:
    """Panel rows of the entity after each variant (a list of changes), in one kernel call.

    Each variant's records go in under their own entity id, so the panel kernel
    (:func:`riskml.features._engine.compute_bucket`) computes every variant at once; rows come
    back in variant order with the real ``entity_id``. Cross-entity features are not
    computed: ``spec`` must hold only the entity's own features.

    Examples
    --------
    >>> from riskml.explain._explanation import _tiny_case
    >>> from riskml.features import load_feature_spec
    >>> records, _ = _tiny_case()
    >>> spec = load_feature_spec().subset(["penalties_count_365d"])
    >>> own = entity_records(records, "E0000001", spec.sources)
    >>> repair = [a for a in load_actions().actions if a.name == "repair_penalty"][0]
    >>> rows = variant_rows(own, [[], [(repair, "penalties", "P2")]], "E0000001", "2024-01-01", spec, spec.sources)
    >>> rows["penalties_count_365d"].tolist()
    [2.0, 1.0]
    """
    day = day_number(as_of)
    keys = np.array([f"{entity_id}#{i:06d}" for i in range(len(variants))], dtype=object)
    cache: dict[Any, pd.DataFrame] = {}
    changed = [_applied(changes, own, entity_id, day, sources, cache) for changes in variants]
    joined: dict[str, pd.DataFrame] = {}
    for name in {*spec.used_sources, sources.entity_source}:
        base = own.get(name)
        if base is None:
            continue
        mine = [i for i, c in enumerate(changed) if name in c]
        same = np.setdiff1d(np.arange(len(variants)), mine)
        # the unchanged variants share the entity's table: repeated once, keyed per variant
        parts = [base.iloc[np.tile(np.arange(len(base)), len(same))].assign(
            **{sources[name].entity_key: pd.array(np.repeat(keys[same], len(base)), dtype="str")})]
        parts += [changed[i][name].assign(**{sources[name].entity_key: pd.array([keys[i]] * len(changed[i][name]),
                                                                               dtype="str")}) for i in mine]
        joined[name] = pd.concat(parts, ignore_index=True)
    frame = compute_bucket(joined, joined[sources.entity_source], np.array([day], dtype=np.int64), spec, sources)
    frame = frame.set_index(frame["entity_id"].astype("str")).loc[list(keys)].reset_index(drop=True)
    frame["entity_id"] = pd.array([entity_id] * len(frame), dtype="str")
    return frame


def path_to_next_grade(
    records: Mapping[str, pd.DataFrame],
    entity_id: str,
    as_of: DateLike,
    model: RiskModel,
    spec: FeatureSpec,
    sources: SourceCatalog | None = None,
    *,
    actions: AppealActions | None = None,
    max_actions: int = 3,
    max_candidates: int = 12,
    own: Mapping[str, pd.DataFrame] | None = None,
) -> GradePath:
    """The smallest set of declared actions that lifts the entity to the next better grade.

    Parameters
    ----------
    records : mapping of str to DataFrame
        Validated records.
    entity_id : str
    as_of : date-like
    model : RiskModel
        The grading model (its grade model when it has one).
    spec : FeatureSpec
        The model's feature spec.
    sources : SourceCatalog, optional
        Default: ``spec.sources``.
    actions : AppealActions, optional
        Default: :func:`load_actions`.
    max_actions : int, default 3
        Largest combination searched exhaustively.
    max_candidates : int, default 12
        The most valuable single actions combined in that search.
    own : mapping, optional
        The entity's own records (:func:`entity_records`), when at hand.

    Returns
    -------
    GradePath

    Examples
    --------
    >>> from riskml.explain._explanation import _tiny_case
    >>> records, model = _tiny_case()
    >>> from riskml.features import load_feature_spec
    >>> spec = load_feature_spec()
    >>> path = path_to_next_grade(records, "E0000001", "2024-01-01", model, spec, spec.sources)
    >>> path.grade, path.target_grade, path.status, path.n_actions
    ('C', 'B', 'reached', 2)
    >>> path.actions[["action", "record_id"]].values.tolist()
    [['repair_penalty', 'P1'], ['repair_penalty', 'P2']]
    """
    model = getattr(model, "grading", model)
    sources = sources if sources is not None else spec.sources
    actions = actions if actions is not None else load_actions(sources=sources)
    as_of = as_of_date(as_of)
    day = day_number(as_of)
    entity_id = str(entity_id)
    own = dict(own) if own is not None else entity_records(records, entity_id, sources)
    base = entity_row(records, entity_id, as_of, spec, sources, own=own)
    if len(base) == 0:
        raise ValueError(f"entity {entity_id} is not alive at {as_of.date()}: there is no grade to improve")
    scored = model.score(base).iloc[0]
    score, grade = float(scored["score"]), str(scored["grade"])
    names = list(model.policy.grade_names)
    rank = names.index(grade)
    empty = pd.DataFrame({c: pd.Series([], dtype="float64" if c == "points_alone" else "str") for c in PATH_COLUMNS})
    if rank == 0:
        return GradePath(entity_id, as_of, grade, "", "best_grade", True, score, score, 0.0, 0.0, 0, empty)
    target = names[rank - 1]
    floor = float(model.policy.grades[rank - 1].min_score)
    needed = max(floor - score, 0.0)
    changes = declared_changes(actions, own, sources, as_of, negative_sources(model.catalog))

    needed = [*model.features, *(r.feature for r in model.policy.overrides)]
    own_only = set(needed) <= set(spec.feature_names)
    kernel_spec = spec.subset([f for f in spec.feature_names if f in set(needed)]) if own_only else spec

    def score_sets(sets: list[list[Change]]) -> pd.DataFrame:
        if own_only:  # one kernel call for every variant
            return model.score(variant_rows(own, sets, entity_id, as_of, kernel_spec, sources))
        rows = [entity_row(records, entity_id, as_of, spec, sources, own=own,
                           changed=_applied(s, own, entity_id, day, sources)) for s in sets]
        return model.score(pd.concat(rows, ignore_index=True))

    def reaches(out: pd.DataFrame) -> np.ndarray:
        return out["grade"].map(names.index).to_numpy() < rank

    def result(chosen: list[Change], alone: np.ndarray, new_score: float, minimal: bool) -> GradePath:
        frame = pd.DataFrame({
            "step": [str(i + 1) for i in range(len(chosen))],
            "action": [a.name for a, _, _ in chosen],
            "label_zh": [a.label_zh or a.name for a, _, _ in chosen],
            "label_en": [a.label_en or a.name for a, _, _ in chosen],
            "source": [s for _, s, _ in chosen],
            "record_id": [r or "" for _, _, r in chosen],
            "points_alone": alone.astype(np.float64),
        }, columns=list(PATH_COLUMNS))
        return GradePath(entity_id, as_of, grade, target, "reached", minimal, score, new_score, needed, 0.0,
                         len(changes), frame)

    if not changes:
        return GradePath(entity_id, as_of, grade, target, "none_reaches", True, score, score, needed,
                         max(floor - score, 0.0) if np.isfinite(floor) else 0.0, 0, empty)
    singles = score_sets([[c] for c in changes])
    gain = singles["score"].to_numpy() - score
    order = np.argsort(-gain, kind="stable")
    top = [int(i) for i in order[:max_candidates]]
    for size in range(1, min(max_actions, len(changes)) + 1):
        if size == 1:
            combos, out = [(i,) for i in range(len(changes))], singles
        else:
            combos = list(itertools.combinations(top, size))
            out = score_sets([[changes[i] for i in combo] for combo in combos])
        hit = np.flatnonzero(reaches(out))
        if len(hit):
            best = hit[np.argmax(out["score"].to_numpy()[hit])]
            combo = combos[best]
            chosen = sorted(combo, key=lambda i: -gain[i])
            # exhaustive over every change for size 1; over the top candidates beyond
            minimal = size == 1 or len(changes) <= max_candidates
            return result([changes[i] for i in chosen], gain[chosen], float(out["score"].iloc[best]), minimal)
    everything = score_sets([changes]).iloc[0]
    if names.index(str(everything["grade"])) >= rank:
        remaining = max(floor - float(everything["score"]), 0.0)
        return GradePath(entity_id, as_of, grade, target, "none_reaches", True, score, float(everything["score"]),
                         needed, remaining, len(changes), empty)
    # all together reach it, no small set does: add actions by their points until it is reached
    prefix = [changes[i] for i in order]
    sets = [prefix[: k + 1] for k in range(max_actions, len(prefix))]
    out = score_sets(sets)
    k = int(np.flatnonzero(reaches(out))[0])
    chosen = [int(i) for i in order[: max_actions + k + 1]]
    return result([changes[i] for i in chosen], gain[chosen], float(out["score"].iloc[k]), False)


#: columns of :func:`path_summaries`
PATH_SUMMARY_COLUMNS: tuple[str, ...] = ("entity_id", "path_status", "path_actions", "path_text_zh", "path_text_en")


def path_summaries(records: Mapping[str, pd.DataFrame], entity_ids: Any, as_of: Any, model: Any, spec: FeatureSpec,
                   sources: SourceCatalog | None = None, *, actions: AppealActions | None = None) -> pd.DataFrame:
    """One line per entity: its path to the next grade (:func:`path_to_next_grade`).

    The records are grouped by entity once; each entity's search is its own (a few
    panel-kernel calls on its own records), so the cost grows with the number of
    entities: ask for the entities a reviewer will read.

    Returns
    -------
    DataFrame
        ``PATH_SUMMARY_COLUMNS``: ``path_status`` (``best_grade``, ``reached``,
        ``none_reaches``), ``path_actions`` (number of actions on the path) and the
        sentence in Chinese and English.

    Examples
    --------
    >>> from riskml.explain._explanation import _tiny_case
    >>> from riskml.features import load_feature_spec
    >>> records, model = _tiny_case()
    >>> out = path_summaries(records, ["E0000001"], "2024-01-01", model, load_feature_spec())
    >>> out[["path_status", "path_actions"]].values.tolist()
    [['reached', 2]]
    """
    sources = sources if sources is not None else spec.sources
    actions = actions if actions is not None else load_actions(sources=sources)
    ids = [str(e) for e in entity_ids]
    keep = pd.Index(ids)
    grouped, empty = {}, {}
    for name, table in records.items():
        if name not in sources:
            continue
        key = table[sources[name].entity_key].astype("str")
        mine = table.loc[key.isin(keep).to_numpy()]
        grouped[name] = dict(tuple(mine.groupby(mine[sources[name].entity_key].astype("str"), sort=False)))
        empty[name] = table.iloc[:0]
    rows = []
    for entity_id in ids:
        own = {n: grouped[n].get(entity_id, empty[n]).reset_index(drop=True) for n in grouped}
        path = path_to_next_grade(records, entity_id, as_of, model, spec, sources, actions=actions, own=own)
        rows.append((entity_id, path.status, path.n_actions, path.summary("zh"), path.summary("en")))
    out = pd.DataFrame(rows, columns=list(PATH_SUMMARY_COLUMNS))
    out["path_actions"] = out["path_actions"].astype("int64")
    return out
