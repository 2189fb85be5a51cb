"""The Hypernetwork page: generated weights, the channel-norm sweep, sex weights."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.engine import Engine
from hyperfusion.tasks import BRAIN_AGE
from hyperfusion.viz.slice_images import decode_png_uri
from tests.app.conftest import APP, HYPERNETWORK, TIMEOUT, assert_clean, figures
from tests.app.scrub_checks import assert_frames_match_the_engine, scrub_chart
from tests.html_tree import Node, parse

RED_END, BLUE_END = (103, 0, 31), (5, 48, 97)  # plotly's RdBu_r: its two ends


def html_figures(at: AppTest, cls: str) -> list[Node]:
    """The ``st.html`` elements of the run whose root has class ``cls``."""
    roots = [parse(el.proto.body) for el in at.get("html")]
    return [found for root in roots for found in root.by_class(cls)]


def assert_peak_is_drawn_at_the_scale_end(figure: Node, weight: np.ndarray) -> None:
    """The pixel of the largest ``|w|`` is the red (w > 0) or blue end of the scale,
    in the image's row (output channel) and column (input channel)."""
    pixels = decode_png_uri(figure.by_tag("img")[0].attrs["src"])
    assert pixels.shape[:2] == weight.shape
    peak = np.unravel_index(np.argmax(np.abs(weight)), weight.shape)
    assert tuple(pixels[peak]) == (RED_END if weight[peak] > 0 else BLUE_END)


def test_the_page_shows_generated_weights_and_responds_to_a_field_choice():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(HYPERNETWORK).run()
    assert_clean(at)
    assert at.title[0].value == "Hypernetwork"
    labels = [m.label for m in at.metric]
    assert "Rank of W(t) − B" in labels
    # e(t) and the reference patient's, as the engine computes them.
    (embedding,) = html_figures(at, "hf-embedding")
    assert "Embedding dimension k" in embedding.text(" ")
    view = Engine().hyper_weights(dict(at.session_state["ehr"]))[0]
    drawn = np.array(json.loads(embedding.attrs["data-values"]), dtype=np.float32)
    np.testing.assert_array_equal(drawn, [view.embedding, view.reference_embedding])
    labels = json.loads(embedding.attrs["data-labels"])
    assert labels == [f"e{k}" for k in range(1, view.embedding.size + 1)]
    assert not any(f["data"][0]["type"] == "heatmap" for f in figures(at))
    assert len(figures(at)) == 1  # the scrubber's, the only plotly chart left
    # The AD layer's W(t) as the image the text describes, and the sexes' weights.
    record = dict(at.session_state["ehr"])
    ad, female_male = html_figures(at, "hf-weights")[:2]
    text = " ".join(m.value for m in at.markdown)
    n_out, n_in = re.search(r"a (\d+) × (\d+) matrix", text).groups()
    assert ad.attrs["data-shapes"] == f"{n_out}x{n_in}"
    assert "Input channel" in ad.text(" ") and "Output channel" in ad.text(" ")
    engine = Engine()
    assert_peak_is_drawn_at_the_scale_end(ad, engine.hyper_weights(record)[0].weight)
    assert female_male.attrs["data-titles"] == "Female|Male"
    sexes = [
        next(
            v.weight
            for v in engine.hyper_weights({**record, "PTGENDER": sex}, task=BRAIN_AGE)
            if v.name == "fc2"  # the layer shown first
        )
        for sex in ("Female", "Male")
    ]
    shapes = ";".join(f"{w.shape[0]}x{w.shape[1]}" for w in sexes)
    assert female_male.attrs["data-shapes"] == shapes
    limit = max(float(np.abs(w).max()) for w in sexes)
    assert float(female_male.attrs["data-limit"]) == pytest.approx(limit, rel=1e-6)

    at.selectbox(key="sweep_field").set_value("AGE").run()
    assert_clean(at)
    (sweep,) = html_figures(at, "hf-norm-sweep")
    assert "Age (years)" in sweep.text(" ")
    # The patient's line, where a heatmap over the swept ages puts their age.
    field, age = FIELD_BY_NAME["AGE"], float(record["AGE"])
    step = (field.high - field.low) / 40  # 41 values
    at_age = (age - (field.low - step / 2)) / (41 * step)
    (line,) = sweep.by_class("hf-line")
    assert float(line.attrs["data-at"]) == pytest.approx(at_age, abs=1e-6)
    # The scrubber follows the chosen field and plays the engine's sweep.
    chart = scrub_chart(at)
    subject = at.session_state["subject"]
    assert_frames_match_the_engine(chart, subject, record, "AGE")
