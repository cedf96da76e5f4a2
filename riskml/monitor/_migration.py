"""Explained grade migration: "no news, no change", in points and records.

A credit grade should move only when something about the entity moved: a record
became known, a record left a window, a state ended (a repair, a listing ended).
:func:`migration_report` takes the grade model's panel rows of one entity set at two
as-of dates and, for every entity whose grade changed, gives

* the points each feature moved (``features``): the grade model's TreeSHAP points are
  exact and additive, and both dates share the base points, so
  ``score_t2 - score_t1`` is the sum of the feature point deltas;
* the records that caused it (``records``, from :func:`record_events`): records whose
  knowledge time falls in ``[t1, t2)`` (``known``), records that left a feature
  window in that span (``left_<n>d``), records with another date in it
  (``<column>``: a repair, a list exit, a licence expiry), and filing deadlines that
  passed unfiled (``overdue``: a source's ``due`` obligation, see
  :mod:`riskml.features._deadlines`).

:func:`migration_alarms` turns the migration itself into alarms (the share of A
entities that left A, the share of grades that changed), beside the grade shares the
monitoring report already watches: a quarter in which many A's are downgraded while
others are upgraded leaves the shares nearly still.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from riskml.explain._evidence import source_catalog
from riskml.features._deadlines import missed_deadlines
from riskml.features._kernels import NEVER, to_days
from riskml.explain._whatif import score_rows
from riskml.records._sources import SourceCatalog

if TYPE_CHECKING:
    from collections.abc import Iterable
    from riskml._time import DateLike
    from riskml.models import RiskModel

__all__ = ["MIGRATION_ALARMS", "Migration", "migration_alarms", "migration_report", "record_events"]

#: default alarm thresholds: share of A leaving A, share of entities whose grade changed
MIGRATION_ALARMS: dict[str, float] = {"a_leaving_a": 0.10, "grade_changed": 0.10}


@dataclass(frozen=True)
class Migration:
    """An explained migration between two as-of dates (see :func:`migration_report`).

    Attributes
    ----------
    t1, t2 : Timestamp
    entities : DataFrame
        One row per entity scored at both dates: ``entity_id``, ``score_t1``,
        ``score_t2``, ``grade_t1``, ``grade_t2``, ``changed``, ``news`` (a record
        event in ``[t1, t2)``; NaN without records).
    features : DataFrame
        For entities whose grade changed: ``entity_id``, ``feature``, ``value_t1``,
        ``value_t2``, ``points_t1``, ``points_t2``, ``delta_points`` (non-zero only).
    records : DataFrame
        Record events of the entities whose grade changed (:func:`record_events`).

    Examples
    --------
    >>> e = pd.DataFrame({"entity_id": ["E1", "E2"], "score_t1": 640.0, "score_t2": [600.0, 640.0],
    ...                   "grade_t1": ["A", "A"], "grade_t2": ["B", "A"], "changed": [True, False],
    ...                   "news": [True, False]})
    >>> m = Migration(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"), e, pd.DataFrame(), pd.DataFrame())
    >>> m.summary()["a_leaving_a"], m.summary()["calendar_only_changed"]
    (0.5, 0.0)
    """

    t1: pd.Timestamp
    t2: pd.Timestamp
    entities: pd.DataFrame
    features: pd.DataFrame
    records: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """Shares: ``grade_changed``, ``a_leaving_a``, ``calendar_only_changed`` (NaN without records)."""
        e = self.entities
        a = e["grade_t1"] == "A"
        quiet = e["news"] == False  # noqa: E712 (NaN stays out)
        return {
            "entities": float(len(e)),
            "grade_changed": float(e["changed"].mean()) if len(e) else np.nan,
            "a_leaving_a": float((e.loc[a, "grade_t2"] != "A").mean()) if a.any() else np.nan,
            "calendar_only": float(quiet.sum()),
            "calendar_only_changed": float(e.loc[quiet, "changed"].mean()) if quiet.any() else np.nan,
        }


def record_events(records: Mapping[str, pd.DataFrame], sources: SourceCatalog, t1: DateLike, t2: DateLike,
                  windows: Iterable[int] = (90, 365, 730, 1095), entities: Iterable[str] | None = None) -> pd.DataFrame:
    """Records that entered, left a window or changed state in ``[t1, t2)``.

    Parameters
    ----------
    records : mapping of str to DataFrame
    sources : SourceCatalog
    t1, t2 : date-like
    windows : iterable of int
        Window lengths in days (the feature catalog's ``window_days``).
    entities : array-like of str, optional
        Only these entities.

    Returns
    -------
    DataFrame
        ``entity_id``, ``source``, ``record_id``, ``event`` (``known``,
        ``left_<n>d``, the name of another date column that falls in the span, or
        ``overdue``: a filing deadline of a source with ``due`` passed unfiled,
        ``record_id`` ``<entity>:<year>``), ``date``.

    Examples
    --------
    >>> from riskml.records import load_sources
    >>> pens = pd.DataFrame({"penalty_id": ["P1", "P2"], "entity_id": ["E1", "E2"],
    ...     "published": pd.to_datetime(["2024-02-01", "2023-02-10"]), "repaired": pd.to_datetime([None, None])})
    >>> record_events({"penalties": pens}, load_sources(), "2024-01-01", "2024-04-01")[["entity_id", "event"]].values.tolist()
    [['E1', 'known'], ['E2', 'left_365d']]
    """
    t1, t2 = np.datetime64(pd.Timestamp(t1), "ns"), np.datetime64(pd.Timestamp(t2), "ns")
    keep = None if entities is None else pd.Index(pd.Series(entities, dtype="str"))
    parts = []
    for name, table in records.items():
        if name not in sources or name == sources.entity_source or len(table) == 0:
            continue
        src = sources[name]
        ids = table[src.entity_key].astype("str")
        mask = np.ones(len(table), bool) if keep is None else ids.isin(keep).to_numpy()
        if not mask.any():
            continue
        known = table[src.known_at].to_numpy(dtype="datetime64[ns]")
        checks: list[tuple[str, np.ndarray]] = [("known", known)]
        checks += [(f"left_{int(w)}d", known + np.timedelta64(int(w), "D")) for w in windows]
        checks += [(c, table[c].to_numpy(dtype="datetime64[ns]")) for c in src.date_columns
                   if c not in (src.known_at, src.event_at)]
        for event, dates in checks:
            hit = mask & (dates >= t1) & (dates < t2)
            if hit.any():
                parts.append(pd.DataFrame({"entity_id": ids.to_numpy()[hit], "source": name,
                                           "record_id": table[src.record_id].astype("str").to_numpy()[hit],
                                           "event": event, "date": dates[hit]}))
    parts += _overdue_events(records, sources, t1, t2, keep)
    if not parts:
        return pd.DataFrame({"entity_id": pd.Series([], dtype="str"), "source": pd.Series([], dtype="str"),
                             "record_id": pd.Series([], dtype="str"), "event": pd.Series([], dtype="str"),
                             "date": pd.Series([], dtype="datetime64[ns]")})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["entity_id", "date", "source", "record_id"], ignore_index=True)


def _overdue_events(records: Mapping[str, pd.DataFrame], sources: SourceCatalog, t1: np.datetime64,
                    t2: np.datetime64, keep: pd.Index | None) -> list[pd.DataFrame]:
    """Filing deadlines (a source's ``due``) that passed unfiled in ``[t1, t2)``: event ``overdue``."""
    registry = records.get(sources.entity_source)
    ent = sources.entities
    out = []
    for name, table in records.items():
        if name not in sources or sources[name].due is None or registry is None:
            continue
        ids = pd.Index(registry[ent.entity_key].astype("str"))
        est = to_days(registry[ent.known_at].to_numpy(dtype="datetime64[ns]"))
        ended = (to_days(registry[ent.valid_to].to_numpy(dtype="datetime64[ns]")) if ent.valid_to
                 else np.full(len(ids), NEVER, dtype=np.int64))
        if keep is not None:
            mask = ids.isin(keep)
            ids, est, ended = ids[mask], est[mask], ended[mask]
        missed = missed_deadlines(table, sources[name], ids, est, ended, int(to_days(np.array([t2]))[0]))
        hit = missed[(missed["deadline"] >= t1) & (missed["deadline"] < t2)]
        if len(hit):
            out.append(pd.DataFrame({"entity_id": hit[sources[name].entity_key].to_numpy(), "source": name,
                                     "record_id": hit["missed_id"].to_numpy(), "event": "overdue",
                                     "date": hit["deadline"].to_numpy()}))
    return out


def migration_report(model: RiskModel, rows_t1: pd.DataFrame, rows_t2: pd.DataFrame, *,
                     records: Mapping[str, pd.DataFrame] | None = None,
                     sources: SourceCatalog | None = None) -> Migration:
    """Explain every grade change between two as-of dates in points and records.

    Parameters
    ----------
    model : RiskModel
        The model that grades; its grade model (``model.grading``) is explained.
    rows_t1, rows_t2 : DataFrame
        Panel rows of one as-of date each.
    records : mapping of str to DataFrame, optional
        The records: adds the record events and the ``news`` flag.
    sources : SourceCatalog, optional
        Their declarations (default: the records' own, or the built-in ones).

    Returns
    -------
    Migration

    Examples
    --------
    >>> from riskml.models._bundle import _tiny_model
    >>> model = _tiny_model()
    >>> t1 = pd.DataFrame({"entity_id": ["E1", "E2"], "as_of": pd.Timestamp("2024-01-01"), "x": [0.0, 0.0]})
    >>> t2 = t1.assign(as_of=pd.Timestamp("2024-04-01"), x=[0.0, 3.0])
    >>> m = migration_report(model, t1, t2)
    >>> m.entities[["entity_id", "grade_t1", "grade_t2", "changed"]].values.tolist()
    [['E1', 'D', 'D', False], ['E2', 'D', 'D', False]]
    >>> m.features.columns.tolist()[:4]
    ['entity_id', 'feature', 'value_t1', 'value_t2']
    """
    model = getattr(model, "grading", model)
    t1, t2 = pd.Timestamp(rows_t1["as_of"].iloc[0]), pd.Timestamp(rows_t2["as_of"].iloc[0])
    ids = np.intersect1d(rows_t1["entity_id"].astype("str"), rows_t2["entity_id"].astype("str"))
    a = rows_t1.assign(entity_id=rows_t1["entity_id"].astype("str")).set_index("entity_id").loc[ids].reset_index()
    b = rows_t2.assign(entity_id=rows_t2["entity_id"].astype("str")).set_index("entity_id").loc[ids].reset_index()
    one, two = score_rows(model, a), score_rows(model, b)
    s1, p1, s2, p2 = one.scores, one.points, two.scores, two.points
    entities = pd.DataFrame({"entity_id": pd.array(ids, dtype="str"), "score_t1": s1["score"].to_numpy(),
                             "score_t2": s2["score"].to_numpy(), "grade_t1": s1["grade"].to_numpy(),
                             "grade_t2": s2["grade"].to_numpy()})
    entities["changed"] = entities["grade_t1"] != entities["grade_t2"]
    moved = np.flatnonzero(entities["changed"].to_numpy())
    delta = (p2.to_numpy() - p1.to_numpy())[moved]
    r, c = np.nonzero(delta)
    feats = list(model.features)
    features = pd.DataFrame({
        "entity_id": pd.array(ids[moved][r], dtype="str"),
        "feature": pd.array(np.array(feats, dtype=object)[c], dtype="str"),
        "value_t1": [a.at[moved[i], feats[j]] for i, j in zip(r, c)],
        "value_t2": [b.at[moved[i], feats[j]] for i, j in zip(r, c)],
        "points_t1": p1.to_numpy()[moved][r, c], "points_t2": p2.to_numpy()[moved][r, c],
        "delta_points": delta[r, c],
    })
    features = features.sort_values(["entity_id", "delta_points"], key=lambda s: s if s.name == "entity_id" else s.abs(),
                                    ascending=[True, False], ignore_index=True)
    events = pd.DataFrame(columns=["entity_id", "source", "record_id", "event", "date"])
    entities["news"] = np.nan
    if records is not None:
        if sources is None:
            sources = source_catalog(records)
        windows = sorted({int(w) for w in model.catalog.get("window_days", pd.Series(dtype=float)).dropna()})
        all_events = record_events(records, sources, t1, t2, windows or (90, 365, 730, 1095), entities=ids)
        entities["news"] = entities["entity_id"].isin(all_events["entity_id"]).astype(object)
        events = all_events[all_events["entity_id"].isin(entities.loc[entities["changed"], "entity_id"])]
        events = events.reset_index(drop=True)
    return Migration(t1=t1, t2=t2, entities=entities, features=features, records=events)


def migration_alarms(migration: Migration, thresholds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Alarms on the migration itself: A leaving A, grades changing.

    Parameters
    ----------
    migration : Migration
    thresholds : mapping, optional
        ``a_leaving_a`` and ``grade_changed`` shares (default :data:`MIGRATION_ALARMS`).

    Returns
    -------
    DataFrame
        ``check``, ``value``, ``threshold``, ``fired``, ``message``.

    Examples
    --------
    >>> e = pd.DataFrame({"entity_id": ["E1", "E2"], "score_t1": 0.0, "score_t2": 0.0,
    ...                   "grade_t1": ["A", "A"], "grade_t2": ["B", "A"], "changed": [True, False], "news": True})
    >>> m = Migration(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"), e, pd.DataFrame(), pd.DataFrame())
    >>> migration_alarms(m)["fired"].tolist()
    [True, True]
    """
    limits = {**MIGRATION_ALARMS, **dict(thresholds or {})}
    got = migration.summary()
    rows = []
    for check, text in (("a_leaving_a", "of A entities left A"), ("grade_changed", "of entities changed grade")):
        value = got[check]
        fired = bool(np.isfinite(value) and value > limits[check])
        rows.append({"check": check, "value": value, "threshold": limits[check], "fired": fired,
                     "message": f"{value:.1%} {text} between {migration.t1.date()} and {migration.t2.date()} "
                                f"(alarm above {limits[check]:.0%}); read Migration.features and .records"})
    return pd.DataFrame(rows)
