"""Patient: choose an MRI, check it, edit the EHR and watch the predictions move."""

from __future__ import annotations

import streamlit as st

from hyperfusion import ui

ui.page_header(
    "Patient",
    "Load a brain MRI, edit the health record, and watch the hypernetwork's "
    "predictions follow every change.",
)

with ui.run_safely("The subject picker"):
    st.subheader("Subject")
    pick, qc = st.columns([2, 1], gap="large")
    with pick:
        ui.subject_picker()
    with qc:
        ui.qc_panel(ui.current_image().qc)

left, right = st.columns([5, 6], gap="large")
with left, ui.run_safely("The EHR editor"):
    st.subheader("Health record (EHR)")
    ui.ehr_editor(columns=2)
    ui.reset_button()
prediction = None
with right, ui.run_safely("The predictions"):
    st.subheader("Predictions")
    prediction = ui.current_prediction()
    ui.prediction_summary(prediction)
    ui.prediction_downloads(prediction)

with ui.run_safely("The slice viewer"):
    st.subheader("MRI")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    task = c1.segmented_control(
        "Volume",
        list(ui.VOLUME_LABELS),
        format_func=ui.VOLUME_LABELS.get,
        default="ad",
        required=True,
        key="patient_volume",
        help="What each model sees: a crop around both hippocampi (CN / MCI / AD) "
        "or the whole brain (brain age), resampled to its grid.",
    )
    show_cam = c2.toggle("Grad-CAM overlay", key="patient_cam")
    volume, affine = ui.task_volume(ui.current_image(), task)
    target = None
    if show_cam:
        ad_target = prediction.diagnosis if prediction is not None else "AD"
        target = "brain-age" if task == "brain-age" else ad_target
    overlay = ui.gradcam_map(target) if target else None
    if overlay is not None and not overlay.any():
        st.info(
            "The Grad-CAM map is empty: the model found no positive evidence for "
            f"{target} (usual with untrained weights)."
        )
    ui.slice_viewer(
        volume,
        affine,
        overlay,
        key=f"patient_{task}",
        threshold=0.2,
        overlay_title=f"Grad-CAM {target}",
    )
    if target:
        st.caption(
            f"Grad-CAM for {target} (the predicted output), scaled to [0, 1]; values "
            "≤ 0.2 hidden. The Explain page shows every output, with controls."
        )
