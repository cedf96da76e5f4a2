"""The scorecard model kind: a points table (评分卡) a bureau can publish.

Chosen in a model spec with ``model: {kind: scorecard}``. One fit has three steps:

1. **Binning and WoE regression** (:func:`fit_woe_regression`, on optbinning's
   ``BinningProcess`` and ``Scorecard``). Each numeric feature is cut into at most
   ``max_bins`` ranges whose event rate rises (``direction: 1``) or falls
   (``direction: -1``) monotonically, as the feature catalog declares; features
   without a direction get a monotone trend of either sign, categoricals are grouped
   by event rate. Features with an information value below ``min_iv`` are left out.
   A logistic regression on the bins' weights of evidence (WoE) follows, with every
   coefficient bounded at or below zero: optbinning's WoE is
   ``ln(non-event share / event share)``, so a bin with more events has a lower WoE,
   and a non-positive coefficient makes every feature's points follow its bins'
   event rates. A feature the regression would give the wrong sign (a collinear
   copy of a stronger one) gets coefficient 0: no points.
2. **Calibration**, the same out-of-time Platt step as for LightGBM
   (``calibrated_logit = a * woe_logit + b`` on the calibration dates).
3. **Scaling** to the spec's PDO scale (``score = offset - factor * logit``): a bin
   with WoE ``w`` of a feature with coefficient ``c`` is worth
   ``-factor * a * c * w`` points, the intercept gives the base points
   ``offset - factor * (a * intercept + b)``; both are rounded to
   ``points_decimals``. The rounded table *is* the model: the score of an entity is
   exactly the base points plus the points of its bins (:class:`PointsTable`), and
   its probability is read back from that score, so a business that adds up the
   published table gets its published score.

:class:`ScorecardModel` is a :class:`~riskml.models.RiskModel` whose scoring
model is the :class:`PointsTable` instead of a LightGBM booster: it grades,
overrides, saves, loads, logs to MLflow and serves through the same pyfunc bundle.
Its explanations are the table's rows: a feature's contribution in points is the
points of the entity's bin.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from riskml._specs import load_yaml, resolve_spec
from riskml.grading import GradePolicy
from riskml.models._bundle import RiskModel
from riskml.models._integrity import ModelFileError
from riskml.models._spec import ModelKindSpec
from riskml.records import neutralise_formulas

if TYPE_CHECKING:
    from riskml.features import Panel

__all__ = [
    "TABLE_COLUMNS",
    "PointsTable",
    "ScorecardModel",
    "WoeRegression",
    "export_points_table",
    "fit_woe_regression",
    "spreadsheet_safe",
]

logger = logging.getLogger(__name__)

SCORECARD_FORMAT = "riskml.ScorecardModel/1"
SCORECARD_FILE = "scorecard.json"
#: columns of a published points table (one row per feature bin, the base points first)
TABLE_COLUMNS: tuple[str, ...] = ("feature", "label_zh", "label_en", "dimension", "direction", "bin", "bin_zh",
                                  "bin_en", "points")
BASE_FEATURE = "base"
#: optbinning's monotone event-rate trend for each catalog direction
_TRENDS = {1: "ascending", -1: "descending"}


# ---------------------------------------------------------------------------- bins


def _bin_codes(column: Any, row: dict[str, Any]) -> np.ndarray:
    """Bin index of each value (``-1``: missing, or a category never seen in training).

    Numeric bins are ``[edge_{i-1}, edge_i)`` as optbinning cuts them.
    """
    if "edges" in row:
        values = pd.to_numeric(pd.Series(column), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        codes = np.searchsorted(np.asarray(row["edges"], dtype=np.float64), values, side="right")
        return np.where(np.isnan(values), -1, codes)
    lookup = {str(cat): i for i, group in enumerate(row["groups"]) for cat in group}
    values = pd.Series(column)
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("str").where(values.notna()).astype("category")
    # one lookup per category, then a gather over the rows
    per_category = np.array([lookup.get(str(c), -1) for c in values.cat.categories] + [-1], dtype=np.int64)
    return per_category[values.cat.codes.to_numpy()]


def _lookup(column: Any, row: dict[str, Any], key: str, missing_key: str) -> np.ndarray:
    codes = _bin_codes(column, row)
    values = np.asarray(row[key], dtype=np.float64)
    return np.where(codes >= 0, values[np.clip(codes, 0, len(values) - 1)], float(row[missing_key]))


def _fmt(x: float) -> str:
    return f"{x:g}"


def _exact(x: float) -> str:
    return repr(float(x)).removesuffix(".0")


def _bin_labels(row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(bin, bin_zh, bin_en) of each bin and then of the missing bin."""
    if "edges" in row:
        edges = [float(e) for e in row["edges"]]
        out = []
        bounds = [-np.inf, *edges, np.inf]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            # the interval is exact (shortest round-trip repr); the zh/en wording rounds for reading
            interval = f"[{_exact(lo)}, {_exact(hi)})" if np.isfinite(lo) else f"(-inf, {_exact(hi)})"
            if not np.isfinite(lo) and not np.isfinite(hi):
                out.append(("(-inf, inf)", "全部", "any value"))
            elif not np.isfinite(lo):
                out.append((interval, f"小于 {_fmt(hi)}", f"under {_fmt(hi)}"))
            elif not np.isfinite(hi):
                out.append((f"[{_exact(lo)}, inf)", f"{_fmt(lo)} 及以上", f"{_fmt(lo)} or more"))
            else:
                out.append((interval, f"{_fmt(lo)} 至小于 {_fmt(hi)}", f"{_fmt(lo)} to under {_fmt(hi)}"))
        return [*out, ("missing", "缺失", "missing")]
    out = [(", ".join(group),) * 3 for group in row["groups"]]
    return [*out, ("missing or other", "缺失或其他", "missing or other")]


