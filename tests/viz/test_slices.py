"""The orthogonal slice viewer as HTML: planes as PNG images, orientation, mm layout,
crosshairs, overlays composited in, the box, the colour bar, payload."""

from __future__ import annotations

import numpy as np
import pytest
from plotly.colors import get_colorscale, sample_colorscale

from hyperfusion.config import Grid
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
from tests.html_tree import Node, parse, percent, rgb

# 12 x 16 x 10 voxels of 3 mm: x from -16.5 to 16.5, y from -30 to 15, z from -12
# to 15 (voxel centres), so the image edges are half a voxel further out.
GRID = Grid(shape=(12, 16, 10), voxel_mm=3.0, origin_mm=(-16.5, -30.0, -12.0))
CSS = 1e-5  # positions are written as percentages with 3 decimals


@pytest.fixture
def volume(rng) -> np.ndarray:
    vol = rng.normal(size=GRID.shape).astype(np.float32)
    vol[:2] = 0.0  # background
    return vol


def _viewer(text: str) -> Node:
    (viewer,) = parse(text).by_class("hf-slices")
    return viewer


def _plane(viewer: Node, plane: str) -> Node:
    return next(
        f for f in viewer.by_class("hf-plane") if f.attrs["data-plane"] == plane
    )


def _pixels(viewer: Node) -> list[np.ndarray]:
    """Each plane's pixels as the browser shows them: the first row at the top."""
    return [decode_png_uri(img.attrs["src"]) for img in viewer.by_tag("img")]


def _grey(plane: np.ndarray) -> np.ndarray:
    """What the anatomy alone looks like: its grey level in every channel."""
    return np.repeat(grey_table()[plane][..., None], 3, axis=-1)


def _plotly_rgb(scale: str, at: float) -> tuple[int, int, int]:
    """plotly's own colour of ``scale`` at ``at`` in [0, 1]."""
    (colour,) = sample_colorscale(get_colorscale(scale), [at])
    return tuple(round(float(v)) for v in colour[4:-1].split(","))  # type: ignore[return-value]


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


def test_superior_anterior_and_the_patients_right_are_where_a_reader_expects():
    """Neurological convention: the patient's left on the left, superior up in the
    sagittal and coronal planes, anterior up in the axial plane and to the right in
    the sagittal one (RAS: +x right, +y anterior, +z superior)."""
    vol = np.full(GRID.shape, 50.0, dtype=np.float32)
    vol[10, 14, 8] = 200.0  # right, anterior, superior of the centre
    viewer = _viewer(orthogonal_slices(vol, GRID.affine, cut=(10, 14, 8)))
    sag, cor, axi = _pixels(viewer)
    # Sagittal: 10 rows of z (top row z = 8 of 0..9 is row 1), 16 columns of y.
    # Coronal: 10 rows of z, 12 columns of x. Axial: 16 rows of y, 12 columns of x.
    assert sag.shape == (10, 16, 3) and cor.shape == (10, 12, 3)
    assert axi.shape == (16, 12, 3)
    for image, (row, col) in ((sag, (1, 14)), (cor, (1, 10)), (axi, (1, 10))):
        bright = np.argwhere(image[..., 0] == image[..., 0].max())
        assert bright.tolist() == [[row, col]]
    letters = {
        plane: {
            b.attrs["data-side"]: b.text() for b in _plane(viewer, plane).by_tag("b")
        }
        for plane in ("sagittal", "coronal", "axial")
    }
    assert letters["sagittal"] == {"left": "P", "right": "A", "bottom": "I", "top": "S"}
    assert letters["coronal"] == {"left": "L", "right": "R", "bottom": "I", "top": "S"}
    assert letters["axial"] == {"left": "L", "right": "R", "bottom": "P", "top": "A"}


def test_each_plane_is_its_slice_with_its_title_and_mm_edges(volume):
    viewer = _viewer(orthogonal_slices(volume, GRID.affine, cut=(5, 7, 3)))
    assert viewer.attrs["data-cut"] == "5,7,3"
    assert viewer.attrs["data-overlay"] == "none" and not viewer.by_class(
        "hf-colour-bar"
    )
    axial = _pixels(viewer)[2]
    grey = anatomy_uint8(volume)
    # Voxel (i, j) of axial slice 3 is pixel (row 15 - j, column i).
    np.testing.assert_array_equal(axial, _grey(grey[:, ::-1, 3].T))
    titles = [f.by_tag("figcaption")[0].text() for f in viewer.by_class("hf-plane")]
    assert titles == [
        "Sagittal · x = -1.5 mm",  # voxel 5: -16.5 + 5 * 3
        "Coronal · y = -9 mm",
        "Axial · z = -3 mm",
    ]
    ranges = [img.attrs["data-range"] for img in viewer.by_tag("img")]
    assert ranges == ["-31.5,16.5,-13.5,16.5", "-18,18,-13.5,16.5", "-18,18,-31.5,16.5"]
    assert "P left, A right" in viewer.by_tag("img")[0].attrs["alt"]


