"""Labels: observed future outcomes for each (entity, as-of) row.

A model spec's ``label:`` section (``models/credit.yaml``, ``models/fraud.yaml``)
declares which future records make a row positive (any matching record, or an
aggregate of a column with a threshold) and over what horizon (days or calendar
months), and optionally what counts as observing the outcome; :func:`make_labels`
computes the label, the random-inspection flag (the unbiased evaluation sample),
whether the horizon lies in the covered period of its sources (``complete``), whether
the outcome was observed, and the population flag.

Examples
--------
>>> from riskml.labels import load_label_spec
>>> load_label_spec("fraud").population
{'entity_type': 'enterprise'}
"""

from __future__ import annotations

from riskml.labels._labels import LabelSpec, load_label_spec, make_labels

__all__ = [
    "LabelSpec",
    "load_label_spec",
    "make_labels",
]
