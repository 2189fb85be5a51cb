"""The What-if page's scrubbing figure in a real browser: dragging its slider with the
mouse moves the shown value and the figure at once, without the server (no rerun,
no websocket message)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import (
    FIRST_PAINT_MS,
    RERUN_MS,
    VIEWPORT,
    exceptions,
    go_to,
    wait_rendered,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

WHAT_IF = "What if"
SCRUB_CHART = '[data-testid="stPlotlyChart"]:has(.slider-rail-touch-rect)'

# What the scrubbing figure shows now: the slider's label and active step, the
# drawn class probabilities, and the probabilities of the active step's frame.
_SHOWN = """(chart) => {
  const gd = chart.querySelector('.js-plotly-plot');
  const active = gd.layout.sliders[0].active;
  const frame = gd._transitionData._frames[active];
  return {
    label: chart.querySelector('.slider-container .slider-label').textContent,
    stepLabel: gd.layout.sliders[0].steps[active].label,
    active,
    shown: Array.from(gd._fullData[0].y, Number),
    frame: Array.from(frame.data[0].y, Number),
    frames: gd._transitionData._frames.length,
  };
}"""

# Counts the script's runs from now on (a MutationObserver on its state).
_COUNT_RUNS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__scrubRuns = 0;
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') {
      window.__scrubRuns += 1;
    }
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_STATE = """() => document.querySelector('[data-testid="stApp"]')
  .getAttribute('data-test-script-state')"""


@pytest.fixture
def what_if(browser: Any, app_url: str) -> Iterator[tuple[Any, list[str]]]:
    """A fresh session on the What-if page, and the websocket messages its page
    sends (the listener is in place before the app connects)."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(RERUN_MS)
    sent: list[str] = []
    tab.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append("m")))
    try:
        tab.goto(app_url, wait_until="domcontentloaded")
        tab.wait_for_selector('[data-testid="stMetric"]', timeout=FIRST_PAINT_MS)
        wait_rendered(tab, FIRST_PAINT_MS)
        go_to(tab, WHAT_IF)
        yield tab, sent
    finally:
        context.close()


def test_dragging_the_slider_updates_the_figure_without_the_server(what_if) -> None:
    page, sent = what_if
    chart = page.locator(SCRUB_CHART)
    assert chart.count() == 1
    chart.scroll_into_view_if_needed()
    before = chart.evaluate(_SHOWN)
    assert before["frames"] > 10 and before["stepLabel"].endswith("(current)")
    assert before["shown"] == pytest.approx(before["frame"])

    page.evaluate(_COUNT_RUNS)
    page.wait_for_timeout(500)  # anything the page still had to send is out
    sent.clear()
    rail = chart.locator(".slider-rail-touch-rect").bounding_box()
    grip = chart.locator(".slider-grip-rect").bounding_box()
    y = rail["y"] + rail["height"] / 2
    page.mouse.move(grip["x"] + grip["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(rail["x"] + 0.9 * rail["width"], y, steps=12)
    page.mouse.move(rail["x"] + 0.1 * rail["width"], y, steps=12)
    page.mouse.up()
    page.wait_for_timeout(800)  # a rerun or a message would have started by now

    after = chart.evaluate(_SHOWN)
    assert after["active"] < before["active"], (before["active"], after["active"])
    assert after["label"] != before["label"]
    # The shown value is the active step's, and the figure is that step's frame.
    assert after["label"].endswith(after["stepLabel"])
    assert after["shown"] == pytest.approx(after["frame"])
    assert after["shown"] != pytest.approx(before["shown"])
    assert page.evaluate("() => window.__scrubRuns") == 0
    assert page.evaluate(_STATE) == "notRunning"
    assert sent == [], f"{len(sent)} websocket messages sent while dragging"
    assert exceptions(page) == []
