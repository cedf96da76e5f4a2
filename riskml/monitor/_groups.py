"""Group metrics (分组公平性): does the model flag some districts or industries more often?

For each group (district, industry, entity type, or any registry column) the flag
rate, and with labels the precision and false positive rate of the flag, each as a
ratio to a reference group (the largest by default). A ratio far from 1 (outside
[0.8, 1.25] by default, the "four-fifths" rule read both ways) of the flag rate is a
warning in :func:`riskml.monitor._report.check_thresholds`. A flag rate alone cannot tell bias
from risk (a district with more risky entities is rightly flagged more); where outcomes
are known, :func:`riskml.monitor.fairness_audit` compares error rates with intervals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["GROUP_COLUMNS", "flag_mask", "group_column", "group_metrics", "usable_labels"]

logger = logging.getLogger(__name__)

#: Columns of a group metrics table (after the group index).
GROUP_COLUMNS: tuple[str, ...] = (
    "n", "flagged", "positives", "flag_rate", "precision", "false_positive_rate", "recall",
    "flag_rate_ratio", "precision_ratio", "false_positive_rate_ratio",
)  # fmt: skip
_RATIO_OF = {"flag_rate_ratio": "flag_rate", "precision_ratio": "precision", "false_positive_rate_ratio": "false_positive_rate"}


def flag_mask(scores: pd.DataFrame, flag: str | float | Mapping[str, float]) -> np.ndarray:
    """Which rows a flag rule flags: a grade (``"D"``), a probability threshold
    (a float, or ``{"min_probability": p}``), flagged when ``probability >= p``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"grade": ["A", "D"], "probability": [0.01, 0.4]})
    >>> flag_mask(s, "D").tolist(), flag_mask(s, {"min_probability": 0.3}).tolist()
    ([False, True], [False, True])
    """
    if isinstance(flag, Mapping):
        if set(flag) != {"min_probability"}:
            raise ValueError(f"flag must be a grade, a probability or {{'min_probability': p}}; got {dict(flag)}")
        flag = float(flag["min_probability"])
    if isinstance(flag, str):
        if "grade" not in scores.columns:
            raise ValueError(f"flag {flag!r} is a grade but scores have no 'grade' column")
        return scores["grade"].astype(str).to_numpy(dtype=object, na_value="") == flag
    if isinstance(flag, bool) or not isinstance(flag, int | float) or not 0 <= flag <= 1:
        raise ValueError(f"flag must be a grade or a probability threshold in [0, 1]; got {flag!r}")
    if "probability" not in scores.columns:
        raise ValueError("a probability flag needs a 'probability' column in the scores")
    return scores["probability"].to_numpy(dtype="float64", na_value=np.nan) >= flag


def group_column(scores: pd.DataFrame, by: str, entities: Any) -> pd.Series:
    """The ``by`` group of each scored row: the scores' own column, else the registry's."""
    if by in scores.columns:
        return scores[by]
    if entities is None:
        raise ValueError(f"scores have no {by!r} column; pass entities= (the registry table or the records)")
    table = entities
    if not isinstance(entities, pd.DataFrame):
        catalog = getattr(entities, "catalog", None)
        name = catalog.entity_source if catalog is not None else "entities"
        if name not in entities:
            raise ValueError(f"records have no {name!r} registry table to read {by!r} from")
        table = entities[name]
    if not {"entity_id", by} <= set(table.columns):
        raise ValueError(f"entities must have columns entity_id and {by!r}; got {list(table.columns)}")
    lookup = pd.Series(table[by].to_numpy(), index=table["entity_id"].to_numpy(dtype=object))
    return pd.Series(lookup.reindex(scores["entity_id"].to_numpy(dtype=object)).to_numpy(), index=scores.index)


def usable_labels(scores: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Each scored row's label (float), NaN where missing, incomplete or out of population.

    Rows are matched on ``entity_id`` and ``as_of`` when both frames have it.
    """
    keys = ["entity_id", "as_of"] if "as_of" in scores.columns and "as_of" in labels.columns else ["entity_id"]
    if "label" not in labels.columns:
        raise ValueError(f"labels have no 'label' column; got {list(labels.columns)}")
    usable = np.ones(len(labels), dtype=bool)
    for col in ("complete", "in_population"):
        if col in labels.columns:
            usable &= labels[col].to_numpy(dtype=bool)
    lab = labels.loc[usable, [*keys, "label"]].drop_duplicates(keys)
    merged = scores[keys].merge(lab, on=keys, how="left", validate="one_to_one")
    return merged["label"].to_numpy(dtype="float64", na_value=np.nan)


