"""Orthogonal slice viewer: sagittal, coronal and axial planes of a RAS volume, as
light HTML for ``st.html``.

Each plane travels as one PNG image (:mod:`hyperfusion.viz.slice_images`): the
uint8 anatomy with the thresholded map composited on top (values at or below the
threshold are transparent). Around the images everything is plain HTML and CSS:
titles, orientation letters (L/R, P/A, I/S; the patient's left on the left),
crosshairs where the other two planes cut, tick labels in mm of MNI152 RAS space,
an optional box (the model's field of view, :mod:`hyperfusion.viz.boxes`) and the
map's colour bar (:mod:`hyperfusion.viz.html_legend`).

It used to be a plotly figure of three image traces; in Chromium on a 2-core CPU
each plotly chart cost about 100-150 ms of browser main-thread time per page render,
and the viewer is on the Patient page once and on the Explain page twice. The
planes sit side by side in flex items whose widths follow their mm extent, so every
plane has the same mm per pixel, voxels stay square and the images share one top.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from hyperfusion.viz import ANATOMY_SCALE, DIVERGING_SCALE, MAP_SCALE, slice_images
from hyperfusion.viz.boxes import box_html
from hyperfusion.viz.html_legend import colour_bar_html

PLANES: tuple[str, str, str] = ("sagittal", "coronal", "axial")
# For each plane: the RAS axes shown horizontally and vertically.
PLANE_AXES: dict[str, tuple[int, int]] = {
    "sagittal": (1, 2),
    "coronal": (0, 2),
    "axial": (0, 1),
}
AXIS_NAMES = ("x", "y", "z")
AXIS_LETTERS = (("L", "R"), ("P", "A"), ("I", "S"))
_CROSSHAIR = "rgba(120, 200, 255, 0.55)"
_LETTER = "#f4d35e"
_MUTED = "#5a6b78"  # tick labels and axis titles
_GUTTER = "2.4em"  # room left of each image for its vertical tick labels
_LAYER = "position:absolute;pointer-events:none"  # drawn over an image
# Where each orientation letter sits inside its image.
_SIDES = {
    "left": "left:3px;top:50%;transform:translateY(-50%)",
    "right": "right:3px;top:50%;transform:translateY(-50%)",
    "bottom": "bottom:2px;left:50%;transform:translateX(-50%)",
    "top": "top:2px;left:50%;transform:translateX(-50%)",
}
Bounds = Sequence[tuple[float, float]]  # (low, high) mm along x, y and z


def grid_coordinates(
    affine: np.ndarray, shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Millimetre coordinates of the voxel centres along x, y and z.

    Args:
        affine: a 4x4 voxel-to-RAS affine with positive diagonal and no rotation.
        shape: the volume's first three dimensions.

    Raises:
        ValueError: the grid is rotated or not in RAS order.

    Example:
        >>> aff = np.diag([2.0, 2.0, 2.0, 1.0]); aff[:3, 3] = -4
        >>> grid_coordinates(aff, (3, 1, 1))[0].tolist()
        [-4.0, -2.0, 0.0]
    """
    a = np.asarray(affine, dtype=np.float64)
    linear = a[:3, :3]
    if (
        np.abs(linear - np.diag(np.diag(linear))).max() > 1e-6
        or (np.diag(linear) <= 0).any()
    ):
        raise ValueError("an axis-aligned RAS grid (positive diagonal) is needed")
    x, y, z = (
        (a[i, 3] + a[i, i] * np.arange(int(n))).astype(np.float32)
        for i, n in enumerate(shape[:3])
    )
    return x, y, z


def anatomy_uint8(volume: np.ndarray) -> np.ndarray:
    """Grey levels 1-255 inside the image (1st-99.5th percentile), 0 for background.

    Example:
        >>> anatomy_uint8(np.array([0.0, 1.0, 2.0, 3.0])).tolist()[0]
        0
    """
    vol = np.asarray(volume, dtype=np.float32)
    inside = vol != 0
    out = np.zeros(vol.shape, dtype=np.uint8)
    if not inside.any():
        return out
    lo, hi = np.percentile(vol[inside], [1.0, 99.5])
    scaled = 1 + (vol[inside] - lo) * (254.0 / max(float(hi - lo), 1e-6))
    out[inside] = np.clip(scaled, 1, 255).astype(np.uint8)
    return out


