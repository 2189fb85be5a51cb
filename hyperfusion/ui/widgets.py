"""Input widgets other than the EHR editors: the subject picker with its upload, the
task and output pickers, and the map controls. Each returns what the user chose."""

from __future__ import annotations

import streamlit as st

from hyperfusion.data.examples import list_examples
from hyperfusion.explain.gradcam import CAM_LABELS
from hyperfusion.tasks import TASKS, Task, get_task
from hyperfusion.ui import outputs, state

# Subject ---------------------------------------------------------------------------


def _subject_options() -> list[str]:
    options = [str(p) for p in list_examples()["PTID"]]
    upload = state.stored_upload()
    if upload is not None:
        options.append(state.upload_subject(upload))
    return options


def _subject_name(option: str) -> str:
    if state.is_upload(option):
        upload = state.stored_upload() or {}
        return f"Uploaded: {upload.get('name', 'file')}"
    row = list_examples().set_index("PTID").loc[option]
    dx = f" · {row['DX']}" if isinstance(row["DX"], str) else ""
    return f"{option}{dx}"


def _on_pick() -> None:
    choice = st.session_state["subject_pick"]
    if state.is_upload(choice):
        st.session_state["subject"] = choice
    else:
        state.select_example(choice)
    st.session_state.pop("upload_error", None)


def subject_picker() -> None:
    """Pick a bundled example (with its description) or upload a scan (NIfTI, a
    DICOM zip or .dcm files), preprocessed with the chosen options while its steps
    are shown; then the scan's QC (:mod:`hyperfusion.ui.scan_qc`).

    A file that cannot be used shows one error line; the previous subject and the
    EHR stay as they were. Uploads stay in memory.
    """
    from hyperfusion.ui import page, scan_qc, scan_upload

    ss = st.session_state
    pick, upload = st.columns(2)
    with upload:
        scan_upload.uploader()
        scan_upload.process_pending()
    subject = state.current_subject()
    options = _subject_options()
    if subject in options:
        ss["subject_pick"] = subject
    pick.selectbox(
        "Example subject",
        options,
        format_func={o: _subject_name(o) for o in options}.__getitem__,
        key="subject_pick",
        on_change=_on_pick,
        help="Bundled examples come with their EHR; choosing one loads its record.",
    )
    if not state.is_upload(subject):
        pick.caption(str(list_examples().set_index("PTID").loc[subject, "description"]))
    if "upload_error" in ss:
        st.error(ss["upload_error"])
    with page.run_safely("The scan's QC"):
        scan_qc.preprocessing_panel()


# Tasks and outputs -----------------------------------------------------------------


def volume_picker(key: str, help: str | None = None) -> Task:
    """Which model's view of the MRI to show; returns that model's task."""
    name = st.segmented_control(
        "Volume",
        list(TASKS),
        format_func=lambda n: TASKS[n].image_label,
        default=next(iter(TASKS)),
        required=True,
        key=key,
        help=help,
    )
    return get_task(name)


def target_picker(default: str, key: str) -> str:
    """Which output to explain: a class or a regression output."""
    return st.segmented_control(
        "Output to explain",
        list(outputs.TARGETS),
        format_func=outputs.target_label,
        default=default,
        required=True,
        key=key,
    )


# Maps ------------------------------------------------------------------------------


def map_controls(key: str, threshold: float = 0.2) -> tuple[float, float]:
    """Opacity and threshold sliders side by side; returns ``(opacity, threshold)``."""
    c1, c2 = st.columns(2)
    opacity = c1.slider("Map opacity", 0.0, 1.0, 0.6, 0.05, key=f"{key}_opacity")
    cut = c2.slider(
        "Map threshold",
        0.0,
        0.95,
        threshold,
        0.05,
        key=f"{key}_threshold",
        help="Map values at or below this (absolute value for differences) are hidden.",
    )
    return opacity, cut


def map_method_controls(prefix: str) -> tuple[str, bool]:
    """The map method (Grad-CAM or HiResCAM) and the signed toggle, with the measured
    localisation of each beside them; returns ``(method, signed)``."""
    from hyperfusion.modelcard import measured

    m1, m2 = st.columns([2, 3], vertical_alignment="bottom")
    method = m1.segmented_control(
        "Map",
        list(CAM_LABELS),
        format_func=CAM_LABELS.get,
        default="gradcam",
        required=True,
        key=f"{prefix}_method",
        help="Grad-CAM weighs each feature channel by its gradient averaged over "
        "the whole crop (the paper's map). HiResCAM multiplies gradient and feature "
        "voxel by voxel, so it keeps where each feature counted.",
    )
    signed = m2.toggle(
        "Signed map: also show evidence against (blue)",
        key=f"{prefix}_signed",
        help="The plain map keeps only regions that raised the output. The signed "
        "map also shows, in blue, regions whose features lowered it, e.g. healthy "
        "hippocampal tissue counting against AD.",
    )
    metrics = measured.load_metrics()
    ratios = {m: measured.gradcam_localisation(metrics, m) for m in CAM_LABELS}
    if None not in ratios.values():
        st.caption(
            "Measured on the SYNTHETIC test split (HyperFusion-AD): the share of the "
            "map's mass inside the true disease region is "
            f"{ratios['gradcam']:.1f}× chance for Grad-CAM and "
            f"{ratios['hirescam']:.1f}× for HiResCAM. The model does use that region "
            "(docs/EXPERIMENTS.md); Grad-CAM's averaging hides it."
        )
    return method, signed
