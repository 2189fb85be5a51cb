"""The app as a user meets it, timed in Chromium: ``python -m hyperfusion bench
--browser``.

Starts ``streamlit run app.py`` itself (127.0.0.1, a free port, its own process
group, killed at the end) and drives Debian's Chromium through Playwright (never a
downloaded browser). It measures, timing everything in the page (:mod:`.scripts`):

- ``cold_start_s``: from starting the server to the first prediction drawn in a new
  session, median of ``cold_starts`` fresh servers;
- ``edit_p50_ms`` / ``edit_p95_ms``: from pressing Enter in the Age input to the
  second animation frame after the script went idle, over ``edits`` edits;
- ``page_switch_<page>_ms`` (median per page), ``page_switch_p50_ms``,
  ``page_switch_max_ms`` and ``page_switch_first_visit_max_ms`` (the slowest first
  visit of a page): from clicking a navigation link to the page drawn and the script
  idle, every page ``page_rounds`` times, after ``reading_s`` without input (a user
  reading the edited page: the app's background warm-up and the browser's code
  prefetch use such pauses; ``reading_s=0`` is a user who never pauses);
- ``scrub_fps_ratio`` (frames showing a new figure per second of drag: a rate),
  ``scrub_frame_p50_ms`` / ``scrub_frame_p95_ms`` (time between them): dragging the
  What-if page's scrubbing slider, one pointer move per animation frame; the
  websocket messages sent and the reruns seen meanwhile are in ``checks`` (both
  should be 0);
- ``concurrent_edit_p50_ms`` / ``concurrent_edit_p95_ms``: ``sessions`` sessions
  editing at the same moment, ``edits`` rounds;
- ``server_rss_mib`` / ``server_peak_rss_mib``: the server's resident memory
  (``VmRSS`` / ``VmHWM``) with those sessions open;
- ``load<N>_...`` for each ``N`` of ``load_sessions`` (:mod:`.load`): N sessions on
  their own patients editing, switching to Explain and back at once on a fresh
  server: ``load<N>_edit_p50_ms`` / ``_p95_ms``, ``load<N>_switch_p50_ms`` /
  ``_p95_ms``, ``load<N>_open_s``, ``load<N>_errors_count``,
  ``load<N>_cross_session_count``, ``load<N>_wrong_result_count`` and
  ``load<N>_server_rss_mib`` / ``load<N>_server_peak_rss_mib`` (the server's
  process tree).
"""

from __future__ import annotations

import os
import platform
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hyperfusion.bench_browser import runs
from hyperfusion.bench_browser.server import process_memory_mib, running_server
from hyperfusion.errors import HyperFusionError

