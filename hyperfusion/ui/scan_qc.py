"""What a clinician checks about an uploaded scan before trusting a prediction: the
preprocessing's steps, the DICOM series chosen, the input with the brain-mask
outline, the registered brain under the template's edges and the figures, each
implausible one flagged (and also listed with the quality check's warnings).

Only what the pipeline measured is shown: no DICOM or NIfTI header text.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from hyperfusion.ui import cached, scan_upload, state

FLAG = "⚠ implausible"
PLAUSIBLE = "✓ plausible"
COLUMNS = ["Step", "Figure", "Value", "Expected", "Check"]
_PER_AXIS = re.compile(r"^(?P<stem>.+)_(?P<axis>[xyz])(?P<unit>_[a-z]+)?$")


def format_value(value: float, unit: str = "") -> str:
    """A figure's value for people: ml as whole numbers, mm and degrees to 0.1,
    counts as integers, the rest to 3 decimals.

    Example:
        >>> format_value(1933.2, "ml"), format_value(-8.38, "degrees"), format_value(2)
        ('1,933 ml', '-8.4 degrees', '2')
    """
    if not math.isfinite(value):
        return "n/a"
    if unit == "ml":
        text = f"{value:,.0f}"
    elif unit in ("mm", "degrees"):
        text = f"{value:.1f}"
    elif float(value).is_integer():
        text = f"{value:.0f}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".strip()


def _grouped(figures: tuple) -> list[list]:
    """Figures in order, those that differ only by their axis (``scale_x``,
    ``scale_y``, ``scale_z``) in one group."""
    groups: dict[str, list] = {}
    for f in figures:
        m = _PER_AXIS.match(f.name)
        key = f"{m['stem']}_*{m['unit'] or ''}" if m else f.name
        groups.setdefault(key, []).append(f)
    return list(groups.values())


def _row(group: list) -> dict[str, str]:
    first = group[0]
    label = first.label
    if first.name.endswith("_before"):
        label += " (before registration)"
    if len(group) > 1:  # "scale along x" -> "scale along x / y / z"
        label = re.sub(r"\b[xyz]$", " / ".join("xyz"[: len(group)]), label)
        values = [format_value(f.value, f.unit) for f in group]
        value = " / ".join(v.removesuffix(f" {first.unit}") for v in values)
        value = f"{value} {first.unit}".strip()
    else:
        value = format_value(first.value, first.unit)
    ok = all(f.ok for f in group)
    check = FLAG if not ok else (PLAUSIBLE if first.expected else "")
    return {"Figure": label, "Value": value, "Expected": first.expected, "Check": check}


def figure_rows(report: Any) -> pd.DataFrame:
    """Every step's figures as a table: step (on its first row), figure, value,
    expected range and whether it is plausible (a warning marker when not); the
    x / y / z figures of one kind share a row."""
    rows = []
    for step in report.steps:
        for i, group in enumerate(_grouped(step.figures)):
            rows.append({"Step": "" if i else step.title, **_row(group)})
    return pd.DataFrame(rows, columns=COLUMNS)


@st.cache_data(
    max_entries=16, ttl=cached.CACHE_TTL_S, show_spinner="Drawing the scan's overlays…"
)
def _overlays(key: str, _result: Any) -> tuple[bytes, bytes]:
    """The input with the mask outline and the registered brain under the
    template's edges, as PNG bytes (cached per upload and options)."""
    from hyperfusion.data.brain_extraction import signal_mask
    from hyperfusion.viz.scan_qc import mask_outline_png, template_edges_png

    if _result.mask is not None:
        mask = np.asarray(_result.mask.dataobj) > 0
    else:  # extraction skipped: the voxels holding signal
        mask = signal_mask(_result.original)
    return mask_outline_png(_result.original, mask), template_edges_png(_result.image)


def steps_list(report: Any) -> None:
    """The steps, one line each (ran or skipped and why, seconds, a flag)."""
    lines = []
    for step in report.steps:  # the series sentence has a box of its own
        short = (
            "see the series chosen below" if step.name == "dicom" and step.ran else None
        )
        lines.append(f"- {scan_upload.step_line(step, short)}")
    st.markdown("\n".join(lines))
    st.caption(
        f"Mode {report.mode} · {sum(s.ran for s in report.steps)} of "
        f"{len(report.steps)} steps ran · {report.seconds:.1f} s in all"
    )


def series_line(report: Any) -> None:
    """The sentence saying which DICOM series was used and why."""
    step = next((s for s in report.steps if s.name == "dicom"), None)
    if step is not None and step.ran:
        st.info(f"DICOM: {step.reason}", icon=":material/folder_open:")


def overlay_images(result: Any) -> None:
    """The two visual checks side by side."""
    outline, edges = _overlays(state.current_subject(), result)
    extracted = result.mask is not None
    registered = result.template_to_input is not None
    c1, c2 = st.columns(2)
    c1.image(
        outline,
        caption="Input as uploaded, brain-mask outline in red"
        + ("" if extracted else " (extraction skipped: the voxels holding signal)"),
        width="stretch",
    )
    c2.image(
        edges,
        caption="Brain in MNI152 space"
        + ("" if registered else " (registration skipped: as uploaded)")
        + ", the MNI152 template's edges in cyan",
        width="stretch",
    )


def preprocessing_panel() -> None:
    """The current upload's preprocessing and its checks; nothing for an example
    (the bundled examples are in the image contract already)."""
    if state.current_upload() is None:
        return
    result = cached.current_image().preprocessing
    if result is None:
        return
    report = result.report
    flagged = len(report.warnings)
    title = "Scan preprocessing: check it before trusting the prediction"
    label = title + (f" · :orange[:material/warning:] {flagged}" if flagged else "")
    with st.expander(label, expanded=True):
        steps_list(report)
        series_line(report)
        overlay_images(result)
        table = figure_rows(report)
        if len(table):
            st.table(table, hide_index=True)
        if flagged:
            st.caption(
                f"{flagged} figure(s) outside their plausible range: they are also "
                "listed with the quality check's warnings."
            )


__all__ = ["FLAG", "figure_rows", "format_value", "preprocessing_panel", "steps_list"]
