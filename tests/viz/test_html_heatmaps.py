"""Heatmaps as light HTML: the channel-norm sweep (an image with its axes and the
patient's value) and the confusion matrix (a coloured table)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from hyperfusion.config import AD_CLASSES
from hyperfusion.viz.html_heatmaps import (
    channel_norm_html,
    confusion_table_html,
    index_ticks,
)
from hyperfusion.viz.slice_images import decode_png_uri
from tests.html_tree import Node, parse, percent, rgb

VIRIDIS_LOW, VIRIDIS_HIGH = (0x44, 0x01, 0x54), (0xFD, 0xE7, 0x25)  # plotly's ends


def heatmap_x_fraction(values: list[float], x: float) -> float:
    """Where ``x`` falls on a heatmap's x axis over evenly spaced ``values``: the
    axis runs from half a cell before the first value to half after the last."""
    step = values[1] - values[0]
    start = values[0] - step / 2
    return (x - start) / (step * len(values))


def line(root: Node) -> Node:
    (found,) = root.by_class("hf-line")
    return found


# The channel-norm sweep ------------------------------------------------------------


def test_sweep_puts_values_across_and_channels_down_on_the_norm_scale():
    norms = np.arange(12, dtype=float).reshape(3, 4)  # (K values, out channels)
    norms[1, 2] = 30.0  # the peak: value 20, channel 2
    text = channel_norm_html([10.0, 20.0, 30.0], norms, "CSF p-tau181", "pg/mL")
    root = parse(text)
    pixels = decode_png_uri(root.by_tag("img")[0].attrs["src"])
    assert pixels.shape == (4, 3, 3)  # channels down, field values across
    assert tuple(pixels[2, 1]) == VIRIDIS_HIGH
    assert tuple(pixels[0, 0]) == VIRIDIS_LOW  # the smallest norm: 0 at channel 0
    # A norm grows with the value for every channel but 2: brighter to the right.
    brightness = pixels.astype(int).sum(axis=2)
    assert (np.diff(brightness[3]) > 0).all()
    words = root.text(" ")
    assert "CSF p-tau181 (pg/mL)" in words and "Output channel c" in words
    bar = root.by_class("hf-colour-bar")[0]
    assert "‖Wc(t)‖₂" in bar.text()
    assert (float(bar.attrs["data-low"]), float(bar.attrs["data-high"])) == (0, 30)
    assert root.by_class("hf-line") == []  # no patient value given, no line


@pytest.mark.parametrize("current", [10.0, 20.0, 25.0, 30.0])
def test_the_patient_line_sits_at_its_value_on_the_x_axis(current):
    values = [10.0, 20.0, 30.0]
    root = parse(channel_norm_html(values, np.ones((3, 4)), "Age", "years", current))
    expected = heatmap_x_fraction(values, current)
    mark = line(root)
    assert percent(mark.style()["left"]) == pytest.approx(expected, abs=1e-4)
    assert float(mark.attrs["data-at"]) == pytest.approx(expected)
    assert "this patient" in root.text(" ")


def test_numeric_ticks_name_swept_values_at_their_place():
    values = np.linspace(8.0, 120.0, 41).tolist()
    root = parse(channel_norm_html(values, np.ones((41, 8)), "p-tau", "pg/mL", 30.0))
    ticks = root.by_class("hf-xtick")
    labels = [float(t.text()) for t in ticks]
    assert 3 <= len(ticks) <= 6 and labels[0] == 8.0 and labels[-1] == 120.0
    for tick, value in zip(ticks, labels, strict=True):
        at = heatmap_x_fraction(values, value)
        assert percent(tick.style()["left"]) == pytest.approx(at, abs=1e-3)
    mark = percent(line(root).style()["left"])
    assert mark == pytest.approx(heatmap_x_fraction(values, 30.0), abs=1e-4)
    channels = [int(t.text()) for t in root.by_class("hf-ytick")]
    assert channels[0] == 0 and all(0 <= c < 8 for c in channels)


def test_a_categorical_field_shows_every_category_and_marks_the_patients():
    root = parse(
        channel_norm_html(["Female", "Male"], np.ones((2, 3)), "Sex", "", "Male")
    )
    assert [t.text() for t in root.by_class("hf-xtick")] == ["Female", "Male"]
    assert percent(line(root).style()["left"]) == pytest.approx(0.75)  # 2nd of 2
    assert "Sex" in root.text(" ") and "Sex (" not in root.text(" ")


@pytest.mark.parametrize("current", [None, 5.0, 31.0, "unknown"])
def test_no_line_for_a_value_off_the_sweep(current):
    root = parse(
        channel_norm_html([10.0, 20.0, 30.0], np.ones((3, 2)), "Age", "y", current)
    )
    assert root.by_class("hf-line") == []


def test_norms_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="norms"):
        channel_norm_html([1.0, 2.0], np.ones((3, 4)), "Age")


def test_index_ticks_are_round_and_few():
    for n in (1, 2, 16, 64, 128, 2560):
        ticks = index_ticks(n)
        assert ticks[0] == 0 and all(0 <= t < n for t in ticks) and len(ticks) <= 7
        steps = set(np.diff(ticks).tolist()) or {1}
        assert len(steps) == 1 and str(steps.pop())[0] in "125"


# The confusion matrix --------------------------------------------------------------


def cells(root: Node) -> list[list[Node]]:
    return [
        row.by_class("hf-cell") for row in root.by_tag("tr") if row.by_class("hf-cell")
    ]


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio of two sRGB colours."""

    def lum(c: tuple[int, int, int]) -> float:
        s = [v / 255 for v in c]
        lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in s]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_confusion_cells_count_the_subjects_and_their_share_of_the_true_class(rng):
    truth = rng.choice(AD_CLASSES, size=200, p=[0.4, 0.4, 0.2]).tolist()
    guess = [t if rng.random() < 0.6 else rng.choice(AD_CLASSES) for t in truth]
    matrix = np.zeros((3, 3), int)
    np.add.at(matrix, ([AD_CLASSES.index(t) for t in truth],
                       [AD_CLASSES.index(g) for g in guess]), 1)  # fmt: skip
    pairs, per_truth = Counter(zip(truth, guess, strict=True)), Counter(truth)
    root = parse(confusion_table_html(matrix, title="HyperFusion"))
    assert "HyperFusion" in root.text(" ")
    for t, row in zip(AD_CLASSES, cells(root), strict=True):
        for g, cell in zip(AD_CLASSES, row, strict=True):
            count, share = cell.text("|").split("|")
            assert int(count) == pairs[(t, g)]
            assert share == f"({round(100 * pairs[(t, g)] / per_truth[t])}%)"


