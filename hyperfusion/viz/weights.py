"""Heatmaps of hypernetwork-generated weight matrices (output x input channels)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hyperfusion.viz import DIVERGING_SCALE, base_layout


def symmetric_limit(matrices: Sequence[np.ndarray]) -> float:
    """The largest ``|w|`` over all matrices (1.0 when all are zero).

    >>> symmetric_limit([np.array([[-2.0, 1.0]]), np.zeros((1, 2))])
    2.0
    """
    peak = max((float(np.abs(m).max()) for m in matrices if np.size(m)), default=0.0)
    return peak if peak > 0 else 1.0


def weight_heatmaps(
    matrices: Sequence[np.ndarray],
    titles: Sequence[str],
    *,
    colorbar_title: str = "weight",
    x_title: str = "Input channel",
    y_title: str = "Output channel",
    limit: float | None = None,
    height: int = 380,
) -> go.Figure:
    """Side-by-side ``(out, in)`` heatmaps on one blue-white-red scale centred at 0.

    Args:
        matrices: 2D arrays, e.g. W(t), W(t) - B and W(t) - W(ref).
        titles: one per matrix.
        limit: colour range ``[-limit, limit]`` (default: the largest ``|w|``).
    """
    if len(matrices) != len(titles) or not matrices:
        raise ValueError("give one title per matrix, and at least one matrix")
    mats = [np.asarray(m, dtype=np.float32) for m in matrices]
    if any(m.ndim != 2 for m in mats):
        raise ValueError("weight matrices must be 2D (out, in)")
    limit = symmetric_limit(mats) if limit is None else limit
    fig = make_subplots(
        rows=1, cols=len(mats), subplot_titles=list(titles), horizontal_spacing=0.06
    )
    for col, m in enumerate(mats, start=1):
        fig.add_trace(
            go.Heatmap(
                z=m,
                coloraxis="coloraxis",
                hovertemplate="out %{y}, in %{x}: %{z:.4f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=x_title, showgrid=False, row=1, col=col)
        fig.update_yaxes(
            title_text=y_title if col == 1 else None,
            autorange="reversed",
            showgrid=False,
            row=1,
            col=col,
        )
    fig.update_layout(
        **base_layout(height),
        coloraxis={
            "colorscale": DIVERGING_SCALE,
            "cmin": -limit,
            "cmax": limit,
            "colorbar": {
                "title": {"text": colorbar_title, "side": "right"},
                "thickness": 12,
            },
        },
    )
    fig.update_annotations(font_size=13)
    return fig
