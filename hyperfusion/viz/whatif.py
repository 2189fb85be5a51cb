"""What-if figures and tables: one field swept over its range, two scenarios side by
side, and the smallest change of one field that flips the diagnosis.

Pure builders: they take the engine's outputs as plain data (a sweep DataFrame,
``Prediction.to_dict()`` dicts, ``smallest_flip`` results) and return plotly figures
or pandas DataFrames ready for ``st.plotly_chart`` / ``st.dataframe``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr import INPUT_FIELDS, EHRField
from hyperfusion.viz import BRAIN_AGE_COLOR, CLASS_COLORS, FONT

MARKER_COLOR = "#5c6b77"  # the "current value" marker and reference lines
NO_FLIP = "no value in range flips it"


def rgba(hex_color: str, alpha: float) -> str:
    """``"#rrggbb"`` as a CSS ``rgba()`` string.

    >>> rgba("#2a9d8f", 0.2)
    'rgba(42, 157, 143, 0.2)'
    """
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def axis_title(field: EHRField) -> str:
    """A field's axis label with its unit, e.g. ``"Age (years)"`` (no unit when the
    label already names it: ``"APOE4 alleles"``)."""
    if not field.unit or field.unit.lower() in field.label.lower():
        return field.label
    return f"{field.label} ({field.unit})"


def format_value(field: EHRField, value: object) -> str:
    """A field value as text with its unit; ``None`` reads ``"unknown"``.

    >>> from hyperfusion.data.ehr import FIELD_BY_NAME
    >>> fdg, age = FIELD_BY_NAME["FDG"], FIELD_BY_NAME["AGE"]
    >>> format_value(fdg, 1.234), format_value(age, None)
    ('1.23 SUVR', 'unknown')
    """
    if value is None:
        return "unknown"
    if field.kind == "category":
        return str(value)
    number = float(value)  # type: ignore[arg-type]
    step = field.step or 1
    text = f"{number:.2f}" if step < 1 else f"{number:.0f}"
    return f"{text} {field.unit}" if field.unit else text


def sweepable_fields() -> tuple[EHRField, ...]:
    """The model inputs a what-if sweep can vary (every numeric input and sex)."""
    return tuple(f for f in INPUT_FIELDS if f.kind == "number" or f.name == "PTGENDER")


def sweep_values(field: EHRField, n: int = 64) -> list[Any]:
    """The values a sweep visits: the choices of a category, every integer of an
    integer range (at most ``n``), else ``n`` evenly spaced values from low to high.

    >>> from hyperfusion.data.ehr import FIELD_BY_NAME
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


# Sweep -----------------------------------------------------------------------------


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
    fig = make_subplots(
        rows=rows,
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
    categorical = field.kind == "category"
    x = [str(v) for v in df["value"]] if categorical else df["value"].astype(float)
    x = list(x)
    for cls in AD_CLASSES:
        mean, sd = df[cls].to_numpy(float), df[f"{cls}_sd"].to_numpy(float)
        color = CLASS_COLORS[cls]
        if categorical:
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=mean,
                    name=cls,
                    legendgroup=cls,
                    marker_color=color,
                    error_y={"type": "data", "array": sd, "color": "#444"},
                    hovertemplate=f"{cls}: %{{y:.1%}}<extra></extra>",
                ),
                row=1,
                col=1,
            )
            continue
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
                hovertemplate=(
                    f"{cls}: %{{y:.1%}} ± %{{customdata:.1%}}<extra></extra>"
                ),
            ),
            row=1,
            col=1,
        )
    if has_age:
        _add_brain_age(fig, df, x, field, categorical)
    _mark_current(fig, x, field, current, categorical, rows)
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
    return fig


def _add_brain_age(
    fig: go.Figure, df: pd.DataFrame, x: list[Any], field: EHRField, categorical: bool
) -> None:
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


# Scenarios -------------------------------------------------------------------------


def scenario_inputs_table(
    record_a: Mapping[str, object], record_b: Mapping[str, object]
) -> pd.DataFrame:
    """The model inputs of scenarios A and B as text, one row per field.

    Columns ``field``, ``A``, ``B``, ``changed`` (bool).
    """
    rows = []
    for f in INPUT_FIELDS:
        a, b = record_a.get(f.name), record_b.get(f.name)
        rows.append(
            {
                "field": axis_title(f),
                "A": format_value(f, a),
                "B": format_value(f, b),
                "changed": _differs(a, b),
            }
        )
    return pd.DataFrame(rows)


def style_inputs_table(table: pd.DataFrame) -> Any:
    """:func:`scenario_inputs_table` for display: the ``changed`` column becomes
    a highlight of B's changed cells."""
    changed = table["changed"].to_numpy(bool)
    shown = table.drop(columns="changed")

    def highlight(column: pd.Series) -> list[str]:
        on = "background-color: #fdf1cf; font-weight: 600"
        return [on if c and column.name == "B" else "" for c in changed]

    return shown.style.apply(highlight, axis=0)


def _differs(a: object, b: object) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    if isinstance(a, str) or isinstance(b, str):
        return a != b
    return not np.isclose(float(a), float(b))  # type: ignore[arg-type]


