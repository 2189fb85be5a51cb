"""Patient: choose an MRI, check it, edit the EHR and watch the predictions move."""

from __future__ import annotations

import streamlit as st

from hyperfusion.ui import cached, downloads, editors, outputs, page, panels, widgets

page.page_header(
    "Patient",
    "Load a brain MRI, edit the health record, and watch the hypernetwork's "
    "predictions follow every change.",
)

with page.run_safely("The subject picker"):
    st.subheader("Subject")
    pick, qc = st.columns([2, 1], gap="large")
    with pick:
        widgets.subject_picker()
    with qc:
        panels.qc_panel(cached.current_image().qc)

left, right = st.columns([5, 6], gap="large")
with left, page.run_safely("The EHR editor"):
    st.subheader("Health record (EHR)")
    editors.ehr_editor(columns=2)
    editors.reset_button()
prediction = None
with right, page.run_safely("The predictions"):
    st.subheader("Predictions")
    prediction = cached.current_prediction()
    panels.prediction_summary(prediction)
    downloads.prediction_downloads(prediction)

with page.run_safely("The slice viewer"):
    st.subheader("MRI")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    with c1:
        task = widgets.volume_picker(
            key="patient_volume",
            help="What each model sees: a crop around both hippocampi (CN / MCI / "
            "AD) or the whole brain (brain age), resampled to its grid.",
        )
    show_cam = c2.toggle("Grad-CAM overlay", key="patient_cam")
    volume, affine = cached.task_volume(cached.current_image(), task)
    target = outputs.default_target(task, prediction) if show_cam else None
    overlay = cached.gradcam_map(target) if target else None
    if overlay is not None and not overlay.any():
        st.info(
            "The Grad-CAM map is empty: the model found no positive evidence for "
            f"{target} (usual with untrained weights)."
        )
    panels.slice_viewer(
        volume,
        affine,
        overlay,
        key=f"patient_{task.name}",
        threshold=0.2,
        overlay_title=f"Grad-CAM {target}",
    )
    if target:
        st.caption(
            f"Grad-CAM for {target} (the predicted output), scaled to [0, 1]; values "
            "≤ 0.2 hidden. The Explain page shows every output, with controls."
        )