def group_metrics(
    scores: pd.DataFrame,
    labels: pd.DataFrame | None = None,
    by: str = "district",
    *,
    flag: str | float | Mapping[str, float] = "D",
    reference: str | None = None,
    entities: Any = None,
) -> pd.DataFrame:
    """Flag rate, precision and false positive rate per group, and ratios to a reference.

    Parameters
    ----------
    scores : DataFrame
        ``entity_id`` (and ``as_of``), ``grade`` and/or ``probability``, and the
        ``by`` column unless ``entities`` provides it.
    labels : DataFrame, optional
        ``entity_id`` (and ``as_of``), ``label``; rows whose ``complete`` or
        ``in_population`` is False are left out. Without labels only ``n``,
        ``flagged`` and ``flag_rate`` are computed.
    by : str, default "district"
        The group column.
    flag : str, float or mapping, default "D"
        A grade, or a probability threshold (see :func:`flag_mask`).
    reference : str, optional
        The reference group; default the largest.
    entities : DataFrame or Records, optional
        Where to read ``by`` from when the scores lack it (the registry table, or
        the records whose registry is used).

    Returns
    -------
    DataFrame
        Indexed by group: ``GROUP_COLUMNS`` (``n``, ``flagged``, ``positives``,
        ``flag_rate``, ``precision`` = flagged positives / flagged,
        ``false_positive_rate`` = flagged negatives / negatives, ``recall``, and the
        three ``*_ratio`` columns: value / the reference group's value).
        ``attrs["reference"]`` names the reference group.

    Raises
    ------
    ValueError
        When a needed column is missing or the reference group is absent.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"entity_id": list("abcdef"), "district": ["D01"] * 4 + ["D02"] * 2,
    ...     "grade": ["D", "A", "A", "A", "D", "A"]})
    >>> lab = pd.DataFrame({"entity_id": list("abcdef"), "label": [1, 0, 0, 0, 0, 0]})
    >>> g = group_metrics(s, lab, "district")
    >>> g.loc["D02", ["flag_rate", "flag_rate_ratio", "precision"]].tolist()
    [0.5, 2.0, 0.0]
    """
    if not isinstance(scores, pd.DataFrame) or "entity_id" not in scores.columns:
        raise ValueError("scores must be a DataFrame with an entity_id column")
    group = group_column(scores, by, entities).astype(object)
    flagged = flag_mask(scores, flag)
    frame = pd.DataFrame({"group": group.to_numpy(), "flagged": flagged})
    has_labels = labels is not None
    if has_labels:
        frame["label"] = usable_labels(scores, labels)
        dropped = int(frame["label"].isna().sum())
        if dropped:
            logger.info("group metrics: %d scored rows without a usable label left out", dropped)
        frame = frame.loc[frame["label"].notna()]
    frame = frame.loc[frame["group"].notna()]
    frame["group"] = frame["group"].astype(str)
    out = frame.groupby("group", sort=True).agg(n=("flagged", "size"), flagged=("flagged", "sum"))
    out["flag_rate"] = out["flagged"] / out["n"]
    if has_labels:
        frame["tp"] = frame["flagged"] & (frame["label"] == 1)
        frame["fp"] = frame["flagged"] & (frame["label"] == 0)
        frame["neg"] = frame["label"] == 0
        sums = frame.groupby("group", sort=True)[["label", "tp", "fp", "neg"]].sum()
        out["positives"] = sums["label"].astype(np.int64)
        out["precision"] = sums["tp"] / out["flagged"].replace(0, np.nan)
        out["false_positive_rate"] = sums["fp"] / sums["neg"].replace(0, np.nan)
        out["recall"] = sums["tp"] / out["positives"].replace(0, np.nan)
    else:
        out["positives"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["precision"] = out["false_positive_rate"] = out["recall"] = np.nan
    out["flagged"] = out["flagged"].astype(np.int64)
    if len(out) == 0:
        raise ValueError(f"no rows with a {by!r} group{' and a usable label' if has_labels else ''}")
    ref = reference if reference is not None else str(out["n"].idxmax())
    if ref not in out.index:
        raise ValueError(f"reference group {ref!r} not among the {by} groups {list(out.index)}")
    for ratio, metric in _RATIO_OF.items():
        base = out.at[ref, metric]
        out[ratio] = out[metric] / base if pd.notna(base) and base != 0 else np.nan
    out.index.name = by
    out = out[list(GROUP_COLUMNS)]
    out.attrs["reference"] = ref
    out.attrs["by"] = by
    if not has_labels:
        out.attrs["caveat"] = ("flag rates only: a group flagged more often may hold more risk, not suffer bias; "
                               "audit error rates where outcomes are known (riskml.monitor.fairness_audit)")
    return out
