"""Two scenarios side by side: their inputs (B's changes highlighted), their
predictions with the difference B − A, and their class probabilities as stacked
bars in light HTML (:func:`scenario_bars_html`; a plotly chart cost about 100-150 ms
of browser time per page render on a 2-core CPU)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.config import AD_CLASSES
from hyperfusion.data.ehr_schema import INPUT_FIELDS
from hyperfusion.viz import CLASS_COLORS
from hyperfusion.viz.html_charts import Axis, Series, bar_chart_html, percent_tick
from hyperfusion.viz.whatif.labels import axis_title, format_value


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
    """Whether a field's value differs between A and B (numbers up to rounding)."""
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


def scenario_bars_html(
    probs_a: Mapping[str, float], probs_b: Mapping[str, float]
) -> str:
    """Scenarios A (on top) and B as two stacked bars of class probabilities, each
    class in its colour and labelled inside its part (from 8 %), as HTML (root
    class ``hf-scenarios``; ``data-values``: one list per class, A then B)."""
    series = []
    for cls in AD_CLASSES:
        shares = [float(probs_a[cls]), float(probs_b[cls])]
        texts = [f"{cls} {p:.0%}" if p >= 0.08 else "" for p in shares]
        series.append(Series(cls, shares, CLASS_COLORS[cls], texts=texts))
    return bar_chart_html(
        ["Scenario A", "Scenario B"],
        series,
        Axis(0.0, 1.0, "probability", percent_tick),
        kind="hf-scenarios",
        stacked=True,
        legend=True,
    )


__all__ = [
    "scenario_bars_html",
    "scenario_inputs_table",
    "scenario_outcome_table",
    "style_inputs_table",
    "style_outcome_table",
]
