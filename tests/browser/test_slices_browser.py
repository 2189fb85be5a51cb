"""The slice viewer (HTML, no plotly) in a real browser: three PNG planes that CSS
lays out at one mm scale with one top, a slider that moves its plane, the overlay's
colour bar on the Patient page, and the model's field of view outlined on the
Explain page's scan, whose images the benchmark's ``MAP_DATA`` reads."""

from __future__ import annotations

from typing import Any

import pytest

from hyperfusion.bench_browser import scripts
from tests.browser.conftest import exceptions, go_to, rerun

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

# Each drawn viewer: its cut, overlay and colour bar, and each plane's image and
# box as laid out (CSS pixels).
_VIEWERS = """() => Array.from(document.querySelectorAll('.hf-slices'), (v) => ({
  cut: v.dataset.cut.split(',').map(Number),
  overlay: v.dataset.overlay,
  bars: v.querySelectorAll('.hf-colour-bar').length,
  titles: Array.from(v.querySelectorAll('figcaption'), (c) => c.innerText.trim()),
  planes: Array.from(v.querySelectorAll('img'), (img) => {
    const r = img.getBoundingClientRect();
    return {plane: img.dataset.plane, range: img.dataset.range.split(',').map(Number),
      loaded: img.complete && img.naturalWidth > 0,
      left: r.left, right: r.right, top: r.top, width: r.width, height: r.height};
  }),
  boxes: Array.from(v.querySelectorAll('.hf-box'), (b) => {
    const r = b.getBoundingClientRect();
    return {width: r.width, height: r.height, through: b.dataset.through};
  }),
}))"""


def _viewers(page: Any) -> list[dict]:
    return page.evaluate(_VIEWERS)


def _assert_one_mm_scale(viewer: dict) -> None:
    """Sagittal, coronal and axial from left to right, loaded, at one top and with
    the same pixels per mm across and up every image (square voxels)."""
    planes = viewer["planes"]
    assert [p["plane"] for p in planes] == ["sagittal", "coronal", "axial"]
    assert all(p["loaded"] for p in planes), planes
    per_mm = [p["width"] / (p["range"][1] - p["range"][0]) for p in planes]
    per_mm += [p["height"] / (p["range"][3] - p["range"][2]) for p in planes]
    assert max(per_mm) - min(per_mm) < 0.01 * max(per_mm), per_mm
    assert max(p["top"] for p in planes) - min(p["top"] for p in planes) < 1
    assert all(planes[i]["right"] <= planes[i + 1]["left"] for i in range(2))
    assert min(p["width"] for p in planes) > 150  # scaled up to the page's width


def _slider_thumb(page: Any, label: str) -> Any:
    """The keyboard-focusable input of the slider labelled ``label``."""
    box = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    return box.locator('input[type="range"]')


def test_the_patient_viewer_keeps_one_scale_and_follows_its_sliders(page: Any):
    (viewer,) = _viewers(page)
    _assert_one_mm_scale(viewer)
    assert viewer["overlay"] == "none" and viewer["bars"] == 0
    thumb = _slider_thumb(page, "Axial plane: z (mm)")
    thumb.focus()
    with rerun(page):
        thumb.press("ArrowRight")  # one step: the next axial slice
    (moved,) = _viewers(page)
    assert moved["cut"] == [*viewer["cut"][:2], viewer["cut"][2] + 1]
    assert moved["titles"][:2] == viewer["titles"][:2]
    assert moved["titles"][2] != viewer["titles"][2]
    toggle = page.locator('[data-testid="stCheckbox"]').filter(has_text="overlay")
    with rerun(page):
        toggle.first.locator("label").click()
    assert exceptions(page) == []
    (mapped,) = _viewers(page)
    assert mapped["overlay"] == "map" and mapped["bars"] == 1
    _assert_one_mm_scale(mapped)


def test_the_explain_scan_shows_the_field_of_view_and_feeds_map_data(page: Any):
    go_to(page, "Explain")
    assert exceptions(page) == []
    viewers = _viewers(page)
    assert len(viewers) in (1, 2)  # the difference viewer hides when maps agree
    scan = viewers[0]
    _assert_one_mm_scale(scan)
    assert scan["bars"] == 1
    # The sliders start at the box's centre: every plane cuts through it, and the
    # outline has a size on every plane.
    assert [b["through"] for b in scan["boxes"]] == ["true"] * 3
    assert all(b["width"] > 10 and b["height"] > 10 for b in scan["boxes"])
    lines = str(page.evaluate(scripts.MAP_DATA)).split("\n")
    assert len(lines) == len(viewers) + 1  # the viewers, then the EHR bars
    for line in lines[:-1]:
        sources = line.split("|")
        assert len(sources) == 3
        assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert lines[-1].startswith("[") and "data:image" not in lines[-1]
