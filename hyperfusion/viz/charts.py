"""Bar charts: EHR attributions and embeddings (the class probabilities are light
HTML bars, :mod:`hyperfusion.viz.html_bars`; the channel-norm sweep is an image,
:func:`hyperfusion.viz.html_heatmaps.channel_norm_html`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hyperfusion.viz import (
    BRAIN_AGE_COLOR,
    DECREASE_COLOR,
    INCREASE_COLOR,
    REFERENCE_COLOR,
    base_layout,
)

# Short forms of the units attributions come in, for bar labels.
SHORT_UNITS: dict[str, str] = {"percentage points": "pp", "years": "y"}


def spread_label(n_seeds: int, what: str = "Error bars") -> str:
    """What the error bars (or bands) mean, as a sentence for a caption.

    >>> spread_label(1)
    'A single model (one training seed): no spread to show.'
    >>> spread_label(3, "Bands")
    'Bands: ±1 SD over 3 training seeds.'
    """
    if n_seeds <= 1:
        return "A single model (one training seed): no spread to show."
    return f"{what}: ±1 SD over {n_seeds} training seeds."


def signed(value: float, decimals: int = 2) -> str:
    """A signed number with a fixed count of decimals; values that round to zero
    read ``0.00`` (no sign, never ``-0.00``).

    >>> [signed(v) for v in (-0.504, 0.0478, 0.0, -0.001, 12.0)]
    ['-0.50', '+0.05', '0.00', '0.00', '+12.00']
    """
    rounded = round(float(value), decimals)
    if rounded == 0:
        return f"{0.0:.{decimals}f}"
    return f"{rounded:+.{decimals}f}"


def attribution_bars(
    attributions: pd.DataFrame,
    unit: str,
    target: str,
    height: int | None = None,
    decimals: int = 2,
) -> go.Figure:
    """Horizontal bars: how far each EHR field moved the prediction, and which way.

    Every bar is labelled in one fixed format, e.g. ``"+0.44 pp"`` (see
    :func:`signed`), so the column of labels reads evenly.

    Args:
        attributions: columns ``label`` and ``attribution`` (as from
            ``Engine.ehr_attribution``).
        unit: the explained output's unit, e.g. ``"percentage points"`` (labels use
            its short form from :data:`SHORT_UNITS`).
        target: what is explained, e.g. ``"P(AD)"``.
        decimals: decimals of the bar labels.
    """
    short = SHORT_UNITS.get(unit, unit)
    df = attributions.assign(size=attributions["attribution"].abs())
    df = df.sort_values("size", ascending=True)
    values = df["attribution"].astype(float).to_numpy()
    colors = [INCREASE_COLOR if v > 0 else DECREASE_COLOR for v in values]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=df["label"].tolist(),
            orientation="h",
            marker_color=colors,
            text=[f"{signed(v, decimals)} {short}" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{y}}: %{{x:+.{decimals + 1}f}} {unit}<extra></extra>",
        )
    )
    peak = float(np.abs(values).max()) if values.size else 0.0
    peak = peak if peak > 0 else 1.0
    fig.update_layout(
        **base_layout(height or max(220, 80 + 32 * len(df)), f"What moved {target}")
    )
    fig.update_xaxes(
        title_text=f"Contribution to {target} ({unit})",
        range=[-1.3 * peak, 1.3 * peak],
        zeroline=True,
        zerolinecolor="#1c2b36",
        gridcolor="#e5e9ec",
    )
    fig.update_yaxes(title_text="EHR field")
    return fig


def embedding_bars(
    embedding: np.ndarray, reference: np.ndarray, height: int = 280
) -> go.Figure:
    """e(t) of this patient beside the reference patient's, one group per dimension."""
    dims = [f"e{k + 1}" for k in range(len(embedding))]
    fig = go.Figure(
        [
            go.Bar(
                name="this patient",
                x=dims,
                y=np.asarray(embedding, dtype=np.float32),
                marker_color=BRAIN_AGE_COLOR,
            ),
            go.Bar(
                name="reference patient",
                x=dims,
                y=np.asarray(reference, dtype=np.float32),
                marker_color=REFERENCE_COLOR,
            ),
        ]
    )
    fig.update_layout(
        **base_layout(height, "Embedding e(t)"),
        barmode="group",
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right"},
    )
    fig.update_xaxes(title_text="Embedding dimension k")
    fig.update_yaxes(title_text="eₖ(t)", zeroline=True, gridcolor="#e5e9ec")
    return fig
