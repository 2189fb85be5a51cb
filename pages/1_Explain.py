"""Explain: Grad-CAM over the MRI, the map difference between two EHR scenarios, and
the attribution of the prediction to each EHR field."""

from __future__ import annotations

import streamlit as st

from hyperfusion import ui
from hyperfusion.explain.gradcam import CAM_LABELS
from hyperfusion.viz.charts import attribution_bars

NAMES = {"CN": "CN", "MCI": "MCI", "AD": "AD", "brain-age": "Brain age"}

ui.page_header(
    "Explain",
    "Where in the MRI the models found evidence, and which EHR fields moved the "
    "prediction.",
)
target, cam = "AD", None
with ui.run_safely("The Grad-CAM section"):
    st.subheader("Grad-CAM and HiResCAM: where the model found evidence")
    st.markdown(
        "Both weigh the convolutional features by how much they raise the chosen "
        "output, then map them back onto the MRI. Bright means *this region pushed "
        "the output up*. The AD model sees a crop around both hippocampi; the "
        "brain-age model sees the whole brain."
    )
    prediction = ui.current_prediction()
    c1, c2 = st.columns([2, 3], vertical_alignment="bottom")
    target = c1.segmented_control(
        "Output to explain",
        list(NAMES),
        format_func=NAMES.get,
        default=prediction.diagnosis,
        required=True,
        key="explain_target",
    )
    with c2:
        opacity, threshold = ui.map_controls("explain")
    method, signed = ui.map_method_controls("explain")
    task = "brain-age" if target == "brain-age" else "ad"
    volume, affine = ui.task_volume(ui.current_image(), task)
    cam = ui.gradcam_map(target, signed=signed, method=method)
    if not cam.any():
        st.info(
            "This map is empty: the model found no positive evidence for "
            f"{NAMES[target]} (usual with untrained weights)."
        )
    ui.slice_viewer(
        volume,
        affine,
        cam,
        key=f"explain_{task}",
        opacity=opacity,
        threshold=threshold,
        diverging=signed,
        overlay_title=f"{CAM_LABELS[method]} {NAMES[target]}" + " (signed)" * signed,
    )
    ui.gradcam_download(cam, target, method)

with ui.run_safely("The scenario difference"):
    st.subheader("How the map changes between two EHR scenarios")
    st.markdown(
        "Scenario **A** is the current EHR. Scenario **B** is the same record with one "
        "or two fields changed. The map below is **Grad-CAM(A) − Grad-CAM(B)**: red "
        "where A relies on a region more than B, blue where less. Each map is scaled "
        "to its own peak first, so this shows where the focus moved."
    )
    with st.expander("Scenario B", expanded=True):
        record_b = ui.scenario_b()
    if cam is not None:
        diff = cam - ui.gradcam_map(target, record_b, signed=signed, method=method)
        peak = float(abs(diff).max())
        if peak == 0:
            hint = " The brain-age model sees only sex (and the MRI)." * (task != "ad")
            st.info(f"The two maps are identical for this output.{hint}")
        else:
            ui.slice_viewer(
                volume,
                affine,
                diff,
                key=f"diff_{task}",
                diverging=True,
                opacity=opacity,
                threshold=threshold * peak,
                overlay_title="A − B",
            )
            st.caption(
                f"Largest difference {peak:.3f} (maps in [0, 1]); differences below "
                "the threshold × this largest difference are hidden."
            )

with ui.run_safely("The EHR attribution"):
    st.subheader("Which EHR fields pushed the prediction, and which way")
    engine, image = ui.get_engine(), ui.current_image()
    age = target == "brain-age"
    unit, scale = ("years", 1.0) if age else ("percentage points", 100.0)
    explained = "brain age" if age else f"P({target})"
    df = ui.ehr_attribution(target)
    ui.chart(
        attribution_bars(
            df.assign(attribution=df["attribution"] * scale), unit, explained
        ),
        key="attribution",
    )
    reference = engine.reference_record("brain-age" if age else "ad")
    ours, theirs = prediction, engine.predict(image, reference)
    pick = (lambda p: p.brain_age) if age else (lambda p: p.probabilities[target])
    st.markdown(
        f"Integrated Gradients walk from a **reference patient** (the training "
        f"cohort's median patient) to this patient and credit each field with its "
        f"share of the change. Red bars raised {explained}, blue bars lowered it. "
        f"They add up to {df['attribution'].sum() * scale:+.2f} {unit}; the actual "
        f"change is {(pick(ours) - pick(theirs)) * scale:+.2f} {unit}."
    )
    with st.expander("The reference patient"):
        st.dataframe(ui.record_table(reference), hide_index=True)
