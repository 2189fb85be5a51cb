"""The EHR attribution and embedding bars (HTML): values, order, colours, sides of
zero, labels, axis titles and units."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hyperfusion.viz import (
    BRAIN_AGE_COLOR,
    DECREASE_COLOR,
    INCREASE_COLOR,
    REFERENCE_COLOR,
)
from hyperfusion.viz.charts import (
    attribution_bars_html,
    embedding_bars_html,
    signed,
    spread_label,
)
from tests.html_tree import Node, parse, percent


def root(text: str, cls: str) -> Node:
    (found,) = parse(text).by_class(cls)
    return found


def extent(bar: Node) -> tuple[float, float]:
    """The fractions of the axis a bar covers (its CSS left and left + width)."""
    left = percent(bar.style()["left"])
    return left, left + percent(bar.style()["width"])


def test_the_spread_label_says_what_the_bars_mean():
    assert "no spread to show" in spread_label(1)
    assert "untrained" not in spread_label(1)  # one seed may well be trained
    assert spread_label(5) == "Error bars: ±1 SD over 5 training seeds."
    assert spread_label(2, "Bands").startswith("Bands: ±1 SD")


def test_attribution_bars_are_sorted_by_size_and_coloured_by_sign():
    df = pd.DataFrame(
        {"label": ["Age", "APOE4 alleles", "Sex"], "attribution": [-2.0, 5.0, 0.5]}
    )
    chart = root(
        attribution_bars_html(df, "percentage points", "P(AD)"), "hf-attribution"
    )
    bars = chart.by_class("hf-bar")
    # The largest effect on top, the smallest at the bottom.
    assert [b.attrs["data-label"] for b in bars] == ["APOE4 alleles", "Age", "Sex"]
    assert json.loads(chart.attrs["data-labels"]) == ["APOE4 alleles", "Age", "Sex"]
    assert json.loads(chart.attrs["data-values"]) == [5.0, -2.0, 0.5]
    colours = [b.style()["background"] for b in bars]
    assert colours == [INCREASE_COLOR, DECREASE_COLOR, INCREASE_COLOR]
    # The axis is centred on zero and reaches past the largest effect: ±6.5 here
    # (1.3 × 5), so zero is at the middle, +5 ends at 0.5 + 5/13 and -2 starts at
    # 0.5 - 2/13, left of zero.
    low, high = float(chart.attrs["data-low"]), float(chart.attrs["data-high"])
    assert low == -high and high == pytest.approx(6.5)
    top, age, sex = (extent(b) for b in bars)
    assert top == pytest.approx((0.5, 0.5 + 5 / 13), abs=1e-4)
    assert age == pytest.approx((0.5 - 2 / 13, 0.5), abs=1e-4)
    assert sex == pytest.approx((0.5, 0.5 + 0.5 / 13), abs=1e-4)
    text = chart.text(" ")
    assert "What moved P(AD)" in text and "EHR field" in text
    assert "Contribution to P(AD) (percentage points)" in text
    assert "APOE4 alleles: +5.00 pp" in chart.attrs["aria-label"]


def test_attribution_labels_share_one_fixed_format():
    # Regression: "%+.3g" gave "-0.504", "-0.13", "+0.0478", "+0.0135" and "+0".
    values = [-0.504, -0.13, 0.0478, 0.0135, 0.0, -0.001]
    df = pd.DataFrame({"label": list("abcdef"), "attribution": values})
    chart = root(attribution_bars_html(df, "percentage points", "P(CN)"), "hf-bars")
    text = [v.text() for v in chart.by_class("hf-value")]
    expected = ["-0.50", "-0.13", "+0.05", "+0.01", "0.00", "0.00"]
    assert text == [f"{v} pp" for v in expected]
    assert all(re.fullmatch(r"([+-]\d+|0)\.\d\d pp", t) for t in text)
    years = root(attribution_bars_html(df, "years", "brain age"), "hf-bars")
    assert years.by_class("hf-value")[0].text() == "-0.50 y"
    assert "Contribution to brain age (years)" in years.text(" ")
    assert [signed(v, 1) for v in (3.14159, -12.0)] == ["+3.1", "-12.0"]


def test_an_all_zero_attribution_draws_empty_bars_on_a_unit_axis():
    df = pd.DataFrame({"label": ["Age", "Sex"], "attribution": [0.0, 0.0]})
    chart = root(attribution_bars_html(df, "years", "brain age"), "hf-attribution")
    assert (float(chart.attrs["data-low"]), float(chart.attrs["data-high"])) == (-1, 1)
    assert all(percent(b.style()["width"]) == 0 for b in chart.by_class("hf-bar"))


def test_embedding_bars_compare_with_the_reference():
    ours, theirs = np.array([0.1, -0.2], np.float32), np.array([0.0, 0.3], np.float32)
    chart = root(embedding_bars_html(ours, theirs), "hf-embedding")
    assert json.loads(chart.attrs["data-series"]) == [
        "this patient",
        "reference patient",
    ]
    assert json.loads(chart.attrs["data-labels"]) == ["e1", "e2"]
    np.testing.assert_array_equal(
        np.array(json.loads(chart.attrs["data-values"]), np.float32), [ours, theirs]
    )
    bars = chart.by_class("hf-bar")
    assert [(b.attrs["data-label"], b.style()["background"]) for b in bars] == [
        ("e1", BRAIN_AGE_COLOR),
        ("e1", REFERENCE_COLOR),
        ("e2", BRAIN_AGE_COLOR),
        ("e2", REFERENCE_COLOR),
    ]
    # e2 of this patient (-0.2) lies left of zero, the reference's (+0.3) right.
    low, high = float(chart.attrs["data-low"]), float(chart.attrs["data-high"])
    zero = -low / (high - low)
    assert extent(bars[2])[1] == pytest.approx(zero, abs=1e-4)
    assert extent(bars[2])[0] == pytest.approx((-0.2 - low) / (high - low), abs=1e-4)
    assert extent(bars[3])[0] == pytest.approx(zero, abs=1e-4)
    text = chart.text(" ")
    assert "Embedding e(t)" in text and "Embedding dimension k" in text
    assert "eₖ(t)" in text and "reference patient" in text
