"""Backtest plots logged with each training run (matplotlib Agg, no global pyplot state).

Each function returns a :class:`matplotlib.figure.Figure` built with the object API,
so plotting is safe in threads and never opens a window. The calibration plot is
scikit-learn's ``CalibrationDisplay``; the lift (gains) curve is drawn here, as
scikit-learn has none. The SHAP beeswarm of a run is drawn by
:func:`riskml.explain.shap_artifacts` and handed to the run as a figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["calibration_curve", "grade_distribution", "lift_curve"]


def _figure(width: float = 5.5, height: float = 4.0) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def calibration_curve(probability: ArrayLike, label: ArrayLike, bins: int = 10) -> Figure:
    """Observed positive rate against mean predicted probability, by quantile bin.

    scikit-learn's ``CalibrationDisplay`` (``strategy="quantile"``) drawn on an
    object-API figure.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 0.3, 500)
    >>> calibration_curve(p, rng.uniform(size=500) < p).axes[0].get_xlabel()
    'mean predicted probability'
    """
    from sklearn.calibration import CalibrationDisplay

    p = np.asarray(probability, dtype="float64")
    y = np.asarray(label, dtype="float64")
    figure = _figure()
    ax = figure.add_subplot()
    display = CalibrationDisplay.from_predictions(y, p, n_bins=bins, strategy="quantile", name="model", ax=ax)
    # zoom on the probabilities that occur (mostly near 0), not the unit square
    top = float(max(display.prob_pred.max(initial=0), display.prob_true.max(initial=0), 1e-3)) * 1.05
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed positive rate")
    ax.set_title("Calibration (latest test date)")
    return figure


def lift_curve(probability: ArrayLike, label: ArrayLike) -> Figure:
    """Share of positives found against share of entities inspected, riskiest first.

    Examples
    --------
    >>> lift_curve([0.9, 0.1, 0.5], [1, 0, 0]).axes[0].get_ylabel()
    'share of positives found'
    """
    p = np.asarray(probability, dtype="float64")
    y = np.asarray(label, dtype="float64")
    order = np.argsort(-p, kind="stable")
    found = np.concatenate([[0.0], np.cumsum(y[order])]) / max(y.sum(), 1.0)
    share = np.linspace(0, 1, len(p) + 1)
    figure = _figure()
    ax = figure.add_subplot()
    ax.plot(share, found, label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random inspection")
    ax.set_xlabel("share of entities inspected")
    ax.set_ylabel("share of positives found")
    ax.set_title("Lift / gains (latest test date)")
    ax.legend()
    return figure


def grade_distribution(as_of: ArrayLike, grade: ArrayLike) -> Figure:
    """Share of entities per grade at each test date (stacked bars).

    Examples
    --------
    >>> grade_distribution(["2024-01-01"] * 3, ["A", "B", "B"]).axes[0].get_ylabel()
    'share of entities'
    """
    frame = pd.DataFrame({"as_of": pd.to_datetime(pd.Series(as_of)).dt.strftime("%Y-%m-%d"),
                          "grade": pd.Series(grade).astype("str")})
    shares = pd.crosstab(frame["as_of"], frame["grade"], normalize="index").sort_index(axis=1)
    figure = _figure(6.5, 4.0)
    ax = figure.add_subplot()
    bottom = np.zeros(len(shares))
    for grade_name in shares.columns:
        ax.bar(shares.index, shares[grade_name].to_numpy(), bottom=bottom, label=str(grade_name))
        bottom += shares[grade_name].to_numpy()
    ax.set_ylabel("share of entities")
    ax.set_title("Grade distribution by test date")
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(title="grade")
    figure.tight_layout()
    return figure
