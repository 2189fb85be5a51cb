"""Explain: Grad-CAM over the MRI, the map difference between two EHR scenarios, and
the attribution of the prediction to each EHR field."""

from __future__ import annotations

import streamlit as st

from hyperfusion.explain.gradcam import CAM_LABELS
from hyperfusion.tasks import task_of_target
from hyperfusion.ui import cached, downloads, editors, outputs, page, panels, widgets
from hyperfusion.viz.charts import attribution_bars

page.page_header(
    "Explain",
    "Where in the MRI the models found evidence, and which EHR fields moved the "
    "prediction.",
)
target, cam = "AD", None
with page.run_safely("The Grad-CAM section"):
    st.subheader("Grad-CAM and HiResCAM: where the model found evidence")
    st.markdown(
        "Both weigh the convolutional features by how much they raise the chosen "
        "output, then map them back onto the MRI. Bright means *this region pushed "
        "the output up*. The AD model sees a crop around both hippocampi; the "
        "brain-age model sees the whole brain."
    )
    prediction = cached.current_prediction()
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    with c1:
        target = widgets.target_picker(prediction.diagnosis, key="explain_target")
    with c2:
        opacity, threshold = widgets.map_controls("explain")
    method, signed = widgets.map_method_controls("explain")
    task, name = task_of_target(target), outputs.target_label(target)
    volume, affine = cached.task_volume(cached.current_image(), task)
    cam = cached.gradcam_map(target, signed=signed, method=method)
    if not cam.any():
        st.info(
            "This map is empty: the model found no positive evidence for "
            f"{name} (usual with untrained weights)."
        )
    panels.slice_viewer(
        volume,
        affine,
        cam,
        key=f"explain_{task.name}",
        opacity=opacity,
        threshold=threshold,
        diverging=signed,
        overlay_title=f"{CAM_LABELS[method]} {name}" + " (signed)" * signed,
    )
    downloads.gradcam_download(cam, target, method)

with page.run_safely("The scenario difference"):
    st.subheader("How the map changes between two EHR scenarios")
    st.markdown(
        "Scenario **A** is the current EHR. Scenario **B** is the same record with one "
        "or two fields changed. The map below is **Grad-CAM(A) − Grad-CAM(B)**: red "
        "where A relies on a region more than B, blue where less. Each map is scaled "
        "to its own peak first, so this shows where the focus moved."
    )
    with st.expander("Scenario B", expanded=True):
        record_b = editors.scenario_b()
    if cam is not None:
        diff = cam - cached.gradcam_map(target, record_b, signed=signed, method=method)
        peak = float(abs(diff).max())
        if peak == 0:
            note = outputs.inputs_note(task)
            st.info(f"The two maps are identical for this output. {note}".strip())
        else:
            panels.slice_viewer(
                volume,
                affine,
                diff,
                key=f"diff_{task.name}",
                diverging=True,
                opacity=opacity,
                threshold=threshold * peak,
                overlay_title="A − B",
            )
            st.caption(
                f"Largest difference {peak:.3f} (maps in [0, 1]); differences below "
                "the threshold × this largest difference are hidden."
            )

with page.run_safely("The EHR attribution"):
    st.subheader("Which EHR fields pushed the prediction, and which way")
    engine, image = cached.get_engine(), cached.current_image()
    task = task_of_target(target)
    unit, scale = outputs.change_unit(task)
    explained = outputs.output_name(target)
    df = cached.ehr_attribution(target)
    panels.chart(
        attribution_bars(
            df.assign(attribution=df["attribution"] * scale), unit, explained
        ),
        key="attribution",
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
