# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Quick start: from records to grades (快速上手)
#
# This notebook runs the whole credit path of riskml on a small synthetic county:
#
# 1. a synthetic market (records of every source, and the truth behind them);
# 2. validation and pseudonymisation;
# 3. the point-in-time entity x quarter panel;
# 4. a calibrated LightGBM model with a temporal backtest, logged to MLflow;
# 5. gated promotion to `champion`;
# 6. grades A/B/C/D for the latest quarter, with reasons, and two plots;
# 7. where the MLflow run is and how to open the MLflow UI.
#
# It uses 3,000 entities and a small model so that it runs in about a minute.
# `riskml demo` does the same on a 60,000-entity county.

# %% [markdown]
# ## Set-up: a private riskml home and a pseudonymisation key
#
# * **`RISKML_HOME`** is where riskml keeps its MLflow store (a SQLite file) and the
#   run artifacts. This notebook points it at a fresh temporary folder so that it
#   never mixes its runs and registered models with yours, and so that the
#   `champion` it promotes is its own. In your work, leave it at its default
#   (`./.riskml`) or point it at a shared folder; set `MLFLOW_TRACKING_URI` instead to
#   use a shared MLflow server.
# * **`RISKML_PSEUDONYM_KEY`** is the secret key of the keyed hash (HMAC-SHA-256) that
#   replaces personal identifiers (ID numbers, names, phones) when records are
#   validated. riskml refuses to handle personal data without it. The records here
#   are synthetic, so a throw-away key will do; a bureau keeps its real key in a
#   secret store, outside every data folder, and keeps it stable (pseudonyms, and the
#   features built on them, change with the key).
# * `RISKML_PROGRESS=0` turns the progress bars off, which keeps the notebook output
#   short.

# %%
import os
import tempfile

os.environ["RISKML_HOME"] = tempfile.mkdtemp(prefix="riskml-home-")
os.environ.setdefault("RISKML_PSEUDONYM_KEY", "synthetic-data-only-not-a-real-key")
os.environ.setdefault("RISKML_PROGRESS", "0")
os.environ.pop("MLFLOW_TRACKING_URI", None)  # this notebook uses its own embedded store

import warnings

warnings.filterwarnings("ignore", message="IProgress not found")  # no widgets needed here

# %matplotlib inline
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import riskml

print("riskml", riskml.__version__, "- home:", os.environ["RISKML_HOME"])

# %% [markdown]
# ## 1. A synthetic market (模拟市场)
#
# `make_market` simulates entities, their behaviour and the bureau's records of it
# over six years. `market.records` holds one raw table per source;
# `market.truth` holds what the records cannot show (each entity's latent risk,
# every violation whether found or not), so we can later check how close the model
# gets to the best possible ranking.

# %%
market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=0)
market.summary()

# %% [markdown]
# ## 2. Validation and pseudonymisation
#
# `validate` checks every table against `features/sources.yaml` (types, keys,
# categories, dates in the future, negative amounts ...). In strict mode any problem
# raises one error listing all of them; in lenient mode bad rows go to
# `records.quarantine` with a reason. Either way `n_in == n_kept + n_quarantined`.
# Personal columns are replaced by keyed hashes on the way.

# %%
records = riskml.records.validate(market.records, mode="strict")
print(records.counts.head())
records["entities"][["entity_id", "entity_type", "industry", "legal_rep_id"]].head(3)

# %% [markdown]
# ## 3. The panel: one row per entity and quarter, point in time
#
# Each row is an entity alive at a quarter start `as_of`; each feature uses only
# records the bureau knew before that date (`known_at < as_of`). The catalog says
# what every feature is: source, window, aggregation, indicator group, labels in
# Chinese and English, and the direction that raises risk.

# %%
panel = riskml.build_panel(records, as_of="quarterly")
print(f"{len(panel.frame):,} rows x {len(panel.feature_names)} features, "
      f"{panel.frame['as_of'].nunique()} quarters; spec hash {panel.spec_hash}")
panel.catalog[["dimension", "label_zh", "label_en", "direction"]].head(8)

