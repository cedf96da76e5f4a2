"""Appending scores to the grade ledger and reading its history.

Rows are built once (:func:`ledger_rows`: the scores, the model's name, version and
digest, the top three reasons as flat columns) and then written by one of two
backends that keep the same three promises:

* **PostgreSQL** (``postgresql://...``): the table is created when missing with the
  key as primary key; the rows go by Arrow bulk copy into a temporary stage table and
  from there into the ledger with ``ON CONFLICT DO NOTHING``, one target after the
  other, all in one transaction that is committed only at the end.
* **Parquet** (a folder, the embedded default): one file per (target, as-of date, model
  version); rows already in a file are not written again, and every file is first
  written under a temporary name and renamed into place only once all are written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskml._time import as_of_dates
from riskml.records._io import to_parquet
from riskml.records._database import _to_frame, connect, is_database_url, quote, redact

if TYPE_CHECKING:
    from riskml._time import DateLike
    from riskml.models import RiskModel

__all__ = ["DEFAULT_TABLE", "LEDGER_COLUMNS", "LEDGER_KEY", "PublishResult", "ledger_rows", "model_digest", "publish",
           "read_ledger"]

logger = logging.getLogger(__name__)

#: The table name in a database ledger.
DEFAULT_TABLE = "riskml_grade_ledger"
#: Reasons kept per row (the top ones, as predict ranks them).
LEDGER_REASONS = 3
#: A row's identity: a rerun with the same key adds nothing.
LEDGER_KEY: tuple[str, ...] = ("entity_id", "as_of", "target", "model_version")
_REASON_PARTS = ("feature", "points", "text_zh", "text_en")
#: Columns of a ledger, in order.
LEDGER_COLUMNS: tuple[str, ...] = (
    *LEDGER_KEY, "model_name", "model_digest", "probability", "score", "grade_by_score", "grade", "override",
    "points_to_next_grade", "white_list", "warnings",
    *[f"reason_{j}_{part}" for j in range(1, LEDGER_REASONS + 1) for part in _REASON_PARTS],
    "published_at",
)
_REQUIRED = ("entity_id", "as_of", "probability", "score", "grade_by_score", "grade", "override")
_SQL_DIR = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` did.

    Attributes
    ----------
    added : int
        Rows appended.
    already : int
        Rows whose key was already in the ledger (left untouched).
    ledger : str
        Where (password hidden).

    Examples
    --------
    >>> PublishResult(added=3, already=0, ledger="ledger/").added
    3
    """

    added: int
    already: int
    ledger: str


def _sql(file: str, **parts: str) -> str:
    text = (_SQL_DIR / f"{file}.sql").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return body.format(**parts).strip()


def model_digest(model: Any) -> str:
    """SHA-256 of what makes a model's scores: booster, calibration, features, spec hash.

    The digest stored with the model (``metadata["digest"]``) when there is one.

    Examples
    --------
    >>> from riskml.models._bundle import _tiny_model
    >>> len(model_digest(_tiny_model()))
    64
    """
    stored = model.metadata.get("digest")
    if stored:
        return str(stored)
    identity = json.dumps({"calib": [model.calib_a, model.calib_b], "features": list(model.features),
                           "spec_hash": model.spec_hash}, sort_keys=True)
    return hashlib.sha256((model.booster.model_to_string() + identity).encode("utf-8")).hexdigest()