def plane_slice(volume: np.ndarray, plane: str, index: int) -> np.ndarray:
    """The 2D slice of a plane, rows along the plane's vertical axis.

    Example:
        >>> plane_slice(np.zeros((4, 5, 6)), "axial", 2).shape
        (5, 4)
    """
    axis = PLANES.index(plane)
    return np.take(volume, int(index), axis=axis).T


def masked_overlay(
    overlay: np.ndarray, threshold: float, diverging: bool = False
) -> np.ndarray:
    """float32 copy with values at or below ``threshold`` (``|v|`` if diverging) set
    to NaN, i.e. transparent.

    Example:
        >>> masked_overlay(np.array([0.1, 0.5]), 0.2).tolist()[1]
        0.5
    """
    out = np.array(overlay, dtype=np.float32, copy=True)
    hidden = (np.abs(out) if diverging else out) <= threshold
    out[hidden] = np.nan
    return out


def _spans(affine: np.ndarray, shape: Sequence[int]) -> list[float]:
    """Each axis's extent in mm (voxel edge to voxel edge)."""
    edges = _edges(affine, grid_coordinates(affine, shape))
    return [high - low for low, high in edges]


def panel_widths(affine: np.ndarray, shape: Sequence[int]) -> list[float]:
    """Each plane's horizontal extent in mm, for proportional columns.

    Example:
        >>> panel_widths(np.eye(4), (10, 20, 30))
        [20.0, 10.0, 10.0]
    """
    spans = _spans(affine, shape)
    return [spans[PLANE_AXES[p][0]] for p in PLANES]


def shared_vertical_span(affine: np.ndarray, shape: Sequence[int]) -> float:
    """The tallest plane's vertical extent in mm: every panel's vertical range.

    Giving each plane's frame this span (padding the shorter ones below the image)
    keeps the three frames the same height, so that the images start at one height
    and the axis titles below them line up.

    Example:
        >>> shared_vertical_span(np.eye(4), (10, 20, 30))
        30.0
    """
    spans = _spans(affine, shape)
    return max(spans[PLANE_AXES[p][1]] for p in PLANES)


def nice_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round tick positions inside ``[low, high]``, at most ``most`` + 1 of them.

    Example:
        >>> nice_ticks(-45.0, 27.0)
        [-40.0, -20.0, 0.0, 20.0]
    """
    span = max(float(high - low), 1e-9)
    step = next(
        (s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500) if span / s <= most),
        1000,
    )
    first = np.ceil(low / step) * step
    return [float(v) for v in np.arange(first, high + 1e-9, step)]


def default_cut(shape: Sequence[int]) -> tuple[int, int, int]:
    """The centre voxel."""
    return tuple(int(n) // 2 for n in shape[:3])  # type: ignore[return-value]


class _View(NamedTuple):
    """What every plane's HTML needs: the voxel centres in mm, the cut (voxel
    indices), each axis's image edges in mm, the shared vertical span and the box."""

    coords: tuple[np.ndarray, np.ndarray, np.ndarray]
    cut: tuple[int, ...]
    edges: tuple[tuple[float, float], ...]
    span: float
    box: Bounds | None


