"""The Explain page: Grad-CAM, the scenario difference map and EHR attribution."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, EXPLAIN, TIMEOUT, assert_clean, figures
from tests.metrics_example import cam_summary, example_metrics, model_result


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


def test_the_signed_map_shows_evidence_against_in_a_diverging_scale(explain):
    plain = _slice_figures(explain)[0]["layout"]["coloraxis"]
    assert plain["cmin"] == 0.0
    explain.toggle(key="explain_signed").set_value(True).run()
    assert_clean(explain)
    signed = _slice_figures(explain)[0]["layout"]["coloraxis"]
    assert signed["cmin"] < 0 < signed["cmax"]
    assert signed["colorscale"] != plain["colorscale"]


def test_the_measured_localisation_of_both_maps_is_stated(tmp_path, monkeypatch):
    from hyperfusion.modelcard import measured

    result = model_result({}, cams=cam_summary(1.04, 3.8))
    path = tmp_path / "metrics.json"
    example_metrics({"ad": {"hyperfusion": result}}).write(path)
    monkeypatch.setattr(measured, "METRICS_PATH", path)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = at.switch_page(EXPLAIN).run()
    assert_clean(at)
    captions = [c.value for c in at.caption]
    assert any("1.0× chance for Grad-CAM and 3.8× for HiResCAM" in c for c in captions)


def test_localisation_is_read_from_metrics_json():
    from hyperfusion.modelcard import measured

    result = model_result({}, cams=cam_summary(1.5, 3.0))
    metrics = example_metrics({"ad": {"hyperfusion": result}})
    assert measured.gradcam_localisation(metrics) == 1.5
    assert measured.gradcam_localisation(example_metrics({})) is None
    assert measured.gradcam_localisation(None) is None


def test_hirescam_is_offered_beside_grad_cam(explain):
    explain.button_group(key="explain_method").set_value("hirescam").run()
    assert_clean(explain)
    title = _slice_figures(explain)[0]["layout"]["coloraxis"]["colorbar"]["title"]
    assert "HiResCAM" in str(title)