def ledger_rows(scores: pd.DataFrame, model: RiskModel, *, version: str | int | None = None,
                published_at: DateLike | None = None) -> pd.DataFrame:
    """The ledger rows of one target's scores (the output of :func:`riskml.predict`).

    Parameters
    ----------
    scores : DataFrame
        ``entity_id``, ``as_of``, ``probability``, ``score``, ``grade_by_score``,
        ``grade``, ``override``; ``points_to_next_grade``, ``white_list``,
        ``warnings`` and ``reason_{j}_*`` when present.
    model : RiskModel
        The model that scored them; a registered one knows its name and version.
    version : str or int, optional
        The model version, when the model was not loaded from the registry.
    published_at : datetime-like, optional
        Default now (UTC).

    Returns
    -------
    DataFrame
        ``LEDGER_COLUMNS``.

    Raises
    ------
    ValueError
        When a required column is missing or holds nulls, or the model's version is
        unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> model = _tiny_model()
    >>> scores = model.score(pd.DataFrame({"entity_id": ["E0000001"], "as_of": [pd.Timestamp("2024-01-01")],
    ...                                    "x": [0.5]}))
    >>> rows = ledger_rows(scores, model, version=1)
    >>> rows[["entity_id", "target", "model_version", "reason_1_feature"]].iloc[0].tolist()
    ['E0000001', 'fraud', '1', '']
    """
    missing = [c for c in _REQUIRED if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lack column(s) {missing} the ledger needs; pass the output of riskml.predict")
    nulls = {c: int(scores[c].isna().sum()) for c in _REQUIRED if scores[c].isna().any()}
    if nulls:
        raise ValueError(f"scores hold nulls in {nulls}; the ledger takes complete grades only")
    version = version if version is not None else model.metadata.get("model_version")
    if version is None:
        raise ValueError("the model has no registered version (it was not loaded from the registry); "
                         "pass version= or publish the champion's scores")
    n = len(scores)
    when = pd.Timestamp.now(tz="UTC").tz_localize(None) if published_at is None else pd.Timestamp(published_at)
    out = pd.DataFrame({
        "entity_id": scores["entity_id"].astype("str").to_numpy(),
        "as_of": (as_of_dates(scores["as_of"], what="scores['as_of']") if n else pd.DatetimeIndex([])).to_numpy(
            dtype="datetime64[us]"),
        "target": model.target,
        "model_version": str(version),
        "model_name": model.metadata.get("model_name", f"riskml-{model.target}"),
        "model_digest": model_digest(model),
        "probability": scores["probability"].to_numpy(dtype=np.float64),
        "score": scores["score"].to_numpy(dtype=np.float64),
        "grade_by_score": scores["grade_by_score"].astype("str").to_numpy(),
        "grade": scores["grade"].astype("str").to_numpy(),
        "override": scores["override"].astype("str").to_numpy(),
    }, index=pd.RangeIndex(n))  # fmt: skip
    out["points_to_next_grade"] = _column(scores, "points_to_next_grade", np.nan, "float64")
    out["white_list"] = _column(scores, "white_list", pd.NA, "boolean")
    out["warnings"] = _column(scores, "warnings", pd.NA, "Int64")
    for j in range(1, LEDGER_REASONS + 1):
        for part in _REASON_PARTS:
            name = f"reason_{j}_{part}"
            if part == "points":
                out[name] = _column(scores, name, np.nan, "float64")
            else:
                out[name] = pd.Series(_column(scores, name, "", "str")).fillna("").to_numpy()
    out["published_at"] = np.full(n, when.to_datetime64(), dtype="datetime64[us]")
    return out[list(LEDGER_COLUMNS)]


def _column(scores: pd.DataFrame, name: str, missing: Any, dtype: str) -> Any:
    if name in scores.columns:
        return pd.array(scores[name].to_numpy(), dtype=dtype)
    return pd.array([missing] * len(scores), dtype=dtype)


def publish(rows: pd.DataFrame | list[pd.DataFrame], ledger: str | os.PathLike[str], *, model: RiskModel | None = None,
            version: str | int | None = None, table: str = DEFAULT_TABLE) -> PublishResult:
    """Append ledger rows (one or several targets) to the ledger, all or nothing.

    Parameters
    ----------
    rows : DataFrame or list of DataFrame
        From :func:`ledger_rows`; a list publishes several targets in one
        transaction. With ``model``: the scores of :func:`riskml.predict` instead.
    ledger : str or PathLike
        ``postgresql://...`` or a folder for Parquet files.
    model : RiskModel, optional
        The model that made the scores, when ``rows`` are scores.
    version : str or int, optional
        With ``model``: its version, when it was not loaded from the registry.
    table : str, default ``DEFAULT_TABLE``
        The database table (``schema.table`` allowed).

    Returns
    -------
    PublishResult
        Rows added and rows already there (a rerun adds 0).

    Raises
    ------
    ValueError
        When rows lack a ledger column or repeat a key.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from riskml.models._bundle import _tiny_model
    >>> model = _tiny_model()
    >>> scores = model.score(pd.DataFrame({"entity_id": ["E0000001", "E0000002"],
    ...                                    "as_of": pd.Timestamp("2024-01-01"), "x": [0.5, 2.0]}))
    >>> folder = tempfile.mkdtemp()
    >>> publish(scores, folder, model=model, version=1).added
    2
    >>> publish(ledger_rows(scores, model, version=1), folder).added  # the rerun adds nothing
    0
    >>> read_ledger(folder)["entity_id"].tolist()
    ['E0000001', 'E0000002']
    """
    parts = rows if isinstance(rows, list) else [rows]
    if model is not None:
        parts = [ledger_rows(part, model, version=version) for part in parts]
    frame = pd.concat(parts, ignore_index=True)
    missing = [c for c in LEDGER_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"ledger rows lack {missing}; build them with riskml.ledger.ledger_rows")
    frame = frame[list(LEDGER_COLUMNS)]
    repeated = int(frame.duplicated(list(LEDGER_KEY)).sum())
    if repeated:
        raise ValueError(f"{repeated} ledger row(s) repeat a key {LEDGER_KEY}; score each entity once per quarter")
    if is_database_url(ledger):
        result = _publish_database(frame, str(ledger), table)
    else:
        result = _publish_parquet(frame, Path(ledger))
    logger.info("published %d row(s) to %s (%d already there)", result.added, result.ledger, result.already)
    return result


def _publish_database(frame: pd.DataFrame, url: str, table: str) -> PublishResult:
    import pyarrow as pa

    columns = ", ".join(quote(c) for c in LEDGER_COLUMNS)
    stage = "riskml_ledger_stage"
    added = 0
    with connect(url) as conn, conn.cursor() as cur:
        try:
            cur.execute(_sql("create", table=quote(table)))
            for _, part in frame.groupby("target", sort=True):
                arrow = pa.Table.from_pandas(part, preserve_index=False)
                arrow = arrow.set_column(arrow.schema.get_field_index("as_of"), "as_of",
                                         arrow.column("as_of").cast(pa.date32()))
                cur.adbc_ingest(stage, arrow, mode="replace", temporary=True)
                cur.execute(_sql("insert", table=quote(table), stage=quote(stage), columns=columns))
                added += max(cur.rowcount, 0)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return PublishResult(added=added, already=len(frame) - added, ledger=f"{redact(url)} table {table}")


def _file_name(target: str, as_of: Any, version: str) -> str:
    return f"{target}_{pd.Timestamp(as_of).date()}_v{version}.parquet"


def _publish_parquet(frame: pd.DataFrame, folder: Path) -> PublishResult:
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    added = 0
    try:
        for (target, as_of, version), part in frame.groupby(["target", "as_of", "model_version"], sort=True):
            target_file = folder / _file_name(target, as_of, version)
            if target_file.exists():
                old = pd.read_parquet(target_file)
                known = pd.MultiIndex.from_frame(old[list(LEDGER_KEY)].astype({"as_of": "datetime64[us]"}))
                keys = pd.MultiIndex.from_frame(part[list(LEDGER_KEY)].astype({"as_of": "datetime64[us]"}))
                part = part.loc[~keys.isin(known)]
                if part.empty:
                    continue
                part = pd.concat([old, part], ignore_index=True)
                added += len(part) - len(old)
            else:
                added += len(part)
            fd, tmp = tempfile.mkstemp(prefix=f".{target_file.stem}.", suffix=".parquet", dir=folder)
            os.close(fd)
            staged.append((tmp, target_file))
            to_parquet(part, tmp)
        for tmp, target_file in staged:  # only once every file is written
            os.replace(tmp, target_file)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.remove(tmp)
    return PublishResult(added=added, already=len(frame) - added, ledger=str(folder))


def read_ledger(ledger: str | os.PathLike[str], *, target: str | None = None, entity_id: str | None = None,
                table: str = DEFAULT_TABLE) -> pd.DataFrame:
    """The ledger's history, oldest quarter first.

    Parameters
    ----------
    ledger : str or PathLike
        ``postgresql://...`` or the Parquet folder.
    target, entity_id : str, optional
        Only these rows.
    table : str, default ``DEFAULT_TABLE``

    Returns
    -------
    DataFrame
        ``LEDGER_COLUMNS``, sorted by ``as_of``, ``target``, ``entity_id``,
        ``model_version``. Two quarters of it give a grade migration
        (:func:`riskml.monitor.migration_matrix`).

    Examples
    --------
    >>> import tempfile
    >>> read_ledger(tempfile.mkdtemp()).columns[:4].tolist()
    ['entity_id', 'as_of', 'target', 'model_version']
    """
    if is_database_url(ledger):
        frame = _read_database(str(ledger), table, target, entity_id)
    else:
        files = sorted(Path(ledger).glob("*.parquet")) if Path(ledger).is_dir() else []
        frame = (pd.concat([pd.read_parquet(f) for f in files], ignore_index=True) if files
                 else pd.DataFrame({c: [] for c in LEDGER_COLUMNS}))
        if target is not None:
            frame = frame.loc[frame["target"] == target]
        if entity_id is not None:
            frame = frame.loc[frame["entity_id"] == entity_id]
    if len(frame):
        frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.sort_values(["as_of", "target", "entity_id", "model_version"], kind="stable",
                             ignore_index=True)[list(LEDGER_COLUMNS)]


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _read_database(url: str, table: str, target: str | None, entity_id: str | None) -> pd.DataFrame:
    filters = [f"{quote(c)} = {_literal(v)}" for c, v in (("target", target), ("entity_id", entity_id)) if v is not None]
    where = "WHERE " + " AND ".join(filters) if filters else ""
    with connect(url) as conn, conn.cursor() as cur:
        cur.execute(_sql("exists", name=_literal(quote(table))))
        if not cur.fetchone()[0]:  # nothing published yet
            return pd.DataFrame({c: [] for c in LEDGER_COLUMNS})
        cur.execute(_sql("select", table=quote(table), where=where))
        return _to_frame(cur.fetch_arrow_table())
