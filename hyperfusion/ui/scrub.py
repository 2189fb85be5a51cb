"""Sweeps the browser plays: one batched sweep of the predictions and of the generated
weights' channel norms per (image, record, field), and the scrubbing figure built on
them (:func:`hyperfusion.viz.whatif.scrub_figure`), all cached.

Sweeps are cached with ``st.cache_data`` keyed on plain data (the image's content
key, the record as sorted items, the field, the values). The built figures sit in
``st.cache_resource``: they are shared read-only (``st.plotly_chart`` serialises a
copy), and ``st.cache_data``'s pickle round trip would re-validate every frame on
every rerun (about 50 ms here, against about 15 ms to serialise it).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.tasks import AD
from hyperfusion.ui import cached, panels
from hyperfusion.viz import whatif

RecordKey = tuple[tuple[str, Any], ...]


def record_key(record: Mapping[str, object]) -> RecordKey:
    """A record as hashable plain data: its validated items, sorted."""
    return tuple(sorted(validate_ehr(record, require=False).items()))


@st.cache_data(max_entries=64, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _sweep(
    image_key: str | None,
    key: RecordKey,
    field_name: str,
    values: tuple,
    _engine: Any,
    _image: Any,
) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    df = _engine.sweep(_image, dict(key), field_name, list(values))
    return df, (time.perf_counter() - start) * 1000


@st.cache_data(max_entries=64, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _norms(key: RecordKey, field_name: str, values: tuple, _engine: Any) -> np.ndarray:
    return _engine.channel_norms_sweep(dict(key), field_name, list(values))


def sweep(
    image: Any, record: Mapping[str, object], field_name: str, values: Sequence[Any]
) -> tuple[pd.DataFrame, float]:
    """``Engine.sweep`` of one field over ``values`` (cached per image, record,
    field and values) and the milliseconds its one batched pass took."""
    image_key = None if image is None else image.key
    args = (record_key(record), field_name, tuple(values))
    return _sweep(image_key, *args, cached.get_engine(), image)


def hyper_layer_name() -> str:
    """The name of the AD model's hyper layer whose norms the scrubber shows."""
    model = cached.get_engine().checkpoints(AD)[0].model
    return str(next(iter(model.hyper_modules())))


@st.cache_resource(max_entries=32, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _figure(
    image_key: str | None,
    key: RecordKey,
    field_name: str,
    values: tuple,
    _image: Any,
) -> Any:
    engine = cached.get_engine()
    df, _ = _sweep(image_key, key, field_name, values, engine, _image)
    norms = _norms(key, field_name, values, engine)
    field, current = FIELD_BY_NAME[field_name], dict(key).get(field_name)
    return whatif.scrub_figure(df, norms, field, current, layer=hyper_layer_name())


@st.cache_resource(max_entries=32, ttl=cached.CACHE_TTL_S, show_spinner=False)
def _sweep_figure(
    image_key: str | None, key: RecordKey, field_name: str, values: tuple, _image: Any
) -> Any:
    df, _ = _sweep(image_key, key, field_name, values, cached.get_engine(), _image)
    field = FIELD_BY_NAME[field_name]
    return whatif.sweep_figure(df, field, dict(key).get(field_name))


def sweep_figure(
    image: Any, record: Mapping[str, object], field_name: str, values: Sequence[Any]
) -> Any:
    """:func:`hyperfusion.viz.whatif.sweep_figure` of :func:`sweep` (cached)."""
    image_key = None if image is None else image.key
    key = record_key(record)
    return _sweep_figure(image_key, key, field_name, tuple(values), image)


def scrub_figure(image: Any, record: Mapping[str, object], field_name: str) -> Any:
    """The scrubbing figure of one field for this image and record (cached)."""
    field, key = FIELD_BY_NAME[field_name], record_key(record)
    values = tuple(whatif.scrub_values(field, dict(key).get(field_name)))
    image_key = None if image is None else image.key
    return _figure(image_key, key, field_name, values, image)


def scrubber(image: Any, record: Mapping[str, object], field_name: str, key: str):
    """Draw the scrubbing figure with a caption saying how to use it."""
    field = FIELD_BY_NAME[field_name]
    panels.chart(scrub_figure(image, record, field_name), key=key)
    st.caption(
        f"Drag the slider under the chart: the probabilities, the brain age and the "
        f"generated weights follow {field.label} at once, in your browser (every "
        "value was computed in one batched pass; nothing goes back to the server). "
        "The slider starts at this patient's value, marked *current*; grey ticks "
        "show the channel norms there."
    )


__all__ = [
    "hyper_layer_name",
    "record_key",
    "scrub_figure",
    "scrubber",
    "sweep",
    "sweep_figure",
]
