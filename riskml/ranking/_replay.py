"""Replaying the quarterly supervision cycle without look-ahead (监管周期回放).

A bureau lives its inspection programme one quarter at a time: at the start of quarter
``t`` it knows the records known before ``t`` and the outcomes whose label horizon
ended before ``t``; it grades, draws the plan, inspects during the quarter, and learns.
:func:`replay` walks a period of quarters that way:

1. at each refit quarter (every ``retrain_every`` quarters) the model is fitted on the
   panel rows with ``as_of < t``, labelled from the records known before ``t``
   (:func:`records_known_before`: rows known on or after ``t`` dropped, ``valid_to``
   dates on or after ``t`` unknown), with only the rows whose horizon ended by ``t``
   (``as_of + horizon <= t``) complete;
2. the panel rows of ``t`` (features known before ``t``) are scored and graded, and the
   blind spots ranked from the records known before ``t``;
3. every policy of the spec draws its plan (seeded), the inspections are spread over
   the quarter in the policy's order (riskiest first, or at random), and inspectors are
   assigned;
4. what each inspection found is read from the truth of a synthetic market (the entity
   violated in that quarter) or, on real records, from the records of the quarter (an
   inspection of the planned entity that happened, and its result).

On a synthetic market each policy is set beside random inspection at the same size
(expected violators found) and beside its limit: the truth's own ranking by
``p_violation`` at the same size, for the whole plan and for its blind-spot part. The
fraud model is refitted at the same quarters and judged on the truth's shell companies
as well as on the observed cases. With ``labels: replayed`` each policy lives in its own
world: from ``start`` on, the only outcomes its trainings learn are what its own
inspections found, and the inspections it made are the only ones that make a label
observed or touch a blind spot (selective labels in the loop).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._progress import track
from riskml._time import as_of_date, day_number
from riskml.features import Panel, build_panel
from riskml.labels import LabelSpec, load_label_spec, make_labels
from riskml.models import ModelSpec, fit_model, load_model_spec
from riskml.models._bundle import RiskModel
from riskml.ranking._spec import RankingSpec, SourceFilter, load_ranking_spec
from riskml.ranking._blind_spots import blind_spots, selection_aware_sample
from riskml.ranking._evaluate import scaled_grade_counts
from riskml.ranking._plan import assign_inspectors, inspection_plan
from riskml.ranking._replay_spec import PolicySpec, ReplaySpec, load_replay_spec
from riskml.ranking._window import catalog_of, known_in_window, row_days
from riskml.records import Records
from riskml.records._sources import SourceCatalog

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from riskml._time import DateLike
    from riskml.synth import Market, Truth
    from riskml.ranking._replay_spec import ReplaySpecLike

__all__ = ["QUARTER_COLUMNS", "Replay", "records_known_before", "replay"]

logger = logging.getLogger(__name__)

#: Columns of :attr:`Replay.quarters`, one row per quarter and policy.
QUARTER_COLUMNS: tuple[str, ...] = (
    "as_of", "policy", "n_alive", "inspections", "violators_total", "violators_found", "compliant_disturbed",
    "hit_rate", "random_expected", "vs_random", "limit_found", "share_of_limit", "expected_found", "limit_expected",
    "blind_spots",
    "blind_spot_inspections", "blind_spot_found", "blind_spot_limit_found", "blind_spot_share_of_limit",
    "happened", "model_fitted",
)  # fmt: skip
_SUMMED = ("inspections", "violators_total", "violators_found", "compliant_disturbed", "random_expected", "limit_found",
           "expected_found", "limit_expected", "blind_spot_inspections", "blind_spot_found", "blind_spot_limit_found", "happened")


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class Replay:
    """What :func:`replay` returns: the period as the bureau would have lived it.

    Attributes
    ----------
    spec : ReplaySpec
    quarters : DataFrame
        One row per quarter and policy (:data:`QUARTER_COLUMNS`): alive entities,
        inspections, violators found, compliant entities disturbed, hit rate, the
        violators random inspection of the same size finds on average
        (``random_expected``) and the ratio to it, the violators the truth's ranking
        finds with the same number of inspections (``limit_found``: the realised
        violators among the highest ``p_violation``) and the share of it reached;
        ``expected_found`` and ``limit_expected``, the sums of ``p_violation`` over
        the plan and over the truth's plan (in expectation no plan beats the truth's;
        a realised count can, by luck); the same for the plan's blind spots; on real records
        ``happened`` (planned inspections the records show); ``model_fitted`` (the
        refit quarter of the model used).
    inspections : DataFrame
        One row per replayed inspection: ``policy``, ``as_of``, ``entity_id``,
        ``grade``, ``probability``, ``reason``, ``inspector`` (when a pool is
        declared), ``day`` (when it was carried out), ``blind_spot``, ``found``.
    fits : DataFrame
        One row per refit: ``as_of`` (the quarter), ``world`` (``records`` or the
        policy whose replayed labels it learned), ``target``, training rows and
        positives, the latest complete as-of date, and the backtest AUC.
    fraud : DataFrame
        Per quarter and judge (``shells``: the truth's shell companies; ``observed``:
        a fake-invoicing case known within the label horizon): ``n``, ``positives``,
        ``auc``, ``precision_at_k``, ``base_rate``, ``complete`` (whether the judge's
        horizon lies inside the records). Empty when the spec's ``fraud`` is off.

    Examples
    --------
    >>> import riskml
    >>> from riskml.ranking import replay
    >>> market = riskml.synth.make_market(n_entities=600, seed=3)
    >>> out = replay(market.records, market, start="2023-01-01", end="2023-04-01", fraud=False,
    ...              training={"params": {"n_estimators": 10}})
    >>> out.summary().index.tolist() == [policy.name for policy in out.spec.policies]
    True
    >>> int(out.days_earlier().loc[out.spec.baseline, "not_found"])  # the baseline finds what it finds
    0
    """

    spec: ReplaySpec
    quarters: pd.DataFrame
    inspections: pd.DataFrame
    fits: pd.DataFrame
    fraud: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """Per policy over the whole period: the counts summed, the ratios recomputed.

        Returns
        -------
        DataFrame
            Indexed by policy (in spec order): the summed counts of :attr:`quarters`,
            ``hit_rate``, ``vs_random``, ``share_of_limit``, ``expected_share_of_limit``,
            ``blind_spot_precision``
            and ``blind_spot_share_of_limit``.
        """
        order = [p.name for p in self.spec.policies]
        total = self.quarters.groupby("policy", sort=False)[list(_SUMMED)].sum(min_count=1).reindex(order)
        carried_out = total["happened"].where(total["happened"].notna(), total["inspections"])
        total["hit_rate"] = total["violators_found"] / carried_out.replace(0, np.nan)
        total["vs_random"] = total["violators_found"] / total["random_expected"].replace(0, np.nan)
        total["share_of_limit"] = total["violators_found"] / total["limit_found"].replace(0, np.nan)
        total["expected_share_of_limit"] = total["expected_found"] / total["limit_expected"].replace(0, np.nan)
        total["blind_spot_precision"] = total["blind_spot_found"] / total["blind_spot_inspections"].replace(0, np.nan)
        total["blind_spot_share_of_limit"] = total["blind_spot_found"] / total["blind_spot_limit_found"].replace(0, np.nan)
        return total

    def days_earlier(self, baseline: str | None = None) -> pd.DataFrame:
        """How many days earlier each policy finds the violators the baseline finds.

        For every entity the baseline policy finds violating at least once in the
        period, its first finding day under the baseline is compared with its first
        finding day under the policy (any quarter of the period).

        Parameters
        ----------
        baseline : str, optional
            A policy name; default the spec's ``baseline``.

        Returns
        -------
        DataFrame
            Indexed by policy: ``found_by_baseline``, ``found_by_both``,
            ``found_earlier``, ``found_later``, ``not_found`` (the policy never found
            them), ``mean_days_earlier`` and ``median_days_earlier`` over the entities
            both found (negative: later), and ``mean_days_earlier_all`` counting an
            entity the policy never found as found on the period's last day.
        """
        baseline = self.spec.baseline if baseline is None else baseline
        self.spec.policy(baseline)
        found = self.inspections.loc[self.inspections["found"]]
        first = found.groupby(["policy", "entity_id"], sort=False)["day"].min()
        base = first.loc[baseline] if baseline in first.index.get_level_values(0) else pd.Series(dtype="datetime64[ns]")
        last_day = pd.Timestamp(self.spec.end)
        rows = []
        for policy in [p.name for p in self.spec.policies]:
            mine = first.loc[policy] if policy in first.index.get_level_values(0) else pd.Series(dtype="datetime64[ns]")
            when = mine.reindex(base.index)
            both = when.notna()
            earlier = (base - when).dt.days
            all_days = (base - when.fillna(last_day)).dt.days
            rows.append({
                "policy": policy, "found_by_baseline": len(base), "found_by_both": int(both.sum()),
                "found_earlier": int((earlier[both] > 0).sum()), "found_later": int((earlier[both] < 0).sum()),
                "not_found": int((~both).sum()), "mean_days_earlier": float(earlier[both].mean()) if both.any() else np.nan,
                "median_days_earlier": float(earlier[both].median()) if both.any() else np.nan,
                "mean_days_earlier_all": float(all_days.mean()) if len(all_days) else np.nan,
            })  # fmt: skip
        return pd.DataFrame(rows).set_index("policy")

    def plot(self, metric: str = "share_of_limit", ax: Axes | None = None) -> Axes:
        """One line per policy of a quarterly metric (matplotlib).

        Parameters
        ----------
        metric : str, default "share_of_limit"
            A numeric column of :attr:`quarters` (``violators_found``, ``vs_random``, ...).
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        if metric not in self.quarters.columns:
            raise ValueError(f"unknown metric {metric!r}; quarters has {list(self.quarters.columns)}")
        ax = ax if ax is not None else plt.subplots(figsize=(7, 4))[1]
        wide = self.quarters.pivot(index="as_of", columns="policy", values=metric)
        for policy in [p.name for p in self.spec.policies]:
            ax.plot(wide.index, wide[policy], marker="o", label=self.spec.policy(policy).label_en or policy)
        ax.set_xlabel("quarter")
        ax.set_ylabel(metric)
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------- records


