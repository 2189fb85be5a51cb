"""The JavaScript the browser benchmark runs in the page: every time is taken there,
with ``performance.now()`` and event time stamps, never across the Playwright wire.

- :data:`ARM_EDIT` / :data:`EDIT_DONE`: from the Enter key press in an input to the
  second animation frame after the app's ``data-test-script-state`` went from
  ``running`` back to ``notRunning`` (a MutationObserver, no polling);
- :data:`ARM_SWITCH` / :data:`SWITCH_DONE`: from the click on a navigation link to
  the second animation frame after the new page's content is drawn (another title,
  which proves the run, the script idle, no spinner, stale element or skeleton,
  every image loaded and every plotly chart drawn);
- :data:`SCRUB`: a drag of the scrubbing figure's slider, one pointer move per
  animation frame, counting the frames in which plotly applied a new frame;
- for the loaded run: :data:`SHOWN` / :data:`MATCHES` (the Patient page's drawn
  prediction), :data:`MAP_DATA` (the Explain page's figures as data),
  :data:`SESSION_ERRORS` and :data:`PENDING` (what a timed-out wait still had).
"""

from __future__ import annotations

APP = '[data-testid="stApp"]'
# Navigation links, whichever navigation the app uses: the sidebar of a pages/
# folder or of st.navigation, or st.navigation's top bar.
NAV_LINKS = (
    '[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"], '
    '[data-testid="stTopNavLink"], [data-testid="stTopNavDropdownLink"]'
)

# Everything drawn: the script idle, no spinner, no stale (greyed-out) element, no
# skeleton (an element whose code is still loading: the first plotly chart of a
# session shows one while plotly's chunk loads, after the script went idle), every
# image loaded and every plotly chart drawn.
_RENDERED = """
  const app = document.querySelector('[data-testid="stApp"]');
  const rendered = () => {
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') {
      return false;
    }
    if (document.querySelector('[data-testid="stSpinner"]')) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    if (document.querySelector('[data-testid="stMain"] [data-testid="stSkeleton"]')) {
      return false;
    }
    for (const img of document.querySelectorAll('[data-testid="stMain"] img')) {
      if (!img.complete) return false;
    }
    for (const el of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
      if (!el.querySelector('.main-svg')) return false;
    }
    return true;
  };
  const title = () =>
    document.querySelector('[data-testid="stMain"] h1')?.innerText.trim() || '';
  // One listener per event type, in the capture phase (the previous one goes).
  const listen = (type, handler) => {
    window.__hfListeners = window.__hfListeners || {};
    const old = window.__hfListeners[type];
    if (old) document.removeEventListener(type, old, true);
    window.__hfListeners[type] = handler;
    document.addEventListener(type, handler, true);
  };
"""

RENDERED = f"() => {{ {_RENDERED} return rendered() && title() !== ''; }}"
TITLE = f"() => {{ {_RENDERED} return title(); }}"

# Marks ``watch.ran`` once a run of the script was seen after t0 (the old value of a
# change is "running", or the state is: two changes can arrive in one batch), and
# calls ``onIdle()`` at every change to idle after that.
_WATCH_RUN = """
  const watch = window.__hfTiming;
  const observer = new MutationObserver((records) => {
    if (watch.t0 === null) return;
    const state = app.getAttribute('data-test-script-state');
    for (const r of records) {
      if (r.oldValue === 'running' || state === 'running') watch.ran = true;
    }
    if (watch.ran && state === 'notRunning') onIdle();
  });
  observer.observe(app, {
    attributes: true, attributeOldValue: true,
    attributeFilter: ['data-test-script-state'],
  });
"""

