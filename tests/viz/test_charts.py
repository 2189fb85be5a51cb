"""Bar charts: values, colours, axis titles and units."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hyperfusion.viz import DECREASE_COLOR, INCREASE_COLOR
from hyperfusion.viz.charts import (
    attribution_bars,
    embedding_bars,
    signed,
    spread_label,
)


def test_the_spread_label_says_what_the_bars_mean():
    assert "no spread to show" in spread_label(1)
    assert "untrained" not in spread_label(1)  # one seed may well be trained
    assert spread_label(5) == "Error bars: ±1 SD over 5 training seeds."
    assert spread_label(2, "Bands").startswith("Bands: ±1 SD")


def test_attribution_bars_are_sorted_by_size_and_coloured_by_sign():
    df = pd.DataFrame(
        {"label": ["Age", "APOE4 alleles", "Sex"], "attribution": [-2.0, 5.0, 0.5]}
    )
    fig = attribution_bars(df, "percentage points", "P(AD)")
    bar = fig.data[0]
    assert bar.orientation == "h"
    # Plotly draws the first category at the bottom: the largest effect is on top.
    assert list(bar.y) == ["Sex", "Age", "APOE4 alleles"]
    assert list(bar.marker.color) == [INCREASE_COLOR, DECREASE_COLOR, INCREASE_COLOR]
    assert fig.layout.xaxis.title.text == "Contribution to P(AD) (percentage points)"
    low, high = fig.layout.xaxis.range
    assert low == -high and high > 5.0


def test_attribution_labels_share_one_fixed_format():
    # Regression: "%+.3g" gave "-0.504", "-0.13", "+0.0478", "+0.0135" and "+0".
    values = [-0.504, -0.13, 0.0478, 0.0135, 0.0, -0.001]
    df = pd.DataFrame({"label": list("abcdef"), "attribution": values})
    text = list(attribution_bars(df, "percentage points", "P(CN)").data[0].text)
    expected = ["0.00", "0.00", "+0.01", "+0.05", "-0.13", "-0.50"]
    assert text == [f"{v} pp" for v in expected]
    assert all(re.fullmatch(r"([+-]\d+|0)\.\d\d pp", t) for t in text)
    years = attribution_bars(df, "years", "brain age").data[0].text
    assert years[-1] == "-0.50 y"
    assert [signed(v, 1) for v in (3.14159, -12.0)] == ["+3.1", "-12.0"]


def test_embedding_bars_compare_with_the_reference():
    fig = embedding_bars(np.array([0.1, -0.2]), np.array([0.0, 0.3]))
    assert [t.name for t in fig.data] == ["this patient", "reference patient"]
    assert list(fig.data[0].x) == ["e1", "e2"]
    assert fig.layout.xaxis.title.text == "Embedding dimension k"
