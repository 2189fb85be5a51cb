"""The HTML colour bar shows the same colours the images were coloured with."""

from __future__ import annotations

import re

from plotly.colors import get_colorscale, sample_colorscale

from hyperfusion.viz.html_legend import colour_bar_html, gradient_css


def _stops(css: str) -> list[tuple[int, int, int]]:
    return [tuple(map(int, m)) for m in re.findall(r"rgb\((\d+),(\d+),(\d+)\)", css)]


def test_gradient_ends_are_the_scales_ends() -> None:
    # plotly's own sampling of the scale at 0 and 1 is the independent reference
    low, high = sample_colorscale(get_colorscale("RdBu_r"), [0.0, 1.0])
    stops = _stops(gradient_css("RdBu_r"))
    for got, want in ((stops[0], low), (stops[-1], high)):
        want_rgb = [round(float(v)) for v in want[4:-1].split(",")]
        assert list(got) == want_rgb


def test_bar_labels_span_the_range_and_escape_the_title() -> None:
    text = colour_bar_html("Inferno", -2.0, 2.0, "A < B", ticks=5)
    ticks = re.findall(r'class="hf-tick">([^<]*)<', text)
    assert ticks == ["-2", "-1", "0", "1", "2"]
    assert "A &lt; B" in text and "A < B" not in text
    assert 'data-low="-2.0"' in text and 'data-high="2.0"' in text
