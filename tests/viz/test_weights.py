"""Weight matrices as images: one pixel per weight, rows = output channels from the
top, on one blue-white-red scale centred at 0 that the panels share."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.viz.slice_images import decode_png_uri
from hyperfusion.viz.weights import symmetric_limit, weight_heatmaps_html
from tests.html_tree import parse, percent

# plotly's RdBu_r: its first, middle and last colours.
BLUE_END, WHITE_MIDDLE, RED_END = (5, 48, 97), (247, 247, 247), (103, 0, 31)


def images(text: str) -> list[np.ndarray]:
    return [decode_png_uri(img.attrs["src"]) for img in parse(text).by_tag("img")]


def test_one_pixel_per_weight_top_colour_at_the_peak_and_white_at_zero():
    w = np.zeros((3, 5))
    w[1, 3], w[2, 0], w[0, 4] = 2.0, -2.0, 1.0
    (pixels,) = images(weight_heatmaps_html([w], ["W(t)"]))
    assert pixels.shape == (3, 5, 3)  # (out, in): rows are output channels
    assert tuple(pixels[1, 3]) == RED_END
    assert tuple(pixels[2, 0]) == BLUE_END
    np.testing.assert_allclose(pixels[0, 0], WHITE_MIDDLE, atol=2)
    # Half the limit is half-way to red: redder than white, not the full red.
    assert pixels[0, 4][0] > pixels[0, 4][2] and tuple(pixels[0, 4]) != RED_END


def test_output_channel_zero_is_the_top_row_and_input_zero_the_left_column():
    w = np.zeros((4, 6))
    w[0, :] = 1.0  # output channel 0: all positive
    w[:, 0] = -1.0  # input channel 0: all negative (the corner too)
    (pixels,) = images(weight_heatmaps_html([w], ["W"]))
    assert all(tuple(p) == RED_END for p in pixels[0, 1:])
    assert all(tuple(p) == BLUE_END for p in pixels[:, 0])
    np.testing.assert_allclose(pixels[1:, 1:].reshape(-1, 3).mean(0), WHITE_MIDDLE, 2)


def test_panels_share_one_symmetric_scale():
    a = np.array([[0.5, -1.0], [0.0, 0.2]])
    b = np.array([[2.0, 0.0], [0.0, 0.0]])
    text = weight_heatmaps_html([a, b], ["Female", "Male"])
    root = parse(text).by_class("hf-weights")[0]
    assert float(root.attrs["data-limit"]) == 2.0
    assert root.attrs["data-shapes"] == "2x2;2x2"
    first, second = images(text)
    assert tuple(second[0, 0]) == RED_END
    assert tuple(first[0, 0]) != RED_END  # 0.5 of a limit of 2 is a light red
    bars = parse(text).by_class("hf-colour-bar")
    assert len(bars) == 1  # one colour bar for both panels
    assert (float(bars[0].attrs["data-low"]), float(bars[0].attrs["data-high"])) == (
        -2.0,
        2.0,
    )
    titles = [p.by_tag("div")[1].text() for p in parse(text).by_class("hf-heatmap")]
    assert titles == ["Female", "Male"]


def test_axes_are_titled_and_ticks_sit_on_their_channels():
    text = weight_heatmaps_html([np.ones((128, 64))], ["W(t)"])
    root = parse(text)
    words = root.text(" ")
    assert "Input channel" in words and "Output channel" in words
    for cls, n in (("hf-xtick", 64), ("hf-ytick", 128)):
        ticks = root.by_class(cls)
        assert 2 <= len(ticks) <= 8
        for tick in ticks:
            channel = int(tick.text())
            assert 0 <= channel < n
            # The centre of the channel's cell, as a fraction of the axis.
            assert float(tick.attrs["data-at"]) == pytest.approx((channel + 0.5) / n)
            side = "left" if cls == "hf-xtick" else "top"
            assert percent(tick.style()[side]) == pytest.approx(
                (channel + 0.5) / n, 1e-3
            )
    img = root.by_tag("img")[0]
    assert img.style()["image-rendering"] == "pixelated"
    (grid,) = root.find_all(lambda n: n.style().get("display") == "grid")
    assert img in list(grid.elements())
    assert len(grid.style()["grid-template-areas"].split("' '")) == 4
    assert (img.style()["width"], img.style()["height"]) == ("100%", "100%")


def test_all_zero_matrices_still_get_a_usable_scale():
    assert symmetric_limit([np.zeros((2, 2))]) == 1.0
    root = parse(weight_heatmaps_html([np.zeros((2, 3))], ["W"]))
    assert float(root.by_class("hf-weights")[0].attrs["data-limit"]) == 1.0
    fixed = weight_heatmaps_html([np.full((2, 3), 0.5)], ["W"], limit=0.5)
    assert float(parse(fixed).by_class("hf-colour-bar")[0].attrs["data-high"]) == 0.5
    assert all(tuple(p) == RED_END for p in images(fixed)[0].reshape(-1, 3))


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="title"):
        weight_heatmaps_html([np.zeros((2, 2))], [])
    with pytest.raises(ValueError, match="2D"):
        weight_heatmaps_html([np.zeros(3)], ["v"])


def test_a_one_row_matrix_keeps_room_for_its_axis_title():
    # Regression: a 1 x 64 layer got a 24 px strip and its rotated "Output
    # channel" title ran over the panel's title.
    root = parse(weight_heatmaps_html([np.ones((1, 64))], ["fc4"]))
    (grid,) = root.find_all(lambda n: n.style().get("display") == "grid")
    image_row = grid.style()["grid-template-rows"].split()[1]
    assert image_row.endswith("px") and float(image_row[:-2]) >= 100
    tall = parse(weight_heatmaps_html([np.ones((128, 64))], ["W"], height=320))
    (grid,) = tall.find_all(lambda n: n.style().get("display") == "grid")
    assert grid.style()["grid-template-rows"].split()[1] == "320px"
