"""Gated promotion of a challenger to champion (模型晋级).

MLflow's open-source registry has no approval step, so the gate lives here. The gates
are declared in ``experiments/promotion.yaml``:

* absolute gates (minimum AUC, maximum calibration error on the latest test date)
  apply to every challenger and are the only gates for a first model;
* relative gates compare the challenger with the current champion on the **same**
  backtest split (the latest test date both runs evaluated): AUC may not drop by
  more than a margin, calibration error may not rise by more than a margin, and the
  PSI between the two models' scores on that date must stay below a bound;
* the grade model's gates: a credit model whose grades come from a through-the-cycle
  grade model (``grade_score`` in its spec) is graded, and appealed against, by that
  second booster, so when the challenger's run logged the grade model's own backtest
  (``grade_model.<metric>.split_<date>.<population>``), the AUC and calibration gates
  apply to it too, on the same test date, as ``grade_model_min_auc``,
  ``grade_model_max_calibration_error``, ``grade_model_max_auc_drop`` and
  ``grade_model_max_calibration_error_increase``. Against a champion without a grade
  model the two relative ones are recorded as skipped, saying why.

Only when every gate passes does :func:`promote` move ``champion`` (keeping the old
one as ``previous_champion``). Every decision is written to the challenger's run, as
the tag ``riskml.promotion`` and the artifact ``promotion/decision-<time>.json``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from riskml._specs import SpecModel, load_yaml, parse_spec, resolve_spec
from riskml.models._integrity import DIGEST_TAG, digest_of
from riskml.models._metrics import positives_shortfall
from riskml.tracking._psi import psi
from riskml.tracking._registry import resolve_version
from riskml.tracking._runs import GRADE_MODEL_PREFIX, SCORES_ARTIFACT
from riskml.tracking._store import TrackingConfig, configure, registered_model_name

__all__ = ["PromotionGatesLike", "GateResult", "PromotionDecision", "PromotionGates", "evaluation_shortfall", "load_gates", "promote"]

logger = logging.getLogger(__name__)

_SPLIT_METRIC = re.compile(r"^(?P<metric>[^.]+)\.split_(?P<split>\d{4}-\d{2}-\d{2})\.(?P<population>.+)$")
DECISION_TAG = "riskml.promotion"
GRADE_GATE_PREFIX = "grade_model_"


class AbsoluteGates(SpecModel):
    """Gates every challenger must pass.

    Attributes
    ----------
    min_auc : float
        Lowest AUC (``auc_metric``) the challenger may have on the compared test date
        (e.g. 0.60), in [0, 1].
    max_calibration_error : float
        Highest expected calibration error (``calibration_metric``) the challenger may
        have on that date (e.g. 0.05).
    """

    min_auc: float = Field(ge=0, le=1)
    max_calibration_error: float = Field(ge=0)


class RelativeGates(SpecModel):
    """Gates against the current champion on the same backtest split.

    Attributes
    ----------
    max_auc_drop : float
        How far the challenger's AUC may fall below the champion's (e.g. 0.005: the
        challenger needs at least the champion's AUC minus 0.005); 0: no drop at all.
    max_calibration_error_increase : float
        How far the challenger's calibration error may rise above the champion's (e.g.
        0.01).
    max_score_psi : float
        Highest PSI between the champion's and the challenger's scores on the compared
        test date (e.g. 0.25); a larger shift means the new model would regrade many
        entities at once.
    psi_bins : int
        Quantile bins of the champion's scores in that PSI.
    """

    max_auc_drop: float = Field(ge=0)
    max_calibration_error_increase: float = Field(ge=0)
    max_score_psi: float = Field(gt=0)
    psi_bins: int = Field(default=10, ge=2)


class PromotionGates(SpecModel):
    """The promotion spec (``experiments/promotion.yaml``).

    The gates compare backtest metrics logged by training runs as
    ``<metric>.split_<test date>.<population>``, on one test date: the challenger's
    latest, or with a champion the latest date both were evaluated on.

    Attributes
    ----------
    auc_metric : str
        The logged backtest metric the AUC gates read (``auc``).
    calibration_metric : str
        The logged backtest metric the calibration gates read (``calibration_error``,
        the expected calibration error).
    population : str
        The rows those metrics were computed on: ``all`` (every entity) or ``random``
        (the unbiased random-inspection sample).
    absolute : AbsoluteGates
        Gates every challenger must pass; the only gates for a first model.
    relative : RelativeGates
        Gates against the current champion, when there is one.
    grade_model : bool
        Apply the AUC and calibration gates (absolute and relative) to the grade
        model's own backtest too, as gates named ``grade_model_*``, when the
        challenger's run logged one (a model spec with a through-the-cycle
        ``grade_score``). The grade model gives the published score and grades.

    Examples
    --------
    >>> gates = load_gates()
    >>> gates.population, gates.absolute.min_auc > 0.5
    ('all', True)
    """

    auc_metric: str = "auc"
    calibration_metric: str = "calibration_error"
    population: str = "all"
    absolute: AbsoluteGates
    relative: RelativeGates
    grade_model: bool = True


#: What a spec parameter accepts: a :class:`PromotionGates`, a YAML path, its mapping, or None for ``experiments/promotion.yaml``.
PromotionGatesLike = PromotionGates | str | Path | Mapping[str, Any] | None


def load_gates(gates: PromotionGatesLike = None) -> PromotionGates:
    """Promotion gates from a spec object, a dict, a YAML path or the bundled default.

    Examples
    --------
    >>> load_gates({"absolute": {"min_auc": 0.7, "max_calibration_error": 0.02},
    ...             "relative": {"max_auc_drop": 0, "max_calibration_error_increase": 0,
    ...                          "max_score_psi": 0.1}}).absolute.min_auc
    0.7
    """
    if isinstance(gates, PromotionGates):
        return gates
    if isinstance(gates, Mapping):
        return parse_spec(PromotionGates, dict(gates), "<promotion gates>")
    path = resolve_spec("experiments", "promotion" if gates is None else str(gates))
    return parse_spec(PromotionGates, load_yaml(path), path)


@dataclass(frozen=True)
class GateResult:
    """One gate's outcome: the measured value, the threshold and whether it passed.

    Examples
    --------
    >>> GateResult("min_auc", 0.72, 0.6, True, ">=").passed
    True
    """

    name: str
    value: float | None
    threshold: float | None
    passed: bool
    rule: str = ""
    detail: str = ""


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of :func:`promote`.

    Attributes
    ----------
    target : str
    challenger_version : str
    champion_version : str or None
        Champion at decision time (``None`` for a first model).
    promoted : bool
        Whether ``champion`` now points at the challenger.
    gates : tuple of GateResult
    split : str or None
        The test date the gates compared on.
    challenger_run_id : str or None
    challenger_digest, champion_digest : str or None
        SHA-256 over the file digests recorded when each version was logged (the
        files that :func:`~riskml.tracking.load_model` verifies); None for a version
        logged without digests or no champion. After a promotion the champion's
        files are exactly those of ``challenger_digest``.
    decided_at : str
        UTC ISO timestamp.

    Examples
    --------
    >>> d = PromotionDecision("credit", "2", "1", False, (GateResult("min_auc", 0.5, 0.6, False, ">="),))
    >>> d.failed_gates
    ('min_auc',)
    """

    target: str
    challenger_version: str
    champion_version: str | None
    promoted: bool
    gates: tuple[GateResult, ...]
    split: str | None = None
    challenger_run_id: str | None = None
    challenger_digest: str | None = None
    champion_digest: str | None = None
    decided_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def failed_gates(self) -> tuple[str, ...]:
        """Names of the gates that failed."""
        return tuple(g.name for g in self.gates if not g.passed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (as recorded on the challenger's run)."""
        return asdict(self)


def promote(
    target: str,
    *,
    version: int | str | None = None,
    gates: PromotionGatesLike = None,
    config: TrackingConfig | None = None,
) -> PromotionDecision:
    """Promote the challenger of ``riskml-<target>`` to champion if every gate passes.

    Parameters
    ----------
    target : str
        Model target, e.g. ``"credit"``.
    version : int or str, optional
        Version to consider; default the version with alias ``challenger``.
    gates : PromotionGates, dict or path, optional
        Promotion spec; default ``experiments/promotion.yaml``.
    config : TrackingConfig, optional
        Result of :func:`configure`.

    Returns
    -------
    PromotionDecision
        Also recorded on the challenger's run. A refused promotion leaves every alias
        untouched.

    Raises
    ------
    LookupError
        If there is no such version or no challenger.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> from riskml.tracking import configure, promote
    >>> cfg = configure(tempfile.mkdtemp())
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"], "population": ["all"], "auc": [0.81],
    ...                         "calibration_error": [0.02], "n": [1000], "base_rate": [0.05]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> run_id = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                           predictions=scores, plots=False, config=cfg)
    >>> decision = promote("fraud", config=cfg)
    >>> decision.promoted, [(gate.name, gate.passed) for gate in decision.gates]
    (True, [('min_auc', True), ('max_calibration_error', True)])

    A challenger whose own grade model ranks too poorly is refused, naming that model:

    >>> _ = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                      predictions=scores, grade_metrics=metrics.assign(auc=[0.55]), plots=False, config=cfg)
    >>> decision = promote("fraud", config=cfg)
    >>> decision.promoted, decision.failed_gates
    (False, ('grade_model_min_auc',))
    >>> next(g.detail for g in decision.gates if g.name == "grade_model_max_auc_drop")[:47]
    'skipped: champion version 1 has no grade model '
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    spec = load_gates(gates)
    config = config or configure()
    client = config.client()
    name = registered_model_name(target)
    challenger = resolve_version(target, alias="challenger", version=version, config=config)
    try:
        champion = resolve_version(target, alias="champion", config=config)
    except LookupError:
        champion = None

    chall_metrics = _split_metrics(client, challenger.run_id, spec.population)
    results: list[GateResult] = []
    split: str | None = None
    if champion is not None and str(champion.version) == str(challenger.version):
        results.append(GateResult("not_already_champion", None, None, False, "",
                                  f"version {challenger.version} is already the champion"))
    elif not chall_metrics:
        results.append(GateResult("has_backtest_metrics", None, None, False, "",
                                  f"run {challenger.run_id} has no split metrics for population {spec.population!r}"))
    else:
        split = max(chall_metrics)
        if champion is not None:
            champ_metrics = _split_metrics(client, champion.run_id, spec.population)
            common = sorted(set(chall_metrics) & set(champ_metrics))
            if not common:
                results.append(GateResult("same_backtest", None, None, False, "",
                                          "challenger and champion share no test date; run the same backtest"))
                split = None
            else:
                split = common[-1]
                results += _relative_gates(client, spec, chall_metrics[split], champ_metrics[split],
                                           challenger.run_id, champion.run_id, split)
        if split is not None:
            results = _absolute_gates(spec, chall_metrics[split]) + results
            if spec.grade_model:
                results += _grade_model_gates(client, spec, split, challenger, champion)

    passed = bool(results) and all(g.passed for g in results)
    decision = PromotionDecision(
        target=target, challenger_version=str(challenger.version),
        champion_version=None if champion is None else str(champion.version),
        promoted=passed, gates=tuple(results), split=split, challenger_run_id=challenger.run_id,
        challenger_digest=_version_digest(challenger),
        champion_digest=None if champion is None else _version_digest(champion),
    )
    if passed:
        if champion is not None:
            client.set_registered_model_alias(name, "previous_champion", str(champion.version))
        client.set_registered_model_alias(name, "champion", str(challenger.version))
        if _alias_version(client, name, "challenger") == str(challenger.version):
            client.delete_registered_model_alias(name, "challenger")
        logger.info("promoted %s version %s to champion", name, challenger.version)
    else:
        logger.warning("refused to promote %s version %s: failed %s", name, challenger.version, decision.failed_gates)
    _record(client, decision, name)
    return decision


def _version_digest(version: Any) -> str | None:
    recorded = dict(version.tags or {}).get(DIGEST_TAG)
    return None if recorded is None else digest_of(json.loads(recorded))


def _split_metrics(client: Any, run_id: str | None, population: str,
                   prefix: str = "") -> dict[str, dict[str, float]]:
    """``{split: {metric: value}}`` from a run's ``<prefix><metric>.split_<date>.<population>`` metrics."""
    if run_id is None:
        return {}
    out: dict[str, dict[str, float]] = {}
    for key, value in client.get_run(run_id).data.metrics.items():
        match = _SPLIT_METRIC.match(key.removeprefix(prefix)) if key.startswith(prefix) else None
        if match and match["population"] == population:
            out.setdefault(match["split"], {})[match["metric"]] = float(value)
    return out


def _gate(name: str, value: float | None, threshold: float, rule: str, detail: str = "") -> GateResult:
    if value is None or math.isnan(value):
        return GateResult(name, None, threshold, False, rule, detail or "metric not logged")
    ok = value >= threshold if rule == ">=" else value <= threshold
    return GateResult(name, float(value), float(threshold), bool(ok), rule, detail)


def _shortfall(metrics: Mapping[str, float], population: str) -> str | None:
    if "n" not in metrics or "base_rate" not in metrics:  # a run logged without counts: nothing to judge
        return None
    return positives_shortfall(metrics.get("n", math.nan), metrics.get("base_rate", math.nan), population)


def _absolute_gates(spec: PromotionGates, metrics: Mapping[str, float]) -> list[GateResult]:
    # too few confirmed cases make the AUC and calibration error noise: refuse, and say so
    why = _shortfall(metrics, spec.population)
    if why:
        return [GateResult("enough_confirmed_cases", None, None, False, "", why)]
    return [
        _gate("min_auc", metrics.get(spec.auc_metric), spec.absolute.min_auc, ">="),
        _gate("max_calibration_error", metrics.get(spec.calibration_metric), spec.absolute.max_calibration_error, "<="),
    ]


def evaluation_shortfall(target: str, *, version: int | str | None = None,
                         config: TrackingConfig | None = None) -> str | None:
    """Why the newest test split of a registered model cannot be evaluated, if it cannot.

    Reads the ``n`` and ``base_rate`` metrics of the version's run (default: the
    ``challenger``, else the newest version) at its latest test date, on the random
    sample and then on all entities.

    Returns
    -------
    str or None
        e.g. ``"too few confirmed cases to evaluate on the random sample: 0 positives;
        need 10 (test date 2024-01-01)"``; None when every population has enough
        cases or no version exists.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> from riskml.tracking._runs import log_training_run
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> from riskml.tracking import configure
    >>> from riskml.tracking._promotion import evaluation_shortfall
    >>> cfg = configure(tempfile.mkdtemp())
    >>> metrics = pd.DataFrame({"test_as_of": ["2024-01-01"] * 2, "population": ["all", "random"],
    ...                         "auc": [0.81, 0.5], "n": [1000, 40], "base_rate": [0.05, 0.0]})
    >>> scores = pd.DataFrame({"as_of": pd.to_datetime(["2024-01-01"] * 3), "score": [580.0, 610.0, 655.0]})
    >>> _ = log_training_run(_tiny_model(), metrics=metrics, specs={}, panel_schema=pd.DataFrame({"x": [0.5]}),
    ...                      predictions=scores, plots=False, config=cfg)
    >>> print(evaluation_shortfall("fraud", config=cfg))
    too few confirmed cases to evaluate on the random sample: 0 positives; need 10 (test date 2024-01-01, version 1)
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    config = config or configure()
    client = config.client()
    try:
        found = resolve_version(target, alias=None if version is not None else "challenger", version=version,
                                config=config)
    except LookupError:
        versions = client.search_model_versions(f"name = '{registered_model_name(target)}'")
        if not versions:
            return None
        found = max(versions, key=lambda v: int(v.version))
    for population in ("random", "all"):
        per_split = _split_metrics(client, found.run_id, population)
        if per_split:
            split = max(per_split)
            why = _shortfall(per_split[split], population)
            if why:
                return f"{why} (test date {split}, version {found.version})"
    return None


def _relative_gates(client: Any, spec: PromotionGates, chall: Mapping[str, float], champ: Mapping[str, float],
                    chall_run: str, champ_run: str, split: str) -> list[GateResult]:
    rel = spec.relative
    results = _comparison_gates(spec, chall, champ)
    try:
        value = psi(_scores(client, champ_run, split), _scores(client, chall_run, split), bins=rel.psi_bins)
        detail = f"scores on {split}"
    except (OSError, ValueError, KeyError) as exc:
        value, detail = None, f"scores on {split} unavailable: {exc}"
    results.append(_gate("max_score_psi", value, rel.max_score_psi, "<=", detail))
    return results


def _comparison_gates(spec: PromotionGates, chall: Mapping[str, float], champ: Mapping[str, float]) -> list[GateResult]:
    """The challenger's AUC drop and calibration error rise against the champion's."""
    rel = spec.relative
    auc_c, auc_p = chall.get(spec.auc_metric), champ.get(spec.auc_metric)
    drop = None if auc_c is None or auc_p is None else auc_p - auc_c
    ce_c, ce_p = chall.get(spec.calibration_metric), champ.get(spec.calibration_metric)
    rise = None if ce_c is None or ce_p is None else ce_c - ce_p
    return [_gate("max_auc_drop", drop, rel.max_auc_drop, "<=", f"champion {auc_p}, challenger {auc_c}"),
            _gate("max_calibration_error_increase", rise, rel.max_calibration_error_increase, "<=",
                  f"champion {ce_p}, challenger {ce_c}")]


def _grade_model_gates(client: Any, spec: PromotionGates, split: str, challenger: Any,
                       champion: Any | None) -> list[GateResult]:
    """The AUC and calibration gates on the grade model's own backtest, named ``grade_model_*``.

    No gates when the challenger's run logged no grade model (its grades come from the
    point-in-time model, which the other gates judge), or when its test date has too
    few confirmed cases: both models are evaluated on the same labelled rows, so the
    point-in-time model's ``enough_confirmed_cases`` gate has already refused.
    """
    chall = _split_metrics(client, challenger.run_id, spec.population, GRADE_MODEL_PREFIX)
    if not chall or (split in chall and _shortfall(chall[split], spec.population)):
        return []
    if split not in chall:
        return [GateResult(GRADE_GATE_PREFIX + "backtest", None, None, False, "",
                           f"run {challenger.run_id} logged the grade model's metrics for {sorted(chall)}, not for "
                           f"the compared test date {split}; train it with the same backtest")]
    results = _absolute_gates(spec, chall[split])
    if champion is not None:
        champ = _split_metrics(client, champion.run_id, spec.population, GRADE_MODEL_PREFIX)
        if split in champ:
            results += _comparison_gates(spec, chall[split], champ[split])
        else:
            why = ("has no grade model (its run logged no grade_model.* metrics)" if not champ
                   else f"logged no grade-model metrics for {split}")
            detail = (f"skipped: champion version {champion.version} {why}, so there is nothing to compare; "
                      "the absolute grade-model gates apply")
            rel = spec.relative
            results += [GateResult("max_auc_drop", None, rel.max_auc_drop, True, "<=", detail),
                        GateResult("max_calibration_error_increase", None, rel.max_calibration_error_increase, True,
                                   "<=", detail)]
    return [replace(g, name=GRADE_GATE_PREFIX + g.name) for g in results]


def _scores(client: Any, run_id: str, split: str) -> pd.Series:
    with tempfile.TemporaryDirectory(prefix="riskml-scores-") as tmp:
        path = client.download_artifacts(run_id, SCORES_ARTIFACT, tmp)
        scores = pd.read_parquet(path)
    on_split = scores.loc[scores["as_of"] == pd.Timestamp(split), "score"]
    if on_split.empty:
        raise ValueError(f"run {run_id} logged no scores for {split}")
    return on_split


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _record(client: Any, decision: PromotionDecision, name: str) -> None:
    payload = decision.to_dict()
    summary = {"promoted": decision.promoted, "decided_at": decision.decided_at, "split": decision.split,
               "champion_version": decision.champion_version, "champion_digest": decision.champion_digest,
               "challenger_digest": decision.challenger_digest,
               "gates": {g.name: [g.value, g.threshold, g.passed] for g in decision.gates}}
    run_id = decision.challenger_run_id
    if run_id is not None:
        client.set_tag(run_id, DECISION_TAG, json.dumps(summary, default=str))
        stamp = decision.decided_at.replace(":", "").replace("+0000", "Z")
        client.log_dict(run_id, payload, f"promotion/decision-{stamp}.json")
    client.set_model_version_tag(name, decision.challenger_version, "promotion",
                                 "promoted" if decision.promoted else "refused: " + ",".join(decision.failed_gates))
