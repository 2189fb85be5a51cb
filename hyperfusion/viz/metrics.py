"""Figures of measured model quality and of several models side by side.

Reliability (calibration) diagrams as plotly figures (lines); metric bars with their
spread over training seeds, class proportions and every model's probabilities for
one patient as light HTML bar charts for ``st.html``
(:func:`hyperfusion.viz.html_charts.bar_chart_html`), and confusion matrices as HTML
tables (:func:`hyperfusion.viz.html_heatmaps.confusion_table_html`): a plotly chart
costs about 100-150 ms of browser time per page render on a 2-core CPU, and a bar's
value label or a table cell shows what a hover would. Pure builders: plain data in,
a ``plotly.graph_objects.Figure`` or HTML out.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hyperfusion.config import AD_CLASSES
from hyperfusion.viz import CLASS_COLORS, FONT
from hyperfusion.viz.html_charts import (
    Axis,
    Reference,
    Series,
    bar_chart_html,
    number_tick,
    percent_tick,
    zero_span,
)
from hyperfusion.viz.whatif import MARKER_COLOR

BAR_COLOR = "#1f6f8b"
WHISKER_LABEL = "±1 SD over training seeds"
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


def _drawn(sd: float | None) -> float | None:
    """A spread worth a whisker (finite and above zero), else None."""
    return float(sd) if sd is not None and np.isfinite(sd) and sd > 0 else None


def _with_sd(value: str, sd: str | None) -> str:
    return value if sd is None else f"{value} ± {sd}"


def metric_bars_html(
    table: pd.DataFrame,
    metric: str,
    axis_title: str,
    reference: float | None = None,
    reference_label: str = "chance",
) -> str:
    """One bar per measured model (unmeasured ones left out) with its spread over
    seeds as a ±1 SD whisker, labelled e.g. ``"0.710 ± 0.020"``, as HTML (root
    class ``hf-metric-bars``).

    Args:
        table: one row per model with columns ``label``, ``metric`` and optionally
            ``f"{metric}_sd"`` (e.g. :func:`hyperfusion.modelcard.metrics_table`).
        metric: the column to plot.
        axis_title: the values' axis title, with units.
        reference: a dashed line (e.g. chance level), if given.
        reference_label: the line's label.
    """
    rows = table.dropna(subset=[metric])
    values = rows[metric].astype(float).tolist()
    column = rows.get(f"{metric}_sd")
    sds = None if column is None else [_drawn(v) for v in column.astype(float)]
    spreads = sds or [None] * len(values)
    texts = [
        _with_sd(f"{v:.3f}", None if sd is None else f"{sd:.3f}")
        for v, sd in zip(values, spreads, strict=True)
    ]
    reach = [v + (sd or 0.0) for v, sd in zip(values, spreads, strict=True)]
    line = None
    if reference is not None:
        line = Reference(reference, reference_label, MARKER_COLOR)
        reach.append(reference)
    return bar_chart_html(
        [str(v) for v in rows["label"]],
        [Series(metric, values, BAR_COLOR, sd=sds, texts=texts)],
        Axis(*zero_span(reach), axis_title),
        kind="hf-metric-bars",
        label_title="model",
        whisker_label=WHISKER_LABEL if any(spreads) else "",
        reference=line,
    )


def class_proportions_html(counts: Mapping[str, float], title: str = "subjects") -> str:
    """Subjects per diagnosis as bars in the class colours, labelled count and %
    (only % when ``counts`` are shares adding up to 1), as HTML (root class
    ``hf-class-proportions``)."""
    classes = [c for c in AD_CLASSES if c in counts] + [
        c for c in counts if c not in AD_CLASSES
    ]
    values = [float(counts[c]) for c in classes]
    total = sum(values)
    shares = [v / total if total > 0 else 0.0 for v in values]
    is_share = total > 0 and bool(np.isclose(total, 1.0)) and max(values) <= 1
    texts = [
        f"{s:.0%}" if is_share else f"{v:.0f} ({s:.0%})"
        for v, s in zip(values, shares, strict=True)
    ]
    colors = [CLASS_COLORS.get(c, BAR_COLOR) for c in classes]
    axis = Axis(
        *zero_span(values),
        "share of subjects" if is_share else title,
        percent_tick if is_share else number_tick,
    )
    return bar_chart_html(
        classes,
        [Series(title, values, colors, texts=texts)],
        axis,
        kind="hf-class-proportions",
        label_title="diagnosis",
    )


def model_probabilities_html(table: pd.DataFrame) -> str:
    """Every model's class probabilities for one patient, a group of bars per model
    in the class colours, each labelled e.g. ``"57% ± 8%"``, as HTML (root class
    ``hf-model-probabilities``; ``data-values`` and ``data-sd``: one list per class).

    Args:
        table: one row per model with ``label``, ``CN``, ``MCI``, ``AD``, their
            ``*_sd`` (the ensemble's spread; ±1 SD whiskers) and optionally
            ``seeds`` (ensemble size: a model with one seed gets no whisker, and a
            chart where every model has one seed none at all).
    """
    seeds = table.get("seeds")
    several = (
        np.ones(len(table), dtype=bool)
        if seeds is None
        else (pd.to_numeric(seeds, errors="coerce").fillna(1) > 1).to_numpy()
    )
    series = []
    for cls in AD_CLASSES:
        values = table[cls].astype(float).tolist()
        column = table.get(f"{cls}_sd")
        sds = None
        if column is not None and several.any():
            sds = [
                float(sd) if on else None
                for sd, on in zip(column.astype(float), several, strict=True)
            ]
        texts = [
            _with_sd(f"{v:.0%}", None if _drawn(sd) is None else f"{sd:.0%}")
            for v, sd in zip(values, sds or [None] * len(values), strict=True)
        ]
        series.append(Series(cls, values, CLASS_COLORS[cls], sd=sds, texts=texts))
    drawn = any(_drawn(sd) for s in series for sd in (s.sd or []))
    return bar_chart_html(
        [str(v) for v in table["label"]],
        series,
        Axis(0.0, 1.0, "probability", percent_tick),
        kind="hf-model-probabilities",
        label_title="model",
        legend=True,
        whisker_label=WHISKER_LABEL if drawn else "",
    )


__all__ = [
    "class_proportions_html",
    "metric_bars_html",
    "model_probabilities_html",
    "reliability_figure",
]
