"""Fixtures and helpers for the browser tests.

A real ``streamlit run app.py`` server (its own process group, killed at teardown)
and Debian's chromium driven by Playwright. Playwright never downloads a browser
here: without ``/usr/bin/chromium`` every browser test is skipped (``make test``
installs it, so CI runs them).

The app navigates with ``st.navigation``: the sidebar links read "Patient" (the
default page, at the root URL) and then the titles of ``pages/``. A tab from the
``page`` fixture decodes the websocket's messages with Streamlit's own protobufs
(:class:`ScriptRuns`): a rerun has ended when its ``script_finished`` message
arrived, which also holds for a fragment's rerun (quick enough, it may never show
``data-test-script-state="running"``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperfusion.bench_browser import CHROMIUM_ARGS as BENCH_CHROMIUM_ARGS
from hyperfusion.bench_browser.server import free_port, healthy
from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = list(BENCH_CHROMIUM_ARGS)  # one list for the tests and the bench
VIEWPORT = {"width": 1600, "height": 1000}
HEALTH_TIMEOUT_S = 60.0
# The CPU is shared (2 cores, sometimes a training job beside us): the first paint
# imports torch and loads the models, which took up to ~30 s here.
FIRST_PAINT_MS = 120_000
RERUN_MS = 120_000
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"

APP = '[data-testid="stApp"]'
NAV_LINKS = '[data-testid="stSidebarNav"] a'
EXCEPTION = '[data-testid="stException"]'
ERROR = '[data-testid="stAlertContentError"]'
_STATE = f"document.querySelector('{APP}')?.getAttribute('data-test-script-state')"

# Arms a MutationObserver on the app's script state; window.__hfRan turns true
# once a rerun has been seen running (the old value of a change is "running").
_ARM = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__hfRan = false;
  if (window.__hfObserver) window.__hfObserver.disconnect();
  window.__hfObserver = new MutationObserver((records) => {
    for (const r of records) {
      if (r.oldValue === 'running'
          || app.getAttribute('data-test-script-state') === 'running') {
        window.__hfRan = true;
      }
    }
  });
  window.__hfObserver.observe(app, {
    attributes: true, attributeOldValue: true,
    attributeFilter: ['data-test-script-state'],
  });
}"""
_RERUN_DONE = f"() => window.__hfRan === true && {_STATE} === 'notRunning'"