# ---------------------------------------------------------------------------- fitting


class BoundedLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-penalised logistic regression with every coefficient at or below zero.

    The estimator :func:`fit_woe_regression` hands to optbinning's ``Scorecard``:
    on WoE inputs a non-positive coefficient is the sign that agrees with the bins
    (see the module docstring). Fitted with scipy's L-BFGS-B under bounds.

    Parameters
    ----------
    l2 : float, default 1e-4
        Penalty ``l2 / 2 * ||coef||^2`` added to the mean log-loss.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 2))
    >>> y = (rng.uniform(size=2000) < 1 / (1 + np.exp(X[:, 0] - X[:, 1]))).astype(int)
    >>> model = BoundedLogisticRegression().fit(X, y)
    >>> bool(model.coef_[0, 0] < -0.5), float(model.coef_[0, 1])  # the second wants +1: held at 0
    (True, 0.0)
    """

    def __init__(self, l2: float = 1e-4) -> None:
        self.l2 = l2

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BoundedLogisticRegression:
        """Fit on inputs ``X`` (n_rows, n_features) and 0/1 outcomes ``y``."""
        from scipy.optimize import minimize

        x = np.asarray(X, dtype=np.float64)
        t = np.asarray(y, dtype=np.float64)
        w = np.ones_like(t) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        w = w / w.sum()
        n_features = x.shape[1]
        rate = float(np.clip(np.dot(w, t), 1e-6, 1 - 1e-6))

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            coef, intercept = theta[:-1], theta[-1]
            z = x @ coef + intercept
            value = float(np.dot(w, np.logaddexp(0.0, z) - t * z)) + 0.5 * self.l2 * float(coef @ coef)
            r = w * (1.0 / (1.0 + np.exp(-z)) - t)
            return value, np.append(x.T @ r + self.l2 * coef, r.sum())

        start = np.append(np.zeros(n_features), np.log(rate / (1 - rate)))
        bounds = [(None, 0.0)] * n_features + [(None, None)]
        result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds,
                          options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8})
        self.coef_ = np.minimum(result.x[:-1], 0.0).reshape(1, -1)
        self.intercept_ = np.array([result.x[-1]])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = n_features
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Log-odds of the event."""
        return np.asarray(X, dtype=np.float64) @ self.coef_.ravel() + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of (no event, event)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """The more likely outcome."""
        return (self.decision_function(X) > 0).astype(int)


