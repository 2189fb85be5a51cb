"""A field scrubbed across its range in the browser: one plotly frame per swept value
and a slider over them, so that dragging needs no round trip to the server.

The figure shows, at the slider's value, the class probabilities as bars, the
predicted brain age, and the per-output-channel norms of the hyper layer's generated
weights; the patient's current value is a step of the slider (its start, labelled
"current") and the current channel norms stay drawn as a reference. Frames change
only the moving traces and never ask for a full redraw, so a step costs the browser
one light relayout of three traces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import EHRField
from hyperfusion.viz import BRAIN_AGE_COLOR, CLASS_COLORS, FONT, REFERENCE_COLOR
from hyperfusion.viz.whatif.labels import format_value
from hyperfusion.viz.whatif.sweep import MARKER_COLOR, padded_range, sweep_values

NORM_COLOR = "#1f6f8b"
CURRENT_LABEL = " (current)"
# The slider's animation: no easing, no transition, no full redraw.
STEP_ANIMATION: dict[str, Any] = {
    "mode": "immediate",
    "frame": {"duration": 0, "redraw": False},
    "transition": {"duration": 0},
}
# The traces the frames move: probabilities, their labels, brain age, channel norms.
MOVING_TRACES = [0, 1, 2, 3]


def scrub_values(field: EHRField, current: object, n: int = 64) -> list[Any]:
    """The sweep's values (:func:`sweep_values`) with the patient's current value
    added in order, so that the slider can start exactly there.

    >>> from hyperfusion.data.ehr_schema import FIELD_BY_NAME
    >>> apoe4 = FIELD_BY_NAME["APOE4"]
    >>> scrub_values(apoe4, 1), scrub_values(apoe4, None)
    ([0, 1, 2], [0, 1, 2])
    >>> values = scrub_values(FIELD_BY_NAME["AGE"], 68.4)
    >>> len(values), 68.4 in values, values == sorted(values)
    (65, True, True)
    """
    values = sweep_values(field, n)
    if current is None or field.kind == "category" or current in values:
        return values
    number = float(current)  # type: ignore[arg-type]
    return sorted([*values, int(number) if field.integer else number])


def current_index(values: Sequence[Any], current: object) -> int | None:
    """Where ``current`` is among the values (``None``: unknown or absent)."""
    if current is None:
        return None
    for i, value in enumerate(values):
        if value == current or str(value) == str(current):
            return i
    return None


def step_labels(field: EHRField, values: Sequence[Any], current: int | None) -> list:
    """The slider's step labels: each value with its unit, the current one marked."""
    labels = [format_value(field, v) for v in values]
    if current is not None:
        labels[current] += CURRENT_LABEL
    return labels


def _age_points(
    df: pd.DataFrame, field: EHRField, i: int
) -> tuple[list, list, list, list]:
    """The brain-age panel's points at row ``i``: x, y, sd and text; the entered
    age moves beside the brain age when age is swept."""
    age = float(df["brain_age"].iloc[i]) if "brain_age" in df else float("nan")
    sd = float(df["brain_age_sd"].iloc[i]) if "brain_age_sd" in df else 0.0
    x, y, sds = ["brain age"], [age], [sd]
    text = [f"{age:.1f} y" if np.isfinite(age) else "not predicted"]
    if field.name == "AGE":
        entered = float(df["value"].iloc[i])
        x, y, sds = [*x, "entered age"], [*y, entered], [*sds, 0.0]
        text.append(f"{entered:.0f} y")
    return x, y, sds, text


def _frame_traces(
    df: pd.DataFrame, norms: np.ndarray, field: EHRField, i: int
) -> list[dict[str, Any]]:
    """The moving traces at sweep row ``i``, as plain trace dicts: the
    probabilities, their labels (above the error bars), the brain age and the
    channel norms."""
    probs = np.array([float(df[c].iloc[i]) for c in AD_CLASSES])
    sds = np.array([float(df[f"{c}_sd"].iloc[i]) for c in AD_CLASSES])
    x, y, age_sd, age_text = _age_points(df, field, i)
    error = {"type": "data", "color": "#1c2b36"}
    return [
        {
            "type": "bar",
            "x": list(AD_CLASSES),
            "y": probs.tolist(),
            "error_y": {**error, "array": sds.tolist()},
        },
        {
            "type": "scatter",
            "x": list(AD_CLASSES),
            "y": (np.minimum(probs + sds, 1.0) + 0.02).tolist(),
            "text": [f"{p:.0%}" for p in probs],
        },
        {
            "type": "scatter",
            "x": x,
            "y": y,
            "error_y": {**error, "array": age_sd},
            "text": age_text,
        },
        {"type": "bar", "x": np.arange(norms.shape[1]), "y": norms[i]},
    ]


