"""The orthogonal slice viewer: planes as PNG images, mm axes, orientation, overlays
composited in, payload."""

from __future__ import annotations

import numpy as np
import pytest

from hyperfusion.config import Grid
from hyperfusion.viz import DIVERGING_SCALE
from hyperfusion.viz.slice_images import colour_table, decode_png_uri, grey_table
from hyperfusion.viz.slices import (
    anatomy_uint8,
    grid_coordinates,
    masked_overlay,
    nice_ticks,
    orthogonal_slices,
    panel_widths,
    plane_slice,
    shared_vertical_span,
)

GRID = Grid(shape=(12, 16, 10), voxel_mm=3.0, origin_mm=(-16.5, -30.0, -12.0))


@pytest.fixture
def volume(rng) -> np.ndarray:
    vol = rng.normal(size=GRID.shape).astype(np.float32)
    vol[:2] = 0.0  # background
    return vol


def _images(fig) -> list[np.ndarray]:
    """Each plane's pixels, bottom row first (as the plane's vertical axis runs:
    plotly draws a source image's first row at y0, the bottom of the axis)."""
    return [decode_png_uri(t.source) for t in fig.data if t.type == "image"]


def _grey(plane: np.ndarray) -> np.ndarray:
    """What the anatomy alone looks like: its grey level in every channel."""
    return np.repeat(grey_table()[plane][..., None], 3, axis=-1)


def test_grid_coordinates_are_voxel_centres_in_mm():
    x, y, z = grid_coordinates(GRID.affine, GRID.shape)
    assert x[0] == -16.5 and x[-1] == -16.5 + 3.0 * 11
    assert len(y) == 16 and z[1] - z[0] == 3.0


def test_rotated_grids_are_refused():
    affine = np.eye(4)
    affine[0, 1] = 0.5
    with pytest.raises(ValueError, match="axis-aligned"):
        grid_coordinates(affine, (4, 4, 4))


def test_anatomy_is_uint8_with_black_background(volume):
    grey = anatomy_uint8(volume)
    assert grey.dtype == np.uint8
    assert (grey[:2] == 0).all()
    assert grey[2:].min() >= 1 and grey.max() == 255


def test_each_plane_shows_the_right_axes_with_square_voxels(volume):
    fig = orthogonal_slices(volume, GRID.affine, cut=(5, 7, 3))
    assert [t.type for t in fig.data] == ["image"] * 3  # no overlay, no colour bar
    sag, cor, axi = _images(fig)
    # Sagittal: y across, z up; coronal: x across, z up; axial: x across, y up.
    assert sag.shape == (10, 16, 3) and cor.shape == (10, 12, 3)
    assert axi.shape == (16, 12, 3)
    np.testing.assert_array_equal(axi, _grey(anatomy_uint8(volume)[:, :, 3].T))
    image = fig.data[2]  # axial: voxel (0, 0) at the grid's first x and y centres
    assert (image.x0, image.dx, image.y0, image.dy) == (-16.5, 3.0, -30.0, 3.0)
    layout = fig.layout
    assert layout.xaxis.title.text.startswith("y (mm)") and "P → A" in (
        layout.xaxis.title.text
    )
    assert layout.yaxis.title.text.startswith("z (mm)") and "I → S" in (
        layout.yaxis.title.text
    )
    assert "L → R" in layout.xaxis2.title.text and "P → A" in layout.yaxis3.title.text
    assert layout.yaxis.scaleanchor == "x" and layout.yaxis3.scaleanchor == "x3"
    letters = {a.text for a in layout.annotations}
    assert {"<b>L</b>", "<b>R</b>", "<b>P</b>", "<b>A</b>", "<b>I</b>", "<b>S</b>"} <= (
        letters
    )
    titles = [a.text for a in layout.annotations if "mm" in a.text]
    assert titles == [
        "Sagittal · x = -1.5 mm",  # voxel 5: -16.5 + 5 * 3
        "Coronal · y = -9 mm",
        "Axial · z = -3 mm",
    ]