def test_planes_share_one_mm_scale_and_one_top(volume):
    """Flex items grow in proportion to their width in mm (from a basis that is the
    same for all), so each image gets the same pixels per mm; every image keeps its
    own mm aspect (square voxels) inside a frame as tall as the tallest plane (y:
    16 voxels x 3 mm), so the images start at one height."""
    viewer = _viewer(orthogonal_slices(volume, GRID.affine))
    widths = {"sagittal": 48.0, "coronal": 36.0, "axial": 36.0}  # y, x, x in mm
    heights = {"sagittal": 30.0, "coronal": 30.0, "axial": 48.0}  # z, z, y in mm
    assert panel_widths(GRID.affine, GRID.shape) == list(widths.values())
    assert shared_vertical_span(GRID.affine, GRID.shape) == 48.0
    bases = set()
    for plane, width in widths.items():
        figure = _plane(viewer, plane)
        grow, shrink, basis = figure.style()["flex"].split()
        assert float(grow) == width
        bases.add(basis)
        (plot,) = figure.by_class("hf-plot")
        assert plot.style()["aspect-ratio"] == f"{width:g}/{heights[plane]:g}"
        frame = next(c for c in figure.by_tag("div") if "padding-bottom" in c.style())
        assert frame.style()["aspect-ratio"] == f"{width:g}/48"
    assert len(bases) == 1


def test_crosshairs_mark_where_the_other_planes_cut(volume):
    viewer = _viewer(orthogonal_slices(volume, GRID.affine, cut=(5, 7, 3)))
    lines = {
        plane: {
            c.attrs["data-axis"]: c.style()
            for c in _plane(viewer, plane).by_class("hf-crosshair")
        }
        for plane in ("sagittal", "axial")
    }
    # Sagittal: y = -9 mm on y from -31.5 to 16.5 (22.5 / 48 from the left) and
    # z = -3 mm on z from -13.5 to 16.5 (19.5 / 30 from the top).
    assert percent(lines["sagittal"]["y"]["left"]) == pytest.approx(22.5 / 48, abs=CSS)
    assert percent(lines["sagittal"]["z"]["top"]) == pytest.approx(19.5 / 30, abs=CSS)
    # Axial: x = -1.5 mm on x from -18 to 18, y = -9 mm from 16.5 down to -31.5.
    assert percent(lines["axial"]["x"]["left"]) == pytest.approx(16.5 / 36, abs=CSS)
    assert percent(lines["axial"]["y"]["top"]) == pytest.approx(25.5 / 48, abs=CSS)


def test_mm_ticks_sit_beside_the_image_at_round_values(volume):
    viewer = _viewer(orthogonal_slices(volume, GRID.affine))
    ticks = _plane(viewer, "sagittal").by_class("hf-mm")
    vertical = {
        t.text(): percent(t.style()["top"])
        for t in ticks
        if t.attrs["data-axis"] == "z"
    }
    # z runs from -13.5 (bottom) to 16.5 mm (top): round tens at 10, 0 and -10.
    assert vertical == pytest.approx(
        {"10": 6.5 / 30, "0": 16.5 / 30, "-10": 26.5 / 30}, abs=CSS
    )
    assert nice_ticks(-45.0, 27.0) == [-40.0, -20.0, 0.0, 20.0]


def test_overlay_is_thresholded_and_composited_on_a_fixed_inferno_range(volume, rng):
    cam = rng.uniform(size=GRID.shape).astype(np.float32)
    viewer = _viewer(orthogonal_slices(volume, GRID.affine, overlay=cam, threshold=0.5))
    axial = _pixels(viewer)[2][::-1]  # bottom row first, as plane_slice's rows run
    grey = _grey(plane_slice(anatomy_uint8(volume), "axial", 5))
    hidden = plane_slice(cam, "axial", 5) <= 0.5
    hidden[:, :2] = True  # no map over the background (x slices 0 and 1 are zero)
    np.testing.assert_array_equal(axial[hidden], grey[hidden])
    # Shown voxels: 0.6 of the map's Inferno colour over 0.4 of the anatomy.
    value = plane_slice(cam, "axial", 5)[~hidden]
    colour = colour_table("Inferno")[np.rint(value * 255).astype(int)]
    expected = 0.4 * grey[~hidden] + 0.6 * colour
    np.testing.assert_allclose(axial[~hidden], expected, atol=1.0)
    assert viewer.attrs["data-overlay"] == "map"
    (bar,) = viewer.by_class("hf-colour-bar")
    assert (float(bar.attrs["data-low"]), float(bar.attrs["data-high"])) == (0.0, 1.0)
    assert bar.children[0].text() == "Grad-CAM"
    gradient = next(c for c in bar.children if "background" in c.style())
    assert rgb(gradient.style()["background"].split("right,")[1]) == (0, 0, 4)