@dataclass(frozen=True, eq=False)
class WoeRegression:
    """Bins, WoE and regression coefficients of one scorecard fit, before calibration.

    Attributes
    ----------
    features : tuple of str
        All model features (column order); only those in ``rows`` carry points.
    rows : dict
        Per feature with a non-zero coefficient: ``edges`` (numeric) or ``groups``
        (categorical), ``woe`` per bin and ``missing_woe``.
    coef : dict of str to float
        Regression coefficient on each feature's WoE (all < 0).
    intercept : float
        Regression intercept.
    iv : dict of str to float
        Information value of every binned feature on the training rows.
    """

    features: tuple[str, ...]
    rows: dict[str, dict[str, Any]]
    coef: dict[str, float]
    intercept: float
    iv: dict[str, float]

    def logit(self, X: pd.DataFrame) -> np.ndarray:
        """The regression's log-odds of the bad outcome for rows of ``X``."""
        out = np.full(len(X), self.intercept, dtype=np.float64)
        for name, row in self.rows.items():
            out += self.coef[name] * _lookup(X[name], row, "woe", "missing_woe")
        return out

    def points_table(self, policy: GradePolicy, calib_a: float, calib_b: float, decimals: int = 0) -> PointsTable:
        """Scale to the policy's PDO scale through the Platt calibration; round the points.

        Raises
        ------
        ValueError
            When ``calib_a <= 0``: the calibration says the regression ranks
            backwards out of time, so no table would be monotone in the catalog's
            directions.
        """
        if not calib_a > 0:
            raise ValueError(
                f"the scorecard's calibration slope is {calib_a:.4g} (<= 0): its WoE regression does not rank the "
                "calibration dates; check the label and the features, or use model kind lightgbm"
            )
        scale = -policy.factor * float(calib_a)
        rows = {}
        for name, row in self.rows.items():
            c = self.coef[name]
            bins = {k: row[k] for k in ("edges", "groups") if k in row}
            points = np.round(scale * c * np.asarray(row["woe"], dtype=np.float64), decimals) + 0.0
            missing = float(np.round(scale * c * row["missing_woe"], decimals)) + 0.0
            if not points.any() and missing == 0.0:  # worth less than the rounding: nothing to publish
                continue
            rows[name] = {**bins, "points": points.tolist(), "missing": missing}
        base = float(np.round(policy.offset - policy.factor * (calib_a * self.intercept + calib_b), decimals))
        return PointsTable(features=self.features, base=base, offset=float(policy.offset),
                           factor=float(policy.factor), rows=rows)


def _trend(direction: Any) -> str:
    value = 0 if direction is None or pd.isna(direction) else int(np.sign(float(direction)))
    return _TRENDS.get(value, "auto_asc_desc")


