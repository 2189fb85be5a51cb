"""The Explain page: the maps of every method beside their measured quality, the
scenario difference map and EHR attribution."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from hyperfusion.data.examples import example_image_bytes
from hyperfusion.engine import Engine
from hyperfusion.evaluate.explanation_records import (
    Explanations,
    MethodQuality,
    Quality,
    QualityStats,
)
from hyperfusion.explain.methods import METHODS
from hyperfusion.viz import DECREASE_COLOR, INCREASE_COLOR
from tests.app.conftest import APP, EXPLAIN, TIMEOUT, assert_clean, figures
from tests.html_tree import Node, parse, rgb
from tests.metrics_example import cam_summary, example_metrics, model_result


@pytest.fixture
def explain() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(EXPLAIN).run()


def _viewers(at: AppTest) -> list[Node]:
    """The slice viewers a run drew (``st.html`` elements), in page order."""
    found = [parse(el.proto.body).by_class("hf-slices") for el in at.get("html")]
    return [viewer for viewers in found for viewer in viewers]


def _attribution(at: AppTest) -> Node:
    """The EHR attribution bars (``st.html``, the one ``hf-attribution`` chart)."""
    found = [parse(el.proto.body).by_class("hf-attribution") for el in at.get("html")]
    (chart,) = [chart for charts in found for chart in charts]
    return chart


def _markdown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _bar(viewer: Node) -> Node:
    (bar,) = viewer.by_class("hf-colour-bar")
    return bar


def _bar_title(at: AppTest) -> str:
    """The title of the first viewer's colour bar (the map over the scan)."""
    return _bar(_viewers(at)[0]).children[0].text()


def _bar_start(bar: Node) -> tuple[int, int, int]:
    """The colour at the low end of a colour bar's gradient."""
    gradient = next(
        d for d in bar.by_tag("div") if "gradient" in d.style().get("background", "")
    )
    return rgb(gradient.style()["background"].split("right,")[1])


def test_the_page_renders_maps_and_attributions(explain):
    assert_clean(explain)
    assert explain.title[0].value == "Explain"
    viewers = _viewers(explain)
    assert len(viewers) in (1, 2)  # the difference viewer hides when maps agree
    assert _bar_start(_bar(viewers[0])) == (0, 0, 4)  # Inferno starts black
    # The scan viewer outlines the model's field of view on all three planes, and
    # its sliders start at the box's centre: every plane cuts through it.
    boxes = viewers[0].by_class("hf-box")
    assert [b.attrs["data-through"] for b in boxes] == ["true"] * 3
    assert all("solid" in b.style()["border"] for b in boxes)
    assert all(v.by_class("hf-box") == [] for v in viewers[1:])  # on the task grid
    assert not figures(explain)  # no plotly chart left on the page
    bars = _attribution(explain)
    assert "Contribution to P(" in bars.text(" ")
    # The bars are the attributions the caption adds up (in percentage points), in
    # red where they raised the output and blue where they lowered it.
    values = json.loads(bars.attrs["data-values"])
    added = re.search(r"add up to ([+-][\d.]+) percentage", _markdown(explain))
    assert f"{sum(values):+.2f}" == added.group(1)
    colours = [b.style()["background"] for b in bars.by_class("hf-bar")]
    assert colours == [INCREASE_COLOR if v > 0 else DECREASE_COLOR for v in values]
    # Scenario B starts with one field changed, kept as a plain dict.
    assert list(explain.session_state["scenario_b"]) == ["APOE4"]


def test_brain_age_is_explained_in_years(explain):
    explain.button_group(key="explain_target").set_value("brain-age").run()
    assert_clean(explain)
    bars = _attribution(explain)
    assert "Contribution to brain age (years)" in bars.text(" ")
    assert all(v.text().endswith(" y") for v in bars.by_class("hf-value"))
    # The drawn values are the engine's Integrated Gradients, in years (scale 1).
    engine = Engine()
    image = engine.prepare(example_image_bytes(explain.session_state["subject"]))
    record = dict(explain.session_state["ehr"])
    expected = engine.ehr_attribution(image, record, "brain-age")
    drawn = dict(
        zip(
            json.loads(bars.attrs["data-labels"]),
            json.loads(bars.attrs["data-values"]),
            strict=True,
        )
    )
    assert sorted(drawn) == sorted(expected["label"])
    np.testing.assert_allclose(
        [drawn[label] for label in expected["label"]],
        expected["attribution"],
        rtol=1e-5,
        atol=1e-7,
    )


