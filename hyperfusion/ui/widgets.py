"""Input widgets other than the EHR editors: the subject picker with its upload, the
task and output pickers, and the map controls. Each returns what the user chose."""

from __future__ import annotations

import streamlit as st

from hyperfusion.data.examples import list_examples
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
