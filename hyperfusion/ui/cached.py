"""Everything the pages get from the engine behind Streamlit's caches: the one shared
engine, the current image and prediction, Grad-CAM maps and EHR attributions, every
model's prediction, and the slice viewers' HTML.

The engine sits in ``st.cache_resource`` and is never mutated (it locks its model
calls); maps are cached per (subject, what the model reads of the EHR, target...).
Slice viewers are HTML strings in shared ``st.cache_resource`` entries keyed by the
content of their arrays, so a rerun whose volume, map and cut did not change
rebuilds nothing (not even the PNG encoding).
"""

from __future__ import annotations

import gc
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import EHRRecord, feature_field
from hyperfusion.data.examples import example_image_bytes
from hyperfusion.lru import CACHE_TTL_S, LRUStore
from hyperfusion.tasks import Task, task_of_target
from hyperfusion.ui import state


@st.cache_resource(show_spinner="Loading the models…")
def get_engine() -> Any:
    """The one engine shared by every session (models loaded once, calls locked)."""
    import torch

    from hyperfusion.engine import Engine

    # One intra-op thread: an edit's models are tiny (a few ms), and on a busy
    # 2-core server torch's second, spinning worker thread starved the script and
    # the event loop (an edit's model time 93 ms instead of 11 ms, its server CPU
    # 106 ms instead of 42 ms); sessions run in parallel threads anyway.
    torch.set_num_threads(1)
    engine = Engine()
    # The libraries and the models live as long as the server: frozen, a full
    # garbage collection no longer walks their ~385k objects (~150 ms each time).
    gc.collect()
    gc.freeze()
    return engine


@st.cache_resource(
    max_entries=16, ttl=CACHE_TTL_S, show_spinner="Checking and resampling the MRI…"
)
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
    if upload is not None:  # preprocessed as its options say (scan_upload)
        from hyperfusion.ui import scan_upload

        return scan_upload.prepared_upload(upload)
    return _prepare_example(state.current_subject())


@st.cache_resource(max_entries=16, show_spinner="Checking and resampling the MRI…")
def _prepare_example(subject: str) -> Any:
    """A bundled example, read from disk only on a cache miss (not on every run),
    with its shipped quality check when that was computed on this very file."""
    from hyperfusion.data.example_qc import shipped_qc

    data = example_image_bytes(subject)
    return get_engine().prepare(data, qc=shipped_qc(subject, data))


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


@st.cache_data(max_entries=128, ttl=CACHE_TTL_S, show_spinner="Computing Grad-CAM…")
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


@st.cache_data(max_entries=128, ttl=CACHE_TTL_S, show_spinner="Attributing to the EHR…")
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


def model_prediction(record: EHRRecord, ad_model: str, with_image: bool = True) -> dict:
    """``Prediction.to_dict()`` of the current image (or of no image) and
    ``record`` by the AD model ``ad_model``, cached per (subject, record, model)."""
    rec = validate_ehr(record, require=False)
    subject = state.current_subject() if with_image else None
    image = current_image() if with_image else None
    key = tuple(sorted(rec.items(), key=lambda kv: kv[0]))
    return _model_prediction(subject, key, ad_model, get_engine(), image)


@st.cache_data(max_entries=512, ttl=CACHE_TTL_S, show_spinner=False)
def _model_prediction(
    subject: str | None, record_key: tuple, ad_model: str, _engine: Any, _image: Any
) -> dict:
    return _engine.predict(_image, dict(record_key), ad_model=ad_model).to_dict()


# Slice views ------------------------------------------------------------------------


def array_key(array: Any) -> str | None:
    """A content key of an array (shape, dtype and a SHA-1 of its bytes; about 2 ms
    for a 91x109x91 float32 map), None for None."""
    if array is None:
        return None
    arr = np.ascontiguousarray(array)
    digest = hashlib.sha1(memoryview(arr).cast("B"))
    return f"{arr.shape}/{arr.dtype}/{digest.hexdigest()}"


