"""Slices as PNG images: colour tables, compositing a map over the anatomy, and the
PNG round trip (greyscale when nothing is coloured)."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from hyperfusion.viz.slice_images import (
    PNG_URI_PREFIX,
    colour_table,
    composite,
    decode_png_uri,
    grey_table,
    png_bytes,
    png_data_uri,
)


def test_colour_tables_sample_plotly_scales_end_to_end():
    inferno = colour_table("Inferno")
    assert inferno.shape == (256, 3) and inferno.dtype == np.uint8
    assert inferno[0].tolist() == [0, 0, 4] and inferno[-1].tolist() == [252, 255, 164]
    assert colour_table("RdBu_r")[0].tolist() == [5, 48, 97]  # blue for negative
    grey = grey_table()
    assert grey[0] == 0 and grey[-1] == 254 and (np.diff(grey.astype(int)) >= 0).all()
    with pytest.raises(ValueError):
        inferno[0] = 1  # shared tables are read-only


def test_nan_is_transparent_and_the_map_is_blended_with_its_opacity():
    grey = np.array([[0, 100], [200, 255]], dtype=np.uint8)
    overlay = np.array([[np.nan, 1.0], [0.0, np.nan]], dtype=np.float32)
    out = composite(grey, overlay, opacity=0.25)
    anatomy = composite(grey)
    assert (out[0, 0] == anatomy[0, 0]).all() and (out[1, 1] == anatomy[1, 1]).all()
    top = colour_table("Inferno")[-1]
    expected = np.rint(0.75 * anatomy[0, 1] + 0.25 * top)
    np.testing.assert_array_equal(out[0, 1], expected)
    # Limits clip: a value beyond cmax takes the scale's last colour.
    clipped = composite(grey, np.full((2, 2), 5.0), opacity=1.0, limits=(0.0, 1.0))
    assert (clipped == top).all()
    assert (composite(grey, np.full((2, 2), np.nan)) == anatomy).all()


def test_png_round_trip_keeps_pixels_and_flips_rows_bottom_up():
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    uri = png_data_uri(rgb)
    assert uri.startswith(PNG_URI_PREFIX)
    np.testing.assert_array_equal(decode_png_uri(uri), rgb[::-1])
    np.testing.assert_array_equal(decode_png_uri(png_data_uri(rgb, False)), rgb)
    with pytest.raises(ValueError, match="PNG"):
        decode_png_uri("data:image/jpeg;base64,AAAA")


def test_grey_images_are_stored_as_one_channel():
    grey = composite(np.tile(np.arange(0, 250, 10, dtype=np.uint8), (20, 1)))
    colour = grey.copy()
    colour[0, 0] = (255, 0, 0)
    one, three = png_bytes(grey), png_bytes(colour)
    assert one[25] == 0 and three[25] == 2  # IHDR colour type: grey vs RGB
    assert len(one) < len(three)
    decoded = decode_png_uri(PNG_URI_PREFIX + base64.b64encode(one).decode())
    np.testing.assert_array_equal(decoded, grey[::-1])