def orthogonal_slices(
    anatomy: np.ndarray,
    affine: np.ndarray,
    cut: Sequence[int] | None = None,
    overlay: np.ndarray | None = None,
    *,
    threshold: float = 0.0,
    opacity: float = 0.6,
    diverging: bool = False,
    limit: float | None = None,
    overlay_title: str = "Grad-CAM",
    mask_background: bool = True,
    box: Bounds | None = None,
) -> str:
    """Three planes through ``cut`` with an optional map on top, as HTML.

    Args:
        anatomy: ``(X, Y, Z)`` volume (uint8 is used as is, anything else goes
            through :func:`anatomy_uint8`).
        affine: the volume's axis-aligned RAS affine (mm).
        cut: voxel indices ``(i, j, k)`` of the sagittal, coronal and axial planes
            (default: the centre).
        overlay: a map of the same shape, e.g. Grad-CAM in [0, 1].
        threshold: overlay values at or below this (``|v|`` when diverging) are
            transparent.
        opacity: the overlay's opacity, 0-1.
        diverging: a signed map, shown with a blue-white-red scale centred at 0.
        limit: colour range ``[0, limit]`` or ``[-limit, limit]`` (default 1, or the
            largest ``|v|`` when diverging).
        overlay_title: the colour bar's title.
        mask_background: hide the overlay where the image is background (0).
        box: ``(low, high)`` mm along x, y and z outlined on every plane (solid
            where the plane cuts through it, dotted beside it), e.g. the model's
            field of view.

    Returns:
        A ``div.hf-slices`` (``data-cut``: the voxel indices, ``data-overlay``:
        ``none``, ``map`` or ``diverging``) holding one ``figure.hf-plane`` per
        plane, each with its PNG (``img[data-plane]``, first row at the top,
        ``data-range``: its edges in mm, horizontal then vertical), and, with an
        overlay, the map's colour bar.
    """
    anatomy = _checked_volume(anatomy, overlay)
    grey = anatomy if anatomy.dtype == np.uint8 else anatomy_uint8(anatomy)
    coords = grid_coordinates(affine, anatomy.shape)
    cut = _clipped_cut(cut, anatomy.shape)
    if overlay is not None and limit is None:
        limit = _default_limit(overlay, diverging)
    colours = {
        "anatomy_scale": ANATOMY_SCALE,
        "overlay_scale": DIVERGING_SCALE if diverging else MAP_SCALE,
        "limits": (0.0, 1.0)
        if limit is None
        else (-limit if diverging else 0.0, limit),
        "opacity": opacity,
    }
    shown = {"threshold": threshold, "diverging": diverging, "mask": mask_background}
    span = shared_vertical_span(affine, anatomy.shape)
    view = _View(coords, cut, _edges(affine, coords), span, box)
    title = None if overlay is None else overlay_title
    planes = "".join(
        _plane_html(
            plane,
            name,
            _plane_rgb(plane, cut, grey, overlay, shown, colours),
            view,
            title,
        )
        for plane, name in zip(PLANES, _plane_titles(coords, cut), strict=True)
    )
    kind = "none" if overlay is None else "diverging" if diverging else "map"
    return _viewer_html(planes, cut, kind, title, colours)


def _viewer_html(
    planes: str, cut: Sequence[int], kind: str, title: str | None, colours: dict
) -> str:
    """The planes side by side and, when there is a map (``title``), its colour bar
    below them on the right."""
    bar, label = "", "Sagittal, coronal and axial planes"
    if title is not None:
        scale, (low, high) = colours["overlay_scale"], colours["limits"]
        legend = colour_bar_html(scale, low, high, title, width="24em")
        bar = f'<div style="display:flex;justify-content:flex-end">{legend}</div>'
        label += f" with {title}"
    return (
        f'<div class="hf-slices" data-cut="{",".join(map(str, cut))}" '
        f'data-overlay="{kind}" role="group" aria-label="{html.escape(label)}">'
        '<div style="display:flex;gap:1.2em;align-items:flex-start">'
        f"{planes}</div>{bar}</div>"
    )


def _checked_volume(anatomy: np.ndarray, overlay: np.ndarray | None) -> np.ndarray:
    """The anatomy as an array, refused unless 3D and the overlay's shape."""
    anatomy = np.asarray(anatomy)
    if anatomy.ndim != 3:
        raise ValueError(f"expected a 3D volume, got shape {anatomy.shape}")
    if overlay is not None and np.shape(overlay) != anatomy.shape:
        raise ValueError(
            f"overlay shape {np.shape(overlay)} differs from the image {anatomy.shape}"
        )
    return anatomy


def _clipped_cut(cut: Sequence[int] | None, shape: Sequence[int]) -> tuple[int, ...]:
    """The cut's voxel indices inside the volume (the centre when not given)."""
    chosen = default_cut(shape) if cut is None else cut
    return tuple(int(np.clip(c, 0, n - 1)) for c, n in zip(chosen, shape, strict=True))


