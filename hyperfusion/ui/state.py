"""Session state: the current subject, its uploaded image and the EHR record being
edited, as plain data.

The keys of ``st.session_state``:

- ``subject``: the example PTID or ``"upload:<sha1>"`` of the current image;
- ``upload``: ``{"name", "data", "preprocess"}`` of an uploaded file, kept in
  memory only (``preprocess``: its preprocessing options, see
  :mod:`hyperfusion.ui.scan_upload`);
- ``ehr``: the EHR record being edited (a plain dict: widget-keyed state is deleted
  when the user visits a page without that widget, so edits live here instead);
- ``ehr_origin``: the example whose record was loaded (what a reset reloads);
- ``ehr_version``: bumped on every replacement so the editor's widgets re-read it;
- ``ehr_error`` / ``upload_error``: the last rejected edit or upload, shown once;
- ``scenario_b``: the fields scenario B changes, ``{name: value}``;
- ``last_latency_ms``: the model time of the last update (:class:`Timer`).
"""

from __future__ import annotations

import hashlib
import time

import streamlit as st

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import EHRRecord
from hyperfusion.data.examples import example_record, list_examples

UPLOAD_PREFIX = "upload:"


def upload_key(data: bytes, preprocess: str = "") -> str:
    """The subject id of an uploaded file, preprocessed as ``preprocess`` says
    (e.g. ``"auto"``, ``"full-n4"``; the same file preprocessed otherwise is another
    image)."""
    key = UPLOAD_PREFIX + hashlib.sha1(data).hexdigest()[:16]
    return f"{key}-{preprocess}" if preprocess else key


def upload_subject(upload: dict) -> str:
    """The subject id of a stored upload (``{"name", "data", "preprocess"}``)."""
    return upload_key(upload["data"], upload.get("preprocess", ""))


def is_upload(subject: str) -> bool:
    """Whether a subject id names an uploaded file rather than an example."""
    return subject.startswith(UPLOAD_PREFIX)


def default_subject() -> str:
    """The first bundled example."""
    return str(list_examples()["PTID"].iloc[0])


def init_state() -> None:
    """Fill session state on first use: the first example and its record."""
    ss = st.session_state
    if "subject" not in ss:
        ss["subject"] = default_subject()
    if "ehr" not in ss:
        ss["ehr"] = example_record(ss["subject"])
        ss["ehr_origin"] = ss["subject"]
    ss.setdefault("ehr_version", 0)
    ss.setdefault("upload", None)


def current_subject() -> str:
    """The id of the current image: an example PTID or an upload key."""
    init_state()
    return st.session_state["subject"]


def stored_upload() -> dict | None:
    """The uploaded file held in memory (``{"name", "data"}``), current or not."""
    return st.session_state.get("upload")


def current_upload() -> dict | None:
    """The uploaded file if it is the current image, else None."""
    subject, upload = current_subject(), stored_upload()
    if upload is not None and subject == upload_subject(upload):
        return upload
    return None


def subject_label() -> str:
    """A human label for the current image."""
    upload = current_upload()
    return f"Upload: {upload['name']}" if upload else current_subject()


def file_stem() -> str:
    """The start of every downloaded file's name, naming the subject."""
    subject = st.session_state.get("subject", "subject").replace(":", "-")
    return f"hyperfusion_{subject}"


def current_ehr() -> EHRRecord:
    """A copy of the EHR record being edited."""
    init_state()
    return dict(st.session_state["ehr"])


def set_ehr(record: EHRRecord, origin: str | None = None) -> None:
    """Replace the edited record (e.g. reset) and refresh the editor's widgets."""
    st.session_state["ehr"] = validate_ehr(record, require=False)
    if origin is not None:
        st.session_state["ehr_origin"] = origin
    st.session_state["ehr_version"] = st.session_state.get("ehr_version", 0) + 1


def ehr_origin() -> str:
    """The example whose record was loaded last (what a reset reloads)."""
    return st.session_state.get("ehr_origin") or default_subject()


def reset_ehr() -> None:
    """Reload the record of :func:`ehr_origin`, undoing every edit."""
    origin = ehr_origin()
    set_ehr(example_record(origin), origin=origin)
    st.session_state.pop("ehr_error", None)


def select_example(ptid: str, keep_ehr: bool = False) -> None:
    """Make an example the current subject; load its record unless ``keep_ehr``."""
    st.session_state["subject"] = ptid
    if not keep_ehr:
        set_ehr(example_record(ptid), origin=ptid)


def select_upload(name: str, data: bytes, preprocess: str = "") -> None:
    """Make uploaded bytes (preprocessed as ``preprocess`` says) the current image;
    the edited EHR is kept."""
    upload = {"name": name, "data": data, "preprocess": preprocess}
    st.session_state["upload"] = upload
    st.session_state["subject"] = upload_subject(upload)


class Timer:
    """Measures the latency shown in the device badge (``last_latency_ms``)."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = (time.perf_counter() - self.start) * 1000
        st.session_state["last_latency_ms"] = self.ms