def test_confusion_rows_are_true_and_columns_predicted():
    root = parse(confusion_table_html([[5, 0, 0], [0, 0, 7], [0, 0, 0]]))
    headers = [th.text() for th in root.by_tag("th")]
    assert "predicted" in headers and "true" in headers
    rows = root.by_tag("tr")
    assert [th.text() for th in rows[1].by_tag("th")][-3:] == list(AD_CLASSES)
    row_names = [r.by_tag("th")[-1].text() for r in rows[2:]]
    assert row_names == list(AD_CLASSES)
    grid = [[c.text("|") for c in row] for row in cells(root)]
    assert grid[1][2] == "7|(100%)" and grid[1][1] == "0|(0%)"  # MCI taken for AD
    assert grid[2] == ["0|(0%)"] * 3  # a class without subjects: no NaN


def test_confusion_colour_follows_the_share_and_text_stays_readable():
    root = parse(confusion_table_html([[9, 1, 0], [3, 3, 4], [0, 2, 8]]))
    flat = [c for row in cells(root) for c in row]
    shares = [int(c.text("|").split("|")[1].strip("(%)")) for c in flat]
    backs = [rgb(c.style()["background"]) for c in flat]
    darkness = [-sum(b) for b in backs]
    order = np.argsort(shares, kind="stable")
    assert all(np.diff(np.asarray(darkness)[order]) >= 0)  # more share, darker
    assert rgb(flat[0].style()["background"]) != rgb(flat[2].style()["background"])
    for cell, back in zip(flat, backs, strict=True):
        assert contrast(back, rgb(cell.style()["color"])) >= 4.5


@pytest.mark.parametrize(
    ("matrix", "classes"),
    [([[1, 2], [3, 4], [5, 6]], AD_CLASSES), ([[1, 2], [3, 4]], AD_CLASSES)],
)
def test_confusion_matrix_refuses_mismatched_shapes(matrix, classes):
    with pytest.raises(ValueError):
        confusion_table_html(matrix, classes)


# All three ----------------------------------------------------------------------

ATTRIBUTES = {"class", "style", "src", "alt", "colspan", "rowspan"}


@pytest.mark.parametrize(
    "text",
    [
        channel_norm_html([1.0, 2.0], np.ones((2, 3)), "Age", "y", 1.5),
        confusion_table_html(np.eye(3), title='A "quoted" <name>'),
    ],
    ids=["sweep", "confusion"],
)
def test_every_attribute_survives_parsing_whole(text):
    # Regression: a double quote inside a style attribute ended it early, and the
    # browser dropped the grid layout (the rest became attributes of their own).
    for node in parse(text).elements():
        odd = [
            a for a in node.attrs if a not in ATTRIBUTES and not a.startswith("data-")
        ]
        assert odd == [], (node.tag, odd)
    grids = parse(text).find_all(lambda n: n.style().get("display") == "grid")
    for grid in grids:
        areas = grid.style()["grid-template-areas"]
        assert areas.count("'") == 8  # four rows of areas