def records_known_before(records: Mapping[str, pd.DataFrame], t: DateLike) -> Records:
    """The records as the bureau held them at the start of day ``t``.

    Rows whose ``known_at`` is on or after ``t`` (or missing) are dropped; a
    ``valid_to`` (a list exit, a deregistration) on or after ``t`` is not known yet and
    becomes missing. Sources the catalog does not declare are left out.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
    t : date-like

    Returns
    -------
    Records

    Examples
    --------
    >>> import pandas as pd
    >>> pens = pd.DataFrame({"penalty_id": ["P1", "P2"], "entity_id": ["E0000001"] * 2,
    ...     "published": pd.to_datetime(["2023-12-31", "2024-01-01"])})
    >>> records_known_before({"penalties": pens}, "2024-01-01")["penalties"]["penalty_id"].tolist()
    ['P1']
    """
    catalog = catalog_of(records)
    t = np.datetime64(as_of_date(t, what="t"), "ns")
    tables = {}
    for name, table in records.items():
        if name not in catalog:
            continue
        spec = catalog[name]
        known = table[spec.known_at].to_numpy(dtype="datetime64[ns]")
        part = table.loc[known < t]  # NaT compares False: never known
        if spec.valid_to and spec.valid_to in part.columns:
            ends = part[spec.valid_to].to_numpy(dtype="datetime64[ns]")
            if (ends >= t).any():
                part = part.copy()
                part.loc[ends >= t, spec.valid_to] = pd.NaT
        tables[name] = part.reset_index(drop=True)
    return Records(tables=tables, catalog=catalog)


