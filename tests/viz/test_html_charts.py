"""The generic HTML bar chart (``hyperfusion.viz.html_charts``): bars from zero at
the right place and length on the axis, whiskers of ±1 SD, stacked rows, grouped
series, zero and reference lines, ticks, legends, and the drawn values readable from
the element; every text escaped."""

from __future__ import annotations

import json

import pytest

from hyperfusion.viz.html_charts import (
    Axis,
    Reference,
    Series,
    bar_chart_html,
    nice_ticks,
    percent_tick,
    symmetric_span,
    zero_span,
)
from tests.html_tree import Node, parse, percent


def chart(text: str) -> Node:
    (root,) = parse(text).by_class("hf-bars")
    return root


def span(node: Node) -> tuple[float, float]:
    """The fractions of its track an element covers (from its left and width)."""
    style = node.style()
    left = percent(style["left"])
    return left, left + percent(style["width"])


def lines(root: Node) -> list[tuple[float, str]]:
    """The vertical lines across the plot: (fraction, border style)."""
    return [
        (percent(n.style()["left"]), n.style()["border-left"])
        for n in root.by_tag("div")
        if "border-left" in n.style()
    ]


def test_signed_bars_start_at_zero_and_negative_ones_lie_left_of_it():
    # Axis -4..6: zero at 0.4 of the track; 3 spans 0.4..0.7, -2 spans 0.2..0.4.
    text = bar_chart_html(
        ["up", "down"],
        [Series("s", [3.0, -2.0], ["red", "blue"], texts=["+3", "-2"])],
        Axis(-4.0, 6.0, "change"),
        kind="hf-test",
    )
    root = chart(text)
    up, down = root.by_class("hf-bar")
    assert span(up) == pytest.approx((0.4, 0.7))
    assert span(down) == pytest.approx((0.2, 0.4))
    assert up.style()["background"] == "red" and down.style()["background"] == "blue"
    assert (up.attrs["data-label"], float(up.attrs["data-value"])) == ("up", 3.0)
    # The labels sit outside each bar's end: right of +3, left of -2.
    plus, minus = root.by_class("hf-value")
    assert percent(plus.style()["left"]) == pytest.approx(0.7)
    assert percent(minus.style()["right"]) == pytest.approx(1 - 0.2)
    assert (plus.text(), minus.text()) == ("+3", "-2")
    zero = [(at, style) for at, style in lines(root) if "#1c2b36" in style]
    assert [at for at, _ in zero] == pytest.approx([0.4])


def test_the_drawn_values_travel_as_data_attributes_in_full_precision():
    values = [0.123456789012345, -1e-7, 2.5]
    root = chart(
        bar_chart_html(
            ["a", "b, c", 'd "quoted"'],
            [Series("only", values, "#000000")],
            Axis(-3.0, 3.0, "x"),
            kind="hf-test",
        )
    )
    assert json.loads(root.attrs["data-values"]) == values
    assert json.loads(root.attrs["data-labels"]) == ["a", "b, c", 'd "quoted"']
    assert json.loads(root.attrs["data-series"]) == ["only"]
    assert (float(root.attrs["data-low"]), float(root.attrs["data-high"])) == (-3, 3)
    assert "data-sd" not in root.attrs
    assert root.attrs["role"] == "img" and "b, c" in root.attrs["aria-label"]


def test_grouped_series_get_a_row_each_and_nested_values():
    root = chart(
        bar_chart_html(
            ["m1", "m2"],
            [
                Series("A", [0.1, 0.2], "#111111", sd=[0.05, None]),
                Series("B", [0.3, 0.4], "#222222"),
            ],
            Axis(0.0, 1.0, "p", percent_tick),
            kind="hf-test",
            legend=True,
            whisker_label="±1 SD",
        )
    )
    bars = root.by_class("hf-bar")
    assert [(b.attrs["data-label"], b.attrs["data-series"]) for b in bars] == [
        ("m1", "A"),
        ("m1", "B"),
        ("m2", "A"),
        ("m2", "B"),
    ]
    assert [span(b)[1] for b in bars] == pytest.approx([0.1, 0.3, 0.2, 0.4])
    assert json.loads(root.attrs["data-values"]) == [[0.1, 0.2], [0.3, 0.4]]
    assert json.loads(root.attrs["data-sd"]) == [[0.05, None], None]
    (whisker,) = root.by_class("hf-whisker")  # none for a missing sd
    assert span(whisker) == pytest.approx((0.05, 0.15))
    (legend,) = root.by_class("hf-legend")
    assert legend.text(" ").split() == ["A", "B", "±1", "SD"]
    assert [lab.text() for lab in root.by_class("hf-label")] == ["m1", "m2"]


