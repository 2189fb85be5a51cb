"""Figures of measured model quality and of several models side by side.

Reliability (calibration) diagrams, metric bars with their spread over training
seeds, class proportions, and every model's probabilities for one patient. Pure
builders: plain data in, ``plotly.graph_objects.Figure`` out. (Confusion matrices
are HTML tables, :func:`hyperfusion.viz.html_heatmaps.confusion_table_html`: a
plotly chart costs about 100-150 ms of browser time per page render on a 2-core CPU,
and a table loses nothing but the hover.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hyperfusion.config import AD_CLASSES
from hyperfusion.viz import CLASS_COLORS, FONT
from hyperfusion.viz.whatif import MARKER_COLOR

BAR_COLOR = "#1f6f8b"
_SERIES_COLORS = ("#1f6f8b", "#e76f51", "#2a9d8f", "#7b5ea7", "#e9c46a", "#264653")
_LAYOUT = {"font": FONT, "template": "plotly_white"}


def reliability_figure(
    curves: Mapping[str, pd.DataFrame], height: int = 360
) -> go.Figure:
    """A reliability diagram: observed accuracy against mean confidence per bin.

    Args:
        curves: label → DataFrame with columns ``confidence`` (mean predicted
            probability of the predicted class in the bin), ``accuracy`` (share of
            the bin predicted right) and optionally ``count`` (subjects in the bin;
            sets marker sizes).
        height: figure height in pixels.

    Returns:
        One line per label and the dashed diagonal of perfect calibration, both axes
        from 0 to 1.
    """
    fig = go.Figure(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            name="perfect calibration",
            line={"color": MARKER_COLOR, "dash": "dash", "width": 1.5},
            hoverinfo="skip",
        )
    )
    for i, (label, bins) in enumerate(curves.items()):
        bins = bins.dropna(subset=["confidence", "accuracy"])
        if "count" in bins:
            counts = bins["count"].to_numpy(float)
            sizes = 6 + 16 * np.sqrt(counts / max(counts.max(), 1.0))
        else:
            counts, sizes = np.full(len(bins), np.nan), np.full(len(bins), 9.0)
        fig.add_trace(
            go.Scatter(
                x=bins["confidence"],
                y=bins["accuracy"],
                mode="lines+markers",
                name=label,
                line={"color": _SERIES_COLORS[i % len(_SERIES_COLORS)], "width": 2},
                marker={"size": sizes},
                customdata=counts,
                hovertemplate=(
                    f"{label}<br>confidence %{{x:.0%}}: accuracy %{{y:.0%}}"
                    " (%{customdata:.0f} subjects)<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        height=height,
        margin={"l": 70, "r": 10, "t": 10, "b": 60},
        xaxis={"title": "mean predicted probability (confidence)", "range": [0, 1]},
        yaxis={"title": "observed accuracy", "range": [0, 1]},
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **_LAYOUT,
    )
    return fig


def metric_bars_figure(
    table: pd.DataFrame,
    metric: str,
    axis_title: str,
    reference: float | None = None,
    reference_label: str = "chance",
    height: int = 320,
) -> go.Figure:
    """One bar per model with its spread over seeds as error bars.

    Args:
        table: one row per model with columns ``label``, ``metric`` and optionally
            ``f"{metric}_sd"`` (e.g. :func:`hyperfusion.modelcard.metrics_table`).
        metric: the column to plot.
        axis_title: the y-axis title, with units.
        reference: a dashed horizontal line (e.g. chance level), if given.
        reference_label: the line's label.
        height: figure height in pixels.
    """
    rows = table.dropna(subset=[metric])
    sd = rows.get(f"{metric}_sd")
    fig = go.Figure(
        go.Bar(
            x=rows["label"],
            y=rows[metric],
            marker_color=BAR_COLOR,
            error_y=None
            if sd is None
            else {"type": "data", "array": sd.fillna(0), "color": "#444"},
            hovertemplate="%{x}: %{y:.3f}<extra></extra>",
        )
    )
    if reference is not None:
        fig.add_hline(
            y=reference, line={"color": MARKER_COLOR, "dash": "dash", "width": 1.5}
        )
        fig.add_annotation(
            x=1.0, xref="paper", xanchor="left", xshift=4, y=reference,
            text=reference_label, showarrow=False, font={"color": MARKER_COLOR},
        )  # fmt: skip
    fig.update_layout(
        height=height,
        margin={"l": 70, "r": 70, "t": 20, "b": 60},
        yaxis={"title": axis_title},
        xaxis={"title": "model"},
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def class_proportions_figure(
    counts: Mapping[str, float], title: str = "subjects", height: int = 260
) -> go.Figure:
    """Subjects per diagnosis as bars in the class colours, labelled count and %."""
    classes = [c for c in AD_CLASSES if c in counts] + [
        c for c in counts if c not in AD_CLASSES
    ]
    values = np.array([float(counts[c]) for c in classes])
    total = values.sum()
    shares = values / total if total > 0 else np.zeros_like(values)
    is_share = total > 0 and np.isclose(total, 1.0) and values.max() <= 1
    text = [
        f"{s:.0%}" if is_share else f"{v:.0f} ({s:.0%})"
        for v, s in zip(values, shares, strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=classes,
            y=values,
            text=text,
            textposition="outside",
            cliponaxis=False,
            marker_color=[CLASS_COLORS.get(c, BAR_COLOR) for c in classes],
            hovertemplate="%{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin={"l": 70, "r": 10, "t": 30, "b": 50},
        xaxis={"title": "diagnosis"},
        yaxis={
            "title": "share of subjects" if is_share else title,
            "tickformat": ".0%" if is_share else None,
            "range": [0, float(values.max()) * 1.25 if len(values) else 1],
        },
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def model_probabilities_figure(table: pd.DataFrame, height: int = 380) -> go.Figure:
    """Every model's class probabilities for one patient, grouped by model.

    Args:
        table: one row per model with ``label``, ``CN``, ``MCI``, ``AD``, their
            ``*_sd`` (the ensemble's spread; error bars) and optionally ``seeds``
            (ensemble size: a model with one seed gets no error bar, and a chart
            where every model has one seed none at all).
        height: figure height in pixels.
    """
    seeds = table.get("seeds")
    several = (
        np.ones(len(table), dtype=bool)
        if seeds is None
        else (pd.to_numeric(seeds, errors="coerce").fillna(1) > 1).to_numpy()
    )
    fig = go.Figure()
    for cls in AD_CLASSES:
        sd = table.get(f"{cls}_sd")
        error_y = None
        if sd is not None and several.any():
            # NaN, not None: plotly.js draws a null error as a zero-height cap.
            shown = np.where(several, np.asarray(sd, dtype=float), np.nan)
            error_y = {"type": "data", "array": shown, "color": "#444"}
        fig.add_trace(
            go.Bar(
                x=table["label"],
                y=table[cls],
                name=cls,
                marker_color=CLASS_COLORS[cls],
                error_y=error_y,
                hovertemplate=f"%{{x}}: P({cls}) %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        height=height,
        margin={"l": 70, "r": 10, "t": 30, "b": 60},
        yaxis={"title": "probability", "range": [0, 1], "tickformat": ".0%"},
        xaxis={"title": "model"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **_LAYOUT,
    )
    return fig


__all__ = [
    "class_proportions_figure",
    "metric_bars_figure",
    "model_probabilities_figure",
    "reliability_figure",
]