def fit_woe_regression(X: pd.DataFrame, y: Any, catalog: pd.DataFrame, categorical: Sequence[str],
                       settings: ModelKindSpec, *, weight: Any = None) -> WoeRegression:
    """Monotone binning, WoE and the sign-bounded logistic regression on training rows.

    Parameters
    ----------
    X : DataFrame
        Training rows, one column per feature (float64 numerics, categoricals as
        ``category``).
    y : array-like
        0/1 outcomes.
    catalog : DataFrame
        Feature catalog (index: feature) with ``direction``.
    categorical : sequence of str
        The categorical columns of ``X``.
    settings : ModelKindSpec
        ``max_bins``, ``min_bin_share``, ``min_iv``, ``l2``.
    weight : array-like, optional
        Row weights.

    Returns
    -------
    WoeRegression

    Raises
    ------
    ImportError
        Without optbinning (``pip install 'riskml[scorecard]'``).

    Examples
    --------
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=400, n_dates=4, seed=0)
    >>> X = panel.frame[["penalties_count_365d", "entity_age_years"]]
    >>> fit = fit_woe_regression(X, labels["label"], panel.catalog, [], ModelKindSpec(kind="scorecard"))
    >>> sorted(fit.rows), all(c < 0 for c in fit.coef.values())
    (['entity_age_years', 'penalties_count_365d'], True)
    """
    try:
        from optbinning import BinningProcess, Scorecard
    except ImportError as exc:
        raise ImportError("the scorecard model kind bins with optbinning: pip install 'riskml[scorecard]'") from exc

    names = [str(c) for c in X.columns]
    direction = catalog["direction"] if "direction" in catalog.columns else pd.Series(dtype="float64")
    skip = set(categorical)
    fit_params = {n: {"monotonic_trend": _trend(direction.get(n))} for n in names if n not in skip}
    process = BinningProcess(
        names, categorical_variables=[n for n in names if n in skip], max_n_bins=settings.max_bins,
        min_bin_size=settings.min_bin_share, binning_fit_params=fit_params,
        selection_criteria={"iv": {"min": settings.min_iv}} if settings.min_iv > 0 else None,
    )
    card = Scorecard(process, BoundedLogisticRegression(l2=settings.l2), scaling_method=None)
    target = np.asarray(y, dtype=np.int64)
    card.fit(X, target, sample_weight=None if weight is None else np.asarray(weight, dtype=np.float64),
             metric_missing="empirical")
    fitted = card.binning_process_
    summary = fitted.summary().set_index("name")
    iv = {str(k): float(v) for k, v in summary["iv"].items()}
    coefs = card.estimator_.coef_.ravel()
    rows: dict[str, dict[str, Any]] = {}
    coef: dict[str, float] = {}
    for name, c in zip(fitted.get_support(names=True), coefs, strict=True):
        if c >= 0:  # held at the bound: no points
            continue
        binned = fitted.get_binned_variable(name)
        woe = binned.binning_table.build(add_totals=False)["WoE"].to_numpy(dtype=np.float64)
        n_bins = len(woe) - 2  # then Special and Missing
        if name in skip:
            bins: dict[str, Any] = {"groups": [[str(v) for v in group] for group in binned.splits]}
        else:
            bins = {"edges": [float(e) for e in binned.splits]}
        rows[str(name)] = {**bins, "woe": woe[:n_bins].tolist(), "missing_woe": float(woe[-1])}
        coef[str(name)] = float(c)
    intercept = float(card.estimator_.intercept_[0])
    logger.info("scorecard fit: %d of %d features binned above IV %.3g, %d with points", len(fitted.get_support(
        names=True)), len(names), settings.min_iv, len(rows))
    return WoeRegression(features=tuple(names), rows=rows, coef=coef, intercept=intercept, iv=iv)


# ---------------------------------------------------------------------------- the table