def scenario_outcome_table(
    pred_a: Mapping[str, Any], pred_b: Mapping[str, Any]
) -> pd.DataFrame:
    """Predictions of scenarios A and B and their difference.

    Args:
        pred_a, pred_b: ``Prediction.to_dict()`` outputs.

    Returns:
        One row per class probability (``P(CN)``, ...) and ``brain age (years)``;
        columns ``A``, ``A sd``, ``B``, ``B sd``, ``Δ (B − A)`` (floats).
    """
    rows = []
    for cls in AD_CLASSES:
        a, b = pred_a["probabilities"][cls], pred_b["probabilities"][cls]
        rows.append(
            {
                "prediction": f"P({cls})",
                "A": a,
                "A sd": pred_a["probabilities_sd"][cls],
                "B": b,
                "B sd": pred_b["probabilities_sd"][cls],
                "Δ (B − A)": b - a,
            }
        )
    age_a, age_b = pred_a.get("brain_age"), pred_b.get("brain_age")
    if age_a is not None and age_b is not None:
        rows.append(
            {
                "prediction": "brain age (years)",
                "A": age_a,
                "A sd": pred_a.get("brain_age_sd", np.nan),
                "B": age_b,
                "B sd": pred_b.get("brain_age_sd", np.nan),
                "Δ (B − A)": age_b - age_a,
            }
        )
    return pd.DataFrame(rows).set_index("prediction")


def style_outcome_table(table: pd.DataFrame) -> Any:
    """:func:`scenario_outcome_table` styled for display: probabilities in %,
    brain age in years, differences signed (the numbers stay numbers)."""
    delta = "Δ (B − A)"
    probs = [i for i in table.index if i.startswith("P(")]
    ages = [i for i in table.index if not i.startswith("P(")]
    values = [c for c in table.columns if c != delta]
    styler = table.style.format("{:.1%}", subset=pd.IndexSlice[probs, values])
    styler = styler.format("{:+.1%}", subset=pd.IndexSlice[probs, [delta]])
    if ages:
        styler = styler.format("{:.1f}", subset=pd.IndexSlice[ages, values])
        styler = styler.format("{:+.1f}", subset=pd.IndexSlice[ages, [delta]])
    return styler


def scenario_figure(
    probs_a: Mapping[str, float], probs_b: Mapping[str, float], height: int = 190
) -> go.Figure:
    """Scenarios A and B as two stacked horizontal bars of class probabilities."""
    fig = go.Figure()
    labels = ["Scenario B", "Scenario A"]
    for cls in AD_CLASSES:
        values = [probs_b[cls], probs_a[cls]]
        fig.add_trace(
            go.Bar(
                y=labels,
                x=values,
                name=cls,
                orientation="h",
                marker_color=CLASS_COLORS[cls],
                text=[f"{cls} {v:.0%}" if v >= 0.08 else "" for v in values],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"{cls}: %{{x:.1%}}<extra>%{{y}}</extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        height=height,
        font=FONT,
        template="plotly_white",
        margin={"l": 90, "r": 20, "t": 10, "b": 45},
        showlegend=False,
        xaxis={"range": [0, 1], "tickformat": ".0%", "title": "probability"},
    )
    return fig


# Flips -----------------------------------------------------------------------------


def flip_table(
    record: Mapping[str, object], flips: Mapping[str, Mapping[str, Any] | None]
) -> pd.DataFrame:
    """The smallest change of one field that flips the diagnosis, per field.

    Args:
        record: the current EHR record.
        flips: field name → ``Engine.smallest_flip`` result (``None``: no flip).

    Returns:
        Columns ``field``, ``current``, ``flip value``, ``change``, ``diagnosis``
        (``"CN → MCI"`` or :data:`NO_FLIP`) and ``name`` (the field's column name).
        Fields that flip come first, the smallest change relative to the field's
        range first.
    """
    by_name = {f.name: f for f in INPUT_FIELDS}
    rows = []
    for name, flip in flips.items():
        f = by_name[name]
        now = record.get(name)
        row = {"name": name, "field": axis_title(f), "current": format_value(f, now)}
        if flip is None:
            row.update({"flip value": "—", "change": "—", "diagnosis": NO_FLIP})
            row["_order"] = np.inf
        else:
            change = flip.get("change")
            row["flip value"] = format_value(f, flip["value"])
            if change is None:
                row["change"] = "set" if now is None else f"{now} → {flip['value']}"
                row["_order"] = 0.5
            else:
                sign = "+" if change > 0 else "−"
                row["change"] = sign + format_value(f, abs(change))
                row["_order"] = abs(change) / (float(f.high) - float(f.low))
            row["diagnosis"] = f"{flip['from']} → {flip['to']}"
        rows.append(row)
    columns = ["field", "current", "flip value", "change", "diagnosis", "name"]
    if not rows:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(rows).sort_values("_order", kind="stable")
    return df[columns].reset_index(drop=True)


__all__ = [
    "MARKER_COLOR",
    "NO_FLIP",
    "axis_title",
    "flip_table",
    "format_value",
    "padded_range",
    "rgba",
    "scenario_figure",
    "scenario_inputs_table",
    "scenario_outcome_table",
    "sweep_figure",
    "sweep_values",
    "style_inputs_table",
    "style_outcome_table",
    "sweepable_fields",
]
