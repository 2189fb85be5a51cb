"""The Hypernetwork page: generated weights, the channel-norm sweep, sex weights."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, HYPERNETWORK, TIMEOUT, assert_clean, figures
from tests.app.scrub_checks import assert_frames_match_the_engine, scrub_chart


def test_the_page_shows_generated_weights_and_responds_to_a_field_choice():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(HYPERNETWORK).run()
    assert_clean(at)
    assert at.title[0].value == "Hypernetwork"
    labels = [m.label for m in at.metric]
    assert "Rank of W(t) − B" in labels
    titles = [
        f["layout"].get("xaxis", {}).get("title", {}).get("text") for f in figures(at)
    ]
    assert "Input channel" in titles and "Embedding dimension k" in titles
    at.selectbox(key="sweep_field").set_value("AGE").run()
    assert_clean(at)
    assert "Age (years)" in [
        f["layout"]["xaxis"]["title"]["text"]
        for f in figures(at)
        if f["data"][0]["type"] == "heatmap"
    ]
    # The scrubber follows the chosen field and plays the engine's sweep.
    chart = scrub_chart(at)
    record, subject = dict(at.session_state["ehr"]), at.session_state["subject"]
    assert_frames_match_the_engine(chart, subject, record, "AGE")