@dataclass(frozen=True, eq=False)
class PointsTable:
    """A scorecard's points: base points plus the points of each feature bin.

    It stands where a LightGBM booster stands in a :class:`RiskModel`: ``predict``
    gives the raw log-odds (``raw_score=True``) and per-feature contributions
    (``pred_contrib=True``, base value last), so riskml's scoring and explanation
    paths read it unchanged.

    Attributes
    ----------
    features : tuple of str
        Model features in column order; those not in ``rows`` get 0 points.
    base : float
        Base points.
    offset, factor : float
        The PDO scale: ``score = offset - factor * logit``.
    rows : dict
        Per feature: ``edges`` (numeric bins ``[e_{i-1}, e_i)``) or ``groups``
        (categorical), ``points`` per bin and ``missing`` (missing or unseen values).

    Examples
    --------
    >>> table = PointsTable(features=("x", "y"), base=600.0, offset=427.07, factor=57.71,
    ...                     rows={"x": {"edges": [1.0, 3.0], "points": [10.0, 0.0, -25.0], "missing": 0.0}})
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 5.0, np.nan], "y": [1.0, 2.0, 3.0, 4.0]})
    >>> table.score(X).tolist()
    [610.0, 600.0, 575.0, 600.0]
    >>> bool(np.allclose(table.predict(X, pred_contrib=True).sum(axis=1), table.predict(X, raw_score=True)))
    True
    """

    features: tuple[str, ...]
    base: float
    offset: float
    factor: float
    rows: dict[str, dict[str, Any]]

    def num_feature(self) -> int:
        """Number of model features (as ``lightgbm.Booster.num_feature``)."""
        return len(self.features)

    def feature_points(self, X: pd.DataFrame) -> np.ndarray:
        """Points of each row's bin, one column per model feature (0 for features without points)."""
        out = np.zeros((len(X), len(self.features)), dtype=np.float64)
        for j, name in enumerate(self.features):
            row = self.rows.get(name)
            if row is not None:
                out[:, j] = _lookup(X[name], row, "points", "missing")
        return out

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Base points plus the points of each row's bins: the published score."""
        return self.base + self.feature_points(X).sum(axis=1)

    def predict(self, X: pd.DataFrame, raw_score: bool = False, pred_contrib: bool = False,
                **_: Any) -> np.ndarray:
        """Probability, raw log-odds or contributions in log-odds (base value last)."""
        if pred_contrib:
            points = self.feature_points(X)
            base = np.full((len(X), 1), (self.offset - self.base) / self.factor)
            return np.hstack([-points / self.factor, base])
        logit = (self.offset - self.score(X)) / self.factor
        return logit if raw_score else 1.0 / (1.0 + np.exp(-logit))

    def model_to_string(self) -> str:
        """The table as JSON (sorted keys: equal tables give equal text)."""
        payload = {"format": SCORECARD_FORMAT, "features": list(self.features), "base": self.base,
                   "offset": self.offset, "factor": self.factor, "rows": self.rows}
        return json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_string(cls, text: str) -> PointsTable:
        """Read :meth:`model_to_string` output."""
        data = json.loads(text)
        if data.get("format") != SCORECARD_FORMAT:
            raise ValueError(f"expected a scorecard table of format {SCORECARD_FORMAT!r}, got {data.get('format')!r}")
        return cls(features=tuple(data["features"]), base=float(data["base"]), offset=float(data["offset"]),
                   factor=float(data["factor"]), rows=data["rows"])

    def bin_labels(self, feature: str, X: pd.DataFrame) -> np.ndarray:
        """The ``bin`` label of each row's bin of ``feature`` (as in :meth:`table`)."""
        row = self.rows[feature]
        labels = np.array([b for b, _, _ in _bin_labels(row)], dtype=object)
        codes = _bin_codes(X[feature], row)
        return labels[np.where(codes >= 0, codes, len(labels) - 1)]

    def table(self, catalog: pd.DataFrame | None = None) -> pd.DataFrame:
        """The publishable table: the base points, then one row per bin of each feature.

        Features in model order, bins in value order, the missing bin last; labels and
        direction from ``catalog`` when given.
        """
        catalog = catalog if catalog is not None else pd.DataFrame()

        def info(name: str, key: str, default: Any) -> Any:
            if key in catalog.columns and name in catalog.index and pd.notna(catalog.at[name, key]):
                return catalog.at[name, key]
            return default

        records = [(BASE_FEATURE, "基础分", "Base points", "", 0, "", "", "", self.base)]
        for name in self.features:
            row = self.rows.get(name)
            if row is None:
                continue
            head = (name, str(info(name, "label_zh", name)), str(info(name, "label_en", name)),
                    str(info(name, "dimension", "")), int(np.sign(float(info(name, "direction", 0)))))
            points = [*row["points"], row["missing"]]
            for (label, zh, en), value in zip(_bin_labels(row), points, strict=True):
                records.append((*head, label, zh, en, float(value)))
        return pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))


