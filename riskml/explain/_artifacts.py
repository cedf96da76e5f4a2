"""What a training run shows of its model's explanations: mean |SHAP| and shap's beeswarm.

``riskml.train`` computes these here and hands them to
:func:`riskml.tracking._runs.log_training_run` as ready artifacts, so the tracking layer logs
files and figures without computing explanations itself. The contributions are exact
TreeSHAP (:func:`explain_rows`) of a seeded sample of the training panel, in the
points of the published score (the grade model's when the model has one); the beeswarm is shap's own plot of :meth:`BatchExplanation.to_shap`. Neither
holds an entity id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskml.explain._batch import explain_rows

__all__ = ["MEAN_ABS_ARTIFACT", "SHAP_BEESWARM_ARTIFACT", "SHAP_SAMPLE_ROWS", "shap_artifacts", "shap_beeswarm"]

MEAN_ABS_ARTIFACT = "explain/mean_abs_contribution.json"
SHAP_BEESWARM_ARTIFACT = "plots/shap_beeswarm.png"
SHAP_SAMPLE_ROWS = 2000


def shap_artifacts(model: Any, frame: pd.DataFrame, sample_rows: int = SHAP_SAMPLE_ROWS) -> dict[str, Any]:
    """The SHAP artifacts of a training run: mean |contribution| per feature and the beeswarm.

    Parameters
    ----------
    model : RiskModel
        The trained model.
    frame : DataFrame
        Panel rows holding the model's features (the training panel).
    sample_rows : int, default 2000
        At most this many rows, sampled with seed 0, are explained.

    Returns
    -------
    dict
        ``{"explain/mean_abs_contribution.json": {feature: mean |log-odds contribution|},
        "plots/shap_beeswarm.png": matplotlib Figure}``; empty when ``frame`` has no rows
        or lacks a model feature.

    Examples
    --------
    >>> from riskml.models._bundle import _tiny_model
    >>> model = _tiny_model()
    >>> frame = pd.DataFrame({"entity_id": [f"E{i:07d}" for i in range(30)],
    ...                       "as_of": pd.Timestamp("2024-01-01"), "x": np.linspace(-2, 2, 30)})
    >>> artifacts = shap_artifacts(model, frame)
    >>> sorted(artifacts), list(artifacts[MEAN_ABS_ARTIFACT])
    (['explain/mean_abs_contribution.json', 'plots/shap_beeswarm.png'], ['x'])
    """
    if not isinstance(frame, pd.DataFrame) or not len(frame) or not set(model.features) <= set(frame.columns):
        return {}
    sample = frame.sample(n=sample_rows, random_state=0) if len(frame) > sample_rows else frame
    batch = explain_rows(model, sample)
    mean_abs = np.abs(batch.contributions).mean(axis=0)
    return {
        MEAN_ABS_ARTIFACT: {str(f): float(v) for f, v in zip(batch.features, mean_abs, strict=True)},
        SHAP_BEESWARM_ARTIFACT: shap_beeswarm(batch.to_shap("points")),
    }


def shap_beeswarm(explanation: Any, max_display: int = 20) -> Any:
    """shap's beeswarm of a ``shap.Explanation`` (e.g. ``BatchExplanation.to_shap()``).

    One dot per row and feature: its contribution on the x axis, coloured by the
    feature's value; features ordered by mean |contribution|. Drawn on an object-API
    matplotlib figure (Agg canvas, no global pyplot state), safe in threads.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import shap
    >>> rng = np.random.default_rng(0)
    >>> exp = shap.Explanation(values=rng.normal(size=(50, 3)), base_values=np.zeros(50),
    ...                        data=rng.normal(size=(50, 3)), feature_names=["a", "b", "c"])
    >>> shap_beeswarm(exp).axes[0].get_xlabel()
    'contribution (points)'
    """
    import shap
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, max(3.0, 0.35 * min(max_display, explanation.values.shape[1]) + 1.5)), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    shap.plots.beeswarm(explanation, max_display=max_display, ax=ax, show=False, plot_size=None)
    unit = "log-odds" if explanation.output_names == "log-odds" else "points"
    ax.set_xlabel(f"contribution ({unit})")
    ax.set_title("SHAP beeswarm (sample of the training panel)")
    figure.tight_layout()
    return figure
