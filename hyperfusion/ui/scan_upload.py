"""Any scan in, in the app: the uploader's files, the preprocessing options, the
steps run with a progress display, and their results kept per upload.

An upload (a NIfTI, a zip, or one or several ``.dcm`` files, packed into one
in-memory zip) is checked in the script run after the uploader's callback: the
steps of :func:`~hyperfusion.data.preprocess.preprocess_scan` run with a live
status; then the upload becomes the subject. A file that cannot be used leaves one
error line and changes nothing else (the previous subject and the EHR stay).

The prepared images are kept per (content hash, mode, N4) in a small LRU shared by
every session (:data:`STORE_SIZE` entries: a raw 1 mm scan and its preprocessing
hold tens of MB; each dropped an hour after its last use). Nothing is written to
disk but the temporary folder that :func:`~hyperfusion.data.scan_input.read_scan`
removes at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from hyperfusion.errors import HyperFusionError, InvalidScanError
from hyperfusion.ui import cached, state

LOG = logging.getLogger(__name__)
# Streamlit filters on the last suffix. Analyze or NIfTI-pair headers (.hdr) and
# MINC (.mnc) are taken too, so that their refusal says how to convert them (else
# the browser's uploader only says the type is not allowed).
UPLOAD_TYPES = ["nii", "gz", "zip", "dcm", "hdr", "mnc"]
MODES = ("auto", "full", "none")
MODE_HELP = {
    "auto": "Runs only the steps the checks say are missing.",
    "full": "Runs every step, even on an already prepared scan.",
    "none": "Uses the image as it is (skull-stripped, in MNI152 already).",
}
N4_HELP = (
    "N4 evens out the scanner's smooth intensity drift inside the brain (a few "
    "seconds more); off by default."
)
STORE_SIZE = 4
PENDING = "upload_pending"  # {"name", "data"}: checked in the next script run
OPTIONS = "preprocess"  # {"mode", "bias"}: the options new uploads get
MODE_WIDGET, N4_WIDGET = "preprocess_mode", "preprocess_n4"
SEEN = "upload_seen_ids"  # the uploader's file ids already taken


# Options ---------------------------------------------------------------------------


def options_key(mode: str, bias: bool) -> str:
    """The options as one word: ``"auto"``, ``"full-n4"``...

    Example:
        >>> options_key("full", True), parse_options("none")
        ('full-n4', ('none', False))
    """
    return f"{mode}-n4" if bias else mode


def parse_options(key: str) -> tuple[str, bool]:
    """``(mode, bias)`` of :func:`options_key` (``""``: auto, no N4)."""
    mode, _, rest = (key or "auto").partition("-")
    return mode, rest == "n4"


def chosen_options() -> str:
    """The options new uploads get (auto, no N4 until the user changes them)."""
    chosen = st.session_state.get(OPTIONS) or {"mode": "auto", "bias": False}
    return options_key(chosen["mode"], bool(chosen["bias"]))


def _on_options() -> None:
    """Keep the options; preprocess the current upload again with them."""
    ss = st.session_state
    ss[OPTIONS] = {"mode": ss[MODE_WIDGET], "bias": bool(ss[N4_WIDGET])}
    upload = state.current_upload()
    if upload is not None and upload.get("preprocess") != chosen_options():
        ss[PENDING] = {"name": upload["name"], "data": upload["data"]}


def option_controls() -> None:
    """The preprocessing mode (auto / full / none, one line on each) and the N4
    toggle; a change applies to the current upload and the next ones."""
    ss = st.session_state
    mode, bias = parse_options(chosen_options())
    if MODE_WIDGET not in ss:  # widget state is dropped on other pages
        ss[MODE_WIDGET] = mode
    if N4_WIDGET not in ss:
        ss[N4_WIDGET] = bias
    st.radio(
        "Preprocessing of an uploaded scan",
        MODES,
        captions=[MODE_HELP[m] for m in MODES],
        horizontal=True,
        key=MODE_WIDGET,
        on_change=_on_options,
        help="DICOM is converted to NIfTI, the skull removed (deepbet) and the "
        "brain registered to MNI152 (SimpleITK), as the models were trained.",
    )
    st.toggle(
        "N4 bias-field correction",
        key=N4_WIDGET,
        on_change=_on_options,
        help=N4_HELP,
    )


# Files -----------------------------------------------------------------------------


def pack_dicom(files: Sequence[tuple[str, bytes]]) -> bytes:
    """Several ``.dcm`` files as one in-memory zip (numbered names, stored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for i, (_, data) in enumerate(files):
            archive.writestr(f"dicom/{i:05d}.dcm", data)
    return buffer.getvalue()


def upload_payload(files: Sequence[tuple[str, bytes]]) -> tuple[str, bytes]:
    """The name and bytes of what was uploaded: one file as it is, several
    ``.dcm`` files of one series packed (:func:`pack_dicom`).

    Raises:
        InvalidScanError: several files, not all ``.dcm``.
    """
    if len(files) == 1:
        return files[0]
    if not all(name.lower().endswith(".dcm") for name, _ in files):
        raise InvalidScanError(
            f"{len(files)} files were given together; only the .dcm files of one "
            "series may be (else one .nii, .nii.gz or .zip at a time)"
        )
    return f"{len(files)} DICOM files", pack_dicom(files)


def _on_upload() -> None:
    """Take the files just added to the uploader; they are checked in the next
    script run (:func:`process_pending`)."""
    ss = st.session_state
    files = ss.get("upload_widget") or []
    files = files if isinstance(files, list) else [files]
    seen = set(ss.get(SEEN, ()))
    new = [f for f in files if getattr(f, "file_id", id(f)) not in seen]
    ss[SEEN] = [getattr(f, "file_id", id(f)) for f in files]
    if not new:
        return  # a file was removed
    ss.pop("upload_error", None)
    try:
        name, data = upload_payload([(f.name, f.getvalue()) for f in new])
    except HyperFusionError as exc:
        ss["upload_error"] = str(exc)
        return
    ss[PENDING] = {"name": name, "data": data}


def uploader() -> None:
    """The file uploader (NIfTI, zip, ``.dcm`` files) and the options below it."""
    st.file_uploader(
        "…or upload a T1 MRI: NIfTI, a DICOM zip or .dcm files",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key="upload_widget",
        on_change=_on_upload,
        help="A .nii / .nii.gz image, a .zip of a DICOM session or several .dcm "
        "files of one series. It is kept in memory (DICOM is unpacked in a "
        "temporary folder removed at once); header text is never shown. Your "
        "edited EHR is kept.",
    )
    option_controls()


# Preprocessing ---------------------------------------------------------------------


@st.cache_resource
def _store() -> cached.LRUStore:
    """Prepared uploads shared by every session: :data:`STORE_SIZE` at most, each
    dropped an hour after its last use."""
    return cached.LRUStore(STORE_SIZE)


def _with_warnings(prepared: Any) -> Any:
    """The prepared image with the preprocessing's implausible figures added to its
    quality check's warnings (what the page and the prediction show)."""
    extra = prepared.preprocessing.report.warnings
    if not extra:
        return prepared
    qc = prepared.qc
    merged = dataclasses.replace(qc, ok=False, warnings=(*qc.warnings, *extra))
    return dataclasses.replace(prepared, qc=merged)


def _key(data: bytes, preprocess: str) -> tuple[str, str, bool]:
    return (hashlib.sha1(data).hexdigest(), *parse_options(preprocess))


def prepare(data: bytes, preprocess: str, progress: Callable | None = None) -> Any:
    """The :class:`~hyperfusion.engine.PreparedImage` of uploaded bytes after
    :func:`~hyperfusion.data.preprocess.preprocess_scan` with ``preprocess``'s
    options, kept per (content, options); ``progress`` sees each step (on a miss).

    Raises:
        HyperFusionError: the scan cannot be read or a step failed.
    """
    from hyperfusion.data.preprocess import preprocess_scan

    mode, bias = parse_options(preprocess)
    key = _key(data, preprocess)
    found = _store().get(key)
    if found is None:
        result = preprocess_scan(data, mode, bias_correction=bias, progress=progress)
        found = _with_warnings(cached.get_engine().prepare(result))
        _store().put(key, found)
    return found


def prepared_upload(upload: dict) -> Any:
    """The current upload's prepared image (preprocessed again, with a spinner,
    when it has left the store)."""
    data, preprocess = upload["data"], upload.get("preprocess", "")
    found = _store().get(_key(data, preprocess))
    if found is not None:
        return found
    with st.spinner("Preprocessing the uploaded scan…", show_time=True):
        return prepare(data, preprocess)


ICONS = {
    "running": ":blue[:material/hourglass_top:]",
    "ran": ":green[:material/check_circle:]",
    "skipped": ":gray[:material/skip_next:]",
    "flag": ":orange[:material/warning:]",
}


def step_line(step: Any, reason: str | None = None) -> str:
    """One step as a markdown line: its state, title, seconds and why (``reason``
    in place of the step's own)."""
    if step.status == "running":
        return f"{ICONS['running']} **{step.title}**: running…"
    flag = f" {ICONS['flag']}" if any(not f.ok for f in step.figures) else ""
    why = step.reason if reason is None else reason
    seconds = f"{step.seconds:.1f} s"
    return (
        f"{ICONS[step.status]} **{step.title}**{flag}: {step.status} ({seconds}), {why}"
    )


def _live_progress(name: str) -> tuple[Any, Any, Callable]:
    """A status box for ``name``'s steps (in an ``st.empty`` slot) and the
    ``progress`` callback that fills it."""
    from hyperfusion.data.preprocess_report import STEP_TITLES

    slot = st.empty()
    box = slot.status(f"Preprocessing {name}…", expanded=True)
    bar = box.progress(0.0)
    lines: dict[str, Any] = {}
    finished: set[str] = set()

    def progress(step: Any) -> None:
        if step.name not in lines:
            lines[step.name] = box.empty()
        lines[step.name].markdown(step_line(step))
        if step.status != "running":
            finished.add(step.name)
        share = min(len(finished) / len(STEP_TITLES), 1.0)
        bar.progress(share, text=f"{step.title}: {step.status}")
        if step.status == "running":
            box.update(label=f"Preprocessing {name}: {step.title.lower()}…")

    return slot, box, progress


def process_pending() -> None:
    """Preprocess the upload waiting from the uploader's callback (or an options
    change), showing each step as it runs; on success it becomes the subject, else
    one error line is kept in ``upload_error`` and nothing else changes."""
    ss = st.session_state
    pending = ss.pop(PENDING, None)
    if pending is None:
        return
    name, data, preprocess = pending["name"], pending["data"], chosen_options()
    slot, box, progress = _live_progress(name)
    try:
        prepare(data, preprocess, progress)
    except HyperFusionError as exc:
        ss["upload_error"] = f"{name}: {exc}"
    except Exception as exc:  # never a traceback
        LOG.exception("preprocessing an upload failed")  # no file name in logs
        ss["upload_error"] = (
            f"{name} could not be preprocessed ({type(exc).__name__}); a NIfTI, a "
            "DICOM zip or .dcm files of one 3D T1 series are accepted"
        )
    else:
        ss.pop("upload_error", None)
        state.select_upload(name, data, preprocess)
    slot.empty()  # the steps stay in the scan's QC panel; a failure: one line


__all__ = [
    "MODES",
    "STORE_SIZE",
    "UPLOAD_TYPES",
    "chosen_options",
    "options_key",
    "pack_dicom",
    "parse_options",
    "prepare",
    "prepared_upload",
    "process_pending",
    "step_line",
    "upload_payload",
    "uploader",
]
