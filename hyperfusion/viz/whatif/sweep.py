"""One field swept over its range: the fields and values a sweep visits, and the
figure of class probabilities (and brain age) along it, the current value marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import INPUT_FIELDS, EHRField
from hyperfusion.viz import BRAIN_AGE_COLOR, CLASS_COLORS, FONT
from hyperfusion.viz.whatif.labels import axis_title, format_value

MARKER_COLOR = "#5c6b77"  # the "current value" marker and reference lines


def rgba(hex_color: str, alpha: float) -> str:
    """``"#rrggbb"`` as a CSS ``rgba()`` string.

    >>> rgba("#2a9d8f", 0.2)
    'rgba(42, 157, 143, 0.2)'
    """
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def sweepable_fields() -> tuple[EHRField, ...]:
    """The model inputs a what-if sweep can vary (every numeric input and sex)."""
    return tuple(f for f in INPUT_FIELDS if f.kind == "number" or f.name == "PTGENDER")


def sweep_values(field: EHRField, n: int = 64) -> list[Any]:
    """The values a sweep visits: the choices of a category, every integer of an
    integer range (at most ``n``), else ``n`` evenly spaced values from low to high.

    >>> from hyperfusion.data.ehr_schema import FIELD_BY_NAME
    >>> sweep_values(FIELD_BY_NAME["APOE4"])
    [0, 1, 2]
    >>> len(sweep_values(FIELD_BY_NAME["AGE"])), sweep_values(FIELD_BY_NAME["AGE"])[0]
    (64, 18.0)
    """
    if field.kind == "category":
        return list(field.choices)
    low, high = float(field.low), float(field.high)  # type: ignore[arg-type]
    if field.integer:
        count = min(n, int(high - low) + 1)
        values = np.unique(np.round(np.linspace(low, high, count)))
        return [int(v) for v in values]
    return [float(v) for v in np.linspace(low, high, n)]


def _band(
    x: Sequence[Any],
    mean: np.ndarray,
    sd: np.ndarray,
    color: str,
    clip: tuple[float, float] | None = None,
    **kw: Any,
) -> go.Scatter:
    """A translucent ±sd band as one closed polygon (no hover, no legend entry)."""
    upper, lower = mean + sd, mean - sd
    if clip is not None:
        upper, lower = np.clip(upper, *clip), np.clip(lower, *clip)
    return go.Scatter(
        x=[*x, *x[::-1]],
        y=[*upper, *lower[::-1]],
        fill="toself",
        fillcolor=rgba(color, 0.22),
        line={"width": 0},
        hoverinfo="skip",
        showlegend=False,
        **kw,
    )


def padded_range(
    values: np.ndarray, pad: float = 5.0, share: float = 0.1
) -> list[float] | None:
    """The finite values' range widened on both sides by ``pad`` or ``share`` of
    the span, whichever is larger (``None`` when there are none), so that no line
    sits on the edge of its plot.

    >>> padded_range(np.array([11.7, 12.0, np.nan]))
    [6.7, 17.0]
    >>> padded_range(np.array([0.0, 100.0]))
    [-10.0, 110.0]
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return None
    low, high = float(finite.min()), float(finite.max())
    margin = max(pad, share * (high - low))
    return [round(low - margin, 6), round(high + margin, 6)]


def sweep_figure(
    df: pd.DataFrame, field: EHRField, current: object, height: int = 600
) -> go.Figure:
    """Class probabilities (top) and brain age (bottom, when present) along a sweep.

    The two panels are equally tall; the brain-age axis reaches beyond every value
    drawn (band and entered-age line included) by 5 years or a tenth of their
    span (:func:`padded_range`), and starts at 0 for bars.

    Args:
        df: ``Engine.sweep`` output: ``value``, ``CN``, ``MCI``, ``AD``, their
            ``*_sd`` and optionally ``brain_age`` / ``brain_age_sd`` (years).
        field: the swept field (labels, unit, numeric or category).
        current: the patient's current value, marked on both panels (``None``:
            unknown, no marker).
        height: figure height in pixels.

    Returns:
        Numeric fields: lines with ±sd bands (ensemble spread) and a dotted vertical
        marker at ``current``. Sex: grouped bars with sd error bars and the current
        category shaded.
    """
    has_age = "brain_age" in df and bool(np.isfinite(df["brain_age"]).any())
    rows = 2 if has_age else 1
    fig = _sweep_panels(has_age)
    categorical = field.kind == "category"
    x = [str(v) for v in df["value"]] if categorical else df["value"].astype(float)
    x = list(x)
    for cls in AD_CLASSES:
        mean, sd = df[cls].to_numpy(float), df[f"{cls}_sd"].to_numpy(float)
        if categorical:
            _add_class_bars(fig, x, cls, mean, sd)
        else:
            _add_class_line(fig, x, cls, mean, sd)
    if has_age:
        _add_brain_age(fig, df, x, field, categorical)
    _mark_current(fig, x, field, current, categorical, rows)
    _style_sweep(fig, field, has_age, height)
    return fig


def _sweep_panels(has_age: bool) -> go.Figure:
    """The empty sweep figure: probabilities on top and, with a brain age, an
    equally tall brain-age panel below sharing the x axis."""
    return make_subplots(
        rows=2 if has_age else 1,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        row_heights=[0.5, 0.5] if has_age else [1.0],
        subplot_titles=(
            ("Diagnosis probabilities", "Predicted brain age")
            if has_age
            else ("Diagnosis probabilities",)
        ),
    )


