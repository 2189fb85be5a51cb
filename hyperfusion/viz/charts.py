"""Bar charts of the EHR attributions (Explain) and of the embedding e(t)
(Hypernetwork) as light HTML for ``st.html``
(:func:`hyperfusion.viz.html_charts.bar_chart_html`), not plotly: a plotly chart
costs about 100-150 ms of browser main-thread time per page render on a 2-core CPU,
and the value beside each bar says what its hover said. The class probabilities are
HTML bars too (:mod:`hyperfusion.viz.html_bars`); the channel-norm sweep is an image
(:func:`hyperfusion.viz.html_heatmaps.channel_norm_html`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hyperfusion.viz import (
    BRAIN_AGE_COLOR,
    DECREASE_COLOR,
    INCREASE_COLOR,
    REFERENCE_COLOR,
)
from hyperfusion.viz.html_charts import Axis, Series, bar_chart_html, symmetric_span

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


def attribution_bars_html(
    attributions: pd.DataFrame, unit: str, target: str, decimals: int = 2
) -> str:
    """Horizontal bars: how far each EHR field moved the prediction, and which way
    (red: raised, blue: lowered), the largest effect on top, on an axis centred on
    zero (±1.3 × the largest effect).

    Every bar is labelled in one fixed format, e.g. ``"+0.44 pp"`` (see
    :func:`signed`), so the labels read evenly. The root element has class
    ``hf-attribution``; its ``data-values`` are the attributions as drawn (in
    ``data-labels`` order).

    Args:
        attributions: columns ``label`` and ``attribution`` (as from
            ``Engine.ehr_attribution``).
        unit: the explained output's unit, e.g. ``"percentage points"`` (labels use
            its short form from :data:`SHORT_UNITS`).
        target: what is explained, e.g. ``"P(AD)"``.
        decimals: decimals of the bar labels.
    """
    short = SHORT_UNITS.get(unit, unit)
    order = (
        attributions["attribution"].abs().sort_values(ascending=False, kind="stable")
    )
    df = attributions.loc[order.index]
    values = df["attribution"].astype(float).tolist()
    bars = Series(
        target,
        values,
        [INCREASE_COLOR if v > 0 else DECREASE_COLOR for v in values],
        texts=[f"{signed(v, decimals)} {short}" for v in values],
    )
    axis = Axis(*symmetric_span(values, 1.3), f"Contribution to {target} ({unit})")
    return bar_chart_html(
        [str(v) for v in df["label"]],
        [bars],
        axis,
        kind="hf-attribution",
        title=f"What moved {target}",
        label_title="EHR field",
    )


def embedding_bars_html(embedding: np.ndarray, reference: np.ndarray) -> str:
    """e(t) of this patient beside the reference patient's, a pair of bars per
    dimension (root class ``hf-embedding``), each labelled with its value."""
    ours = np.asarray(embedding, dtype=np.float64).tolist()
    theirs = np.asarray(reference, dtype=np.float64).tolist()
    series = [
        Series("this patient", ours, BRAIN_AGE_COLOR, texts=[signed(v) for v in ours]),
        Series(
            "reference patient",
            theirs,
            REFERENCE_COLOR,
            texts=[signed(v) for v in theirs],
        ),
    ]
    return bar_chart_html(
        [f"e{k + 1}" for k in range(len(ours))],
        series,
        Axis(*symmetric_span(ours + theirs), "eₖ(t)"),
        kind="hf-embedding",
        title="Embedding e(t)",
        label_title="Embedding dimension k",
        legend=True,
    )
