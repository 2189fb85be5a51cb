"""Patient: choose an MRI, check it, edit the EHR and watch the predictions move.

An EHR edit reruns only what depends on it: the editor, the predictions, the
downloads, the sidebar summary, the link and (when shown) the map overlay sit
in the ``record`` fragment. The subject picker and the QC rerun only when the
subject changes; the slice viewer is a fragment of its own (a slider moves only
it) whose figures come from the cache.
"""

from __future__ import annotations

import streamlit as st

from hyperfusion.explain.methods import get_method
from hyperfusion.ui import (
    cached,
    downloads,
    editors,
    link,
    outputs,
    page,
    panels,
    widgets,
)

CAM_KEY = "patient_cam"
INSIDE = "patient_mri_in_record"  # the viewer was drawn inside the fragment

page.page_header(
    "Patient",
    "Load a brain MRI, edit the health record, and watch the hypernetwork's "
    "predictions follow every change.",
    sidebar=False,
)

with page.run_safely("The subject picker"):
    st.subheader("Subject")
    pick, qc = st.columns([2, 1], gap="large")
    with pick:
        widgets.subject_picker()
    with qc:
        panels.qc_panel(cached.current_image().qc)


def mri_section(prediction: object) -> None:
    """The model's view of the MRI with, when switched on, the default map method's
    explanation of the predicted output: then it runs inside the ``record`` fragment
    (the map follows the EHR), else after it."""
    with page.run_safely("The slice viewer"):
        st.subheader("MRI")
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        with c1:
            task = widgets.volume_picker(
                key="patient_volume",
                help="What each model sees: a crop around both hippocampi (CN / "
                "MCI / AD) or the whole brain (brain age), resampled to its grid.",
            )
        method = cached.default_map_method()
        label = get_method(method).label
        show_cam = c2.toggle(
            f"{label} overlay",
            key=CAM_KEY,
            help=f"{label}, the default map (the most faithful on the validation "
            "split); the Explain page has every method, Grad-CAM included, with its "
            "measured quality.",
        )
        volume, affine = cached.display_volume(task)
        target = outputs.default_target(task, prediction) if show_cam else None
        overlay = cached.gradcam_map(target, method=method) if target else None
        if overlay is not None and not overlay.any():
            st.info(
                f"The {label} map is empty: the model found no positive evidence "
                f"for {target} (usual with untrained weights)."
            )
        panels.slice_viewer(
            volume,
            affine,
            overlay,
            key=f"patient_{task.name}",
            threshold=0.2,
            overlay_title=f"{label} {target}",
        )
        if target:
            st.caption(
                f"{label} for {target} (the predicted output), scaled to [0, 1]; "
                "values ≤ 0.2 hidden. The Explain page shows every output, with "
                "controls."
            )


@st.fragment
def record() -> None:
    """The EHR editor and everything it drives: an edit reruns only this."""
    page.sidebar_summary()
    link.sync()
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
    if st.session_state.get(CAM_KEY):
        st.session_state[INSIDE] = True
        mri_section(prediction)
    elif st.session_state.pop(INSIDE, False):
        st.rerun()  # the overlay was switched off here: the viewer moves out


st.session_state.pop(INSIDE, None)  # a full run places the viewer afresh
record()
if not st.session_state.get(CAM_KEY):
    mri_section(None)