def test_overlay_is_thresholded_and_composited_on_a_fixed_inferno_range(volume, rng):
    cam = rng.uniform(size=GRID.shape).astype(np.float32)
    fig = orthogonal_slices(volume, GRID.affine, overlay=cam, threshold=0.5)
    axial = _images(fig)[2]
    grey = _grey(plane_slice(anatomy_uint8(volume), "axial", 5))
    hidden = plane_slice(cam, "axial", 5) <= 0.5
    hidden[:, :2] = True  # no map over the background (x slices 0 and 1 are zero)
    np.testing.assert_array_equal(axial[hidden], grey[hidden])
    # Shown voxels: 0.6 of the map's Inferno colour over 0.4 of the anatomy.
    value = plane_slice(cam, "axial", 5)[~hidden]
    colour = colour_table("Inferno")[np.rint(value * 255).astype(int)]
    expected = 0.4 * grey[~hidden] + 0.6 * colour
    np.testing.assert_allclose(axial[~hidden], expected, atol=1.0)
    axis = fig.layout.coloraxis
    assert (axis.cmin, axis.cmax) == (0.0, 1.0)
    assert axis.colorscale[0][1] == "#000004"  # Inferno starts black
    bar = [t for t in fig.data if t.type == "scatter"]
    assert len(bar) == 1 and bar[0].marker.coloraxis == "coloraxis"


def test_diverging_overlay_is_centred_at_zero(volume):
    diff = np.zeros(GRID.shape, dtype=np.float32)
    diff[6, 8, 5], diff[7, 8, 5] = 0.3, -0.1
    fig = orthogonal_slices(volume, GRID.affine, overlay=diff, diverging=True)
    axis = fig.layout.coloraxis
    assert axis.cmin == pytest.approx(-0.3) and axis.cmax == pytest.approx(0.3)
    expected = orthogonal_slices(
        volume, GRID.affine, overlay=diff, diverging=True, limit=0.3
    )
    assert expected.layout.coloraxis.colorscale == axis.colorscale
    assert DIVERGING_SCALE == "RdBu_r"
    assert np.isnan(masked_overlay(diff, 0.05, diverging=True)[0, 0, 0])
    assert masked_overlay(diff, 0.05, diverging=True)[7, 8, 5] == pytest.approx(-0.1)


def test_columns_follow_each_planes_width_and_mismatched_overlays_fail(volume):
    assert panel_widths(GRID.affine, GRID.shape) == [48.0, 36.0, 36.0]
    with pytest.raises(ValueError, match="overlay shape"):
        orthogonal_slices(volume, GRID.affine, overlay=np.zeros((2, 2, 2)))


def test_the_three_planes_share_their_plot_area_and_tick_only_beside_the_image(
    volume,
):
    # Regression: the axial panel (taller in mm) sat ~25 px lower than the other
    # two, with its x-axis title below theirs.
    fig = orthogonal_slices(volume, GRID.affine)
    layout = fig.layout
    axes = [layout.yaxis, layout.yaxis2, layout.yaxis3]
    spans = [a.range[1] - a.range[0] for a in axes]
    assert spans == pytest.approx([48.0] * 3)  # y is the tallest: 16 voxels x 3 mm
    assert shared_vertical_span(GRID.affine, GRID.shape) == 48.0
    assert len({tuple(a.domain) for a in axes}) == 1  # one height, one top
    # Same mm per pixel: plot widths in proportion to the horizontal ranges.
    widths = [a.domain[1] - a.domain[0] for a in (layout.xaxis, layout.xaxis2)]
    ranges = [a.range[1] - a.range[0] for a in (layout.xaxis, layout.xaxis2)]
    assert widths[0] / widths[1] == pytest.approx(ranges[0] / ranges[1])
    # The sagittal image (z: -13.5 to 16.5 mm) keeps its top at the axis top and
    # ticks only where it is.
    assert layout.yaxis.range[1] == pytest.approx(16.5)
    assert list(layout.yaxis.tickvals) == [-10.0, 0.0, 10.0]
    assert nice_ticks(-45.0, 27.0) == [-40.0, -20.0, 0.0, 20.0]


def test_a_91x109x91_figure_with_a_map_stays_light():
    """Regression: three uint8 heatmaps plus three float32 map heatmaps of the
    whole brain took about 270 kB of JSON; as PNG images, with the map composited
    in, the same figure is a fraction of that."""
    from nilearn.datasets import load_mni152_template
    from scipy.ndimage import gaussian_filter

    img = load_mni152_template(resolution=2)
    vol = np.asarray(img.get_fdata(), dtype=np.float32)[4:95, 4:113, :91]
    cam = gaussian_filter(np.random.default_rng(0).uniform(size=vol.shape), 4)
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    fig = orthogonal_slices(vol, affine, overlay=cam, threshold=0.5)
    images = sum(len(t.source) for t in fig.data if t.type == "image")
    assert images < 60_000
    assert len(fig.to_json()) < 80_000