# ---------------------------------------------------------------------------- exports


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula, prefixed with ``'``.

    A cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a
    formula to Excel and LibreOffice (OWASP "CSV injection"); numbers are left as
    numbers.

    Examples
    --------
    >>> safe = spreadsheet_safe(pd.DataFrame({"bin": ["=HYPERLINK(1)", "[0, 1)", "-inf"], "points": [-3.0, 0.0, 2.0]}))
    >>> safe["bin"].tolist(), safe["points"].tolist()
    (["'=HYPERLINK(1)", '[0, 1)', "'-inf"], [-3.0, 0.0, 2.0])
    """
    return neutralise_formulas(frame)


_HTML_STYLE = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 8px}th{background:#eee}
td.points{text-align:right;font-variant-numeric:tabular-nums}tr.feature td{border-top:2px solid #666}"""


def _table_html(table: pd.DataFrame, title: str, note: str) -> str:
    esc = html.escape
    lines = [
        "<!DOCTYPE html>", '<html lang="zh-CN">', '<head><meta charset="utf-8">', f"<title>{esc(title)}</title>",
        f"<style>{_HTML_STYLE}</style></head>", "<body>", f"<h1>{esc(title)}</h1>",
    ]
    if note:
        lines.append(f"<p>{esc(note)}</p>")
    lines += ["<table>", "<thead><tr><th>指标 Indicator</th><th>维度 Group</th><th>区间 Range</th>"
              "<th>分值 Points</th></tr></thead>", "<tbody>"]
    previous = None
    for row in table.itertuples(index=False):
        first = row.feature != previous
        previous = row.feature
        label = f"{row.label_zh} / {row.label_en}" if first else ""
        rng = row.bin_zh if row.bin_zh == row.bin_en else f"{row.bin_zh} / {row.bin_en}"
        css = ' class="feature"' if first else ""
        points = f"{row.points:g}" if row.feature == BASE_FEATURE else f"{row.points:+g}"
        lines.append(f"<tr{css}><td>{esc(label)}</td><td>{esc(row.dimension if first else '')}</td>"
                     f"<td>{esc(rng)}</td><td class=\"points\">{points}</td></tr>")
    lines += ["</tbody></table>", "</body></html>"]
    return "\n".join(lines) + "\n"


