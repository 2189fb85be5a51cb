"""The Explain page: Grad-CAM, the scenario difference map and EHR attribution."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, EXPLAIN, TIMEOUT, assert_clean, figures


@pytest.fixture
def explain() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(EXPLAIN).run()


def _slice_figures(at: AppTest) -> list[dict]:
    return [f for f in figures(at) if "coloraxis2" in f["layout"]]


def test_the_page_renders_maps_and_attributions(explain):
    assert_clean(explain)
    assert explain.title[0].value == "Explain"
    viewers = _slice_figures(explain)
    assert len(viewers) in (1, 2)  # the difference viewer hides when maps agree
    cam = viewers[0]["layout"]["coloraxis"]
    assert cam["colorscale"][0][1] == "#000004"  # Inferno
    bars = [f for f in figures(explain) if f["data"][0].get("orientation") == "h"]
    assert bars and "Contribution to P(" in bars[0]["layout"]["xaxis"]["title"]["text"]
    # Scenario B starts with one field changed, kept as a plain dict.
    assert list(explain.session_state["scenario_b"]) == ["APOE4"]


def test_brain_age_is_explained_in_years(explain):
    explain.button_group(key="explain_target").set_value("brain-age").run()
    assert_clean(explain)
    bars = [f for f in figures(explain) if f["data"][0].get("orientation") == "h"]
    title = bars[0]["layout"]["xaxis"]["title"]["text"]
    assert title == "Contribution to brain age (years)"
