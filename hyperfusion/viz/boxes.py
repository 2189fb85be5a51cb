"""A box outlined on the three planes of
:func:`hyperfusion.viz.slices.orthogonal_slices` (the model's field of view on the
whole brain): solid where the plane cuts through the box, dotted where the box lies
beside the plane."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from hyperfusion.viz.slices import PLANE_AXES, PLANES

BOX_COLOUR = "rgba(80, 220, 120, 0.9)"


def box_shapes(
    bounds: Sequence[tuple[float, float]], cut_mm: Sequence[float]
) -> list[dict]:
    """One rectangle per plane: the box's extent along the plane's two axes.

    Args:
        bounds: ``(low, high)`` mm along x, y, z.
        cut_mm: where each plane cuts, mm along its own axis (x for sagittal...).

    Example:
        >>> shapes = box_shapes([(0, 1), (0, 2), (0, 3)], [5.0, 1.0, 1.0])
        >>> [s["line"]["dash"] for s in shapes]
        ['dot', 'solid', 'solid']
    """
    shapes = []
    for col, plane in enumerate(PLANES, start=1):
        suffix = "" if col == 1 else str(col)
        h, v = PLANE_AXES[plane]
        through = bounds[col - 1][0] <= cut_mm[col - 1] <= bounds[col - 1][1]
        shapes.append(
            {
                "type": "rect",
                "xref": f"x{suffix}",
                "yref": f"y{suffix}",
                "x0": bounds[h][0],
                "x1": bounds[h][1],
                "y0": bounds[v][0],
                "y1": bounds[v][1],
                "line": {
                    "color": BOX_COLOUR,
                    "width": 1.5,
                    "dash": "solid" if through else "dot",
                },
            }
        )
    return shapes


def with_box(
    fig: go.Figure,
    bounds: Sequence[tuple[float, float]],
    cut_mm: Sequence[float],
) -> go.Figure:
    """A copy of ``fig`` with the box outlined (``fig`` is not changed)."""
    out = go.Figure(fig)
    for shape in box_shapes(bounds, cut_mm):
        out.add_shape(**shape)
    return out


__all__ = ["BOX_COLOUR", "box_shapes", "with_box"]
