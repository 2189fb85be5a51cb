"""``python -m hyperfusion bench --browser-only``, reduced (3 edits, 2 sessions, one
round of pages, one cold start, one drag, a loaded run of 2 sessions with one edit):
the JSON has every figure, each a positive finite number named with its unit (a
count: zero or more; no error or cross-session result), and the checks the run
makes hold. No wall-clock threshold: times depend on the machine."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from hyperfusion.bench import SCHEMA, SCHEMA_VERSION
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

EDITS, SESSIONS = 3, 2
FIGURES = {
    "cold_start_s",
    "edit_p50_ms",
    "edit_p95_ms",
    "page_switch_p50_ms",
    "page_switch_max_ms",
    "scrub_fps_ratio",
    "scrub_frame_p50_ms",
    "scrub_frame_p95_ms",
    "concurrent_edit_p50_ms",
    "concurrent_edit_p95_ms",
    "server_rss_mib",
    "server_peak_rss_mib",
}
# At least these pages are visited (their titles, as figure names).
PAGES = {"page_switch_patient_ms", "page_switch_what_if_ms"}
LOAD = {  # the loaded run of 2 sessions
    f"load2_{name}"
    for name in (
        "open_s",
        "edit_p50_ms",
        "edit_p95_ms",
        "switch_p50_ms",
        "switch_p95_ms",
        "errors_count",
        "cross_session_count",
        "wrong_result_count",
        "server_cpu_per_edit_ms",
        "client_cpu_per_edit_ms",
        "server_busy_ratio",
        "server_rss_mib",
        "server_peak_rss_mib",
    )
}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_reduced_browser_bench_reports_every_figure(
    chromium: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench.json"
    argv = [
        "--browser-only", "--json", str(out), "--chromium", str(chromium),
        "--edits", str(EDITS), "--sessions", str(SESSIONS), "--page-rounds", "1",
        "--cold-starts", "1", "--scrub-drags", "1",
        "--load-sessions", "2", "--load-edits", "1",
    ]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "hyperfusion", "bench", *argv],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert (report["schema"], report["version"]) == (SCHEMA, SCHEMA_VERSION)
    assert "timings" in report and not report["timings"]  # --browser-only

    block = report["browser"]
    figures = block["figures"]
    pages = {name for name in figures if name not in FIGURES | LOAD}
    assert set(figures) >= FIGURES | LOAD and pages >= PAGES, sorted(figures)
    assert all(n.startswith("page_switch_") and n.endswith("_ms") for n in pages)
    counts = {name: v for name, v in figures.items() if name.endswith("_count")}
    assert counts == dict.fromkeys(counts, 0), (counts, block["load"]["2"]["checks"])
    bad = {n: v for n, v in figures.items() if n not in counts and not _positive(v)}
    assert not bad, bad
    assert report["figures"] == figures  # the run's figures, by name

    samples = block["samples"]
    assert len(samples["edit_ms"]) == EDITS
    assert len(samples["concurrent_edit_ms"]) == EDITS * SESSIONS
    assert len(samples["cold_start_s"]) == 1
    assert figures["page_switch_max_ms"] >= figures["page_switch_p50_ms"]
    assert figures["edit_p95_ms"] >= figures["edit_p50_ms"]

    checks = block["checks"]
    assert checks["edits_changing_the_metrics"] == EDITS
    assert checks["scrub_messages_sent"] == 0 and checks["scrub_reruns"] == 0
    assert checks["scrub_frames_applied"] > 10
    assert block["config"]["sessions"] == SESSIONS
    assert block["config"]["load_sessions"] == [2]
    assert block["load"]["2"]["checks"]["results_checked"] == 2 * (1 + 1 + 1 + 1)
    assert block["environment"]["chromium"]

    table = proc.stdout
    assert all(name in table for name in figures)
