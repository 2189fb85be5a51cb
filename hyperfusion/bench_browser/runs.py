"""What the browser benchmark does in Chromium: open the app cold, edit the age,
switch pages, scrub the What-if page's slider, and edit in several sessions at once.

Every duration comes from the page (:mod:`.scripts`); Python only drives the
browser and waits. ``page`` and ``browser`` are Playwright's sync objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hyperfusion.bench_browser import scripts
from hyperfusion.bench_browser.server import Server
from hyperfusion.errors import HyperFusionError

AGE_LABEL = "Age (years)"  # the Patient page's age input
WHAT_IF = "What if"  # the page with the scrubbing figure
VIEWPORT = {"width": 1600, "height": 1000}
# Limits of single waits, not measurements: the CPU may be shared.
FIRST_PAINT_MS = 180_000
STEP_MS = 120_000
WARMUP_EDITS = 2
_METRICS = """() => Array.from(
  document.querySelectorAll('[data-testid="stMetricValue"]'),
  (m) => m.innerText).join(' | ')"""


@dataclass
class Session:
    """One browser context (one Streamlit session) and the websocket messages its
    page sent (``time.perf_counter()`` of each)."""

    context: Any
    page: Any
    sent: list[float] = field(default_factory=list)


def open_session(browser: Any, url: str) -> Session:
    """A fresh context on the app's first page, once its prediction is drawn."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(STEP_MS)
    session = Session(context, page)
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: _sent(session)))
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMetric"]', timeout=FIRST_PAINT_MS)
    page.wait_for_function(scripts.RENDERED, timeout=FIRST_PAINT_MS)
    return session


def _sent(session: Session) -> None:
    session.sent.append(time.perf_counter())


def cold_start_s(browser: Any, server: Server) -> tuple[float, Session]:
    """Seconds from starting the server to the first prediction drawn in a new
    session (the first visit imports torch and loads every model), and the
    session."""
    session = open_session(browser, server.url)
    return time.perf_counter() - server.started, session


def _edit_values(current: float, n: int) -> list[int]:
    """``n`` ages in 45..85, each different from the one before."""
    values, previous = [], current
    for i in range(n):
        value = 45 + (7 * i) % 41
        value = value + 1 if value == previous else value
        values.append(value)
        previous = value
    return values


def _age_box(page: Any) -> Any:
    return page.get_by_label(AGE_LABEL, exact=True)


def _wait_timing(page: Any) -> float:
    """The armed timing's milliseconds, once the page has measured it."""
    return float(
        page.wait_for_function(scripts.TIMING_DONE, timeout=STEP_MS).json_value()
    )


def edit_times(session: Session, n: int) -> tuple[list[float], int]:
    """``n`` timed edits of the age (after :data:`WARMUP_EDITS` untimed ones): the
    milliseconds of each, and how many changed the metrics shown."""
    page = session.page
    box = _age_box(page)
    values = _edit_values(float(box.input_value()), n + WARMUP_EDITS)
    times, changed = [], 0
    for i, value in enumerate(values):
        before = page.evaluate(_METRICS)
        box.fill(str(value))
        page.evaluate(scripts.ARM_EDIT)
        box.press("Enter")
        ms = _wait_timing(page)
        if i >= WARMUP_EDITS:
            times.append(ms)
            changed += page.evaluate(_METRICS) != before
    return times, changed


def _link_label(text: str) -> str:
    """A link's label: the last line of its text (an icon's ligature may come
    first).

    >>> _link_label("home\\nPatient "), _link_label("")
    ('Patient', '')
    """
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else ""


def nav_labels(page: Any) -> list[str]:
    """The navigation links' labels, in order."""
    labels = [_link_label(t) for t in page.locator(scripts.NAV_LINKS).all_inner_texts()]
    return list(dict.fromkeys(label for label in labels if label))


def _link(page: Any, label: str) -> Any:
    links = page.locator(scripts.NAV_LINKS)
    labels = [_link_label(t) for t in links.all_inner_texts()]
    if label not in labels:
        raise HyperFusionError(f"no navigation link reads {label!r}: {labels}")
    return links.nth(labels.index(label))


def switch_page(page: Any, label: str) -> tuple[float, str]:
    """Click a navigation link: the milliseconds to the new page drawn, and its
    title."""
    page.evaluate(scripts.ARM_SWITCH)
    _link(page, label).click()
    ms = _wait_timing(page)
    return ms, str(page.evaluate(scripts.SWITCHED_TITLE))


def page_switch_times(
    session: Session, rounds: int, reading_s: float = 0.0
) -> dict[str, list[float]]:
    """After ``reading_s`` without input, visit every page through its link,
    ``rounds`` times around (the first link last, so a round ends where it began):
    milliseconds per page title, first visits first."""
    page = session.page
    page.wait_for_timeout(reading_s * 1000)
    labels = nav_labels(page)
    if len(labels) < 2:
        raise HyperFusionError(f"fewer than two navigation links found: {labels}")
    times: dict[str, list[float]] = {}
    for _ in range(rounds):
        for label in [*labels[1:], labels[0]]:
            if label == page.evaluate(scripts.TITLE):
                continue
            ms, title = switch_page(page, label)
            times.setdefault(title, []).append(ms)
    return times


def scrub_drags(session: Session, drags: int) -> list[dict[str, Any]]:
    """On the What-if page, ``drags`` drags of the scrubbing slider across its
    rail and back, one pointer move per slider step each way; per drag the
    page's counts and frame times, and the websocket messages sent meanwhile."""
    page = session.page
    if page.evaluate(scripts.TITLE) != WHAT_IF:
        switch_page(page, WHAT_IF)
    page.wait_for_function(scripts.HAS_SCRUBBER, timeout=STEP_MS)
    steps = int(page.evaluate(scripts.SLIDER_STEPS))
    results = []
    for _ in range(drags):
        page.wait_for_timeout(300)  # let anything pending go out first
        sent = len(session.sent)
        result = page.evaluate(scripts.SCRUB, 2 * steps)
        page.wait_for_timeout(300)  # a message the drag caused would be out now
        results.append({**result, "steps": steps, "sent": len(session.sent) - sent})
    return results


def concurrent_edit_times(
    browser: Any, server: Server, sessions: int, rounds: int
) -> tuple[list[float], list[Session]]:
    """``sessions`` sessions edit the age at the same moment, ``rounds`` times
    (after :data:`WARMUP_EDITS` untimed rounds): every edit's milliseconds, and
    the sessions, still open."""
    opened = [open_session(browser, server.url) for _ in range(sessions)]
    boxes = [_age_box(s.page) for s in opened]
    plans = [
        _edit_values(float(box.input_value()) + k, rounds + WARMUP_EDITS)
        for k, box in enumerate(boxes)
    ]
    times = []
    for r in range(rounds + WARMUP_EDITS):
        for box, plan in zip(boxes, plans, strict=True):
            box.fill(str(plan[r]))
        for s in opened:
            s.page.evaluate(scripts.ARM_EDIT)
        for box in boxes:
            box.press("Enter")
        measured = [_wait_timing(s.page) for s in opened]
        if r >= WARMUP_EDITS:
            times.extend(measured)
    return times, opened


__all__ = [
    "Session",
    "cold_start_s",
    "concurrent_edit_times",
    "edit_times",
    "nav_labels",
    "open_session",
    "page_switch_times",
    "scrub_drags",
    "switch_page",
]