def export_points_table(table: pd.DataFrame, path: str | Path, *, title: str = "信用风险评分卡 Credit-risk scorecard",
                        note: str = "") -> Path:
    """Write a points table as CSV (spreadsheet-safe), Excel or HTML, by the file's suffix.

    Parameters
    ----------
    table : DataFrame
        :meth:`ScorecardModel.points_table` output.
    path : str or Path
        ``.csv`` (UTF-8 with BOM so spreadsheets read the Chinese labels; formula-like
        cells neutralised), ``.xlsx`` (needs openpyxl) or ``.html`` (a standalone page).
    title, note : str
        Heading and an explanatory paragraph of the HTML page.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        For another suffix.
    ImportError
        For ``.xlsx`` without openpyxl (``pip install riskml[scorecard]``).

    Examples
    --------
    >>> import tempfile
    >>> table = PointsTable(features=("x",), base=600.0, offset=427.07, factor=57.71,
    ...                     rows={"x": {"edges": [1.0], "points": [5.0, -20.0], "missing": 0.0}}).table()
    >>> path = export_points_table(table, Path(tempfile.mkdtemp()) / "points.csv")
    >>> path.read_text(encoding="utf-8-sig").splitlines()[2]
    'x,x,x,,0,"(-inf, 1)",小于 1,under 1,5.0'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        spreadsheet_safe(table).to_csv(path, index=False, encoding="utf-8-sig")
    elif suffix == ".xlsx":
        try:
            import openpyxl  # noqa: F401
        except ImportError as exc:
            raise ImportError("writing .xlsx needs openpyxl: pip install 'riskml[scorecard]'") from exc
        spreadsheet_safe(table).to_excel(path, index=False, sheet_name="scorecard")
    elif suffix in {".html", ".htm"}:
        path.write_text(_table_html(table, title, note), encoding="utf-8")
    else:
        raise ValueError(f"{path}: write a points table as .csv, .xlsx or .html, not {suffix or 'no suffix'!r}")
    return path


# ---------------------------------------------------------------------------- the model


class ScorecardModel(RiskModel):
    """A :class:`~riskml.models.RiskModel` that scores with a published points table.

    ``booster`` is a :class:`PointsTable`; ``calib_a`` and ``calib_b`` are 1 and 0
    because the calibration is already in the points. The score is exactly
    ``points_table()``'s base points plus the points of the entity's bins.

    Examples
    --------
    >>> from riskml.models import fit_model
    >>> from riskml.models._testing import toy_panel
    >>> panel, labels = toy_panel(n_entities=400, n_dates=16, seed=0)
    >>> model = fit_model(panel, labels, {**_toy_spec(), "model": {"kind": "scorecard"}},
    ...                   backtest={"test_dates": "last 1", "min_train_dates": 2}).model
    >>> type(model).__name__, model.points_table().columns.tolist()[:3]
    ('ScorecardModel', ['feature', 'label_zh', 'label_en'])
    """

    _format: ClassVar[str] = SCORECARD_FORMAT
    _booster_file: ClassVar[str] = SCORECARD_FILE

    @classmethod
    def _read_booster(cls, text: str, path: Path) -> PointsTable:
        try:
            return PointsTable.from_string(text)
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{path} is not a riskml points table ({exc}); the file is corrupt") from None

    def score_points(self, frame: pd.DataFrame | Panel, *, logit: np.ndarray | None = None) -> np.ndarray:
        """Base points plus the points of each row's bins (exact: no logit round trip; ``logit`` is not used)."""
        return self.booster.score(self.matrix(frame))

    def points_table(self) -> pd.DataFrame:
        """The publishable points table (columns :data:`TABLE_COLUMNS`, base points first)."""
        return self.booster.table(self.catalog)

    def applied_rows(self, frame: pd.DataFrame | Panel) -> pd.DataFrame:
        """The table rows behind each panel row's score: one row per (input row, feature with points).

        Returns
        -------
        DataFrame
            ``row`` (position in ``frame``), ``entity_id``, ``as_of``, ``feature``,
            ``bin`` and ``points``; the points of a row plus the base points are its
            score.
        """
        matrix = self.matrix(frame)
        base_frame = frame.frame if hasattr(frame, "frame") else frame
        points = self.booster.feature_points(matrix)
        parts = []
        for j, name in enumerate(self.features):
            if name not in self.booster.rows:
                continue
            parts.append(pd.DataFrame({
                "row": np.arange(len(matrix)), "entity_id": base_frame["entity_id"].astype("str").to_numpy(),
                "as_of": base_frame["as_of"].to_numpy(), "feature": name,
                "bin": self.booster.bin_labels(name, matrix), "points": points[:, j],
            }))
        return pd.concat(parts, ignore_index=True).sort_values(["row", "feature"], ignore_index=True)

    def export_points_table(self, path: str | Path) -> Path:
        """Write :meth:`points_table` as ``.csv``, ``.xlsx`` or ``.html``; see :func:`export_points_table`."""
        note = (f"评分 = 基础分 + 各指标所在区间的分值；分数越高风险越低。 Score = base points + the points of each "
                f"indicator's range; a higher score means lower risk. Model: {self.target}, "
                f"trained {self.metadata.get('trained_at', '')}.")
        title = f"{self.model_spec.get('label_zh', self.target)}评分卡 {self.model_spec.get('label_en', self.target)} scorecard"
        return export_points_table(self.points_table(), path, title=title, note=note)


def _toy_spec() -> dict[str, Any]:
    """The bundled credit spec mapping (for the examples)."""
    return load_yaml(resolve_spec("models", "credit"))
