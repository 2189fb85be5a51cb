"""Rendering: the quality check, the predictions, charts, the slice viewer and tables.

Panels take what the engine returned (a QC report, a prediction, a volume, a table)
and draw it; they compute nothing but its presentation.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hyperfusion.data.ehr_schema import FIELDS, EHRRecord
from hyperfusion.tasks import AD, BRAIN_AGE
from hyperfusion.ui import cached

_NO_SELECT = ["lasso2d", "select2d"]


def chart(fig: Any, key: str | None = None) -> None:
    """A plotly figure at full width, without plotly's logo."""
    st.plotly_chart(
        fig,
        width="stretch",
        key=key,
        config={"displaylogo": False, "modeBarButtonsToRemove": _NO_SELECT},
    )


def qc_panel(qc: Any) -> None:
    """The quality-check verdict, its warnings and the key metrics."""
    m = qc.metrics
    if qc.ok:
        st.success("Quality check passed: looks like a skull-stripped T1 in MNI152.")
    for warning in qc.warnings:
        st.warning(f"Quality check: {warning}")
    if m:
        st.caption(
            f"Correlation with MNI152 {m.get('correlation', float('nan')):.2f} · "
            f"brain coverage {m.get('fov_coverage', float('nan')):.0%} · "
            f"signal outside brain {m.get('outside_brain_fraction', float('nan')):.0%}"
            f" · voxel ≤ {m.get('voxel_mm_max', float('nan')):.1f} mm · "
            f"obliquity {m.get('obliquity_deg', float('nan')):.1f}°"
        )


# Predictions -----------------------------------------------------------------------


def device_badge(prediction: Any) -> None:
    """Where the models ran and how long the last update took."""
    st.badge(
        f"{prediction.device} · model time {prediction.latency_ms:.1f} ms",
        icon=":material/speed:",
        color="gray",
        help="Device of the models and model time of the last update (the image "
        "features are cached, so an EHR edit re-runs only the fusion layers).",
    )


def gap_reference() -> str | None:
    """``"Typical for CN: -1.0 ± 4.8 y · MCI ... (synthetic AD cohort, test split)"``
    from ``metrics.json``'s transfer block; None before evaluation."""
    metrics = cached.shipped_metrics()
    transfer = None if metrics is None else metrics.transfer
    if transfer is None or not transfer.gap:
        return None
    groups = [
        f"{dx} {transfer.gap[dx].text()}" for dx in AD.classes if dx in transfer.gap
    ]
    return (
        f"Typical for {' · '.join(groups)} (measured on the SYNTHETIC AD cohort's "
        "held-out test split)"
    )


def prediction_summary(prediction: Any) -> None:
    """Brain age, its gap to the entered age, and the class probability chart."""
    from hyperfusion.viz.charts import spread_label
    from hyperfusion.viz.html_bars import probability_bars_html

    n_ba = prediction.n_seeds.get(BRAIN_AGE.name, 1)
    sd = prediction.brain_age_sd
    spread = f" Spread ± {sd:.1f} y over {n_ba} seeds." * (n_ba > 1)
    gap = prediction.brain_age_gap
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Brain age",
        f"{prediction.brain_age:.1f} y",
        help=f"Predicted from the MRI and sex.{spread}",
    )
    c2.metric(
        "Brain-age gap",
        "unknown" if gap is None else f"{gap:+.1f} y",
        help="Predicted brain age minus the entered age: positive means the brain "
        "looks older than the patient.",
    )
    reference = gap_reference()
    if reference:
        c2.caption(reference)
    top = prediction.diagnosis
    c3.metric(
        "Most likely",
        top,
        f"{prediction.probabilities[top]:.0%}",
        delta_color="off",
        delta_arrow="off",
    )
    n_ad = prediction.n_seeds.get(AD.name, 1)
    st.html(
        probability_bars_html(
            prediction.probabilities, prediction.probabilities_sd, n_ad
        )
    )
    st.caption(spread_label(n_ad))
    device_badge(prediction)


# Images and maps -------------------------------------------------------------------


@st.fragment
def slice_viewer(
    volume: Any,
    affine: Any,
    overlay: Any = None,
    *,
    key: str,
    **figure_options: Any,
) -> None:
    """Sagittal, coronal and axial planes with a slider per plane (mm, RAS).

    A fragment: moving a slider reruns only the viewer. The viewer is HTML shown
    with ``st.html`` (one PNG per plane; no plotly chart, which cost ~100-150 ms of
    browser time per render), from :func:`hyperfusion.ui.cached.slice_figure`
    (built once per volume, map, cut and options). ``figure_options`` go to
    :func:`hyperfusion.viz.slices.orthogonal_slices` (``threshold``, ``opacity``,
    ``diverging``, ``overlay_title``...).
    """
    from hyperfusion.viz import slices

    coords = slices.grid_coordinates(affine, volume.shape)
    columns = st.columns(slices.panel_widths(affine, volume.shape), gap="medium")
    cut = []
    for i, (col, plane) in enumerate(zip(columns, slices.PLANES, strict=True)):
        c, step = coords[i], float(affine[i][i])
        mm = col.slider(
            f"{plane.capitalize()} plane: {slices.AXIS_NAMES[i]} (mm)",
            float(c[0]),
            float(c[-1]),
            float(c[len(c) // 2]),
            step,
            format="%.1f",
            key=f"{key}_{plane}_{volume.shape}",
        )
        cut.append(int(round((mm - float(c[0])) / step)))
    st.html(cached.slice_figure(volume, affine, tuple(cut), overlay, **figure_options))


# Tables ----------------------------------------------------------------------------


def record_table(record: EHRRecord) -> Any:
    """A record as a two-column table (field with unit, value; "unknown")."""
    import pandas as pd

    rows = [
        {
            "Field": f"{f.label} ({f.unit})" if f.unit else f.label,
            "Value": "unknown" if record.get(f.name) is None else str(record[f.name]),
        }
        for f in FIELDS
    ]
    return pd.DataFrame(rows)


def probability_table(table: Any, key: str, label: str = "model") -> None:
    """A table of class probabilities: the classes as bars in percent with one
    decimal (values ×100, so every row reads ``34.8%``, never ``34.77%`` beside
    ``36.1%``), their ``*_sd`` joined into one "sd" column in percent (a dash for
    a model with one seed), other float columns with 3 decimals, and the ``label``
    column titled ``label``."""
    classes = AD.classes
    sds = [f"{c}_sd" for c in classes]
    table = table.copy()
    if set(sds) <= set(table.columns):
        spread = table[sds].apply(lambda r: " / ".join(f"{v:.1%}" for v in r), axis=1)
        if "seeds" in table.columns:  # one seed: no spread measured, not zero
            spread[table["seeds"] <= 1] = "— (one seed)"
        table = table.drop(columns=sds)
        at = table.columns.get_loc(classes[-1]) + 1
        table.insert(at, f"sd ({' / '.join(classes)})", spread)
    shown = [c for c in classes if c in table.columns]
    table[shown] = table[shown].astype(float) * 100
    bars = {
        c: st.column_config.ProgressColumn(
            c, format="%.1f%%", min_value=0, max_value=100
        )
        for c in shown
    }
    numbers = {
        c: st.column_config.NumberColumn(format="%.3f")
        for c in table.columns
        if c not in bars and table[c].dtype.kind == "f"
    }
    config = {"label": label, **numbers, **bars}
    st.dataframe(table, hide_index=True, key=key, column_config=config)