def _add_class_bars(
    fig: go.Figure, x: list[Any], cls: str, mean: np.ndarray, sd: np.ndarray
) -> None:
    """One class's probabilities as bars with sd error bars (a category sweep)."""
    fig.add_trace(
        go.Bar(
            x=x,
            y=mean,
            name=cls,
            legendgroup=cls,
            marker_color=CLASS_COLORS[cls],
            error_y={"type": "data", "array": sd, "color": "#444"},
            hovertemplate=f"{cls}: %{{y:.1%}}<extra></extra>",
        ),
        row=1,
        col=1,
    )


def _add_class_line(
    fig: go.Figure, x: list[Any], cls: str, mean: np.ndarray, sd: np.ndarray
) -> None:
    """One class's probabilities as a line over its ±sd band, clipped to [0, 1]
    (a numeric sweep)."""
    color = CLASS_COLORS[cls]
    fig.add_trace(_band(x, mean, sd, color, legendgroup=cls, clip=(0, 1)), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=mean,
            name=cls,
            legendgroup=cls,
            mode="lines",
            line={"color": color, "width": 3},
            customdata=sd,
            hovertemplate=f"{cls}: %{{y:.1%}} ± %{{customdata:.1%}}<extra></extra>",
        ),
        row=1,
        col=1,
    )


def _style_sweep(fig: go.Figure, field: EHRField, has_age: bool, height: int) -> None:
    """The sweep's axes (probability in %, the field with its unit) and layout."""
    rows = 2 if has_age else 1
    fig.update_yaxes(title_text="probability", range=[0, 1], tickformat=".0%", row=1)
    fig.update_xaxes(title_text=axis_title(field), row=rows, col=1)
    if has_age:  # an axis line below the padding, apart from a flat brain age
        fig.update_xaxes(showline=True, linecolor="#b8c2ca", row=2, col=1)
    fig.update_layout(
        height=height,
        barmode="group",
        hovermode="x unified",
        font=FONT,
        margin={"l": 70, "r": 20, "t": 40, "b": 60},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "x": 0},
        template="plotly_white",
    )


def _add_brain_age(
    fig: go.Figure, df: pd.DataFrame, x: list[Any], field: EHRField, categorical: bool
) -> None:
    """The brain-age panel: bars or a line with its ±sd band, the entered age as a
    dashed diagonal when age is swept, and a padded brain-age axis."""
    mean = df["brain_age"].to_numpy(float)
    sd = df.get("brain_age_sd", pd.Series(np.zeros(len(df)))).to_numpy(float)
    if categorical:
        fig.add_trace(
            go.Bar(
                x=x,
                y=mean,
                name="brain age",
                marker_color=BRAIN_AGE_COLOR,
                error_y={"type": "data", "array": sd, "color": "#444"},
                hovertemplate="brain age: %{y:.1f} years<extra></extra>",
            ),
            row=2,
            col=1,
        )
    else:
        fig.add_trace(_band(x, mean, sd, BRAIN_AGE_COLOR), row=2, col=1)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=mean,
                name="brain age",
                mode="lines",
                line={"color": BRAIN_AGE_COLOR, "width": 3},
                customdata=sd,
                hovertemplate=(
                    "brain age: %{y:.1f} ± %{customdata:.1f} years<extra></extra>"
                ),
            ),
            row=2,
            col=1,
        )
    if field.name == "AGE":
        fig.add_trace(
            go.Scatter(
                x=x,
                y=x,
                name="entered age",
                mode="lines",
                line={"color": MARKER_COLOR, "width": 1.5, "dash": "dash"},
                hovertemplate="entered age: %{y:.0f} years<extra></extra>",
            ),
            row=2,
            col=1,
        )
    drawn = [mean - sd, mean + sd]
    if field.name == "AGE":
        drawn.append(np.asarray(x, dtype=float))
    y_range = padded_range(np.concatenate(drawn))
    if categorical and y_range is not None:
        y_range = [0.0, y_range[1]]
    fig.update_yaxes(title_text="brain age (years)", range=y_range, row=2, col=1)


def _mark_current(
    fig: go.Figure,
    x: list[Any],
    field: EHRField,
    current: object,
    categorical: bool,
    rows: int,
) -> None:
    """Mark ``current`` on every panel: its category shaded, or a dotted line."""
    if current is None:
        return
    label = f"current: {format_value(field, current)}"
    if categorical:
        if str(current) not in x:
            return
        i = x.index(str(current))
        for row in range(1, rows + 1):
            fig.add_vrect(
                x0=i - 0.5,
                x1=i + 0.5,
                fillcolor="#8a9aa6",
                opacity=0.12,
                line_width=0,
                layer="below",
                row=row,
                col=1,
            )
        fig.add_annotation(
            x=str(current), y=1.0, yref="y domain", text=label, showarrow=False,
            yanchor="bottom", font={"color": MARKER_COLOR},
        )  # fmt: skip
        return
    for row in range(1, rows + 1):
        fig.add_vline(
            x=float(current),  # type: ignore[arg-type]
            line={"color": MARKER_COLOR, "width": 2, "dash": "dot"},
            row=row,
            col=1,
        )
    fig.add_annotation(
        x=float(current), y=1.0, yref="y domain", text=label, showarrow=False,  # type: ignore[arg-type]
        yanchor="bottom", xanchor="left", xshift=4, font={"color": MARKER_COLOR},
    )  # fmt: skip


__all__ = [
    "MARKER_COLOR",
    "padded_range",
    "rgba",
    "sweep_figure",
    "sweep_values",
    "sweepable_fields",
]
