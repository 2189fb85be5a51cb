"""Background warm-up: what a page's first visit would compute, done while the user
reads the first page.

The Patient page needs only the two HyperFusion ensembles. The first visit of any
other page used to load and run the rest on the spot: the Fusion strategies page ten
more ensembles (checkpoints and image features), the Explain page the first map,
the What-if page plotly's first figures. Once a page is drawn, :func:`start` runs
:func:`warm_up` for its image in one daemon thread per (engine, image), through the
engine's public methods, one short step at a time, and each step only once no
script has run for :data:`QUIET_S` (the UI marks its runs with :func:`serving`): it
uses the time a user spends reading, never an edit's. (A lower OS priority was
tried first: a starved thread holding the GIL or the engine's lock held up the first
edits by up to 0.5 s.) What it computes lands in the caches the pages read; a
failure is logged and changes nothing.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from hyperfusion.tasks import AD, BRAIN_AGE, TASK_NAMES

LOG = logging.getLogger(__name__)
QUIET_S = 0.15  # a step starts only after this long without a script run
POLL_S = 0.05
ENABLED = True  # the test suite turns it off: its counts of model calls are exact
_started: set[tuple[int, str]] = set()
_started_lock = threading.Lock()
_serving = {"runs": 0, "last": 0.0}  # script runs in progress, when the last ended
_serving_lock = threading.Lock()


@contextlib.contextmanager
def serving() -> Iterator[None]:
    """Around a script run (or a section of one, nested freely): no warm-up step
    starts meanwhile, nor for :data:`QUIET_S` after."""
    with _serving_lock:
        _serving["runs"] += 1
    try:
        yield
    finally:
        with _serving_lock:
            _serving["runs"] -= 1
            _serving["last"] = time.monotonic()


def idle(quiet_s: float = QUIET_S) -> bool:
    """Whether no script runs now and none ended in the last ``quiet_s``."""
    with _serving_lock:
        runs, last = _serving["runs"], _serving["last"]
    return runs == 0 and time.monotonic() - last >= quiet_s


def wait_until_idle(quiet_s: float = QUIET_S) -> None:
    """Sleep until :func:`idle`."""
    while not idle(quiet_s):
        time.sleep(POLL_S)


def steps(engine: Any, image: Any, record: Mapping[str, object]) -> Iterator[str]:
    """Run the warm-up one step at a time, yielding what each step did."""
    for task in TASK_NAMES:
        for name in engine.model_names(task):
            engine.checkpoints(task, name)
            yield f"loaded {task}/{name}"
    for name in engine.model_names(AD):
        engine.predict(image, record, ad_model=name)
        yield f"image features of {AD.name}/{name}"
    for name in engine.model_names(BRAIN_AGE):
        engine.predict(image, record, brain_age_model=name)
        yield f"image features of {BRAIN_AGE.name}/{name}"
    # The map the Explain page and the Patient page's overlay open with.
    diagnosis = engine.predict(image, record).diagnosis
    engine.explain(image, record, diagnosis)
    yield f"default map of {diagnosis}"
    _figures(engine, image, record)
    yield "the what-if figures' first build"
    # As after the first models (hyperfusion.ui.cached.get_engine): long-lived
    # objects out of the garbage collector's full passes (~0.15 s per 400k).
    gc.freeze()
    yield "long-lived objects frozen"


def _figures(engine: Any, image: Any, record: Mapping[str, object]) -> None:
    """Build the What-if page's sweep and scrubbing figures once (and serialise
    them): plotly's first figure of a kind builds its template and validators,
    ~0.1-0.2 s each, on whichever page comes first."""
    import plotly.io as pio

    from hyperfusion.viz import whatif

    field = whatif.sweepable_fields()[0]
    current = record.get(field.name)
    values = whatif.scrub_values(field, current)
    df = engine.sweep(image, record, field.name, values)
    norms = engine.channel_norms_sweep(record, field.name, values)
    for fig in (
        whatif.sweep_figure(df, field, current),
        whatif.scrub_figure(df, norms, field, current),
    ):
        pio.to_json(fig, validate=False)


def warm_up(engine: Any, image: Any, record: Mapping[str, object]) -> int:
    """Every step of :func:`steps`; returns how many ran (a failing step ends the
    warm-up: the pages then compute what is left themselves)."""
    done, pending = 0, steps(engine, image, record)
    try:
        while True:
            wait_until_idle()
            what = next(pending, None)
            if what is None:
                return done
            LOG.debug("warm-up: %s", what)
            done += 1
    except Exception:  # the warm-up must never disturb the app
        LOG.warning("warm-up stopped after %d steps", done, exc_info=True)
    return done


def start(
    engine: Any,
    image: Any,
    record: Mapping[str, object],
    run: Callable[[Any, Any, Mapping[str, object]], int] = warm_up,
) -> threading.Thread | None:
    """Warm up ``engine`` for ``image`` in a daemon thread, once per (engine,
    image); ``None`` when that was already started (or warm-ups are off)."""
    if not ENABLED:
        return None
    key = (id(engine), str(image.key))
    with _started_lock:
        if key in _started:
            return None
        _started.add(key)

    thread = threading.Thread(
        target=run,
        args=(engine, image, dict(record)),
        name="hyperfusion-warm-up",
        daemon=True,
    )
    thread.start()
    return thread


__all__ = [
    "ENABLED",
    "QUIET_S",
    "idle",
    "serving",
    "start",
    "steps",
    "wait_until_idle",
    "warm_up",
]
