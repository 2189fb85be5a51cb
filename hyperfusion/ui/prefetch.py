"""The browser code of plotly charts and data tables, loaded while the user reads.

Streamlit loads an element's code when the first such element appears: plotly's
chart is one 4.7 MB module, the data table (glide-data-grid with Arrow) another
1.2 MB. The Patient page has neither, so the first page with a chart or a table
paid for them on the spot: in Chromium on this 2-core CPU the first visit of the
Hypernetwork page took 1.9 s instead of 0.4 s, almost all of it evaluating plotly's
module (a ``<link rel="modulepreload">``, which fetches and compiles only, saved
nothing). :func:`browser_code` adds, once per browser session, an invisible
component whose script imports those modules into the app's page once the user has
neither typed nor clicked for :data:`QUIET_MS` and no script runs, so that the
second it costs falls in reading time; the elements' own imports then find them
loaded. A module that is not found is skipped.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

_DONE = "browser_code_loaded"
QUIET_MS = 1500  # no key or pointer input for this long: the user is reading
MODULES = ("PlotlyChart", "DataFrame")  # Streamlit's static/js/<name>.<hash>.js

# Runs in the app's page (not the component's frame, which the next full run
# removes): waits for a quiet moment, then imports the modules once.
_LOADER = """(() => {
  if (window.__hfCodeLoader) return;
  window.__hfCodeLoader = true;
  const modules = %(modules)s, events = ['keydown', 'pointerdown', 'wheel'];
  let last = performance.now();
  const touched = () => { last = performance.now(); };
  for (const type of events) {
    document.addEventListener(type, touched, {capture: true, passive: true});
  }
  const index = document.querySelector('script[src*="/static/js/index."]');
  const poll = setInterval(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const idle = app && app.getAttribute('data-test-script-state') === 'notRunning';
    if (!index || !idle || performance.now() - last < %(quiet)d) return;
    clearInterval(poll);
    for (const type of events) document.removeEventListener(type, touched, true);
    for (const m of modules) import(new URL(m, index.src).href).catch(() => {});
  }, 250);
})();"""
_SCRIPT = """<script>
const loader = window.parent.document.createElement('script');
loader.type = 'module';
loader.textContent = %(loader)s;
window.parent.document.head.appendChild(loader);
</script>"""


@lru_cache(maxsize=1)
def module_files() -> tuple[str, ...]:
    """The file names of :data:`MODULES` in Streamlit's static files (those found)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = (sorted(folder.glob(f"{name}.*.js")) for name in MODULES)
    return tuple(files[0].name for files in found if files)


def browser_code() -> None:
    """Once per session: the invisible component that loads :data:`MODULES`."""
    files = module_files()
    if not files or st.session_state.get(_DONE):
        return
    st.session_state[_DONE] = True
    loader = _LOADER % {"modules": json.dumps(list(files)), "quiet": QUIET_MS}
    components.html(_SCRIPT % {"loader": json.dumps(loader)}, height=0)


__all__ = ["MODULES", "QUIET_MS", "browser_code", "module_files"]
