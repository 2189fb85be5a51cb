"""Everything the pages get from the engine behind Streamlit's caches: the one shared
engine, the current image and prediction, Grad-CAM maps and EHR attributions.

The engine sits in ``st.cache_resource`` and is never mutated (it locks its model
calls); maps are cached per (subject, what the model reads of the EHR, target...).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import EHRRecord, feature_field
from hyperfusion.data.examples import example_image_bytes
from hyperfusion.tasks import Task, task_of_target
from hyperfusion.ui import state


@st.cache_resource(show_spinner="Loading the models…")
def get_engine() -> Any:
    """The one engine shared by every session (models loaded once, calls locked)."""
    from hyperfusion.engine import Engine

    return Engine()


@st.cache_resource(max_entries=16, show_spinner="Checking and resampling the MRI…")
def _prepare(key: str, _data: bytes) -> Any:
    return get_engine().prepare(_data)


def prepare_upload(data: bytes) -> Any:
    """Check and resample uploaded bytes (cached); raises
    :class:`~hyperfusion.errors.HyperFusionError` when they cannot be used."""
    return _prepare(state.upload_key(data), data)


def current_image() -> Any:
    """The current subject's :class:`~hyperfusion.engine.PreparedImage`.

    Raises :class:`~hyperfusion.errors.HyperFusionError` when the image cannot be
    used.
    """
    upload = state.current_upload()
    if upload is not None:
        return prepare_upload(upload["data"])
    subject = state.current_subject()
    return _prepare(subject, example_image_bytes(subject))


def current_prediction() -> Any:
    """The engine's :class:`~hyperfusion.prediction.Prediction` for the current
    subject and EHR (an edit re-runs only the EHR-dependent part of the models)."""
    with state.Timer():
        return get_engine().predict(current_image(), state.current_ehr())


def task_volume(image: Any, task: Task) -> tuple[Any, Any]:
    """The volume a task's model sees of ``image``, for display, and its affine."""
    return image.volume(task), image.grid(task).affine


def _ehr_key(record: EHRRecord, task: Task) -> tuple:
    """The part of a record the task's model reads (e.g. sex only for brain age)."""
    fields = dict.fromkeys(feature_field(f) for f in task.tabular_features)
    return tuple(sorted((name, record.get(name)) for name in fields))


@st.cache_data(max_entries=128, show_spinner="Computing Grad-CAM…")
def _gradcam(
    subject: str,
    ehr_key: tuple,
    target: str,
    signed: bool,
    method: str,
    _engine: Any,
    _image: Any,
):
    return _engine.gradcam(
        _image, dict(ehr_key), target, relu=not signed, method=method
    )


@st.cache_data(max_entries=128, show_spinner="Attributing to the EHR…")
def _attribution(subject: str, ehr_key: tuple, target: str, _engine: Any, _image: Any):
    return _engine.ehr_attribution(_image, dict(ehr_key), target)


def gradcam_map(
    target: str,
    record: EHRRecord | None = None,
    signed: bool = False,
    method: str = "gradcam",
) -> Any:
    """Grad-CAM (or HiResCAM) of ``target`` (a class or ``"brain-age"``) on the task
    grid, in [0, 1] (``signed``: in [-1, 1], negative where a region lowered the
    output), cached per (subject, EHR, target, signed, method); ``record`` defaults
    to the EHR being edited."""
    rec = state.current_ehr() if record is None else validate_ehr(record, require=False)
    key = _ehr_key(rec, task_of_target(target))
    subject = state.current_subject()
    return _gradcam(subject, key, target, signed, method, get_engine(), current_image())


def ehr_attribution(target: str) -> Any:
    """Integrated Gradients of ``target`` per EHR field, cached like Grad-CAM."""
    key = _ehr_key(state.current_ehr(), task_of_target(target))
    subject = state.current_subject()
    return _attribution(subject, key, target, get_engine(), current_image())