CHROMIUM = "/usr/bin/chromium"
# The flags of tests/browser/conftest.py: headless, no sandbox (containers), no GPU,
# nothing that reaches the network on its own.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@dataclass(frozen=True)
class BrowserConfig:
    """How much the browser run does (see the module docstring)."""

    edits: int = 20
    sessions: int = 6
    page_rounds: int = 3
    reading_s: float = 3.0
    cold_starts: int = 3
    scrub_drags: int = 5
    chromium: str = CHROMIUM
    load_sessions: tuple[int, ...] = (8, 30)
    load_edits: int = 5


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (linear interpolation), NaN when empty.

    >>> percentile([10.0, 20.0, 30.0, 40.0], 50), percentile([5.0], 95)
    (25.0, 5.0)
    """
    return float(np.percentile(values, q)) if len(values) else float("nan")


def _slug(title: str) -> str:
    """``"What if"`` → ``"what_if"``."""
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")


def _launch(pw: Any, config: BrowserConfig) -> Any:
    if not Path(config.chromium).exists():
        raise HyperFusionError(
            f"{config.chromium} is missing: install Debian's chromium "
            "(apt-get install chromium, as make test does)"
        )
    return pw.chromium.launch(
        executable_path=config.chromium, args=list(CHROMIUM_ARGS), headless=True
    )


def _scrub_figures(drags: list[dict[str, Any]]) -> dict[str, float]:
    """Frame rate and frame times of the drags (stamps: frames with a new figure)."""
    rates, gaps = [], []
    for drag in drags:
        stamps = drag["stamps"]
        if len(stamps) >= 2:
            rates.append((len(stamps) - 1) / ((stamps[-1] - stamps[0]) / 1000))
            gaps.extend(np.diff(stamps).tolist())
    return {
        "scrub_fps_ratio": statistics.median(rates) if rates else float("nan"),
        "scrub_frame_p50_ms": percentile(gaps, 50),
        "scrub_frame_p95_ms": percentile(gaps, 95),
    }


def _summary(samples: dict[str, Any], memory: dict[str, float]) -> dict[str, float]:
    """The flat figures of a run from its samples."""
    switches = samples["page_switch_ms"]
    every_switch = [ms for values in switches.values() for ms in values]
    figures = {
        "cold_start_s": statistics.median(samples["cold_start_s"]),
        "edit_p50_ms": percentile(samples["edit_ms"], 50),
        "edit_p95_ms": percentile(samples["edit_ms"], 95),
        "page_switch_p50_ms": percentile(every_switch, 50),
        "page_switch_max_ms": max(every_switch),
        "page_switch_first_visit_max_ms": max(v[0] for v in switches.values()),
        **{
            f"page_switch_{_slug(title)}_ms": statistics.median(values)
            for title, values in switches.items()
        },
        **_scrub_figures(samples["scrub_drags"]),
        "concurrent_edit_p50_ms": percentile(samples["concurrent_edit_ms"], 50),
        "concurrent_edit_p95_ms": percentile(samples["concurrent_edit_ms"], 95),
        "server_rss_mib": memory.get("rss_mib", float("nan")),
        "server_peak_rss_mib": memory.get("peak_rss_mib", float("nan")),
    }
    return figures


def _measure(browser: Any, config: BrowserConfig) -> tuple[dict, dict]:
    """Every stage on fresh servers: the samples and the server's memory."""
    colds = []
    for _ in range(config.cold_starts - 1):
        with running_server() as server:
            seconds, session = runs.cold_start_s(browser, server)
            colds.append(seconds)
            session.context.close()
    with running_server() as server:
        seconds, session = runs.cold_start_s(browser, server)
        colds.append(seconds)
        edits, changed = runs.edit_times(session, config.edits)
        switches = runs.page_switch_times(session, config.page_rounds, config.reading_s)
        drags = runs.scrub_drags(session, config.scrub_drags)
        session.context.close()
        together, opened = runs.concurrent_edit_times(
            browser, server, config.sessions, config.edits
        )
        memory = process_memory_mib(server.pid)
        for s in opened:
            s.context.close()
    samples = {
        "cold_start_s": colds,
        "edit_ms": edits,
        "page_switch_ms": switches,
        "scrub_drags": drags,
        "concurrent_edit_ms": together,
    }
    checks = {
        "edits_changing_the_metrics": changed,
        "scrub_messages_sent": sum(d["sent"] for d in drags),
        "scrub_reruns": sum(d["reruns"] for d in drags),
        "scrub_slider_changes": sum(d["changes"] for d in drags),
        "scrub_frames_applied": sum(d["applied"] for d in drags),
    }
    return samples, {"memory": memory, "checks": checks}


def run_browser(config: BrowserConfig) -> dict[str, Any]:
    """The whole browser run: ``{"figures", "samples", "checks", "config",
    "environment"}``; raises :class:`HyperFusionError` when Playwright or Chromium
    is missing or the app cannot be served."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise HyperFusionError(
            "the browser benchmark needs Playwright: pip install -r "
            "requirements-test.txt (it drives Debian's chromium, never downloads one)"
        ) from exc
    from hyperfusion.bench_browser.load import run_load

    load_before = os.getloadavg()
    with sync_playwright() as pw:
        browser = _launch(pw, config)
        try:
            samples, extra = _measure(browser, config)
            loads = {
                str(n): run_load(browser, n, config.load_edits)
                for n in config.load_sessions
            }
            version = browser.version
        finally:
            browser.close()
    environment = {
        "chromium": version,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
    }
    figures = _summary(samples, extra["memory"])
    for block in loads.values():
        figures.update(block["figures"])
    return {
        "figures": figures,
        "samples": samples,
        "checks": extra["checks"],
        "load": loads,
        "config": asdict(config),
        "environment": environment,
    }


def format_browser_table(block: dict[str, Any]) -> str:
    """The browser figures as aligned lines."""
    env = block["environment"]
    load = ", ".join(f"{v:.2f}" for v in env["load_average_before"])
    lines = [f"Chromium {env['chromium']} | load average before: {load}"]
    for name, value in block["figures"].items():
        shown = f"{value:>12.0f}" if name.endswith("_count") else f"{value:>12.1f}"
        lines.append(f"{name:<34}{shown}")
    for name, value in block["checks"].items():
        lines.append(f"{'check ' + name:<34}{value:>12}")
    for n, run in block.get("load", {}).items():
        checks = run["checks"]
        load = ", ".join(f"{v:.2f}" for v in checks["load_average_before"])
        lines.append(
            f"load {n}: {checks['results_checked']} results checked, "
            f"{checks['indistinct_pairs']} indistinct pairs, weights unchanged: "
            f"{checks['weights_unchanged']}, load average before: {load}"
        )
        lines += [f"  {e}" for e in checks["errors"][:5]]
    return "\n".join(lines)


__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "BrowserConfig",
    "format_browser_table",
    "percentile",
    "run_browser",
]
