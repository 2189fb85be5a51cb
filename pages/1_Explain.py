"""Explain: where in the MRI the model found evidence, by several methods, each beside
its measured quality; the map difference between two EHR scenarios; and the
attribution of the prediction to each EHR field.

The map controls drive every section, so they rerun the page; scenario B's fields
rerun only the difference section (a fragment), and each slice viewer's sliders
only that viewer."""

from __future__ import annotations

from typing import Any

import streamlit as st

from hyperfusion.explain.methods import METHODS
from hyperfusion.tasks import task_of_target
from hyperfusion.ui import cached, editors, maps, outputs, page, panels, widgets
from hyperfusion.viz.charts import attribution_bars_html

page.page_header(
    "Explain",
    "Where in the MRI the models found evidence, how far each map can be trusted, "
    "and which EHR fields moved the prediction.",
)
target, method, signed = "AD", None, False
with page.run_safely("The map section"):
    st.subheader("Where the model found evidence, and how far each map holds")
    prediction = cached.current_prediction()
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    with c1:
        target = widgets.target_picker(prediction.diagnosis, key="explain_target")
    with c2:
        opacity, threshold = widgets.map_controls("explain")
    block = maps.quality_block()
    method, signed = maps.method_picker("explain", block)
    found = cached.explanation_map(target, method, signed=signed)
    viewer = f"explain_scan_{task_of_target(target).name}"
    maps.scan_viewer(found, key=viewer, opacity=opacity, threshold=threshold)
    left, right = st.columns([3, 2], gap="large")
    with left:
        maps.quality_panel(block, method)
    with right:
        maps.method_notes(found)


@st.fragment
def scenario_difference(view: dict[str, Any]) -> None:
    """map(A) - map(B) for scenario B on the model's grid; B's fields rerun only
    this. ``view``: the target, method, sign, opacity and threshold."""
    with page.run_safely("The scenario difference"):
        st.subheader("How the map changes between two EHR scenarios")
        label = METHODS[view["method"]].label
        st.markdown(
            "Scenario **A** is the current EHR. Scenario **B** is the same record "
            f"with one or two fields changed. The map below is **{label}(A) − "
            f"{label}(B)** on the model's grid: red where A relies on a region "
            "more than B, blue where less. Each map is scaled to its own peak "
            "first, so this shows where the focus moved."
        )
        with st.expander("Scenario B", expanded=True):
            record_b = editors.scenario_b()
        task = task_of_target(view["target"])
        args = {"signed": view["signed"], "method": view["method"]}
        diff = cached.gradcam_map(view["target"], **args) - cached.gradcam_map(
            view["target"], record_b, **args
        )
        peak = float(abs(diff).max())
        if peak == 0:
            note = outputs.inputs_note(task)
            st.info(f"The two maps are identical for this output. {note}".strip())
            return
        volume, affine = cached.display_volume(task)
        panels.slice_viewer(
            volume,
            affine,
            diff,
            key=f"diff_{task.name}",
            diverging=True,
            opacity=view["opacity"],
            threshold=view["threshold"] * peak,
            overlay_title="A − B",
        )
        st.caption(
            f"Largest difference {peak:.3f} (maps in [0, 1]); differences below "
            "the threshold × this largest difference are hidden."
        )


if method is not None:
    # A slow method's difference would cost two full passes per edit of B: the
    # difference is drawn with the default (cached) method then.
    shown = method if METHODS[method].cached else cached.default_map_method()
    view = {"target": target, "signed": signed, "method": shown}
    scenario_difference(view | {"opacity": opacity, "threshold": threshold})

with page.run_safely("The EHR attribution"):
    st.subheader("Which EHR fields pushed the prediction, and which way")
    engine, image = cached.get_engine(), cached.current_image()
    task = task_of_target(target)
    unit, scale = outputs.change_unit(task)
    explained = outputs.output_name(target)
    df = cached.ehr_attribution(target)
    st.html(
        attribution_bars_html(
            df.assign(attribution=df["attribution"] * scale), unit, explained
        )
    )
    reference = engine.reference_record(task)
    ours, theirs = prediction, engine.predict(image, reference)
    change = outputs.output_value(ours, target) - outputs.output_value(theirs, target)
    st.markdown(
        f"Integrated Gradients walk from a **reference patient** (the training "
        f"cohort's median patient) to this patient and credit each field with its "
        f"share of the change. Red bars raised {explained}, blue bars lowered it. "
        f"They add up to {df['attribution'].sum() * scale:+.2f} {unit}; the actual "
        f"change is {change * scale:+.2f} {unit}."
    )
    with st.expander("The reference patient"):
        st.dataframe(panels.record_table(reference), hide_index=True)