def _static_traces(fig: go.Figure, first: list, norms: np.ndarray, now: int | None):
    """Add the moving traces in their first state, styled, and the reference."""
    probs, labels, age, weights = (go.Figure({"data": [d]}).data[0] for d in first)
    probs.update(
        marker_color=[CLASS_COLORS[c] for c in AD_CLASSES],
        hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        showlegend=False,
    )
    labels.update(
        mode="text", textposition="top center", hoverinfo="skip", showlegend=False
    )
    colors = [BRAIN_AGE_COLOR, MARKER_COLOR][: len(age.x)]
    age.update(
        mode="markers+text",
        marker={"color": colors, "size": 16},
        textposition="middle right",
        hovertemplate="%{x}: %{y:.1f} years<extra></extra>",
        showlegend=False,
    )
    weights.update(
        marker_color=NORM_COLOR,
        name="at the slider's value",
        hovertemplate="channel %{x}: %{y:.3f}<extra>at the slider</extra>",
    )
    cells = [(1, 1), (1, 1), (1, 2), (2, 1)]
    for trace, (row, col) in zip((probs, labels, age, weights), cells, strict=True):
        fig.add_trace(trace, row=row, col=col)
    if now is not None:
        fig.add_trace(
            go.Scatter(
                x=np.arange(norms.shape[1]),
                y=norms[now],
                mode="markers",
                marker={
                    "symbol": "line-ew",
                    "size": 9,
                    "line": {"width": 2, "color": REFERENCE_COLOR},
                },
                name="at the current value",
                hovertemplate="channel %{x}: %{y:.3f}<extra>current</extra>",
            ),
            row=2,
            col=1,
        )


def _slider(field: EHRField, labels: list[str], active: int) -> dict[str, Any]:
    """One step per frame; the shown value reads '<field>: <value>'."""
    steps = [
        {"method": "animate", "label": label, "args": [[str(i)], STEP_ANIMATION]}
        for i, label in enumerate(labels)
    ]
    return {
        "active": active,
        "steps": steps,
        "currentvalue": {
            "prefix": f"{field.label}: ",
            "font": {"size": 14, "color": FONT["color"]},
        },
        "pad": {"t": 40, "b": 10},
        "len": 1.0,
        "x": 0.0,
        "ticklen": 3,
        "minorticklen": 0,
        "font": {"size": 9, "color": "rgba(0,0,0,0)"},  # 65 tick labels: too many
    }


def _style(
    fig: go.Figure, df: pd.DataFrame, norms: np.ndarray, field: EHRField, height: int
) -> None:
    """Axes fixed over the whole sweep (so motion is motion), and the layout."""
    fig.update_yaxes(
        row=1, col=1, range=[0, 1.12], tickformat=".0%", title_text="probability"
    )
    drawn = [np.zeros(0)]
    if "brain_age" in df:
        mean = df["brain_age"].to_numpy(float)
        sd = df.get("brain_age_sd", pd.Series(np.zeros(len(df)))).to_numpy(float)
        drawn += [mean - sd, mean + sd]
    if field.name == "AGE":
        drawn.append(df["value"].to_numpy(float))
    y_range = padded_range(np.concatenate(drawn))
    fig.update_yaxes(row=1, col=2, range=y_range, title_text="years")
    fig.update_xaxes(row=1, col=2, range=[-0.5, 1.5 if field.name == "AGE" else 0.5])
    peak = float(np.nanmax(norms)) if norms.size else 1.0
    fig.update_yaxes(row=2, col=1, range=[0, 1.08 * peak], title_text="‖Wc(t)‖₂")
    fig.update_xaxes(row=2, col=1, title_text="output channel c")
    fig.update_layout(
        height=height,
        font=FONT,
        template="plotly_white",
        margin={"l": 70, "r": 20, "t": 40, "b": 20},
        legend={"orientation": "h", "yanchor": "bottom", "y": 0.42, "x": 1,
                "xanchor": "right"},
        bargap=0.15,
        hovermode="closest",
    )  # fmt: skip


def scrub_figure(
    df: pd.DataFrame,
    norms: np.ndarray,
    field: EHRField,
    current: object,
    layer: str = "the hyper layer",
    height: int = 620,
) -> go.Figure:
    """Predictions and generated-weight norms at every swept value, on a slider.

    Args:
        df: ``Engine.sweep`` output over the slider's values (``value``, the class
            probabilities and their ``*_sd``, optionally ``brain_age[_sd]``).
        norms: ``Engine.channel_norms_sweep`` over the same values, ``(K, out)``.
        field: the swept field.
        current: the patient's current value: the slider starts there and it is
            labelled "current" (``None`` or absent from ``df``: the first value).
        layer: the hyper layer's name, for the weights panel's title.
        height: figure height in pixels.

    Returns:
        A figure with one frame per row of ``df`` (named ``"0"``, ``"1"``...), each
        moving traces 0-3, and a slider whose steps animate to them.
    """
    norms = np.asarray(norms, dtype=np.float32)
    if norms.ndim != 2 or norms.shape[0] != len(df):
        raise ValueError(f"expected ({len(df)}, out) norms, got {norms.shape}")
    values = df["value"].tolist()
    now = current_index(values, current)
    start = 0 if now is None else now
    fig = make_subplots(
        rows=2,
        cols=2,
        specs=[[{}, {}], [{"colspan": 2}, None]],
        column_widths=[0.72, 0.28],
        row_heights=[0.45, 0.55],
        vertical_spacing=0.16,
        subplot_titles=(
            "Diagnosis probabilities",
            "Predicted brain age",
            f"Generated weights of {layer}: norm of each output channel",
        ),
    )
    _static_traces(fig, _frame_traces(df, norms, field, start), norms, now)
    labels = step_labels(field, values, now)
    fig.update_layout(sliders=[_slider(field, labels, start)])
    _style(fig, df, norms, field, height)
    fig.update_annotations(font_size=13, font_color=MARKER_COLOR)
    fig.frames = [
        {
            "name": str(i),
            "data": _frame_traces(df, norms, field, i),
            "traces": MOVING_TRACES,
        }
        for i in range(len(df))
    ]
    return fig


__all__ = [
    "CURRENT_LABEL",
    "STEP_ANIMATION",
    "current_index",
    "scrub_figure",
    "scrub_values",
    "step_labels",
]