def _fabricated(table: pd.DataFrame, catalog: SourceCatalog, flt: SourceFilter, entity_id: np.ndarray,
                day: np.ndarray, prefix: str) -> pd.DataFrame:
    """Rows of ``flt.source`` standing for replayed inspections (the filter's values set)."""
    spec = catalog[flt.source]
    n = len(entity_id)
    new = pd.DataFrame(index=pd.RangeIndex(n), columns=table.columns)
    new[spec.entity_key] = entity_id
    new[spec.known_at] = day
    if spec.event_at:
        new[spec.event_at] = day
    if spec.record_id:
        new[spec.record_id] = [f"{prefix}{i:08d}" for i in range(n)]
    for column, value in flt.where.items():
        if isinstance(value, str | int | float | bool):
            new[column] = value
        elif isinstance(value, list) and value:
            new[column] = value[0]
    return new.astype(table.dtypes.to_dict())


# --------------------------------------------------------------------------- worlds


@dataclass
class _World:
    """What one line of history knows: the records, plus (in the loop) its own inspections."""

    name: str
    records: Mapping[str, pd.DataFrame]
    loop_from: pd.Timestamp | None = None  # replayed world: records known from here on are not its own
    log: list[pd.DataFrame] = dataclasses.field(default_factory=list)
    model: RiskModel | None = None
    fitted_at: pd.Timestamp | None = None

    def known(self, t: pd.Timestamp, happened: SourceFilter) -> Records:
        if self.loop_from is None:
            return records_known_before(self.records, t)
        base = records_known_before(self.records, self.loop_from)
        done = self.replayed(t)
        if not len(done):
            return base
        tables = dict(base.tables)
        table = tables[happened.source]
        extra = _fabricated(table, base.catalog, happened, done["entity_id"].to_numpy(dtype=object),
                            done["day"].to_numpy(dtype="datetime64[ns]"), f"{self.name}-")
        tables[happened.source] = pd.concat([table, extra], ignore_index=True)
        return Records(tables=tables, catalog=base.catalog)

    def replayed(self, t: pd.Timestamp) -> pd.DataFrame:
        if not self.log:
            return pd.DataFrame({"entity_id": pd.Series(dtype="str"), "day": pd.Series(dtype="datetime64[ns]"),
                                 "found": pd.Series(dtype=bool)})
        done = pd.concat(self.log, ignore_index=True)
        return done.loc[done["day"] < t]


