"""Streamlit helpers shared by every page: the only module that imports streamlit.

Pages stay thin: they call these helpers for state, widgets and rendering, and the
engine for numbers. Session state holds plain data only:

- ``ehr``: the EHR record being edited (a plain dict: widget-keyed state is deleted
  when the user visits a page without that widget, so edits live here instead);
- ``subject``: the example PTID or ``"upload:<sha1>"`` of the current image;
- ``upload``: ``{"name", "data"}`` of an uploaded file, kept in memory only;
- ``ehr_version``: bumped on reset so the editor's widgets re-read the record.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import streamlit as st

from hyperfusion.data.ehr import FIELDS, EHRRecord, validate_ehr
from hyperfusion.data.examples import example_image_bytes, example_record, list_examples
from hyperfusion.errors import HyperFusionError

LOG = logging.getLogger("hyperfusion.ui")
DISCLAIMER = (
    "Research and teaching tool, **not a medical device**. Predictions come from "
    "models trained on synthetic data and must not inform any clinical decision."
)


# Engine and images -----------------------------------------------------------------


@st.cache_resource(show_spinner="Loading the models…")
def get_engine() -> Any:
    """The one engine shared by every session (models loaded once, calls locked)."""
    from hyperfusion.engine import Engine

    return Engine()


@st.cache_resource(max_entries=16, show_spinner="Checking and resampling the MRI…")
def _prepare(key: str, _data: bytes) -> Any:
    return get_engine().prepare(_data)


def upload_key(data: bytes) -> str:
    """The subject id of an uploaded file."""
    return "upload:" + hashlib.sha1(data).hexdigest()[:16]


def current_image() -> Any:
    """The current subject's :class:`~hyperfusion.engine.PreparedImage`.

    Raises :class:`HyperFusionError` when the image cannot be used.
    """
    init_state()
    subject = st.session_state["subject"]
    upload = st.session_state.get("upload")
    if upload is not None and subject == upload_key(upload["data"]):
        return _prepare(subject, upload["data"])
    return _prepare(subject, example_image_bytes(subject))


# State -----------------------------------------------------------------------------


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


def select_example(ptid: str, keep_ehr: bool = False) -> None:
    """Make an example the current subject; load its record unless ``keep_ehr``."""
    st.session_state["subject"] = ptid
    if not keep_ehr:
        set_ehr(example_record(ptid), origin=ptid)


def select_upload(name: str, data: bytes) -> None:
    """Make uploaded bytes the current image; the edited EHR is kept."""
    st.session_state["upload"] = {"name": name, "data": data}
    st.session_state["subject"] = upload_key(data)


def subject_label() -> str:
    """A human label for the current image."""
    init_state()
    subject = st.session_state["subject"]
    upload = st.session_state.get("upload")
    if upload is not None and subject == upload_key(upload["data"]):
        return f"Upload: {upload['name']}"
    return subject


# Widgets ---------------------------------------------------------------------------


def _widget_key(name: str, suffix: str = "") -> str:
    return f"ehr_{name}{suffix}_v{st.session_state.get('ehr_version', 0)}"


def _write_field(name: str) -> None:
    """on_change: copy one widget's value into the EHR dict, validating it."""
    ss = st.session_state
    unknown = ss.get(_widget_key(name, "_unknown"), False)
    value = None if unknown else ss.get(_widget_key(name))
    try:
        ss["ehr"] = validate_ehr({**ss["ehr"], name: value}, require=False)
        ss.pop("ehr_error", None)
    except HyperFusionError as exc:
        ss["ehr_error"] = str(exc)


def ehr_editor(columns: int = 2, show_context: bool = True) -> EHRRecord:
    """Edit every EHR field (unit, range, help, an 'unknown' toggle); returns the
    record. Values live in ``session_state['ehr']``, never only in widgets."""
    init_state()
    record = st.session_state["ehr"]
    fields = [f for f in FIELDS if show_context or f.role == "input"]
    cols = st.columns(columns)
    for i, field in enumerate(fields):
        with cols[i % columns]:
            _field_widget(field, record.get(field.name))
    if "ehr_error" in st.session_state:
        st.error(st.session_state["ehr_error"])
    return current_ehr()


def _field_widget(field: Any, value: Any) -> None:
    unit = f" ({field.unit})" if field.unit else ""
    context = " — context only, not a model input" if field.role == "context" else ""
    help_text = f"{field.description} Accepted: {field.accepted}.{context}"
    label = f"{field.label}{unit}"
    unknown = value is None
    if not field.required:
        st.checkbox(
            f"{field.label} unknown",
            value=unknown,
            key=_widget_key(field.name, "_unknown"),
            on_change=_write_field,
            args=(field.name,),
        )
    disabled = unknown and not field.required
    if field.kind == "category":
        options = list(field.choices)
        index = options.index(value) if value in options else 0
        st.selectbox(
            label,
            options,
            index=index,
            key=_widget_key(field.name),
            on_change=_write_field,
            args=(field.name,),
            help=help_text,
            disabled=disabled,
        )
        return
    shown = value if value is not None else (field.low + field.high) / 2
    if field.integer:
        st.number_input(
            label,
            min_value=int(field.low),
            max_value=int(field.high),
            value=int(round(shown)),
            step=int(field.step or 1),
            key=_widget_key(field.name),
            on_change=_write_field,
            args=(field.name,),
            help=help_text,
            disabled=disabled,
        )
    else:
        st.number_input(
            label,
            min_value=float(field.low),
            max_value=float(field.high),
            value=float(shown),
            step=float(field.step or 0.1),
            format="%.2f" if (field.step or 1) < 1 else "%.0f",
            key=_widget_key(field.name),
            on_change=_write_field,
            args=(field.name,),
            help=help_text,
            disabled=disabled,
        )


# Page furniture --------------------------------------------------------------------


def page_header(title: str, caption: str | None = None) -> None:
    """Page config, title, optional caption, the disclaimer and the sidebar."""
    with contextlib.suppress(st.errors.StreamlitAPIException):
        st.set_page_config(page_title=f"{title} · HyperFusion Studio", layout="wide")
    init_state()
    st.title(title)
    if caption:
        st.caption(caption)
    disclaimer()
    untrained_banner()


def disclaimer() -> None:
    """The not-a-medical-device line every page shows."""
    st.info(DISCLAIMER, icon="ℹ️")


def untrained_banner() -> None:
    """A loud warning while the shipped weights are untrained placeholders."""
    engine = get_engine()
    if not (engine.is_trained("ad") and engine.is_trained("brain-age")):
        st.warning(
            "UNTRAINED weights: no trained checkpoints are installed, so every "
            "prediction on this page is meaningless.",
            icon="⚠️",
        )


@contextlib.contextmanager
def run_safely(what: str = "This section") -> Iterator[None]:
    """Show user errors as one line and unexpected ones without a traceback; the
    page keeps running and session state is untouched."""
    try:
        yield
    except HyperFusionError as exc:
        st.error(str(exc))
    except Exception as exc:  # never show a traceback to a user
        LOG.exception("%s failed", what)
        st.error(f"{what} could not be shown ({type(exc).__name__}); see the logs.")


class Timer:
    """Measures the latency shown in the device badge."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ms = (time.perf_counter() - self.start) * 1000
        st.session_state["last_latency_ms"] = self.ms