def test_the_signed_map_shows_evidence_against_in_a_diverging_scale(explain):
    plain = _viewers(explain)[0]
    assert plain.attrs["data-overlay"] == "map"
    assert float(_bar(plain).attrs["data-low"]) == 0.0
    explain.toggle(key="explain_signed").set_value(True).run()
    assert_clean(explain)
    signed = _viewers(explain)[0]
    assert signed.attrs["data-overlay"] == "diverging"
    low, high = (float(_bar(signed).attrs[k]) for k in ("data-low", "data-high"))
    assert low == -high and high > 0  # centred at zero
    r, _, b = _bar_start(_bar(signed))
    assert b > r  # the low end is blue, where Inferno's is black


RATIOS = {
    "hirescam": 3.9,
    "cam": 1.0,
    "ig": 4.1,
    "ig-smoothgrad": 4.2,
    "occlusion": 2.0,
    "gradcam": 1.04,
    "xgradcam": 0.9,
}


def _table(at: AppTest, column: str):
    """The first table on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _explanations(default: str = "hirescam") -> Explanations:
    """Every method measured (mass ratios :data:`RATIOS`), ``default`` chosen."""
    methods = {}
    for name, ratio in RATIOS.items():
        seeds = {"0": Quality(145, 32, ratio, 0.8, 0.2, 0.4, 0.05)}
        stats = QualityStats.over(list(seeds.values()))
        methods[name] = MethodQuality("input", 10.0, stats, seeds)
    return Explanations(default, {"subjects": "MCI and AD test subjects"}, methods)


@pytest.fixture
def measured_explain(tmp_path, monkeypatch) -> AppTest:
    """The Explain page reading a metrics.json with every method measured."""
    from hyperfusion.modelcard import measured

    result = model_result({}, cams=cam_summary(1.04, 3.8))
    metrics = example_metrics({"ad": {"hyperfusion": result}})
    path = tmp_path / "metrics.json"
    replace(metrics, explanations=_explanations()).write(path)
    monkeypatch.setattr(measured, "METRICS_PATH", path)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return at.switch_page(EXPLAIN).run()


def test_the_default_comes_first_and_grad_cam_is_one_click_away(measured_explain):
    at = measured_explain
    assert_clean(at)
    picker = at.button_group(key="explain_method")
    assert picker.value == "hirescam"
    assert picker.options[0] == "HiResCAM · 3.9×"
    assert "Grad-CAM (fails) · 1.0×" in picker.options
    assert _bar_title(at).startswith("HiResCAM:")
    picker.set_value("gradcam").run()
    assert_clean(at)
    title = _bar_title(at)
    assert title.startswith("Grad-CAM:") and "relative evidence" in title


def test_the_quality_table_sits_beside_the_map(measured_explain):
    table = _table(measured_explain, "× chance")
    assert table["Method"].tolist()[0] == "HiResCAM (default)"
    assert len(table) == len(RATIOS)
    rows = table.set_index("Method")
    assert rows.loc["Grad-CAM (documented failure)", "× chance"] == pytest.approx(1.04)
    assert rows.loc["Integrated Gradients", "Pointing"] == pytest.approx(0.8)
    assert rows.loc["HiResCAM (default)", ""] == "▶"  # the map shown


def test_reference_maps_show_their_units_and_occlusion_its_patches(measured_explain):
    at = measured_explain
    at.button_group(key="explain_method").set_value("ig").run()
    assert_clean(at)
    title = _bar_title(at)
    assert "Integrated Gradients" in title and "per voxel" in title
    assert any("adds up to" in c.value for c in at.caption)
    at.button_group(key="explain_method").set_value("occlusion").run()
    assert_clean(at)
    patches = _table(at, "rank")
    assert list(patches.columns[:2]) == ["rank", "side"] and len(patches) == 10


def test_every_map_is_offered_as_nifti_in_the_input_space(measured_explain):
    at = measured_explain
    for name in ("hirescam", "gradcam"):
        at.button_group(key="explain_method").set_value(name).run()
        labels = [str(b.proto.label) for b in at.get("download_button")]
        assert any(METHODS[name].label in lab and "NIfTI" in lab for lab in labels)


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
    assert "HiResCAM" in _bar_title(explain)
