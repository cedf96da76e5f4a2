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
# # 04 · Reviewing an appeal (申诉复核)
#
# When an entity appeals its grade, the reviewer needs to know **why** the model
# gave it, **which records** it rests on, and **what would change it**.
# `riskml.explain` answers all three for one entity and one as-of date, as data
# (`to_frame()`, `to_dict()`) and as a self-contained bilingual HTML report for the
# appeal file. `docs/appeals.md` explains how to read the report.

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
market = riskml.synth.make_market(n_entities=3000, start="2019-01-01", end="2024-12-31", seed=0)
records = riskml.records.validate(market.records)
result = riskml.train(records, "credit", params={"n_estimators": 60}, backtest={"test_dates": "last 1"})
decision = riskml.promote("credit")
model = "champion" if decision.promoted else result.model
scores = riskml.predict(records, target="credit", model=model, explain=3)
scores["grade"].value_counts().sort_index()

# %% [markdown]
# ## 1. The appellant
#
# We take the D-grade entity with the lowest score whose grade was set by its score
# rather than by a rule override (an override, such as being on the
# serious-violation list, caps the grade whatever the points; the report says so).

# %%
by_score = scores.loc[scores["override"] == ""].sort_values("score")
row = by_score.iloc[0]
entity_id, as_of = row["entity_id"], row["as_of"]
explanation = riskml.explain(entity_id, as_of, records=records, target="credit", model=model)
e = explanation
print(f"{e.entity_id} at {e.as_of.date()}: probability {e.probability:.1%}, score {e.score:.1f}, "
      f"grade {e.grade} ({e.grade_label_en}), {e.points_to_next_grade:.1f} points to {e.next_grade}")
e.entity

# %% [markdown]
# ## 2. Points: exact, additive
#
# The score splits into base points plus the points of every feature (exact TreeSHAP
# contributions converted into score points), so the points add up to the score.
# By indicator group first, then the features that cost the most.

# %%
frame = e.to_frame()
print(f"base {e.base_points:.2f} + features {frame['points'].sum():.2f} = {e.score:.2f}")
assert abs(e.base_points + frame["points"].sum() - e.score) < 1e-6
e.dimensions.sort_values("points")

# %%
worst = frame.sort_values("points").head(10)
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.barh(worst["label_en"][::-1], worst["points"][::-1], color="#c62828")
ax.set_xlabel("score points")
ax.set_title(f"What lowered the score of {e.entity_id} most")
plt.show()

# %% [markdown]
# ## 3. Reasons and the records behind them
#
# Each top reason comes with the records the panel engine counted for it: the same
# source, filter and window (`as_of - w <= known_at < as_of`), credit repair and
# open-list rules. The reviewer checks each one: is it right, is it this entity's,
# was it known by then, was it repaired?

# %%
for i, reason in enumerate(e.reasons, 1):
    print(f"{i}. {reason['points']:+.1f} points  {reason['text_zh']} | {reason['text_en']}")
    evidence = reason["evidence"]
    if evidence is not None and len(evidence):
        print(evidence.head(3).to_string(index=False))
    print()

# %% [markdown]
# ## 4. What would change the grade
#
# riskml applies the changes an appeal can bring (a penalty repaired 信用修复, a
# listing ended, an annual report filed, a wrong record removed) to a copy of the
# entity's records, rebuilds its features and re-scores it with the same model: the
# numbers are what the model would really say. Then the contrast with the next
# better band ("why D and not C").

# %%
e.whatifs.sort_values("delta_points", ascending=False).head(5)

# %%
c = e.contrast
if c is not None:
    print(f"Grade {c.grade}, not {c.better_grade}: score {c.score:.1f} against a mean of "
          f"{c.band_mean_score:.1f} over {c.n_reference} {c.better_grade}-band entities of the same date")
    display(c.by_dimension.head())

# %% [markdown]
# ## 5. The report for the appeal file
#
# `to_html(path)` writes one self-contained HTML page (inline CSS and SVG, no
# script, no external resource) in Chinese and English. The same model version,
# entity and as-of date always give the same bytes, so the page can be archived
# and re-derived. `to_dict()` is the same content as JSON.

# %%
import json

report = os.path.join(os.environ["RISKML_HOME"], "reports", f"appeal-{e.entity_id}.html")
os.makedirs(os.path.dirname(report), exist_ok=True)
html = e.to_html(report)
again = riskml.explain(entity_id, as_of, records=records, target="credit", model=model)
assert again.to_html() == html  # reproducible, byte for byte
print(f"report: {report} ({len(html):,} characters)")
print(json.dumps(e.to_dict(), ensure_ascii=False)[:300], "...")

# %%
from html import escape

from IPython.display import HTML

# an iframe keeps the report's own styles apart from the notebook's
HTML(f'<div><iframe srcdoc="{escape(html)}" style="width:100%;height:600px;border:1px solid #ccc">'
     '</iframe></div>')
