"""The floor under the Patient page's edit latency: Streamlit's own fragment rerun.

Serves a minimal app (one fragment: a number input labelled like the Patient page's
age and one metric) and times edits in Chromium with the benchmark's own in-page
timing (``hyperfusion.bench_browser``): from the Enter key to the second animation
frame after the script went idle. Whatever the app draws, an edit cannot reach the
screen faster than this on the same machine.

    python scripts/edit_latency_floor.py [--edits 25]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hyperfusion.bench_browser import (  # noqa: E402
    BrowserConfig,
    _launch,
    percentile,
    runs,
    server,
)

FLOOR_APP = f'''
import streamlit as st

st.title("Floor")


@st.fragment
def record():
    st.session_state.setdefault("age", 60)
    st.number_input(
        "{runs.AGE_LABEL}", key="age_w", value=st.session_state["age"],
        on_change=lambda: st.session_state.update(age=st.session_state["age_w"]),
    )
    st.metric("Value", f"{{st.session_state['age']:.1f}}")


record()
'''


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edits", type=int, default=25)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="hf-floor-") as tmp:
        app = Path(tmp) / "floor_app.py"
        app.write_text(FLOOR_APP)
        with mock.patch.object(server, "APP_SCRIPT", app), sync_playwright() as pw:
            browser = _launch(pw, BrowserConfig())
            try:
                with server.running_server() as srv:
                    _, session = runs.cold_start_s(browser, srv)
                    edits, _ = runs.edit_times(session, args.edits)
            finally:
                browser.close()
    print(
        f"floor: edit -> screen p50 {percentile(edits, 50):.0f} ms, "
        f"p95 {percentile(edits, 95):.0f} ms, min {min(edits):.0f} ms "
        f"({len(edits)} edits)"
    )


if __name__ == "__main__":
    main()
