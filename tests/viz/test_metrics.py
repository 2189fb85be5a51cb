"""Figures of measured quality: reliability (plotly), and the HTML bars of metrics,
class proportions and every model's probabilities."""

from __future__ import annotations

import json

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
from tests.html_tree import Node, parse, percent
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


def _chart(text: str, cls: str) -> Node:
    (found,) = parse(text).by_class(cls)
    return found


def _extent(node: Node) -> tuple[float, float]:
    left = percent(node.style()["left"])
    return left, left + percent(node.style()["width"])


def test_metric_bars_show_seed_spread_and_chance():
    table = pd.DataFrame(
        {
            "label": ["HyperFusion", "Image only", "FiLM"],
            "balanced_accuracy": [0.71, 0.58, np.nan],
            "balanced_accuracy_sd": [0.02, np.nan, 0.01],
        }
    )
    text = charts.metric_bars_html(
        table, "balanced_accuracy", "balanced accuracy", reference=1 / 3
    )
    chart = _chart(text, "hf-metric-bars")
    # The unmeasured FiLM is left out; the values are the table's.
    assert json.loads(chart.attrs["data-labels"]) == ["HyperFusion", "Image only"]
    assert json.loads(chart.attrs["data-values"]) == [0.71, 0.58]
    high = float(chart.attrs["data-high"])
    assert float(chart.attrs["data-low"]) == 0 and high > 0.71 + 0.02
    first, second = chart.by_class("hf-bar")
    assert _extent(first) == pytest.approx((0, 0.71 / high), abs=1e-4)
    assert _extent(second) == pytest.approx((0, 0.58 / high), abs=1e-4)
    # One whisker, HyperFusion's: 0.71 ± 0.02; none for a missing spread.
    (whisker,) = chart.by_class("hf-whisker")
    assert _extent(whisker) == pytest.approx((0.69 / high, 0.73 / high), abs=1e-4)
    labels = [v.text() for v in chart.by_class("hf-value")]
    assert labels == ["0.710 ± 0.020", "0.580"]
    # The chance line: dashed, at 1/3 on the axis from 0 to data-high, labelled.
    dashed = [
        n for n in chart.by_tag("div") if "dashed" in n.style().get("border-left", "")
    ]
    assert [percent(n.style()["left"]) for n in dashed] == pytest.approx(
        [1 / 3 / high], abs=1e-4
    )
    assert float(chart.attrs["data-reference"]) == pytest.approx(1 / 3)
    text = chart.text(" ")
    assert "chance" in text and "balanced accuracy" in text and "model" in text
    assert "±1 SD over training seeds" in text  # the whisker's legend


def test_class_proportions_label_counts_and_shares():
    chart = _chart(
        charts.class_proportions_html({"AD": 170, "CN": 350, "MCI": 480}),
        "hf-class-proportions",
    )
    assert json.loads(chart.attrs["data-labels"]) == ["CN", "MCI", "AD"]
    assert json.loads(chart.attrs["data-values"]) == [350, 480, 170]
    labels = [v.text() for v in chart.by_class("hf-value")]
    assert labels == ["350 (35%)", "480 (48%)", "170 (17%)"]
    bars = chart.by_class("hf-bar")
    assert [b.style()["background"] for b in bars] == [
        CLASS_COLORS[c] for c in AD_CLASSES
    ]
    high = float(chart.attrs["data-high"])
    widths = [percent(b.style()["width"]) for b in bars]
    assert widths == pytest.approx([v / high for v in (350, 480, 170)], abs=1e-4)
    assert "subjects" in chart.text(" ") and "diagnosis" in chart.text(" ")
    shares = _chart(
        charts.class_proportions_html({"CN": 0.35, "MCI": 0.48, "AD": 0.17}),
        "hf-bars",
    )
    assert [v.text() for v in shares.by_class("hf-value")] == ["35%", "48%", "17%"]
    assert "share of subjects" in shares.text(" ")
    assert all(t.text().endswith("%") for t in shares.by_class("hf-tick"))


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
    chart = _chart(charts.model_probabilities_html(table), "hf-model-probabilities")
    assert json.loads(chart.attrs["data-series"]) == list(AD_CLASSES)
    assert json.loads(chart.attrs["data-labels"]) == ["HyperFusion", "DAFT"]
    values = json.loads(chart.attrs["data-values"])
    assert values == [table[c].tolist() for c in AD_CLASSES]
    bars = chart.by_class("hf-bar")
    # One group per model, a bar per class inside it, on a 0-100 % axis.
    expected = [(m, c) for m in ("HyperFusion", "DAFT") for c in AD_CLASSES]
    assert [(b.attrs["data-label"], b.attrs["data-series"]) for b in bars] == expected
    for bar, (model, cls) in zip(bars, expected, strict=True):
        p = float(table.set_index("label").loc[model, cls])
        assert bar.style()["background"] == CLASS_COLORS[cls]
        assert _extent(bar) == pytest.approx((0, p), abs=1e-4)
    whiskers = chart.by_class("hf-whisker")
    spans = [
        (p - sd, p + sd)
        for m in range(2)
        for p, sd in ((table[c][m], table[f"{c}_sd"][m]) for c in AD_CLASSES)
    ]
    assert [_extent(w) for w in whiskers] == [pytest.approx(s, abs=1e-4) for s in spans]
    assert "probability" in chart.text(" ")
    assert [t.text() for t in chart.by_class("hf-tick")][-1] == "100%"


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
    mixed = _chart(charts.model_probabilities_html(table), "hf-bars")
    assert json.loads(mixed.attrs["data-sd"]) == [[None, 0.05]] * 3
    whiskers = mixed.by_class("hf-whisker")
    assert [_extent(w) for w in whiskers] == [pytest.approx((0.35, 0.45))] * 3
    labels = [v.text() for v in mixed.by_class("hf-value")]
    assert labels == ["30%"] * 3 + ["40% ± 5%"] * 3
    single = _chart(charts.model_probabilities_html(table.assign(seeds=1)), "hf-bars")
    assert single.by_class("hf-whisker") == [] and "data-sd" not in single.attrs
    assert "±" not in single.text(" ")
