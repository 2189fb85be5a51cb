"""Figures of measured quality: reliability, metric bars, class proportions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hyperfusion.config import AD_CLASSES
from hyperfusion.evaluate.schema import ModelResult, ReliabilityBin, Scores, SeedResult
from hyperfusion.evaluate.summary import aggregate
from hyperfusion.metrics import expected_calibration_error, reliability_bins, softmax
from hyperfusion.modelcard import measured
from hyperfusion.viz import CLASS_COLORS
from hyperfusion.viz import metrics as charts
from tests.metrics_example import example_metrics


def test_reliability_diagram_has_the_diagonal_and_one_curve_per_model():
    bins = pd.DataFrame(
        {
            "confidence": [0.4, 0.6, 0.9],
            "accuracy": [0.35, 0.5, 0.8],
            "count": [4, 16, 64],
        }
    )
    other = bins.drop(columns="count").assign(accuracy=[0.4, 0.62, 0.91])
    fig = charts.reliability_figure({"HyperFusion": bins, "Image only": other})
    diagonal, first, second = fig.data
    assert (list(diagonal.x), list(diagonal.y)) == ([0, 1], [0, 1])
    assert diagonal.line.dash == "dash"
    np.testing.assert_allclose(first.y, bins["accuracy"])
    assert first.name == "HyperFusion" and second.name == "Image only"
    sizes = np.asarray(first.marker.size)
    assert np.all(np.diff(sizes) > 0)  # more subjects, larger marker
    assert tuple(fig.layout.xaxis.range) == tuple(fig.layout.yaxis.range) == (0, 1)
    assert "confidence" in fig.layout.xaxis.title.text
    assert fig.layout.yaxis.title.text == "observed accuracy"


def test_reliability_diagram_draws_the_bins_evaluation_records(rng):
    # Regression: nothing wrote reliability bins, so the diagram never appeared.
    # The bins of the ECE, through metrics.json's schema and the model card, reach
    # the figure unchanged.
    y, probs = rng.integers(0, 3, size=300), softmax(2 * rng.normal(size=(300, 3)))
    bins = tuple(ReliabilityBin(**b) for b in reliability_bins(y, probs))
    ece = expected_calibration_error(y, probs)
    seed = SeedResult(0, Scores({"ece": ece}, 300), None, True, 1, 1.0, None, bins)
    result = ModelResult({"0": seed}, aggregate([seed]))
    metrics = example_metrics({"ad": {"hyperfusion": result}})
    curves = measured.reliability_curves(metrics, ["hyperfusion", "film"])
    fig = charts.reliability_figure(curves)
    diagonal, curve = fig.data
    assert curve.name == "HyperFusion"
    np.testing.assert_allclose(curve.x, [b.confidence for b in bins], atol=1e-6)
    np.testing.assert_allclose(curve.y, [b.accuracy for b in bins], atol=1e-6)
    np.testing.assert_array_equal(curve.customdata, [b.count for b in bins])
    gap = np.abs(np.asarray(curve.y) - np.asarray(curve.x))
    assert (curve.customdata * gap).sum() / 300 == pytest.approx(ece, abs=1e-5)


def test_metric_bars_show_seed_spread_and_chance():
    table = pd.DataFrame(
        {
            "label": ["HyperFusion", "Image only", "FiLM"],
            "balanced_accuracy": [0.71, 0.58, np.nan],
            "balanced_accuracy_sd": [0.02, np.nan, 0.01],
        }
    )
    fig = charts.metric_bars_figure(
        table, "balanced_accuracy", "balanced accuracy", reference=1 / 3
    )
    bar = fig.data[0]
    assert list(bar.x) == ["HyperFusion", "Image only"]  # unmeasured FiLM left out
    np.testing.assert_allclose(bar.error_y.array, [0.02, 0.0])
    assert fig.layout.shapes[0].y0 == pytest.approx(1 / 3)
    assert fig.layout.annotations[0].text == "chance"
    assert fig.layout.yaxis.title.text == "balanced accuracy"


def test_class_proportions_label_counts_and_shares():
    fig = charts.class_proportions_figure({"AD": 170, "CN": 350, "MCI": 480})
    bar = fig.data[0]
    assert list(bar.x) == ["CN", "MCI", "AD"]
    assert list(bar.text) == ["350 (35%)", "480 (48%)", "170 (17%)"]
    assert list(bar.marker.color) == [CLASS_COLORS[c] for c in AD_CLASSES]
    shares = charts.class_proportions_figure({"CN": 0.35, "MCI": 0.48, "AD": 0.17})
    assert list(shares.data[0].text) == ["35%", "48%", "17%"]
    assert shares.layout.yaxis.tickformat == ".0%"


def test_model_probabilities_are_grouped_by_model_in_class_colours():
    table = pd.DataFrame(
        {
            "label": ["HyperFusion", "DAFT"],
            "CN": [0.2, 0.5],
            "MCI": [0.5, 0.3],
            "AD": [0.3, 0.2],
            "CN_sd": [0.01, 0.02],
            "MCI_sd": [0.03, 0.04],
            "AD_sd": [0.05, 0.06],
        }
    )
    fig = charts.model_probabilities_figure(table)
    assert fig.layout.barmode == "group"
    assert [t.name for t in fig.data] == list(AD_CLASSES)
    for t in fig.data:
        assert list(t.x) == ["HyperFusion", "DAFT"]
        assert t.marker.color == CLASS_COLORS[t.name]
        np.testing.assert_allclose(t.y, table[t.name])
        np.testing.assert_allclose(t.error_y.array, table[f"{t.name}_sd"])
    assert tuple(fig.layout.yaxis.range) == (0, 1)
    assert fig.layout.yaxis.title.text == "probability"


def test_models_with_one_seed_get_no_error_bars():
    # Regression: every bar drew a small error-bar cap although each model had one
    # seed.
    table = pd.DataFrame(
        {
            "label": ["HyperFusion", "DAFT"],
            **{c: [0.3, 0.4] for c in AD_CLASSES},
            **{f"{c}_sd": [0.0, 0.05] for c in AD_CLASSES},
            "seeds": [1, 3],
        }
    )
    mixed = charts.model_probabilities_figure(table)
    for t in mixed.data:  # NaN hides a point's error bar (null would draw a cap)
        np.testing.assert_array_equal(t.error_y.array, [np.nan, 0.05])
    single = charts.model_probabilities_figure(table.assign(seeds=1))
    assert all(t.error_y.array is None for t in single.data)