# %% [markdown]
# ## 4. Train: temporal backtest, calibration, MLflow
#
# `riskml.train` makes the labels declared in `models/credit.yaml` (the entity enters
# a negative list or gets a serious penalty within 365 days after `as_of`), backtests
# out of time (train on quarters at least one label horizon before the test quarter),
# calibrates the probabilities, logs the run to MLflow and registers the model as
# `challenger`.
#
# Metrics come for two populations: `all` entities, and `random`, the entities
# inspected at random ("double random" 双随机) in the horizon. Labels are
# *selective* (a violation is mostly seen where someone looked); the random sample
# is the unbiased check. `oracle_auc` is the AUC of the true risk: the best any
# model could do on these labels.

# %%
labels = riskml.make_labels(records, panel, "credit")
result = riskml.train(panel, "credit", labels=labels, params={"n_estimators": 60},
                      backtest={"test_dates": "last 1"}, truth=market.truth.entity_quarters)
result.metrics[["split", "population", "n", "base_rate", "auc", "oracle_auc", "ks",
                "calibration_error", "lift_at_5pct"]]

# %% [markdown]
# ## 5. Promotion: the challenger becomes champion only through the gates
#
# The gates are in `experiments/promotion.yaml` (a minimum AUC, a maximum
# calibration error and, once a champion exists, no real loss against it on the same
# backtest). Every decision is recorded on the challenger's MLflow run.

# %%
decision = riskml.promote("credit")
print("promoted:", decision.promoted)
pd.DataFrame([g.__dict__ for g in decision.gates])[["name", "value", "rule", "threshold", "passed"]]

# %% [markdown]
# ## 6. Grades for the latest quarter
#
# `riskml.predict` scores every entity alive at the latest quarter with the
# `champion` (or with the model you pass as `model=`): probability, score in points,
# grade by score band, rule overrides (e.g. on the serious-violation list -> D) and
# the top reasons in points. We pass the model we just trained so the notebook also
# runs when the gates refuse it.

# %%
scores = riskml.predict(records, target="credit", model=result.model, explain=3)
cols = ["entity_id", "as_of", "probability", "score", "grade", "override",
        "reason_1_points", "reason_1_text_en"]
scores.sort_values("score")[cols].head(5)

# %%
grades = scores["grade"].value_counts().reindex(["A", "B", "C", "D"], fill_value=0)
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(grades.index, grades.to_numpy(), color=["#2e7d32", "#9ccc65", "#ffb300", "#c62828"])
ax.set_title(f"Credit grades at {pd.Timestamp(scores['as_of'].iloc[0]).date()}")
ax.set_ylabel("entities")
for x, n in zip(grades.index, grades.to_numpy()):
    ax.annotate(f"{n:,}", (x, n), ha="center", va="bottom")
plt.show()

# %% [markdown]
# **Calibration.** A probability of 10% should come true one time in ten. The
# out-of-time backtest predictions (`result.fit.predictions`) let us check: bin them
# by predicted probability and compare with the observed rate in each bin.

# %%
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

# %% [markdown]
# ## 7. Where the run is, and the MLflow UI
#
# Everything above is in MLflow: the run (parameters, metrics per split, the specs,
# the panel schema, plots) and the registered model `riskml-credit` with its aliases.
# `riskml.tracking.configure()` tells where the store is.

# %%
import mlflow
from riskml.tracking import configure

config = configure()
run = mlflow.get_run(result.run_id)
print("tracking URI:", config.tracking_uri)
print("run:", run.info.run_id, "in experiment", run.info.experiment_id)
print("artifacts:", [a.path for a in mlflow.artifacts.list_artifacts(run_id=result.run_id)])
client = mlflow.MlflowClient()
print("registered model riskml-credit, aliases:", client.get_registered_model("riskml-credit").aliases)
print(f"\nOpen the UI in a terminal:\n  mlflow ui --backend-store-uri {config.tracking_uri}")

# %% [markdown]
# Then browse to <http://127.0.0.1:5000>. Next: `02-bring-your-own-data` (your own
# tables and label), `03-blind-spots-and-plans`, `04-reviewing-an-appeal`.