def test_diverging_overlay_is_centred_at_zero(volume):
    diff = np.zeros(GRID.shape, dtype=np.float32)
    diff[6, 8, 5], diff[7, 8, 5] = 0.3, -0.1
    viewer = _viewer(
        orthogonal_slices(
            volume, GRID.affine, cut=(6, 8, 5), overlay=diff, diverging=True
        )
    )
    (bar,) = viewer.by_class("hf-colour-bar")
    low, high = float(bar.attrs["data-low"]), float(bar.attrs["data-high"])
    assert low == pytest.approx(-0.3) and high == pytest.approx(0.3)  # largest |v|
    assert viewer.attrs["data-overlay"] == "diverging"
    # Axial slice 5: voxel (6, 8) is pixel (row 15 - 8, column 6); the ends of
    # RdBu_r (red at +0.3, a lighter blue at -0.1 of 0.3) blended 0.6 over grey.
    axial = _pixels(viewer)[2].astype(int)
    grey = int(grey_table()[anatomy_uint8(volume)[6, 8, 5]])
    red = np.array(_plotly_rgb("RdBu_r", 1.0))
    np.testing.assert_allclose(axial[7, 6], 0.4 * grey + 0.6 * red, atol=2)
    r, _, b = axial[7, 7]
    assert b > r  # -0.1: evidence against, blue
    stops = [c for c in bar.children if "background" in c.style()]
    first = stops[0].style()["background"].split("right,")[1]
    assert rgb(first) == _plotly_rgb("RdBu_r", 0.0)
    assert np.isnan(masked_overlay(diff, 0.05, diverging=True)[0, 0, 0])
    assert masked_overlay(diff, 0.05, diverging=True)[7, 8, 5] == pytest.approx(-0.1)


def test_the_box_is_outlined_solid_where_the_plane_cuts_it(volume):
    box = ((-10.0, 5.0), (-20.0, 0.0), (0.0, 9.0))
    viewer = _viewer(orthogonal_slices(volume, GRID.affine, cut=(5, 7, 3), box=box))
    found = {
        plane: _plane(viewer, plane).by_class("hf-box")
        for plane in ("sagittal", "coronal", "axial")
    }
    assert all(len(boxes) == 1 for boxes in found.values())
    # x = -1.5 and y = -9 mm lie inside the box, z = -3 mm below it.
    through = {p: b[0].attrs["data-through"] for p, b in found.items()}
    assert through == {"sagittal": "true", "coronal": "true", "axial": "false"}
    assert "solid" in found["sagittal"][0].style()["border"]
    assert "dotted" in found["axial"][0].style()["border"]
    # Sagittal: y from -20 to 0 on -31.5..16.5, z from 0 to 9 on -13.5..16.5.
    style = found["sagittal"][0].style()
    assert percent(style["left"]) == pytest.approx(11.5 / 48, abs=CSS)
    assert percent(style["width"]) == pytest.approx(20 / 48, abs=CSS)
    assert percent(style["top"]) == pytest.approx(7.5 / 30, abs=CSS)
    assert percent(style["height"]) == pytest.approx(9 / 30, abs=CSS)
    plain = _viewer(orthogonal_slices(volume, GRID.affine))
    assert plain.by_class("hf-box") == []


def test_mismatched_overlays_fail_and_titles_are_escaped(volume):
    with pytest.raises(ValueError, match="overlay shape"):
        orthogonal_slices(volume, GRID.affine, overlay=np.zeros((2, 2, 2)))
    text = orthogonal_slices(
        volume, GRID.affine, overlay=np.ones(GRID.shape), overlay_title="A <b>"
    )
    assert "A <b>" not in text and "A &lt;b&gt;" in text


def test_a_91x109x91_viewer_with_a_map_stays_light():
    """Regression: three uint8 heatmaps plus three float32 map heatmaps of the
    whole brain took about 270 kB of JSON; as PNG images with the map composited
    in and a few styled elements around them it is a fraction of that."""
    from nilearn.datasets import load_mni152_template
    from scipy.ndimage import gaussian_filter

    img = load_mni152_template(resolution=2)
    vol = np.asarray(img.get_fdata(), dtype=np.float32)[4:95, 4:113, :91]
    cam = gaussian_filter(np.random.default_rng(0).uniform(size=vol.shape), 4)
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    text = orthogonal_slices(vol, affine, overlay=cam, threshold=0.5)
    images = sum(len(i.attrs["src"]) for i in _viewer(text).by_tag("img"))
    assert images < 60_000
    assert len(text) - images < 15_000