def _edges(
    affine: np.ndarray, coords: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[tuple[float, float], ...]:
    """Each axis's image edges in mm: the outer voxels' centres ± half a voxel."""
    return tuple(
        (float(c[0]) - float(affine[i][i]) / 2, float(c[-1]) + float(affine[i][i]) / 2)
        for i, c in enumerate(coords)
    )


def _plane_titles(
    coords: tuple[np.ndarray, np.ndarray, np.ndarray], cut: Sequence[int]
) -> list[str]:
    """Each plane's title with where it cuts, e.g. ``"Axial · z = 6 mm"``."""
    at_mm = [round(float(c[k]), 1) for c, k in zip(coords, cut, strict=True)]
    return [
        f"{p.capitalize()} · {AXIS_NAMES[i]} = {at_mm[i]:g} mm"
        for i, p in enumerate(PLANES)
    ]


def _default_limit(overlay: np.ndarray, diverging: bool) -> float:
    """The overlay's colour limit when none is given: 1, or the largest ``|v|``
    of a signed map (1 when it is all zero)."""
    peak = float(np.nanmax(np.abs(overlay))) if np.size(overlay) else 0.0
    return (peak if peak > 0 else 1.0) if diverging else 1.0


def _plane_rgb(
    plane: str,
    cut: Sequence[int],
    grey: np.ndarray,
    overlay: np.ndarray | None,
    shown: dict,
    colours: dict,
) -> np.ndarray:
    """One plane as RGB, row 0 the lowest mm: the anatomy with, when given, the
    overlay composited on top (thresholded and masked as ``shown`` says;
    ``colours``: the keyword arguments of
    :func:`~hyperfusion.viz.slice_images.composite`)."""
    index = cut[PLANES.index(plane)]
    grey_plane = plane_slice(grey, plane, index)
    over = None
    if overlay is not None:
        over = masked_overlay(
            plane_slice(overlay, plane, index), shown["threshold"], shown["diverging"]
        )
        if shown["mask"]:
            over[grey_plane == 0] = np.nan
    return slice_images.composite(grey_plane, over, **colours)


def _num(value: float) -> str:
    """A CSS number: at most 3 decimals, no trailing zeros.

    >>> _num(46.875), _num(100 / 3), _num(2.0)
    ('46.875', '33.333', '2')
    """
    return f"{round(float(value), 3):g}"


def _across(value: float, low: float, high: float) -> str:
    """Where ``value`` sits from the left (or bottom) edge, as a CSS percentage."""
    return f"{_num(100 * (value - low) / (high - low))}%"


def _down(value: float, low: float, high: float) -> str:
    """Where ``value`` sits from the top edge of a vertical axis, in percent."""
    return f"{_num(100 * (high - value) / (high - low))}%"


def _plane_html(
    plane: str, title: str, rgb: np.ndarray, view: _View, overlay: str | None
) -> str:
    """One plane: its title, its image (the first PNG row is the top, the highest
    mm) with letters, crosshairs, box and mm ticks over and beside it, and its axis
    titles; ``overlay``: the map's name for the image's alt text."""
    h_axis, v_axis = PLANE_AXES[plane]
    (h_lo, h_hi), (v_lo, v_hi) = view.edges[h_axis], view.edges[v_axis]
    width, height = h_hi - h_lo, v_hi - v_lo
    (lo_h, hi_h), (lo_v, hi_v) = AXIS_LETTERS[h_axis], AXIS_LETTERS[v_axis]
    h_name, v_name = AXIS_NAMES[h_axis], AXIS_NAMES[v_axis]
    alt = (
        f"{title}: {h_name} across ({lo_h} left, {hi_h} right), {v_name} up "
        f"({hi_v} at the top)" + (f", {overlay} over the anatomy" if overlay else "")
    )
    image = (
        f'<img src="{slice_images.png_data_uri(rgb, flip_rows=True)}" '
        f'data-plane="{plane}" data-range="{_num(h_lo)},{_num(h_hi)},{_num(v_lo)},'
        f'{_num(v_hi)}" alt="{html.escape(alt)}" style="display:block;width:100%;'
        'height:100%;image-rendering:pixelated">'
    )
    inside = _crosshairs(plane, view) + _plane_box(plane, view)
    clipped = f'<div style="{_LAYER};inset:0;overflow:hidden">{inside}</div>'
    # The axis titles sit just below the tick labels, under the image itself.
    axes = (
        f'<div class="hf-axes" style="{_LAYER};top:calc(100% + 1.35em);left:50%;'
        f"transform:translateX(-50%);font-size:0.75em;color:{_MUTED};"
        f'white-space:nowrap">{h_name} (mm) {lo_h} → {hi_h} · '
        f"{v_name} (mm) {lo_v} → {hi_v}</div>"
    )
    marks = _letters(h_axis, v_axis) + _ticks(h_axis, v_axis, view.edges) + axes
    plot = (
        '<div class="hf-plot" style="position:relative;'
        f'aspect-ratio:{_num(width)}/{_num(height)}">{image}{clipped}{marks}</div>'
    )
    # Every frame is the shared span tall (plus room for the ticks and axis titles
    # below): the images share one top and one scale.
    frame = (
        f'<div style="margin-left:{_GUTTER};aspect-ratio:{_num(width)}/'
        f'{_num(view.span)};box-sizing:content-box;padding-bottom:2.4em">{plot}</div>'
    )
    caption = (
        f'<figcaption style="margin-left:{_GUTTER};text-align:center;'
        "font-size:0.85em;white-space:nowrap;overflow:hidden;"
        f'text-overflow:ellipsis">{html.escape(title)}</figcaption>'
    )
    return (
        f'<figure class="hf-plane" data-plane="{plane}" style="flex:{_num(width)} 1 '
        f'{_GUTTER};min-width:0;margin:0">{caption}{frame}</figure>'
    )


def _crosshairs(plane: str, view: _View) -> str:
    """A vertical and a horizontal line where the other two planes cut."""
    h_axis, v_axis = PLANE_AXES[plane]
    h_cut = float(view.coords[h_axis][view.cut[h_axis]])
    v_cut = float(view.coords[v_axis][view.cut[v_axis]])
    line = f'class="hf-crosshair" style="{_LAYER};background:{_CROSSHAIR};'
    return (
        f'<div data-axis="{AXIS_NAMES[h_axis]}" {line}top:0;bottom:0;width:1px;'
        f'left:{_across(h_cut, *view.edges[h_axis])}"></div>'
        f'<div data-axis="{AXIS_NAMES[v_axis]}" {line}left:0;right:0;height:1px;'
        f'top:{_down(v_cut, *view.edges[v_axis])}"></div>'
    )


def _plane_box(plane: str, view: _View) -> str:
    """The box on this plane (solid when the plane cuts through it), or ``""``."""
    if view.box is None:
        return ""
    own = PLANES.index(plane)
    at = float(view.coords[own][view.cut[own]])
    through = view.box[own][0] <= at <= view.box[own][1]
    h_axis, v_axis = PLANE_AXES[plane]
    return box_html(
        view.box[h_axis],
        view.box[v_axis],
        view.edges[h_axis],
        view.edges[v_axis],
        through=through,
    )


def _letters(h_axis: int, v_axis: int) -> str:
    """The orientation letters at the middle of each image edge."""
    (lo_h, hi_h), (lo_v, hi_v) = AXIS_LETTERS[h_axis], AXIS_LETTERS[v_axis]
    at = {"left": lo_h, "right": hi_h, "bottom": lo_v, "top": hi_v}
    return "".join(
        f'<b class="hf-letter" data-side="{side}" style="{_LAYER};{_SIDES[side]};'
        f'color:{_LETTER};font-size:12px;line-height:1">{letter}</b>'
        for side, letter in at.items()
    )


def _ticks(h_axis: int, v_axis: int, edges: tuple[tuple[float, float], ...]) -> str:
    """Round mm positions as labels below the image (horizontal axis) and left of
    it (vertical axis), ``span.hf-mm`` with ``data-axis``."""
    style = f"{_LAYER};font-size:0.7em;line-height:1;color:{_MUTED};white-space:nowrap"
    (h_lo, h_hi), (v_lo, v_hi) = edges[h_axis], edges[v_axis]
    below = "".join(
        f'<span class="hf-mm" data-axis="{AXIS_NAMES[h_axis]}" style="{style};'
        f"top:100%;left:{_across(v, h_lo, h_hi)};transform:translateX(-50%);"
        f'padding-top:3px">{v:g}</span>'
        for v in nice_ticks(h_lo, h_hi)
    )
    beside = "".join(
        f'<span class="hf-mm" data-axis="{AXIS_NAMES[v_axis]}" style="{style};'
        f"right:100%;top:{_down(v, v_lo, v_hi)};transform:translateY(-50%);"
        f'padding-right:4px">{v:g}</span>'
        for v in nice_ticks(v_lo, v_hi)
    )
    return below + beside
