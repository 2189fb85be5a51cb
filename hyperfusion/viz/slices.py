"""Orthogonal slice viewer: sagittal, coronal and axial planes of a RAS volume.

Each plane travels as one PNG image (:mod:`hyperfusion.viz.slice_images`): the
uint8 anatomy with the thresholded map composited on top (values at or below the
threshold are transparent), a few kilobytes where heatmap traces took tens. Axes are in
millimetres of MNI152 RAS space, each plane is labelled with its orientation letters
(L/R, P/A, I/S; the patient's left on the left) and voxels stay square.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from hyperfusion.viz import (
    ANATOMY_SCALE,
    DIVERGING_SCALE,
    MAP_SCALE,
    base_layout,
    slice_images,
)

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


def panel_widths(affine: np.ndarray, shape: Sequence[int]) -> list[float]:
    """Each plane's horizontal extent in mm, for proportional columns.

    Example:
        >>> panel_widths(np.eye(4), (10, 20, 30))
        [20.0, 10.0, 10.0]
    """
    coords = grid_coordinates(affine, shape)
    spans = [float(c[-1] - c[0]) + float(affine[i][i]) for i, c in enumerate(coords)]
    return [spans[PLANE_AXES[p][0]] for p in PLANES]


def shared_vertical_span(affine: np.ndarray, shape: Sequence[int]) -> float:
    """The tallest plane's vertical extent in mm: every panel's vertical range.

    Giving each plane this span (padding the shorter ones below the image) keeps
    the three plot areas the same height and top, so that images start at one
    height and the x-axis titles line up.

    Example:
        >>> shared_vertical_span(np.eye(4), (10, 20, 30))
        30.0
    """
    coords = grid_coordinates(affine, shape)
    spans = [float(c[-1] - c[0]) + float(affine[i][i]) for i, c in enumerate(coords)]
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
    height: int = 340,
) -> go.Figure:
    """Three planes through ``cut`` with an optional map on top.

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
        height: figure height in pixels.

    Returns:
        A figure with three image subplots (each plane one PNG, the overlay
        composited in) and, with an overlay, its colour bar.
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
    layout = _slices_layout(affine, anatomy.shape, coords, cut, height)
    data = [
        _plane_image(col, plane, coords, cut, grey, overlay, shown, colours)
        for col, plane in enumerate(PLANES, start=1)
    ]
    if overlay is not None:
        data.append(_colour_bar_trace(len(PLANES)))
        layout["coloraxis"] = _overlay_colors(diverging, limit or 1.0, overlay_title)
    return go.Figure(data=data, layout=layout)


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


def _plane_image(
    col: int,
    plane: str,
    coords: tuple[np.ndarray, np.ndarray, np.ndarray],
    cut: Sequence[int],
    grey: np.ndarray,
    overlay: np.ndarray | None,
    shown: dict,
    colours: dict,
) -> dict:
    """One plane's image trace for column ``col``: the anatomy with, when given,
    the overlay composited on top (thresholded and masked as ``shown`` says;
    ``colours``: the keyword arguments of
    :func:`~hyperfusion.viz.slice_images.composite`), placed on the mm grid."""
    h_axis, v_axis = PLANE_AXES[plane]
    hx, vy = coords[h_axis], coords[v_axis]
    index = cut[PLANES.index(plane)]
    grey_plane = plane_slice(grey, plane, index)
    over = None
    if overlay is not None:
        over = masked_overlay(
            plane_slice(overlay, plane, index), shown["threshold"], shown["diverging"]
        )
        if shown["mask"]:
            over[grey_plane == 0] = np.nan
    rgb = slice_images.composite(grey_plane, over, **colours)
    suffix = "" if col == 1 else str(col)
    h_name, v_name = AXIS_NAMES[h_axis], AXIS_NAMES[v_axis]
    return {
        "type": "image",
        # Row 0 (the lowest mm) first: plotly draws a source image's first row at
        # y0, the bottom of a y axis that is not reversed (checked in Chromium).
        "source": slice_images.png_data_uri(rgb, flip_rows=False),
        "x0": float(hx[0]),
        "dx": float(hx[1] - hx[0]) if len(hx) > 1 else 1.0,
        "y0": float(vy[0]),
        "dy": float(vy[1] - vy[0]) if len(vy) > 1 else 1.0,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
        "hovertemplate": f"{h_name} %{{x:.0f}} mm, {v_name} %{{y:.0f}} mm"
        "<extra></extra>",
    }


def _colour_bar_trace(col: int) -> dict:
    """An invisible one-point trace on the overlay's colour axis, so that the colour
    bar of the composited map is drawn."""
    suffix = "" if col == 1 else str(col)
    return {
        "type": "scatter",
        "x": [None],
        "y": [None],
        "mode": "markers",
        "marker": {"color": [0.0], "coloraxis": "coloraxis"},
        "hoverinfo": "skip",
        "showlegend": False,
        "xaxis": f"x{suffix}",
        "yaxis": f"y{suffix}",
    }


def _subplot_domains(widths: Sequence[float], spacing: float = 0.11) -> list[list]:
    """Horizontal paper domains of side-by-side panels in proportion to ``widths``
    with ``spacing`` between them (as plotly's ``make_subplots`` lays them out)."""
    usable = 1.0 - spacing * (len(widths) - 1)
    total = float(sum(widths))
    domains, left = [], 0.0
    for width in widths:
        right = left + usable * float(width) / total
        domains.append([left, right])
        left = right + spacing
    return domains


