"""Labels: observed future outcomes for each (entity, as-of) row.

A model spec's ``label:`` section (``models/credit.yaml``, ``models/fraud.yaml``)
declares which future records make a row positive and over what horizon;
:func:`make_labels` computes the label, the random-inspection flag (the unbiased
evaluation sample), whether the horizon is fully observed, and the population flag.

Examples
--------
>>> from riskml.labels import load_label_spec
>>> load_label_spec("fraud").population
{'entity_type': 'enterprise'}
"""

from __future__ import annotations

from riskml.labels._labels import LABEL_COLUMNS, LabelRule, LabelSpec, load_label_spec, make_labels

__all__ = ["LABEL_COLUMNS", "LabelRule", "LabelSpec", "load_label_spec", "make_labels"]
