"""Checks of the scrubbing figure the What-if and Hypernetwork pages share: its frames
against a fresh engine's sweep of the same image, record and values."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from streamlit.testing.v1 import AppTest

from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.data.examples import example_image_bytes
from hyperfusion.engine import Engine
from hyperfusion.viz import whatif
from tests.app.conftest import plotly_array
from tests.tolerances import U32


def scrub_chart(at: AppTest) -> dict[str, Any]:
    """The scrubbing figure: the one chart with frames."""
    charts = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    found = [c for c in charts if c.get("frames")]
    assert len(found) == 1, [len(c.get("frames", [])) for c in charts]
    return found[0]


def assert_frames_match_the_engine(
    chart: dict, subject: str, record: dict, name: str
) -> None:
    """Every frame of the scrubbing figure shows what a fresh engine computes for
    the same image, record and values: class probabilities (trace 0), brain age
    (trace 2) and the hyper layer's channel norms (trace 3); the slider has one
    step per frame and starts at the current value, labelled as such."""
    field = FIELD_BY_NAME[name]
    values = whatif.scrub_values(field, record[name])
    engine = Engine()
    image = engine.prepare(example_image_bytes(subject))
    sweep = engine.sweep(image, record, name, values)
    norms = engine.channel_norms_sweep(record, name, values)
    frames = chart["frames"]
    assert [f["name"] for f in frames] == [str(i) for i in range(len(values))]
    for i, frame in enumerate(frames):
        probs, _, age, weights = frame["data"]
        expected = sweep.loc[i, ["CN", "MCI", "AD"]].to_numpy(float)
        np.testing.assert_allclose(plotly_array(probs["y"]), expected, rtol=U32)
        got_age = plotly_array(age["y"])[0]
        np.testing.assert_allclose(got_age, sweep.loc[i, "brain_age"], rtol=U32)
        np.testing.assert_allclose(plotly_array(weights["y"]), norms[i], rtol=U32)
    slider = chart["layout"]["sliders"][0]
    labels = [step["label"] for step in slider["steps"]]
    assert [label.removesuffix(whatif.CURRENT_LABEL) for label in labels] == [
        whatif.format_value(field, v) for v in values
    ]
    now = whatif.current_index(values, record[name])
    assert slider["active"] == now
    assert [label.endswith(whatif.CURRENT_LABEL) for label in labels].count(True) == 1
    assert labels[now].endswith(whatif.CURRENT_LABEL)
    assert all(s["args"][1]["frame"]["redraw"] is False for s in slider["steps"])
    # The figure starts where the slider does.
    np.testing.assert_allclose(
        plotly_array(chart["data"][0]["y"]),
        sweep.loc[now, ["CN", "MCI", "AD"]].to_numpy(float),
        rtol=U32,
    )