@st.cache_resource(max_entries=32, ttl=CACHE_TTL_S, show_spinner=False)
def _anatomy(image_key: str, task_name: str, _volume: Any) -> Any:
    from hyperfusion.viz.slices import anatomy_uint8

    grey = anatomy_uint8(_volume)
    grey.setflags(write=False)
    return grey


def display_volume(task: Task) -> tuple[Any, Any]:
    """The current image as the task's model sees it, as display-ready uint8 grey
    levels (cached per image and task), and its affine."""
    image = current_image()
    volume, affine = task_volume(image, task)
    return _anatomy(image.key, task.name, volume), affine


@st.cache_resource(max_entries=96, ttl=CACHE_TTL_S, show_spinner=False)
def _slice_figure(
    volume_key: str,
    overlay_key: str | None,
    affine_key: tuple,
    cut: tuple[int, ...],
    options: tuple,
    _volume: Any,
    _overlay: Any,
) -> str:
    from hyperfusion.viz import slices

    affine = np.asarray(affine_key, dtype=np.float64).reshape(4, 4)
    return slices.orthogonal_slices(_volume, affine, cut, _overlay, **dict(options))


def slice_figure(
    volume: Any, affine: Any, cut: tuple[int, ...], overlay: Any = None, **options: Any
) -> str:
    """The HTML of :func:`hyperfusion.viz.slices.orthogonal_slices`, built once per
    (volume, map, cut, options) content and shared (``options`` must be hashable,
    e.g. the box as a tuple of ``(low, high)`` tuples)."""
    affine_key = tuple(float(v) for v in np.asarray(affine, dtype=np.float64).flat)
    return _slice_figure(
        array_key(volume),
        array_key(overlay),
        affine_key,
        tuple(int(c) for c in cut),
        tuple(sorted(options.items())),
        volume,
        overlay,
    )


# Explanation maps -------------------------------------------------------------------


def default_map_method() -> str:
    """The name of the default map method: ``explanations.default_method`` of
    ``weights/metrics.json`` (the best on the validation split by the rule it
    states), HiResCAM until evaluation has chosen. Every page's first map uses it
    (e.g. ``gradcam_map(target, method=default_map_method())``)."""
    from hyperfusion.explain.settings import default_method

    return default_method(get_engine().weights_dir)


@st.cache_resource
def _map_store() -> LRUStore:
    """Explanation maps keyed by what they depend on, so a map is computed once
    per (image, EHR, method...)."""
    return LRUStore(96)


def explanation_map(
    target: str,
    method: str | None = None,
    record: EHRRecord | None = None,
    signed: bool | None = None,
) -> Any:
    """:meth:`Engine.explain <hyperfusion.engine.Engine.explain>` of ``target`` for
    the current image and EHR (``record``: another one), cached per (image, what
    the model reads of the EHR, target, method, signed). A method that needs a full
    pass (Integrated Gradients, occlusion) shows a progress bar while it runs."""
    from hyperfusion.explain.methods import get_method

    method = method or default_map_method()
    spec = get_method(method)
    rec = state.current_ehr() if record is None else validate_ehr(record, require=False)
    subject = state.current_subject()
    key = (subject, _ehr_key(rec, task_of_target(target)), target, method, signed)
    found = _map_store().get(key)
    if found is not None:
        return found
    bar = None if spec.cached else st.progress(0.0, text=f"{spec.label}…")

    def progress(share: float, text: str) -> None:
        if bar is not None:
            bar.progress(min(max(share, 0.0), 1.0), text=text)

    found = get_engine().explain(
        current_image(), rec, target, method, signed=signed, progress=progress
    )
    if bar is not None:
        bar.empty()
    _map_store().put(key, found)
    return found


@st.cache_resource(max_entries=2, show_spinner=False)
def _metrics(path: str, stamp: int | None) -> Any:
    from hyperfusion.modelcard import measured

    return measured.load_metrics(Path(path))


def shipped_metrics() -> Any:
    """``weights/metrics.json`` as read by the model card (None before evaluation),
    parsed once per version of the file rather than on every rerun."""
    from hyperfusion.modelcard import measured

    path = Path(measured.METRICS_PATH)
    stamp = path.stat().st_mtime_ns if path.is_file() else None
    return _metrics(str(path), stamp)
