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
# # 03 · Blind spots and inspection plans (监管盲区与抽查计划)
#
# A grade is only useful if it changes where inspectors go. This notebook
#
# 1. trains a credit model on a small synthetic county (with a four-quarter backtest);
# 2. lists the **blind spots**: risky entities no inspection or penalty has touched in
#    three years (`riskml.blind_spots`);
# 3. draws a reproducible **inspection plan**: a random sample per grade at the
#    grade's rate ("double random" 双随机, D sampled at 90%) plus the top blind spots,
#    with inspectors drawn from a pool (`riskml.inspection_plan`);
# 4. measures what a plan is **worth against random sampling** on the backtest
#    quarters, using the synthetic truth (every violation, found or not)
#    (`riskml.evaluate_plan`).

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

# %%
market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=1)
records = riskml.records.validate(market.records)
panel = riskml.build_panel(records, as_of="quarterly")
labels = riskml.make_labels(records, panel, "credit")
result = riskml.train(panel, "credit", labels=labels, params={"n_estimators": 60},
                      backtest={"test_dates": "last 4"}, truth=market.truth.entity_quarters)
decision = riskml.promote("credit")
print("champion:", decision.promoted)
result.metrics.query("population == 'all'")[["split", "auc", "oracle_auc", "lift_at_5pct"]]

# %%
model = "champion" if decision.promoted else result.model
scores = riskml.predict(panel, target="credit", model=model, as_of=panel.frame["as_of"].max(), explain=3)
as_of = pd.Timestamp(scores["as_of"].iloc[0]).date()
print(f"{len(scores):,} entities scored at {as_of}")
scores["grade"].value_counts().sort_index()

# %% [markdown]
# ## 1. Blind spots
#
# An entity is a blind spot at `as_of` when no record of the *touch sources*
# (inspections, penalties; see `experiments/monitor.yaml`) became known in the
# look-back `[as_of - 3 years, as_of)`. They are ranked by predicted risk and carry
# the top reasons of their score.
#
# A caution on *selective labels*: an entity nobody inspected has had little chance
# to be caught, so a model trained naively can learn "never inspected means safe".
# riskml marks inspection-driven features in the catalog, and
# `riskml.ranking.selection_aware_sample` gives training rows (observed labels only,
# or inverse-propensity weights) for a blind-spot model that does not learn that.

# %%
spots = riskml.blind_spots(scores, records)
print(f"{len(spots):,} blind spots among {len(scores):,} entities "
      f"({len(spots) / len(scores):.0%}); their grades:")
print(spots["grade"].value_counts().sort_index().to_dict())
spots.head(10)[["rank", "entity_id", "probability", "score", "grade", "reason_1_text_en"]]

# %%
inspection_driven = panel.catalog.index[panel.catalog["inspection_driven"]].tolist()
print("inspection-driven features:", inspection_driven)
sample = riskml.ranking.selection_aware_sample(panel, labels, records, how="inspected")
print(f"rows with an observed label: {len(sample.labels):,} of {len(panel.frame):,} "
      f"({sample.observed_share:.0%}); features dropped: {len(sample.dropped)}")
print(f"violation rate where someone looked: {sample.labels['label'].mean():.1%}, "
      f"in all rows: {labels['label'].mean():.1%}")

# %% [markdown]
# ## 2. The inspection plan
#
# A seeded draw: the same scores, rates and seed always give the same plan, so a
# plan can be re-derived and audited. Each row says why the entity is in the plan
# (`random_<grade>` or `blind_spot`) and who inspects it.

# %%
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

# %% [markdown]
# ## 3. What a plan is worth
#
# On the four backtest quarters we have out-of-time predictions (the model never saw
# those quarters) and, from the synthetic truth, who really violated in each quarter.
# `evaluate_plan` gives every strategy the same budget (5% of entities per quarter)
# and counts violators found and compliant entities disturbed:
#
# * `risk_ranked`: the highest predicted probabilities;
# * `grade_rate`: the grade-rate draw, rates scaled to the budget;
# * `random`: a uniform sample, what "double random" alone would find.

# %%
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

# %%
fig, ax = plt.subplots(figsize=(6, 3))
per_quarter = value.pivot(index="as_of", columns="strategy", values="violators_found")
per_quarter.index = [d.date() for d in per_quarter.index]
per_quarter.plot.bar(ax=ax, rot=0)
ax.set_ylabel("violators found")
ax.set_title("Same budget (5% of entities), backtest quarters")
plt.show()