# Everything drawn: the script is idle, no spinner, no stale (greyed-out) element,
# no skeleton (a session's first plotly chart shows one while plotly's code loads,
# after the script went idle), every image loaded and every plotly chart drawn.
_RENDERED = f"""() => {{
  if ({_STATE} !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stSpinner"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
  if (document.querySelector('[data-testid="stMain"] [data-testid="stSkeleton"]')) {{
    return false;
  }}
  for (const img of document.querySelectorAll('[data-testid="stMain"] img')) {{
    if (!img.complete) return false;
  }}
  for (const el of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {{
    if (!el.querySelector('.main-svg')) return false;
  }}
  return true;
}}"""


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, or a clean skip when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
def app_url(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of ``streamlit run app.py`` on a free local port, healthy.

    The server runs in its own process group, which is killed at teardown.
    """
    port = free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    streamlit = REPO_ROOT / ".venv" / "bin" / "streamlit"
    command = [
        str(streamlit) if streamlit.exists() else "streamlit",
        "run",
        "app.py",
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while not healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited early:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit not healthy after {HEALTH_TIMEOUT_S:.0f} s:\n"
                    f"{log_path.read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield url
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM the server's process group, then SIGKILL whatever is left."""
    for sig, wait_s in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Any]:
    """Playwright's chromium: Debian's binary, headless, no network extras."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh browser context (so a fresh Streamlit session) on the Patient page,
    at 1600x1000, after its first run has rendered; its script runs are watched
    (:func:`watch_scripts`)."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(RERUN_MS)
    watch_scripts(tab)
    try:
        tab.goto(app_url, wait_until="domcontentloaded")
        tab.wait_for_selector('[data-testid="stMetric"]', timeout=FIRST_PAINT_MS)
        wait_rendered(tab, FIRST_PAINT_MS)
        yield tab
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where page screenshots go: docs/screenshots only with HF_UPDATE_SCREENSHOTS=1,
    a temporary folder otherwise (tests never write into the repository)."""
    if os.environ.get("HF_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


# Helpers ----------------------------------------------------------------------------


class ScriptRuns:
    """What a tab's Streamlit session says over its websocket: how many script runs
    (whole or fragment) have finished, and, while ``recording``, every message."""

    def __init__(self) -> None:
        self.finished = 0
        self.recording = False
        self.messages: list[Any] = []

    def on_frame(self, payload: bytes | str) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        if self.recording:
            self.messages.append(msg)
        early = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
        if msg.HasField("script_finished") and msg.script_finished != early:
            self.finished += 1

    @contextlib.contextmanager
    def record(self) -> Iterator[list[Any]]:
        """The messages received inside the block."""
        self.messages, self.recording = [], True
        try:
            yield self.messages
        finally:
            self.recording = False


def watch_scripts(page: Any) -> ScriptRuns:
    """Decode a tab's websocket messages from now on (call it before ``goto``)."""
    runs = ScriptRuns()
    page.on("websocket", lambda ws: ws.on("framereceived", runs.on_frame))
    page._hf_runs = runs  # read by rerun()
    return runs


def script_runs(page: Any) -> ScriptRuns | None:
    """The tab's :class:`ScriptRuns`, if :func:`watch_scripts` was called."""
    return getattr(page, "_hf_runs", None)


# What is still pending, for the message of a timed-out wait.
_PENDING = f"""() => ({{
  url: location.href,
  scriptState: {_STATE},
  rerunSeen: window.__hfRan,
  spinners: document.querySelectorAll('[data-testid="stSpinner"]').length,
  stale: Array.from(document.querySelectorAll('[data-stale="true"]'),
    (e) => e.getAttribute('data-testid')).slice(0, 5),
  skeletons: document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stSkeleton"]').length,
  images: Array.from(document.querySelectorAll('[data-testid="stMain"] img'))
    .filter((i) => !i.complete).length,
  charts: Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    .filter((c) => !c.querySelector('.main-svg')).length,
}})"""


def _wait(page: Any, condition: str, timeout_ms: int) -> None:
    """``page.wait_for_function`` whose timeout says what was still pending."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(condition, timeout=timeout_ms)
    except PlaywrightTimeout:
        pending = page.evaluate(_PENDING)
        raise AssertionError(
            f"page not ready after {timeout_ms / 1000:.0f} s: {pending}"
        ) from None


def wait_rendered(page: Any, timeout_ms: int = RERUN_MS) -> None:
    """Wait until the script is idle and every element, image and chart is drawn."""
    _wait(page, _RENDERED, timeout_ms)


@contextlib.contextmanager
def rerun(page: Any, timeout_ms: int = RERUN_MS) -> Iterator[None]:
    """Wait, after the body's action, for the rerun it triggers to finish.

    Waiting for ``notRunning`` alone is racy (it can return before the rerun
    starts). On a watched tab the wait ends once a new ``script_finished``
    message has arrived; otherwise a MutationObserver armed before the action
    records the ``running`` state, and the wait ends once it was seen and the
    script is idle again. Then everything must be drawn.
    """
    runs = script_runs(page)
    if runs is None:
        page.evaluate(_ARM)
        yield
        _wait(page, _RERUN_DONE, timeout_ms)
    else:
        before = runs.finished
        yield
        deadline = time.monotonic() + timeout_ms / 1000
        while runs.finished <= before:
            if time.monotonic() > deadline:
                pending = page.evaluate(_PENDING)
                raise AssertionError(f"no script run finished: {pending}")
            page.wait_for_timeout(20)  # Playwright delivers the frames meanwhile
    wait_rendered(page, timeout_ms)


def nav_links(page: Any) -> dict[str, Any]:
    """The sidebar's page links by their visible text."""
    links = page.locator(NAV_LINKS)
    return {link.inner_text().strip(): link for link in links.all()}


def go_to(page: Any, label: str) -> None:
    """Visit a page through its sidebar link (same Streamlit session) and wait
    until it has rendered."""
    link = nav_links(page)[label]
    with rerun(page):
        link.click()


def exceptions(page: Any) -> list[str]:
    """The text of every exception element on the page."""
    return [e.inner_text() for e in page.locator(EXCEPTION).all()]


def errors(page: Any) -> list[str]:
    """The text of every error box (st.error) on the page."""
    return [e.inner_text().strip() for e in page.locator(ERROR).all()]


def full_page_screenshot(page: Any, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside ``stMain``, so the
    viewport is stretched to its content for the shot, then restored."""
    height = int(
        page.evaluate(
            "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight"
        )
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, 600)})
    try:
        page.wait_for_timeout(800)  # charts relayout to the new size
        wait_rendered(page)
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        page.set_viewport_size(VIEWPORT)