# An edit is done at the second frame after the script went idle with a run seen,
# or, when a fragment run was too short for its "running" state to be observed,
# after the shown metrics changed with the script idle.
ARM_EDIT = f"""() => {{
  {_RENDERED}
  const metrics = () => Array.from(
    document.querySelectorAll('[data-testid="stMetricValue"]'),
    (m) => m.innerText).join(' | ');
  const shownBefore = metrics();
  window.__hfTiming = {{t0: null, t1: null, ran: false, done: false}};
  const onIdle = () => {{
    if (watch.done) return;
    watch.done = true;
    observer.disconnect();
    requestAnimationFrame(() => requestAnimationFrame(() => {{
      watch.t1 = performance.now();
    }}));
  }};
  {_WATCH_RUN}
  const poll = () => {{
    if (watch.done) return;
    const idle = app.getAttribute('data-test-script-state') === 'notRunning';
    if (idle && metrics() !== shownBefore) {{ onIdle(); return; }}
    requestAnimationFrame(poll);
  }};
  listen('keydown', (event) => {{
    if (event.key === 'Enter' && watch.t0 === null) {{
      watch.t0 = event.timeStamp;
      requestAnimationFrame(poll);
    }}
  }});
}}"""

ARM_SWITCH = f"""() => {{
  {_RENDERED}
  const before = title();
  window.__hfTiming = {{t0: null, t1: null, ran: false, title: null}};
  const onIdle = () => {{}};
  {_WATCH_RUN}
  // A new title (not the empty page between two) is the new page's run: on a busy
  // browser a quick run's "running" state can be batched away, so the observer
  // need not have seen it.
  const poll = () => {{
    if (rendered() && title() !== '' && title() !== before) {{
      observer.disconnect();
      watch.title = title();
      requestAnimationFrame(() => requestAnimationFrame(() => {{
        watch.t1 = performance.now();
      }}));
      return;
    }}
    requestAnimationFrame(poll);
  }};
  listen('click', (event) => {{
    if (watch.t0 !== null) return;
    watch.t0 = event.timeStamp;
    requestAnimationFrame(poll);
  }});
}}"""

# The measured milliseconds once done, else null.
TIMING_DONE = """() => {
  const w = window.__hfTiming;
  return w && w.t1 !== null ? w.t1 - w.t0 : null;
}"""
SWITCHED_TITLE = "() => window.__hfTiming.title"

# The scrubbing figure: the plotly chart with a slider and frames.
_SCRUB_CHART = """
  const gd = [...document.querySelectorAll('.js-plotly-plot')].find((g) =>
    g.layout && (g.layout.sliders || []).length
    && ((g._transitionData || {})._frames || []).length);
"""

HAS_SCRUBBER = f"() => {{ {_SCRUB_CHART} return Boolean(gd); }}"

SLIDER_STEPS = f"() => {{ {_SCRUB_CHART} return gd.layout.sliders[0].steps.length; }}"

SLIDER_LABEL = f"""() => {{
  {_SCRUB_CHART}
  return gd.querySelector('.slider-container .slider-label')?.textContent || '';
}}"""

# Drag the slider across its rail and back, ``moves`` pointer moves, one per
# animation frame (mousedown on the rail, mousemove and mouseup on the plot, as a
# mouse does). Returns the count of slider changes and applied frames, the times
# of the animation frames that showed a new figure, and the reruns seen.
SCRUB = f"""async (moves) => {{
  {_SCRUB_CHART}
  const app = document.querySelector('[data-testid="stApp"]');
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  gd.scrollIntoView({{block: 'center'}});
  await frame(); await frame();
  const touch = gd.querySelector('.slider-rail-touch-rect');
  const rail = touch.getBoundingClientRect();
  const y = rail.top + rail.height / 2;
  const fire = (type, x, target) => target.dispatchEvent(new MouseEvent(type, {{
    clientX: x, clientY: y, bubbles: true, cancelable: true, view: window,
    buttons: 1,
  }}));
  const xs = Array.from({{length: moves}}, (_, i) => {{
    const f = i / Math.max(1, moves - 1), t = f < 0.5 ? 2 * f : 2 - 2 * f;
    return rail.left + 8 + t * (rail.width - 16);
  }});
  let applied = 0, changes = 0, reruns = 0;
  const count = () => applied++, change = () => changes++;
  gd.on('plotly_animated', count);
  gd.on('plotly_sliderchange', change);
  const states = new MutationObserver(() => {{
    if (app.getAttribute('data-test-script-state') === 'running') reruns++;
  }});
  states.observe(app, {{
    attributes: true, attributeFilter: ['data-test-script-state'],
  }});
  const stamps = [];
  let seen = applied;
  const start = performance.now();
  fire('mousedown', xs[0], touch);
  for (let i = 1; i <= xs.length; i++) {{
    const ts = await frame();
    if (applied !== seen) {{ stamps.push(ts); seen = applied; }}
    if (i < xs.length) fire('mousemove', xs[i], gd);
  }}
  fire('mouseup', xs[xs.length - 1], gd);
  const ts = await frame();
  if (applied !== seen) stamps.push(ts);
  const end = performance.now();
  states.disconnect();
  gd.removeListener('plotly_animated', count);
  gd.removeListener('plotly_sliderchange', change);
  return {{applied, changes, reruns, stamps, elapsed_ms: end - start,
    state: app.getAttribute('data-test-script-state')}};
}}"""

