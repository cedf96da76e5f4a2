"""The grade ledger (评级台账): where published grades leave riskml.

Every quarter a bureau publishes each entity's grade to other systems (loans, the
public credit portal, inspection planning). :func:`publish` appends the scores of
:func:`riskml.predict` with the model that made them (name, version, digest) to a
ledger keyed by (entity, as-of date, target, model version): append-only (rows are
never updated or deleted), idempotent (a rerun of the same quarter with the same model
adds nothing) and atomic (one transaction: a failure leaves no partial quarter).
:func:`read_ledger` gives the history, from which grade migrations over quarters come.

A ledger is a PostgreSQL table (``postgresql://...``) or, embedded, a folder of
Parquet files.
"""

from __future__ import annotations

from riskml.ledger._ledger import PublishResult, ledger_rows, publish, read_ledger

__all__ = [
    "PublishResult",
    "ledger_rows",
    "publish",
    "read_ledger",
]
