"""Batch explanations become shap.Explanation objects that shap's own plots draw."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import shap

from riskml.explain import explain_rows
from riskml.models import fit_model
from riskml.models._testing import toy_panel


@pytest.fixture(scope="module")
def fitted():
    panel, labels = toy_panel(n_entities=400, n_dates=16, seed=3)
    model = fit_model(panel, labels, "credit", backtest={"test_dates": "last 1", "min_train_dates": 2},
                      params={"n_estimators": 30}).model
    rows = panel.frame[panel.frame["as_of"] == panel.frame["as_of"].max()].head(300)
    return model, rows, explain_rows(model, rows)


def test_shap_values_are_the_treeshap_points_and_log_odds(fitted):
    model, rows, batch = fitted
    contrib = np.asarray(model.booster.predict(model.matrix(rows), pred_contrib=True))
    a, factor, offset = model.calib_a, model.policy.factor, model.policy.offset
    in_points = batch.to_shap("points")
    np.testing.assert_allclose(in_points.values, -factor * a * contrib[:, :-1], rtol=0, atol=1e-9)
    np.testing.assert_allclose(in_points.base_values, offset - factor * (a * contrib[:, -1] + model.calib_b), atol=1e-9)
    np.testing.assert_allclose(in_points.values.sum(axis=1) + in_points.base_values,
                               model.score(rows)["score"].to_numpy(), atol=1e-6)
    in_logodds = batch.to_shap("log-odds")
    np.testing.assert_array_equal(in_logodds.values, contrib[:, :-1])
    np.testing.assert_array_equal(in_logodds.base_values, contrib[:, -1])
    assert list(in_points.feature_names) == list(model.features)
    assert in_points.data.shape == in_points.values.shape and in_points.data.dtype == np.float64
    assert in_points.display_data[0, list(model.features).index("industry")] == rows["industry"].iloc[0]
    with pytest.raises(ValueError, match="points, log-odds"):
        batch.to_shap("probability")  # type: ignore[arg-type]


def test_points_by_group_add_up_to_the_feature_points(fitted):
    _, _, batch = fitted
    np.testing.assert_allclose(batch.by_dimension().sum(axis=1), batch.points.sum(axis=1), atol=1e-9)


def test_shap_beeswarm_waterfall_and_scatter_save_pngs(fitted, tmp_path):
    _, _, batch = fitted
    exp = batch.to_shap()
    shap.plots.beeswarm(exp, show=False)
    plt.gcf().savefig(tmp_path / "beeswarm.png")
    plt.close("all")
    shap.plots.waterfall(exp[0], show=False)
    plt.gcf().savefig(tmp_path / "waterfall.png")
    plt.close("all")
    shap.plots.scatter(exp[:, "penalties_count_365d"], show=False)
    plt.gcf().savefig(tmp_path / "scatter.png")
    plt.close("all")
    for name in ("beeswarm", "waterfall", "scatter"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_batch_points_are_the_published_scores_when_the_grade_has_its_own_model():
    """The shipped credit model grades with a through-the-cycle model: shap's values are that score's points."""
    import riskml
    from riskml.explain._whatif import score_rows

    market = riskml.synth.make_market(n_entities=600, seed=5)
    records = riskml.records.validate(market.records, mode="strict")
    model = riskml.train(records, "credit", backtest={"test_dates": "last 1"}, params={"n_estimators": 20},
                         log=False).model
    assert model.grade_model is not None
    rows = riskml.build_panel(records, ["2024-01-01"]).frame
    exp = explain_rows(model, rows).to_shap()
    published = model.score(rows)["score"].to_numpy()
    np.testing.assert_allclose(exp.values.sum(axis=1) + exp.base_values, published, rtol=0, atol=1e-6)
    # the points riskml.explain gives each feature of an entity (explain_entity scores rows this way)
    single = score_rows(model.grading, rows)
    np.testing.assert_allclose(exp.values, single.points.to_numpy(), rtol=0, atol=1e-9)
    assert list(exp.feature_names) == list(model.grading.features)