def _slices_layout(
    affine: np.ndarray,
    shape: Sequence[int],
    coords: tuple[np.ndarray, np.ndarray, np.ndarray],
    cut: Sequence[int],
    height: int,
) -> dict:
    """The viewer's layout: the three panels' axes in mm, their titles, the
    orientation letters and crosshairs, no legend."""
    layout = base_layout(height)
    layout["margin"] = {"l": 55, "r": 10, "t": 40, "b": 45}
    layout["showlegend"] = False
    span = shared_vertical_span(affine, shape)
    domains = _subplot_domains(panel_widths(affine, shape))
    annotations, shapes = [], []
    titles = _plane_titles(coords, cut)
    for col, plane in enumerate(PLANES, start=1):
        suffix = "" if col == 1 else str(col)
        x_axis, y_axis, marks, lines = _panel_axes(plane, suffix, coords, cut, affine)
        y_axis["range"] = [y_axis["range"][1] - span, y_axis["range"][1]]
        layout[f"xaxis{suffix}"] = {**x_axis, "domain": domains[col - 1]}
        layout[f"yaxis{suffix}"] = {**y_axis, "domain": [0.0, 1.0]}
        annotations.append(_panel_title(titles[col - 1], sum(domains[col - 1]) / 2))
        annotations.extend(marks)
        shapes.extend(lines)
    layout["annotations"], layout["shapes"] = annotations, shapes
    return layout


def _panel_title(text: str, x: float) -> dict:
    """A plane's title just above its panel (paper coordinates)."""
    return {
        "text": text,
        "x": x,
        "y": 1.0,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12},
        "yshift": 6,
    }


def _overlay_colors(diverging: bool, limit: float, title: str) -> dict:
    """The overlay's colour axis: ``[0, limit]`` on the map scale, or
    ``[-limit, limit]`` on the diverging one, with a titled colour bar."""
    return {
        "colorscale": DIVERGING_SCALE if diverging else MAP_SCALE,
        "cmin": -limit if diverging else 0.0,
        "cmax": limit,
        "colorbar": {
            "title": {"text": title, "side": "right"},
            "thickness": 12,
            "len": 0.85,
        },
    }


def _panel_axes(
    plane: str,
    suffix: str,
    coords: tuple[np.ndarray, np.ndarray, np.ndarray],
    cut: Sequence[int],
    affine: np.ndarray,
) -> tuple[dict, dict, list[dict], list[dict]]:
    """One panel's x and y axes (titles in mm with directions, square voxels,
    ticks only beside the image), its orientation letters and the crosshair of
    the other two planes; the y range is the image's own (the caller pads it)."""
    h_axis, v_axis = PLANE_AXES[plane]
    xref, yref = f"x{suffix}", f"y{suffix}"
    lo_h, hi_h = AXIS_LETTERS[h_axis]
    lo_v, hi_v = AXIS_LETTERS[v_axis]
    half_h, half_v = affine[h_axis][h_axis] / 2, affine[v_axis][v_axis] / 2
    h_range = [float(coords[h_axis][0] - half_h), float(coords[h_axis][-1] + half_h)]
    v_range = [float(coords[v_axis][0] - half_v), float(coords[v_axis][-1] + half_v)]
    common = {
        "constrain": "domain",
        "showgrid": False,
        "zeroline": False,
        "ticks": "outside",
    }
    x_axis = {
        "title": {"text": f"{AXIS_NAMES[h_axis]} (mm)  {lo_h} → {hi_h}"},
        "range": h_range,
        "anchor": yref,
        **common,
    }
    y_axis = {
        "title": {"text": f"{AXIS_NAMES[v_axis]} (mm)  {lo_v} → {hi_v}"},
        "range": v_range,
        "tickmode": "array",
        "tickvals": nice_ticks(*v_range),
        "scaleanchor": xref,
        "scaleratio": 1,
        "anchor": xref,
        **common,
    }
    h_mid, v_mid = sum(h_range) / 2, sum(v_range) / 2
    letters = [
        (h_range[0], v_mid, lo_h, "left", "middle"),
        (h_range[1], v_mid, hi_h, "right", "middle"),
        (h_mid, v_range[0], lo_v, "center", "bottom"),
        (h_mid, v_range[1], hi_v, "center", "top"),
    ]
    marks = [
        {
            "x": x, "y": y, "xref": xref, "yref": yref, "text": f"<b>{text}</b>",
            "showarrow": False, "xanchor": xanchor, "yanchor": yanchor,
            "font": {"color": "#f4d35e", "size": 12},
        }
        for x, y, text, xanchor, yanchor in letters
    ]  # fmt: skip
    h_cut = float(coords[h_axis][cut[h_axis]])
    v_cut = float(coords[v_axis][cut[v_axis]])
    line = {"type": "line", "xref": xref, "yref": yref,
            "line": {"color": _CROSSHAIR, "width": 1}}  # fmt: skip
    lines = [
        {**line, "x0": h_cut, "x1": h_cut, "y0": v_range[0], "y1": v_range[1]},
        {**line, "x0": h_range[0], "x1": h_range[1], "y0": v_cut, "y1": v_cut},
    ]
    return x_axis, y_axis, marks, lines