def test_whiskers_and_bars_stay_on_the_track():
    root = chart(
        bar_chart_html(
            ["x"],
            [Series("s", [0.95], "#123456", sd=[0.2])],
            Axis(0.0, 1.0, "p"),
            kind="hf-test",
        )
    )
    (whisker,) = root.by_class("hf-whisker")
    assert span(whisker) == pytest.approx((0.75, 1.0))  # clipped at the end


def test_stacked_series_lie_end_to_end_with_labels_inside():
    root = chart(
        bar_chart_html(
            ["A", "B"],
            [
                Series("CN", [0.5, 0.1], "#2a9d8f", texts=["CN 50%", ""]),
                Series("AD", [0.5, 0.9], "#e9c46a", texts=["AD 50%", "AD 90%"]),
            ],
            Axis(0.0, 1.0, "probability", percent_tick),
            kind="hf-test",
            stacked=True,
        )
    )
    bars = root.by_class("hf-bar")
    assert [span(b) for b in bars] == [
        pytest.approx(s) for s in [(0, 0.5), (0.5, 1), (0, 0.1), (0.1, 1)]
    ]
    labels = root.by_class("hf-value")
    assert [lab.text() for lab in labels] == ["CN 50%", "AD 50%", "AD 90%"]
    assert percent(labels[2].style()["left"]) == pytest.approx(0.55)  # centred
    assert labels[1].style()["color"] != "white"  # dark text on the light amber
    assert labels[0].style()["color"] == "white"


def test_a_reference_line_is_dashed_and_labelled_at_its_value():
    root = chart(
        bar_chart_html(
            ["x"],
            [Series("s", [0.5], "#123456")],
            Axis(0.0, 2.0, "score"),
            kind="hf-test",
            reference=Reference(0.5, "chance <50%>", "#5c6b77"),
        )
    )
    dashed = [at for at, style in lines(root) if "dashed" in style]
    assert dashed == pytest.approx([0.25])
    assert "chance <50%>" in root.text(" ")
    assert float(root.attrs["data-reference"]) == 0.5
    assert not [s for _, s in lines(root) if "#1c2b36" in s]  # no zero line at 0


def test_ticks_sit_at_their_values_and_read_in_the_axis_format():
    root = chart(
        bar_chart_html(
            ["x"],
            [Series("s", [0.3], "#123456")],
            Axis(0.0, 1.0, "probability", percent_tick),
            kind="hf-test",
        )
    )
    ticks = root.by_class("hf-tick")
    assert [t.text() for t in ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]
    assert [percent(t.style()["left"]) for t in ticks] == pytest.approx(
        [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    )
    assert "probability" in root.text(" ")


def test_texts_and_attribute_values_are_escaped():
    text = bar_chart_html(
        ['<b>"x"</b>'],
        [Series('<i>"s"</i>', [1.0], 'red;" onclick="x', texts=["<1>"])],
        Axis(0.0, 2.0, '<axis "t">'),
        kind='hf-test" onload="y',
        title="<script>alert(1)</script>",
        legend=True,
    )
    assert "<b>" not in text and "<script>" not in text and "<i>" not in text
    root = chart(text)
    assert "onclick" not in root.attrs and "onload" not in root.attrs
    assert not any("onclick" in n.attrs for n in root.elements())
    assert "<script>alert(1)</script>" in root.text(" ")  # shown as text


def test_a_series_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="one value per label"):
        bar_chart_html(
            ["a", "b"], [Series("s", [1.0], "red")], Axis(0, 1, "x"), kind="k"
        )
    with pytest.raises(ValueError, match="low < high"):
        Axis(1.0, 1.0, "x")


def test_spans_and_ticks():
    assert symmetric_span([-2.0, 5.0]) == pytest.approx((-5.5, 5.5))
    assert symmetric_span([0.0]) == (-1.0, 1.0)
    assert zero_span([3.0, 1.0], 1.25) == pytest.approx((0.0, 3.75))
    assert zero_span([-1.0, 2.0]) == pytest.approx((-1.1, 2.2))
    assert nice_ticks(0.0, 0.55) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert nice_ticks(0, 420) == [0, 100, 200, 300, 400]
    assert all(len(nice_ticks(-v, v)) <= 6 for v in (0.013, 1.7, 44.0, 9e5))
