"""The quarterly scoring job: records in, a grade ledger out.

:func:`score_quarter` is what a bureau schedules (``riskml score`` on the command line):
read the records (a folder or a database), validate them strictly, score every target
with its ``champion`` at the as-of date, explain the top reasons, publish all targets
to the ledger in one transaction, and log a monitoring run (score PSI and grade
migration against the previous quarter in the ledger). Every step that can fail runs
before the publish: a failure leaves the ledger as it was. A rerun of the same quarter
with the same champions adds nothing to the ledger.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskml import records as rec
from riskml._pipeline import feature_spec_of, latest_quarter, predict, warning_hits, warnings_per_row
from riskml._time import as_of_date
from riskml.features import build_panel
from riskml.ledger import publish, read_ledger
from riskml.ledger._ledger import ledger_rows
from riskml.monitor import monitor as monitor_report
from riskml.tracking._resolve import resolve_model

if TYPE_CHECKING:
    from riskml._time import DateLike
    from riskml.features._spec import FeatureSpecLike
    from riskml.records import SourceCatalog
    from riskml.records._boundary import RecordsLike

__all__ = ["ScoringJobError", "ScoringJobResult", "score_quarter"]

logger = logging.getLogger(__name__)


class ScoringJobError(RuntimeError):
    """A step of the scoring job failed; the message names the step and what to do."""


@dataclass(frozen=True)
class ScoringJobResult:
    """What :func:`score_quarter` did.

    Attributes
    ----------
    as_of : Timestamp
        The scored as-of date.
    n_records : int
        Records read.
    scored : dict of str to int
        Entities scored per target.
    versions : dict of str to str
        The champion version used per target.
    added, already : int
        Ledger rows appended, and rows already there (a rerun adds 0).
    monitor_runs : dict of str to str
        The MLflow run of each target's monitoring report (targets with no earlier
        quarter in the ledger have none).
    seconds : dict of str to float
        Wall time per step (read, validate, score, publish, monitor).
    """

    as_of: pd.Timestamp
    n_records: int
    scored: dict[str, int]
    versions: dict[str, str]
    added: int
    already: int
    monitor_runs: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _step(name: str, seconds: dict[str, float], fn: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    except ScoringJobError:
        raise
    except Exception as exc:
        state = ("the quarter is published; a rerun adds nothing to the ledger and retries the monitoring"
                 if name == "monitor" else "nothing was published")
        raise ScoringJobError(f"{name} failed ({state}): {type(exc).__name__}: {exc}") from exc
    finally:
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started


def score_quarter(
    records: RecordsLike,
    ledger: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    targets: Sequence[str] = ("credit", "fraud"),
    tables: Mapping[str, str] | None = None,
    sources: SourceCatalog | str | os.PathLike[str] | None = None,
    feature_spec: FeatureSpecLike = None,
    reasons: int = 3,
    monitor: bool = True,
) -> ScoringJobResult:
    """Score one quarter with the champions and publish it to the ledger.

    Parameters
    ----------
    records : str, PathLike or Records
        A records folder, a database URL (``postgresql://...``) or records.
    ledger : str or PathLike
        A database URL or a Parquet folder (see :func:`riskml.ledger.publish`).
    as_of : date-like, optional
        Default: the latest quarter start the records cover.
    targets : sequence of str, default ("credit", "fraud")
        Each is scored with the ``champion`` of ``riskml-<target>``.
    tables : mapping of str to str, optional
        For a database: source -> table or query (see :func:`riskml.records.read`).
    sources : SourceCatalog or path, optional
        The sources declaration (default built-in).
    feature_spec : path or FeatureSpec, optional
        The feature library the champions were trained with.
    reasons : int, default 3
        Top reasons per entity kept in the ledger (at most 3).
    monitor : bool, default True
        Log a monitoring run per target against the ledger's previous quarter.

    Returns
    -------
    ScoringJobResult

    Raises
    ------
    ScoringJobError
        Naming the step that failed (read, validate, champion, score, publish,
        monitor); nothing is published unless every score is ready.

    Examples
    --------
    Without a champion nothing is scored and nothing is published; the error names
    the step:

    >>> import os, tempfile
    >>> import riskml
    >>> market = riskml.synth.make_market(n_entities=200, seed=0)
    >>> server = os.environ.pop("MLFLOW_TRACKING_URI", None)
    >>> home = os.environ.get("RISKML_HOME")
    >>> os.environ["RISKML_HOME"] = tempfile.mkdtemp()
    >>> ledger = os.path.join(os.environ["RISKML_HOME"], "ledger")
    >>> riskml.score_quarter(market.records, ledger, targets=("fraud",))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    riskml._job.ScoringJobError: champion failed (nothing was published): ...
    >>> os.path.exists(ledger)
    False
    >>> if home: os.environ["RISKML_HOME"] = home
    >>> if server: os.environ["MLFLOW_TRACKING_URI"] = server
    """
    if not 0 <= reasons <= 3:
        raise ValueError(f"reasons must be between 0 and 3 (the ledger keeps three); got {reasons}")
    seconds: dict[str, float] = {}
    if isinstance(records, rec.Records):
        raw = records
    else:
        raw = _step("read", seconds, rec.read, records, sources, tables=tables)
    clean = raw if raw.validated else _step("validate", seconds, rec.validate, raw, mode="strict")
    models = {t: _step("champion", seconds, resolve_model, t, None) for t in targets}
    spec = feature_spec_of(feature_spec)
    when = latest_quarter(clean, spec) if as_of is None else as_of_date(as_of)
    panel = _step("panel", seconds, build_panel, clean, [when], spec)
    rows, scored = [], {}
    for target, model in models.items():
        scores = _step("score", seconds, predict, panel, target=target, model=model, explain=reasons)
        scored[target] = len(scores)
        rows.append(ledger_rows(scores, model))
    # warnings need the records: predict adds them only when it builds the panel itself
    _add_warnings(rows, clean)
    result = _step("publish", seconds, publish, rows, ledger)
    monitor_runs = _step("monitor", seconds, _monitor, rows, ledger, clean) if monitor else {}
    out = ScoringJobResult(as_of=when, n_records=clean.n_records, scored=scored,
                           versions={t: str(m.metadata.get("model_version")) for t, m in models.items()},
                           added=result.added, already=result.already, monitor_runs=monitor_runs, seconds=seconds)
    logger.info("scored %s at %s: %d ledger rows added, %d already there", sorted(scored), when.date(), out.added,
                out.already)
    return out


def _add_warnings(rows: list[pd.DataFrame], records: Any) -> None:
    # the targets share the panel's dates: the rules run over the records once for all
    if not rows:
        return
    hits = warning_hits(records, pd.DatetimeIndex(pd.concat([frame["as_of"] for frame in rows]).unique()))
    if hits is None:
        return
    for frame in rows:
        frame["warnings"] = pd.array(warnings_per_row(hits, frame), dtype="Int64")


def _monitor(rows: list[pd.DataFrame], ledger: Any, records: Any) -> dict[str, str]:
    runs = {}
    for current in rows:
        target, when = current["target"].iloc[0], current["as_of"].iloc[0]
        history = read_ledger(ledger, target=target)
        earlier = history.loc[history["as_of"] < when]
        if earlier.empty:
            logger.info("monitor: no quarter before %s of %s in the ledger; no monitoring run", when, target)
            continue
        last = earlier.loc[earlier["as_of"] == earlier["as_of"].max()]
        newest = max(last["model_version"].unique(), key=lambda v: (len(v), v))  # "10" after "9"
        last = last.loc[last["model_version"] == newest]
        report = monitor_report(last, current, entities=records)
        runs[target] = report.log_to_mlflow()
    return runs