def _replayed_positive(rows: pd.DataFrame, done: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Rows ``(entity, as_of)`` with a replayed finding in ``[as_of, as_of + horizon)``."""
    found = done.loc[done["found"], ["entity_id", "day"]]
    hit = np.zeros(len(rows), dtype=bool)
    if not len(found):
        return hit
    keyed = rows[["entity_id", "as_of"]].assign(_row=np.arange(len(rows)))
    pairs = keyed.merge(found, on="entity_id", how="inner")
    inside = (pairs["day"] >= pairs["as_of"]) & (pairs["day"] < pairs["as_of"] + pd.Timedelta(days=horizon_days))
    hit[pairs.loc[inside, "_row"].to_numpy()] = True
    return hit


@dataclass(frozen=True)
class _Target:
    """A target's model and label specs, loaded once per replay."""

    model: ModelSpec
    label: LabelSpec

    @classmethod
    def load(cls, name: str, catalog: SourceCatalog) -> _Target:
        return cls(load_model_spec(name), load_label_spec(name, sources=catalog))


def _fit(panel: Panel, world: _World, t: pd.Timestamp, target: _Target, spec: ReplaySpec, sample: str,
         monitor: RankingSpec) -> tuple[RiskModel, dict[str, Any]]:
    """The model the bureau could fit at the start of quarter ``t``."""
    horizon = target.model.horizon_days
    rows = (panel.frame["as_of"] < t).to_numpy()
    sub = dataclasses.replace(panel, frame=panel.frame.loc[rows].reset_index(drop=True))
    known = world.known(t, spec.outcome.happened)
    labels = make_labels(known, sub, target.label)
    labels["complete"] = (labels["as_of"] + pd.Timedelta(days=horizon) <= t).to_numpy()
    if world.loop_from is not None:
        extra = _replayed_positive(labels, world.replayed(t), horizon)
        labels["label"] = (labels["label"].astype(bool) | extra).astype(np.int8)
    weights = None
    if sample != "all":
        # only rows whose horizon ended before t: a cut-off horizon would look unobserved
        keep = (labels["complete"] & labels["in_population"]).to_numpy()
        sub = dataclasses.replace(sub, frame=sub.frame.loc[keep].reset_index(drop=True))
        labels = labels.loc[keep].reset_index(drop=True)
        chosen = selection_aware_sample(sub, labels, known, how=sample, spec=monitor)
        sub, labels, weights = chosen.panel, chosen.labels, chosen.weights
    result = fit_model(sub, labels, target.model, backtest=spec.training.backtest, params=spec.training.params or None,
                       weights=weights)
    usable = labels["complete"] & labels["in_population"]
    metrics = result.metrics
    auc = metrics.loc[(metrics["population"] == "all") & (metrics["metric"] == "auc"), "value"]
    info = {
        "as_of": t, "world": world.name, "target": target.model.name, "sample": sample,
        "train_rows": int(usable.sum()), "positives": int(labels.loc[usable, "label"].sum()),
        "latest_complete": labels.loc[usable, "as_of"].max(), "backtest_auc": float(auc.iloc[-1]) if len(auc) else np.nan,
    }  # fmt: skip
    logger.info("replay fit %s at %s (%s): %d rows, %d positives", target.model.name, t.date(), world.name, info["train_rows"],
                info["positives"])
    return result.model, info


# --------------------------------------------------------------------------- plans


def _half_up(x: float) -> int:
    return int(np.floor(x + 0.5))


def _draw(policy: PolicySpec, scores: pd.DataFrame, spots: pd.DataFrame, rng: np.random.Generator,
          monitor: RankingSpec) -> pd.DataFrame:
    """The policy's plan for one quarter: ``entity_id`` and ``reason``, in execution order.

    ``scores`` are sorted by entity id with a fresh index.
    """
    n = len(scores)
    prob = scores["probability"].to_numpy(dtype="float64", na_value=-np.inf)
    if policy.kind == "risk_ranked":
        pos = np.argsort(-prob, kind="stable")[: _half_up(policy.budget * n)]
        plan = pd.DataFrame({"entity_id": scores["entity_id"].to_numpy()[pos], "reason": "risk_ranked"})
    elif policy.kind == "random":
        pos = rng.choice(n, size=_half_up(policy.budget * n), replace=False)
        plan = pd.DataFrame({"entity_id": scores["entity_id"].to_numpy()[pos], "reason": "random"})
    else:
        rates = dict(policy.rates or {})
        k = 0
        if policy.budget is not None:
            total = _half_up(policy.budget * n)
            k = _half_up(total * policy.blind_spot_share)
            sizes = scores["grade"].astype(str).value_counts().to_dict()
            counts = scaled_grade_counts(sizes, rates, total - k)
            rates = {g: (counts.get(g, 0) / sizes[g] if sizes.get(g) else 0.0) for g in {*rates, *sizes}}
        plan = inspection_plan(scores, rates, blind_spots=spots, k=k, seed=int(rng.integers(2**31)), spec=monitor)
        plan = plan[["entity_id", "reason"]]
    plan["entity_id"] = plan["entity_id"].astype("str")
    if policy.order == "random":
        return plan.iloc[rng.permutation(len(plan))].reset_index(drop=True)
    p = pd.Series(prob, index=scores["entity_id"].to_numpy())
    key = -p.reindex(plan["entity_id"].to_numpy()).to_numpy()
    order = np.lexsort((plan["entity_id"].to_numpy(dtype=object).astype(str), key))
    return plan.iloc[order].reset_index(drop=True)


def _days(t: pd.Timestamp, next_t: pd.Timestamp, m: int) -> np.ndarray:
    """Days of ``m`` inspections spread evenly over ``[t, next_t)`` in plan order."""
    span = (next_t - t).days
    offsets = np.floor(np.arange(m) * span / max(m, 1)).astype("int64")
    return (np.datetime64(t, "ns") + offsets.astype("timedelta64[D]")).astype("datetime64[ns]")


def _top(p: np.ndarray, violated: np.ndarray, k: int) -> tuple[int, float]:
    """Violators among the ``k`` highest true probabilities, and the sum of those probabilities."""
    if k <= 0:
        return 0, 0.0
    top = np.argsort(-p, kind="stable")[:k]
    return int(violated[top].sum()), float(p[top].sum())


# --------------------------------------------------------------------------- judges


def _truth_frames(truth: Any) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    eq = getattr(getattr(truth, "truth", truth), "entity_quarters", truth)
    entities = getattr(getattr(truth, "truth", truth), "entities", None)
    if not isinstance(eq, pd.DataFrame):
        raise TypeError(f"truth must be a Market, a Truth or its entity_quarters DataFrame, not {type(truth).__name__}")
    missing = {"entity_id", "quarter_start", "violated", "p_violation"} - set(eq.columns)
    if missing:
        raise ValueError(f"truth lacks column(s) {sorted(missing)}; expected entity_id, quarter_start, violated, p_violation")
    return eq, entities


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else np.nan


def _judge_fraud(model: RiskModel, at: pd.DataFrame, records: Mapping[str, pd.DataFrame], entities: pd.DataFrame | None,
                 t: pd.Timestamp, k: int, target: _Target) -> list[dict[str, Any]]:
    """Fraud model at ``t`` judged on observed cases (all records) and on the truth's shells."""
    labels = make_labels(records, at, target.label)
    keep = labels["in_population"].to_numpy(bool)
    scored = model.score(at.loc[keep])
    p = scored["probability"].to_numpy()
    judges = {"observed": (labels.loc[keep, "label"].to_numpy(bool), bool(labels.loc[keep, "complete"].all()))}
    if entities is not None and "is_shell" in entities.columns:
        shell = entities.set_index("entity_id")["is_shell"].reindex(scored["entity_id"]).fillna(False)
        judges["shells"] = (shell.to_numpy(bool), True)
    out = []
    top = np.argsort(-p, kind="stable")[:k]
    for judge, (y, complete) in judges.items():
        out.append({"as_of": t, "judged_on": judge, "n": len(y), "positives": int(y.sum()), "auc": _auc(y, p),
                    "precision_at_k": float(y[top].mean()) if len(top) else np.nan, "k": k,
                    "base_rate": float(y.mean()) if len(y) else np.nan, "complete": complete,
                    "horizon_days": target.model.horizon_days})
    return out


# --------------------------------------------------------------------------- replay


def replay(
    records: Mapping[str, pd.DataFrame],
    truth: Market | Truth | pd.DataFrame | None = None,
    spec: ReplaySpecLike = "replay",
    *,
    panel: Panel | None = None,
    show_progress: bool | None = None,
    **overrides: Any,
) -> Replay:
    """Replay the quarterly cycle (train, score, grade, plan, inspect, learn) without look-ahead.

    Parameters
    ----------
    records : Records or dict of str to DataFrame
        All records, including those known during and after the period: each quarter
        reads only those known before it; the judge of a real-data replay reads the
        quarter's own inspection records.
    truth : Market, Truth or DataFrame, optional
        The truth of a synthetic market (``entity_quarters`` with ``violated`` and
        ``p_violation``; ``entities`` with ``is_shell`` for the fraud judge). Without
        it the outcome of an inspection comes from the records (the spec's
        ``outcome``) and there is no limit to compare against.
    spec : str, path, dict or ReplaySpec, default "replay"
        The replay spec (``experiments/replay.yaml``).
    panel : Panel, optional
        The quarterly panel of ``records`` (built when not given). Its rows of as-of
        ``t`` use only records known before ``t``, as every panel does.
    show_progress : bool, optional
    **overrides
        Top-level keys of the spec to replace (``start=...``, ``policies=[...]``).

    Returns
    -------
    Replay

    Raises
    ------
    ValueError
        When no panel as-of date lies in the period, ``labels: replayed`` is asked
        without a truth, or a fit has too few complete dates before a refit quarter
        (start the period later).

    Examples
    --------
    >>> import riskml
    >>> from riskml.ranking import replay
    >>> market = riskml.synth.make_market(n_entities=600, seed=3)
    >>> out = replay(market.records, market, start="2023-01-01", end="2023-04-01", fraud=False,
    ...              training={"params": {"n_estimators": 10}})
    >>> out.quarters["as_of"].nunique(), sorted(out.quarters["policy"].unique())[:2]
    (2, ['grade_rates', 'grade_rates_5'])
    >>> bool((out.summary()["violators_found"] <= out.summary()["inspections"]).all())
    True
    """
    catalog = catalog_of(records)
    rspec = load_replay_spec(spec, sources=catalog, **overrides)
    if rspec.labels == "replayed" and truth is None:
        raise ValueError("labels: replayed needs the truth of a synthetic market (what each inspection would have found)")
    eq, entities = _truth_frames(truth) if truth is not None else (None, None)
    panel = build_panel(records, as_of="quarterly", show_progress=show_progress) if panel is None else panel
    start, end = rspec.period
    all_dates = pd.DatetimeIndex(pd.unique(panel.frame["as_of"])).sort_values()
    dates = all_dates[(all_dates >= start) & (all_dates <= end)]
    if not len(dates):
        raise ValueError(f"no panel as-of date lies in [{start.date()}, {end.date()}]; the panel covers "
                         f"{all_dates[0].date()} .. {all_dates[-1].date()}")
    truth_index = None
    if eq is not None:
        quarter = pd.to_datetime(eq["quarter_start"]).astype("datetime64[ns]")
        truth_index = pd.MultiIndex.from_arrays([quarter, eq["entity_id"].astype(str)])

    monitor = load_ranking_spec(rspec.monitor, sources=catalog)
    credit = _Target.load(rspec.target, catalog)
    fraud = _Target.load("fraud", catalog) if rspec.fraud else None
    loop_from = start if rspec.labels == "replayed" else None
    if loop_from is None:
        worlds = {"records": _World("records", records)}
        world_of = {p.name: "records" for p in rspec.policies}
    else:
        worlds = {p.name: _World(p.name, records, loop_from) for p in rspec.policies}
        world_of = {p.name: p.name for p in rspec.policies}
    pool = [f"INS{i:03d}" for i in range(1, rspec.inspectors + 1)]
    previous: dict[str, pd.DataFrame | None] = {p.name: None for p in rspec.policies}
    fraud_model: RiskModel | None = None
    quarter_rows, logs, fits, fraud_rows = [], [], [], []

    for i, t in enumerate(track(list(dates), "replay", show=show_progress)):
        t = pd.Timestamp(t)
        later = all_dates[all_dates > t]
        next_t = pd.Timestamp(later[0]) if len(later) else t + pd.DateOffset(months=3)
        if i % rspec.training.retrain_every == 0:
            for world in worlds.values():
                world.model, info = _fit(panel, world, t, credit, rspec, rspec.training.sample, monitor)
                world.fitted_at = t
                fits.append(info)
            if fraud is not None:
                fraud_model, info = _fit_fraud(panel, records, t, fraud, rspec, monitor)
                fits.append(info)
        at = panel.frame.loc[panel.frame["as_of"] == t].sort_values("entity_id", kind="stable", ignore_index=True)
        if fraud_model is not None and fraud is not None:
            fraud_rows += _judge_fraud(fraud_model, at, records, entities, t, rspec.top_k, fraud)
        truth_now = None
        if truth_index is not None:
            at, truth_now = _truth_at(truth_index, eq, at, t)
        per_world = {}
        for name, world in worlds.items():
            scores = world.model.score(at)
            spots = blind_spots(scores, world.known(t, rspec.outcome.happened), spec=monitor)
            per_world[name] = (scores, spots, world.fitted_at)
        for j, policy in enumerate(rspec.policies):
            rng = np.random.default_rng([rspec.seed, day_number(t), j])
            scores, spots, fitted = per_world[world_of[policy.name]]
            log, row_of = _plan_log(policy, t, next_t, scores, spots, rng, monitor)
            if pool:
                log["inspector"] = pd.Series(assign_inspectors(log["entity_id"], pool, rng, previous[policy.name]),
                                             dtype="str")
                previous[policy.name] = log[["entity_id", "inspector"]]
            spot_rows = scores["entity_id"].isin(spots["entity_id"]).to_numpy()
            row = {"as_of": t, "policy": policy.name, "n_alive": len(scores), "inspections": len(log),
                   "blind_spots": int(spot_rows.sum()), "blind_spot_inspections": int(log["blind_spot"].sum()),
                   "model_fitted": fitted}
            if truth_now is not None:
                found, judged = _judge_on_truth(log, row_of, spot_rows, *truth_now)
            else:
                found, judged = _judge_on_records(log, scores, records, rspec, catalog, t, next_t)
            row.update(judged)
            log["found"] = found
            row["compliant_disturbed"] = len(log) - int(found.sum())
            quarter_rows.append(row)
            logs.append(log)
            if loop_from is not None:
                worlds[policy.name].log.append(log[["entity_id", "day", "found"]])
    quarters = _quarter_table(quarter_rows)
    inspections = pd.concat(logs, ignore_index=True)
    fraud = pd.DataFrame(fraud_rows)
    return Replay(spec=rspec, quarters=quarters, inspections=inspections, fits=pd.DataFrame(fits), fraud=fraud)


def _fit_fraud(panel: Panel, records: Mapping[str, pd.DataFrame], t: pd.Timestamp, fraud: _Target, spec: ReplaySpec,
               monitor: RankingSpec) -> tuple[RiskModel | None, dict[str, Any]]:
    """The fraud model of quarter ``t``, or None (logged) when the records hold too few cases to fit."""
    try:
        return _fit(panel, _World("records", records), t, fraud, spec, "all", monitor)
    except ValueError as exc:
        logger.warning("replay %s: the fraud model cannot be fitted (%s); fraud not judged until the next refit",
                       t.date(), exc)
        return None, {"as_of": t, "world": "records", "target": fraud.model.name, "error": str(exc)}


def _truth_at(truth_index: pd.MultiIndex, eq: pd.DataFrame, at: pd.DataFrame,
              t: pd.Timestamp) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    """The panel rows of ``t`` that have a truth row, and their ``violated`` and ``p_violation``."""
    key = pd.MultiIndex.from_arrays([pd.DatetimeIndex([t] * len(at)).astype("datetime64[ns]"), at["entity_id"].astype(str)])
    pos = truth_index.get_indexer(key)
    if (pos < 0).any():
        logger.info("replay %s: %d scored entities without a truth row left out", t.date(), int((pos < 0).sum()))
        at = at.loc[pos >= 0].reset_index(drop=True)
        pos = pos[pos >= 0]
    return at, (eq["violated"].to_numpy(bool)[pos], eq["p_violation"].to_numpy(np.float64)[pos])


def _plan_log(policy: PolicySpec, t: pd.Timestamp, next_t: pd.Timestamp, scores: pd.DataFrame, spots: pd.DataFrame,
              rng: np.random.Generator, monitor: RankingSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """The policy's inspections of the quarter (one row each) and their rows in ``scores``."""
    plan = _draw(policy, scores, spots, rng, monitor)
    entity = plan["entity_id"].to_numpy(dtype=object)
    row_of = pd.Index(scores["entity_id"].to_numpy(dtype=object)).get_indexer(entity)
    log = pd.DataFrame({
        "policy": policy.name, "as_of": t, "entity_id": pd.Series(entity, dtype="str"),
        "grade": scores["grade"].astype(str).to_numpy()[row_of],
        "probability": scores["probability"].to_numpy()[row_of], "reason": plan["reason"].to_numpy(),
        "day": _days(t, next_t, len(plan)), "blind_spot": np.isin(entity, spots["entity_id"].to_numpy(dtype=object)),
    })  # fmt: skip
    return log, row_of


def _judge_on_truth(log: pd.DataFrame, row_of: np.ndarray, spot_rows: np.ndarray, violated: np.ndarray,
                    p_true: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Found = the inspected entity violated that quarter; random and the truth's limit beside it."""
    found = violated[row_of]
    is_spot = log["blind_spot"].to_numpy(bool)
    limit, limit_p = _top(p_true, violated, len(log))
    spot_limit, _ = _top(p_true[spot_rows], violated[spot_rows], int(is_spot.sum()))
    log["p_violation"] = p_true[row_of]
    return found, {
        "violators_total": int(violated.sum()), "violators_found": int(found.sum()),
        "random_expected": len(log) * violated.mean(), "limit_found": limit,
        "expected_found": float(p_true[row_of].sum()), "limit_expected": limit_p,
        "blind_spot_found": int(found[is_spot].sum()), "blind_spot_limit_found": spot_limit,
    }  # fmt: skip


def _judge_on_records(log: pd.DataFrame, scores: pd.DataFrame, records: Mapping[str, pd.DataFrame], spec: ReplaySpec,
                      catalog: SourceCatalog, t: pd.Timestamp, next_t: pd.Timestamp) -> tuple[np.ndarray, dict[str, Any]]:
    """Found = the records show an inspection of the planned entity in the quarter, with a violation."""
    window = (np.full(len(log), row_days(pd.Series([t]))[0]), np.full(len(log), row_days(pd.Series([next_t]))[0]))
    happened = known_in_window(records, [spec.outcome.happened], log["entity_id"], *window, catalog)
    found = happened & known_in_window(records, [spec.outcome.found], log["entity_id"], *window, catalog)
    judged = _records_baseline(records, spec, catalog, scores, t, next_t, int(happened.sum()))
    judged.update({"happened": int(happened.sum()), "violators_found": int(found.sum()),
                   "blind_spot_found": int(found[log["blind_spot"].to_numpy(bool)].sum())})
    return found, judged


def _records_baseline(records: Mapping[str, pd.DataFrame], spec: ReplaySpec, catalog: SourceCatalog,
                      scores: pd.DataFrame, t: pd.Timestamp, next_t: pd.Timestamp, m: int) -> dict[str, Any]:
    """On real records: the bureau's own inspections of the quarter as the comparison.

    ``violators_total`` counts scored entities whose recorded inspections of the quarter
    found a violation; ``random_expected`` is ``m`` (the planned inspections that
    happened) times the violation rate among the entities the bureau actually
    inspected that quarter.
    """
    ids = scores["entity_id"]
    start = np.full(len(ids), row_days(pd.Series([t]))[0])
    stop = np.full(len(ids), row_days(pd.Series([next_t]))[0])
    inspected = known_in_window(records, [spec.outcome.happened], ids, start, stop, catalog)
    found = inspected & known_in_window(records, [spec.outcome.found], ids, start, stop, catalog)
    rate = found.sum() / inspected.sum() if inspected.any() else np.nan
    return {"violators_total": int(found.sum()), "random_expected": m * rate}


def _quarter_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(rows).reindex(columns=list(QUARTER_COLUMNS))
    out["as_of"] = out["as_of"].astype("datetime64[ns]")
    out["policy"] = out["policy"].astype("str")
    for c in _SUMMED + ("n_alive", "blind_spots"):
        out[c] = pd.to_numeric(out[c], errors="coerce")
    inspected = out["inspections"].replace(0, np.nan)
    out["hit_rate"] = out["violators_found"] / (out["happened"].where(out["happened"].notna(), inspected)).replace(0, np.nan)
    out["vs_random"] = out["violators_found"] / out["random_expected"].replace(0, np.nan)
    out["share_of_limit"] = out["violators_found"] / out["limit_found"].replace(0, np.nan)
    out["blind_spot_share_of_limit"] = out["blind_spot_found"] / out["blind_spot_limit_found"].replace(0, np.nan)
    return out