# The loaded run (:mod:`.load`) --------------------------------------------------

SESSION_ERRORS = """() => [
  ...Array.from(document.querySelectorAll('[data-testid="stException"]'),
    (e) => 'exception: ' + e.innerText.slice(0, 200)),
  ...Array.from(document.querySelectorAll('[data-testid="stAlertContentError"]'),
    (e) => 'error box: ' + e.innerText.slice(0, 200)),
]"""
# The Patient page's drawn CN / MCI / AD bars (``hyperfusion.viz.html_bars``): the
# values their element carries, in class order; null when none is drawn.
_DRAWN_PROBABILITIES = """
  const drawnProbabilities = () => {
    const bars = document.querySelector('.hf-probabilities[data-probabilities]');
    if (!bars || bars.dataset.classes !== 'CN,MCI,AD') return null;
    return bars.dataset.probabilities.split(',').map(Number);
  };
"""
PROBABILITIES = f"() => {{ {_DRAWN_PROBABILITIES} return drawnProbabilities(); }}"
# What the Patient page shows: the drawn bars and the brain-age metric.
_SHOWN = f"""
  {_DRAWN_PROBABILITIES}
  const shown = () => {{
    const probs = drawnProbabilities();
    let age = null;
    for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {{
      const label = m.querySelector('[data-testid="stMetricLabel"]');
      if (label && label.innerText.trim() === 'Brain age') {{
        age = parseFloat(m.querySelector('[data-testid="stMetricValue"]').innerText);
      }}
    }}
    return {{probs, age}};
  }};
"""
SHOWN = f"() => {{ {_SHOWN} return shown(); }}"
MATCHES = f"""(want) => {{
  {_SHOWN}
  const s = shown();
  if (!s.probs || s.age === null || s.probs.length !== want.probs.length) return false;
  const near = s.probs.every((p, i) => Math.abs(p - want.probs[i]) <= want.tol);
  return near && Math.abs(s.age - want.age) <= want.age_tol;
}}"""
# Why a wait ran out: the script's state, the title, what was still pending.
PENDING = """() => ({
  state: document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state'),
  title: document.querySelector('[data-testid="stMain"] h1')?.innerText.trim(),
  ran: window.__hfTiming ? window.__hfTiming.ran : null,
  started: window.__hfTiming ? window.__hfTiming.t0 !== null : null,
  spinners: document.querySelectorAll('[data-testid="stSpinner"]').length,
  stale: document.querySelectorAll('[data-stale="true"]').length,
  skeletons: document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stSkeleton"]').length,
  undrawn: Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    .filter((c) => !c.querySelector('.main-svg')).length,
})"""
# The Explain page's figures as data, one line per figure in document order: a
# slice viewer's PNGs (``hyperfusion.viz.slices``) and the EHR attribution's drawn
# values (``hyperfusion.viz.charts.attribution_bars_html``), both HTML.
MAP_DATA = """() => Array.from(
  document.querySelectorAll(
    '[data-testid="stMain"] .hf-slices, [data-testid="stMain"] .hf-attribution'),
  (el) => el.classList.contains('hf-slices')
    ? Array.from(el.querySelectorAll('img'), (img) => img.getAttribute('src') || '')
      .join('|')
    : el.getAttribute('data-values') || '')
  .join('\\n')"""
