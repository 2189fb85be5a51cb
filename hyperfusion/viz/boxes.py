"""A box outlined on a plane of :func:`hyperfusion.viz.slices.orthogonal_slices` (the
model's field of view on the whole brain): a bordered ``div`` over the plane's image,
solid where the plane cuts through the box, dotted where the box lies beside the
plane. Positions are percentages of the image, so the outline scales with it."""

from __future__ import annotations

BOX_COLOUR = "rgba(80, 220, 120, 0.9)"


def _pct(value: float) -> str:
    """A fraction as a CSS percentage with at most 3 decimals."""
    return f"{round(100 * float(value), 3):g}%"


def box_html(
    h_bounds: tuple[float, float],
    v_bounds: tuple[float, float],
    h_edges: tuple[float, float],
    v_edges: tuple[float, float],
    *,
    through: bool,
) -> str:
    """The box's outline on one image, a ``div.hf-box`` (``data-through``).

    Args:
        h_bounds: the box's ``(low, high)`` mm along the image's horizontal axis.
        v_bounds: the same along its vertical axis.
        h_edges: the image's left and right edges in mm.
        v_edges: the image's bottom and top edges in mm (higher mm is higher up).
        through: the plane cuts through the box (a solid line, else dotted).

    Example:
        >>> text = box_html((0, 5), (5, 10), (0, 10), (0, 10), through=False)
        >>> "left:0%;top:0%;width:50%;height:50%" in text, "dotted" in text
        (True, True)
    """
    h_span = h_edges[1] - h_edges[0]
    v_span = v_edges[1] - v_edges[0]
    left = (h_bounds[0] - h_edges[0]) / h_span
    top = (v_edges[1] - v_bounds[1]) / v_span
    width = (h_bounds[1] - h_bounds[0]) / h_span
    height = (v_bounds[1] - v_bounds[0]) / v_span
    line = "solid" if through else "dotted"
    return (
        f'<div class="hf-box" data-through="{str(through).lower()}" '
        f'style="position:absolute;pointer-events:none;box-sizing:border-box;'
        f"left:{_pct(left)};top:{_pct(top)};width:{_pct(width)};"
        f'height:{_pct(height)};border:1.5px {line} {BOX_COLOUR}"></div>'
    )


__all__ = ["BOX_COLOUR", "box_html"]
