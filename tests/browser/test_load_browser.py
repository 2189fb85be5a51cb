"""A classroom, reduced: 3 Chromium sessions at once on one server, each on its own
patient (2 edits, a switch to Explain and back). Every result each session shows
is its own (the prediction against the engine, the Explain page against a
single-user run), nothing fails, and the figures are there. The full form (8 and
30 sessions) is part of ``python -m hyperfusion bench --browser``. No wall-clock
threshold: times depend on the machine."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hyperfusion.bench_browser import load

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

SESSIONS, EDITS = 3, 2


def test_three_sessions_at_once_each_see_only_their_own_patient(browser: Any) -> None:
    run = load.run_load(browser, SESSIONS, EDITS)
    figures, checks = run["figures"], run["checks"]
    assert checks["errors"] == [], checks["errors"]
    assert figures["load3_errors_count"] == 0
    assert figures["load3_cross_session_count"] == 0
    assert figures["load3_wrong_result_count"] == 0
    # Per session: the prediction when opened, after each edit and back from
    # Explain, and the Explain page; the patients can all be told apart.
    assert checks["results_checked"] == SESSIONS * (1 + EDITS + 1 + 1)
    assert checks["indistinct_pairs"] == 0
    assert checks["distinct_maps"] == SESSIONS
    assert len(run["samples"]["edit_ms"]) == SESSIONS * EDITS
    assert len(run["samples"]["switch_ms"]) == SESSIONS * 2
    for name, value in figures.items():
        assert name.startswith("load3_"), name
        assert math.isfinite(value) and value >= 0, (name, value)
    assert figures["load3_server_rss_mib"] > 100  # torch and the models at least
    assert figures["load3_edit_p95_ms"] >= figures["load3_edit_p50_ms"] > 0
