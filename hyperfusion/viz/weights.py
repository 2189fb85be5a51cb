"""Hypernetwork-generated weight matrices (output x input channels) as light HTML.

Each matrix is one PNG, one pixel per weight, on one blue-white-red scale centred at
0 shared by the panels, drawn by :func:`hyperfusion.viz.html_heatmaps.image_panel_html`
for ``st.html``: as plotly heatmaps the Hypernetwork page's matrices cost about
100-150 ms of browser time each per page render on a 2-core CPU. The price is
plotly's hover read-out of a weight's value; the colour bar gives the scale.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from hyperfusion.viz import DIVERGING_SCALE
from hyperfusion.viz.html_heatmaps import (
    channel_ticks,
    image_panel_html,
    matrix_png_uri,
)
from hyperfusion.viz.html_legend import colour_bar_html

ROW_PX = 24  # the most CSS pixels a matrix row gets, and...
MIN_PX = 120  # ...the least an image is tall (room for the rotated axis title)


def symmetric_limit(matrices: Sequence[np.ndarray]) -> float:
    """The largest ``|w|`` over all matrices (1.0 when all are zero).

    >>> symmetric_limit([np.array([[-2.0, 1.0]]), np.zeros((1, 2))])
    2.0
    """
    peak = max((float(np.abs(m).max()) for m in matrices if np.size(m)), default=0.0)
    return peak if peak > 0 else 1.0


def weight_heatmaps_html(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    colorbar_title: str = "weight",
    x_title: str = "Input channel",
    y_title: str = "Output channel",
    limit: float | None = None,
    height: int = 320,
) -> str:
    """Side-by-side ``(out, in)`` matrices as images (output channel 0 in the top
    row, input channel 0 in the left column), one colour bar on ``[-limit, limit]``.

    Args:
        matrices: 2D arrays, e.g. W(t), W(t) - B and W(t) - W(ref).
        titles: one per matrix.
        limit: colour range ``[-limit, limit]`` (default: the largest ``|w|``).
        height: the most CSS pixels an image is tall (:data:`ROW_PX` per row, at
            least :data:`MIN_PX`).

    Returns:
        HTML whose root carries ``data-limit`` and ``data-shapes`` (``"128x64;..."``).
    """
    if len(matrices) != len(titles) or not matrices:
        raise ValueError("give one title per matrix, and at least one matrix")
    mats = [np.asarray(m, dtype=np.float32) for m in matrices]
    if any(m.ndim != 2 for m in mats):
        raise ValueError("weight matrices must be 2D (out, in)")
    limit = float(symmetric_limit(mats) if limit is None else limit)
    panels = "".join(
        image_panel_html(
            matrix_png_uri(m, DIVERGING_SCALE, -limit, limit),
            m.shape,
            title=title,
            x_title=x_title,
            y_title=y_title if i == 0 else "",
            x_ticks=channel_ticks(m.shape[1]),
            y_ticks=channel_ticks(m.shape[0]),
            height_px=min(height, max(MIN_PX, ROW_PX * m.shape[0])),
        )
        for i, (m, title) in enumerate(zip(mats, titles, strict=True))
    )
    shapes = ";".join(f"{m.shape[0]}x{m.shape[1]}" for m in mats)
    bar = colour_bar_html(DIVERGING_SCALE, -limit, limit, colorbar_title, ticks=5)
    return (
        f'<div class="hf-weights" data-limit="{limit!r}" data-shapes="{shapes}" '
        f'data-titles="{html.escape("|".join(titles))}">'
        f'<div style="display:flex;gap:1.5em;align-items:flex-start">{panels}</div>'
        f'<div style="text-align:right;margin-top:0.3em">{bar}</div></div>'
    )
