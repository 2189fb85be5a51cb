"""A classroom at once: ``sessions`` Chromium sessions (one browser, a context each)
against one server on 127.0.0.1, each on its own patient.

Session ``i`` opens the app from a link naming its own patient (:func:`make_plans`:
an example subject, an age and an education), then, all sessions at the same
moment: ``edits`` edits of the age, a page switch to Explain (its map), and a switch
back to the Patient page. Everything a session shows is checked:

- the prediction, after opening, after every edit and after coming back: the
  CN / MCI / AD bars as plotly drew them (within :data:`PROB_TOL`) and the
  brain-age metric (to its 0.1 year), against
  :meth:`~hyperfusion.engine.Engine.predict` of the session's record, computed in
  this process;
- the Explain page (the map over the scan, the scenario difference, the EHR
  attribution): the data of its figures (a hash) against a single-user run of the
  same patient's link on a fresh server.

A result that is not the session's own is wrong; a wrong one that equals another
session's is cross-session. Errors: an exception or error box on a page, a page
error, a step that failed or timed out. Latencies come from the page
(:mod:`.scripts`); the server's memory is the resident memory of its process tree
with every session open. A run whose checked weights change under it (a training
run writing them) stops with an error rather than report wrong results.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from hyperfusion.bench_browser import runs, scripts
from hyperfusion.bench_browser.server import (
    REPO_ROOT,
    Server,
    process_tree_cpu_s,
    process_tree_memory_mib,
    running_server,
)
from hyperfusion.errors import HyperFusionError

PATIENT, EXPLAIN = "Patient", "Explain"
PROB_TOL = 1e-5  # float32 logits through softmax, another thread count here
AGE_TOL = 0.05 + 1e-6  # the metric shows one decimal
DISTINCT = 10 * PROB_TOL  # two sessions' results closer than this: too alike
# A wait's limit (not a measurement): 30 sessions opening Explain at once queue for
# the models (their maps and attributions); the last took 111 s on the shared CPU.
STEP_MS = 300_000
SETTLE_MS = 5_000  # a drawn result may lag the script going idle by a frame or two
# What the checked results are computed from: the HyperFusion checkpoints and the
# default map method (weights/metrics.json). A training run rewriting them turns
# every check wrong, so the run stops instead (see ``_weights_state``).
WEIGHTS = ("*/hyperfusion-seed*", "metrics.json")


@dataclass(frozen=True)
class Plan:
    """One session's patient: an example subject with its own education, and the
    ages it shows in turn (the link's first, then one per edit)."""

    index: int
    subject: str
    education: float
    ages: tuple[float, ...]

    def record(self, base: dict[str, Any], step: int) -> dict[str, Any]:
        """The EHR at ``step`` (0: as opened) on the subject's own record."""
        return {**base, "AGE": self.ages[step], "PTEDUCAT": self.education}

    def params(self, step: int) -> dict[str, str]:
        """The link of the patient at ``step``."""
        age, education = self.ages[step], self.education
        return {
            "subject": self.subject,
            "AGE": f"{age:g}",
            "PTEDUCAT": f"{education:g}",
        }


def make_plans(sessions: int, edits: int, subjects: Sequence[str]) -> list[Plan]:
    """``sessions`` patients: subjects in turn, sessions that share a subject apart
    by their education (8, 9, ... years), ages 50 + i then, per edit, a value in
    45..89 that differs from the one before.

    >>> for p in make_plans(3, 2, ["A", "B"]):
    ...     print(p.subject, p.education, p.ages)
    A 8.0 (50.0, 52.0, 59.0)
    B 8.0 (51.0, 53.0, 60.0)
    A 9.0 (52.0, 54.0, 61.0)
    """
    plans = []
    for i in range(sessions):
        edited = [45.0 + (i + 7 * r) % 45 for r in range(1, edits + 1)]
        ages = (50.0 + i % 40, *edited)
        plans.append(
            Plan(i, subjects[i % len(subjects)], 8.0 + i // len(subjects), ages)
        )
    return plans


@dataclass(frozen=True)
class Expected:
    """A prediction as the Patient page shows it."""

    probs: tuple[float, ...]
    age: float

    def near(self, shown: dict[str, Any], tol: float = PROB_TOL) -> bool:
        """Whether ``shown`` (``{"probs", "age"}`` of :data:`scripts.SHOWN`) is this."""
        probs, age = shown.get("probs"), shown.get("age")
        if probs is None or age is None or len(probs) != len(self.probs):
            return False
        close = all(abs(p - q) <= tol for p, q in zip(probs, self.probs, strict=True))
        return close and abs(age - self.age) <= AGE_TOL

    def js(self) -> dict[str, Any]:
        return {"probs": list(self.probs), "age": self.age, "tol": PROB_TOL,
                "age_tol": AGE_TOL}  # fmt: skip


def expected_results(plans: Sequence[Plan]) -> list[list[Expected]]:
    """Per session and step, :meth:`Engine.predict` of its record (the shipped
    weights, loaded here once; each example image prepared once)."""
    from hyperfusion.data.examples import example_image_bytes, example_record
    from hyperfusion.engine import Engine

    engine = Engine(device="cpu")
    images = {
        s: engine.prepare(example_image_bytes(s)) for s in {p.subject for p in plans}
    }
    out = []
    for plan in plans:
        base = example_record(plan.subject)
        steps = []
        for step in range(len(plan.ages)):
            p = engine.predict(images[plan.subject], plan.record(base, step))
            steps.append(Expected(tuple(p.probabilities.values()), p.brain_age))
        out.append(steps)
    return out


def classify(shown: dict[str, Any], own: Expected, others: Sequence[Expected]) -> str:
    """``"ok"`` (the session's own result), ``"cross"`` (another session's) or
    ``"wrong"`` (nobody's)."""
    if own.near(shown):
        return "ok"
    return "cross" if any(o.near(shown) for o in others) else "wrong"


def indistinct_pairs(expected: Sequence[Sequence[Expected]]) -> int:
    """Pairs of results of different sessions closer than :data:`DISTINCT` in
    every probability and within a shown brain-age step (a cross-session result
    between them would pass unseen)."""
    flat = [(i, e) for i, steps in enumerate(expected) for e in steps]
    count = 0
    for a, (i, x) in enumerate(flat):
        for j, y in flat[a + 1 :]:
            close = all(
                abs(p - q) < DISTINCT for p, q in zip(x.probs, y.probs, strict=True)
            )
            count += i != j and close and abs(x.age - y.age) < 0.1
    return count


# One session in the browser -----------------------------------------------------------


@dataclass
class Live:
    """A session under load: its plan, browser objects, and what went wrong."""

    plan: Plan
    context: Any
    page: Any
    errors: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)  # "ok" / "cross" / "wrong"
    mismatches: list[str] = field(default_factory=list)  # what was shown instead


def _guarded(live: Live, what: str, action: Any, *args: Any) -> Any:
    """``action(*args)``; a failure is one of the session's errors, with what the
    page was still doing (None back)."""
    try:
        return action(*args)
    except Exception as exc:  # a timeout or a closed page: counted, not raised
        try:
            pending = live.page.evaluate(scripts.PENDING)
        except Exception:  # the page is gone
            pending = None
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        live.errors.append(f"{what}: {type(exc).__name__}: {message}; {pending}")
        return None


def _page_errors(live: Live, where: str) -> None:
    found = _guarded(
        live, f"{where} errors", live.page.evaluate, scripts.SESSION_ERRORS
    )
    live.errors += [f"{where}: {text}" for text in found or []]


def open_sessions(browser: Any, url: str, plans: Sequence[Plan]) -> list[Live]:
    """One context per plan on its link, all loading at once; back once every
    page drew its prediction (or failed)."""
    lives = []
    for plan in plans:
        context = browser.new_context(viewport=runs.VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(STEP_MS)
        live = Live(plan, context, page)
        page.on("pageerror", lambda exc, live=live: live.errors.append(f"page: {exc}"))
        _guarded(live, "open", page.goto, f"{url}/?{urlencode(plan.params(0))}")
        lives.append(live)
    for live in lives:
        _guarded(live, "first paint", _first_paint, live.page)
    return lives


def _first_paint(page: Any) -> None:
    page.wait_for_selector('[data-testid="stMetric"]', timeout=runs.FIRST_PAINT_MS)
    page.wait_for_function(scripts.RENDERED, timeout=runs.FIRST_PAINT_MS)


def check_prediction(
    live: Live, step: int, expected: Sequence[Sequence[Expected]]
) -> None:
    """Wait (up to :data:`SETTLE_MS`) for the session's own result at ``step``;
    then record how what is shown compares."""
    own = expected[live.plan.index][step]
    with contextlib.suppress(Exception):  # classified below from what is shown
        live.page.wait_for_function(scripts.MATCHES, arg=own.js(), timeout=SETTLE_MS)
    shown = (
        _guarded(live, "read the prediction", live.page.evaluate, scripts.SHOWN) or {}
    )
    others = [
        e for i, steps in enumerate(expected) if i != live.plan.index for e in steps
    ]
    judged = classify(shown, own, others)
    live.results.append(judged)
    if judged != "ok":
        live.mismatches.append(f"step {step} ({judged}): shown {shown}, own {own}")


def edit_round(lives: Sequence[Live], step: int) -> list[float]:
    """Every session types its age for ``step`` and presses Enter at the same
    moment: the milliseconds each took to show the result."""
    boxes = {id(v): v.page.get_by_label(runs.AGE_LABEL, exact=True) for v in lives}
    for live in lives:
        _guarded(live, "fill", boxes[id(live)].fill, f"{live.plan.ages[step]:g}")
        _guarded(live, "arm", live.page.evaluate, scripts.ARM_EDIT)
    for live in lives:
        _guarded(live, "Enter", boxes[id(live)].press, "Enter")
    times = [_guarded(v, f"edit {step}", _wait_timing, v.page) for v in lives]
    return [t for t in times if t is not None]


def switch_all(lives: Sequence[Live], label: str) -> list[float]:
    """Every session clicks the ``label`` link at once: milliseconds each took."""
    for live in lives:
        _guarded(live, "arm", live.page.evaluate, scripts.ARM_SWITCH)
    for live in lives:
        link = _guarded(live, f"find {label}", runs._link, live.page, label)
        if link is not None:
            _guarded(live, f"click {label}", link.click)
    times = [_guarded(v, f"to {label}", _wait_timing, v.page) for v in lives]
    return [t for t in times if t is not None]


def _wait_timing(page: Any) -> float:
    """The armed timing's milliseconds, once the page has measured it."""
    done = page.wait_for_function(scripts.TIMING_DONE, timeout=STEP_MS)
    return float(done.json_value())


def map_fingerprint(page: Any) -> str:
    """A hash of the data of every figure on the page (:data:`scripts.MAP_DATA`).

    Raises:
        HyperFusionError: the page shows no map.
    """
    data = str(page.evaluate(scripts.MAP_DATA))
    if "data:image" not in data:
        raise HyperFusionError("the Explain page shows no map")
    return hashlib.sha1(data.encode()).hexdigest()


# The runs --------------------------------------------------------------------------


def reference_maps(browser: Any, plans: Sequence[Plan]) -> list[str | None]:
    """The Explain page of each plan's last patient, one session at a time on a
    fresh server: the fingerprints a loaded server must show (None: failed)."""
    found: list[str | None] = []
    with running_server() as server:
        for plan in plans:
            last = Plan(plan.index, plan.subject, plan.education, plan.ages[-1:])
            (live,) = open_sessions(browser, server.url, [last])
            switch_all([live], EXPLAIN)
            shown = _guarded(live, "map", map_fingerprint, live.page)
            _page_errors(live, EXPLAIN)
            found.append(None if live.errors else shown)
            live.context.close()
    return found


def _weights_state(folder: Path = REPO_ROOT / "weights") -> list[tuple]:
    """Name, size and modification time of each file in :data:`WEIGHTS`."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for pattern in WEIGHTS
        for p in folder.glob(pattern)
        if p.is_file()
    )


def _same_weights(
    before: list[tuple], when: str, folder: Path = REPO_ROOT / "weights"
) -> None:
    """Stop the run when the weights changed since ``before`` was read.

    Raises:
        HyperFusionError: a file of :data:`WEIGHTS` changed.
    """
    now = _weights_state(folder)
    if now != before:
        changed = sorted({n for n, *_ in set(now) ^ set(before)})
        raise HyperFusionError(
            f"weights/ changed {when} ({', '.join(changed[:4])}): the expected "
            "results no longer hold; rerun once training has finished"
        )


def _drive(
    browser: Any, server: Server, plans: Sequence[Plan], expected: Any, weights: list
) -> dict:
    """Open, edit, switch to Explain and back; the samples of one loaded run (and
    the server's CPU seconds and the wall seconds of the edit rounds)."""
    started = time.perf_counter()
    lives = open_sessions(browser, server.url, plans)
    opened_s = time.perf_counter() - started
    _same_weights(weights, "before the server loaded them")
    for live in lives:
        check_prediction(live, 0, expected)
        _page_errors(live, "opened")
    edits, switches, cpu_s, all_s, wall_s = [], [], 0.0, 0.0, 0.0
    for step in range(1, len(plans[0].ages)):
        cpu, wall = process_tree_cpu_s(server.pid), time.perf_counter()
        everything = process_tree_cpu_s(os.getpid())  # with Chromium and the server
        edits += edit_round(lives, step)
        cpu_s += process_tree_cpu_s(server.pid) - cpu
        all_s += process_tree_cpu_s(os.getpid()) - everything
        wall_s += time.perf_counter() - wall
        for live in lives:
            check_prediction(live, step, expected)
    switches += switch_all(lives, EXPLAIN)
    maps = [_guarded(v, "map", map_fingerprint, v.page) for v in lives]
    for live in lives:
        _page_errors(live, EXPLAIN)
    switches += switch_all(lives, PATIENT)
    for live in lives:
        check_prediction(live, len(plans[0].ages) - 1, expected)
        _page_errors(live, "back")
    return {"lives": lives, "open_s": opened_s, "edit_ms": edits,
            "switch_ms": switches, "maps": maps, "edit_cpu_s": cpu_s,
            "edit_client_cpu_s": all_s - cpu_s, "edit_wall_s": wall_s}  # fmt: skip


def run_load(browser: Any, sessions: int, edits: int) -> dict[str, Any]:
    """The loaded run of ``sessions`` sessions (see the module docstring):
    ``{"figures", "samples", "checks"}``, figures named ``load<N>_...``."""
    from hyperfusion.data.examples import list_examples

    subjects = [str(s) for s in list_examples()["PTID"]]
    plans = make_plans(sessions, edits, subjects)
    weights = _weights_state()
    expected = expected_results(plans)
    references = reference_maps(browser, plans)
    _same_weights(weights, "during the single-user runs")
    load_before = os.getloadavg()
    with running_server() as server:
        ran = _drive(browser, server, plans, expected, weights)
        memory = process_tree_memory_mib(server.pid)
        for live in ran["lives"]:
            live.context.close()
    lives = ran["lives"]
    for live, shown, want in zip(lives, ran["maps"], references, strict=True):
        if want is None:
            live.errors.append("the single-user run of this patient failed")
        others = [r for r in references if r is not None and r != want]
        judged = "ok" if want is not None and shown == want else "wrong"
        judged = "cross" if judged == "wrong" and shown in others else judged
        live.results.append(judged)
        if judged != "ok":
            owner = references.index(shown) if shown in references else None
            live.mismatches.append(f"Explain ({judged}): the map of session {owner}")
    results = [r for live in lives for r in live.results]
    checks = {
        "sessions": sessions,
        "results_checked": len(results),
        "indistinct_pairs": indistinct_pairs(expected),
        "distinct_maps": len({r for r in references if r is not None}),
        "weights_unchanged": _weights_state() == weights,  # to the end
        "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()),
        "errors": [f"session {v.plan.index}: {e}" for v in lives for e in v.errors],
        "mismatches": [
            f"session {v.plan.index}: {m}" for v in lives for m in v.mismatches
        ],
    }
    return {
        "figures": load_figures(sessions, ran, results, memory),
        "samples": {"edit_ms": ran["edit_ms"], "switch_ms": ran["switch_ms"]},
        "checks": checks,
    }


def load_figures(
    sessions: int, ran: dict[str, Any], results: list[str], memory: dict[str, float]
) -> dict[str, float]:
    """The figures of a loaded run, named ``load<N>_<what>_<unit>``."""
    from hyperfusion.bench_browser import percentile

    errors = sum(len(live.errors) for live in ran["lives"])
    cpu_s, wall_s = ran.get("edit_cpu_s", 0.0), ran.get("edit_wall_s", 0.0)
    figures = {
        "open_s": ran["open_s"],
        "edit_p50_ms": percentile(ran["edit_ms"], 50),
        "edit_p95_ms": percentile(ran["edit_ms"], 95),
        "switch_p50_ms": percentile(ran["switch_ms"], 50),
        "switch_p95_ms": percentile(ran["switch_ms"], 95),
        "errors_count": errors,
        "cross_session_count": results.count("cross"),
        "wrong_result_count": results.count("wrong") + results.count("cross"),
        # The server's share of an edit: its CPU time while the rounds ran, per
        # edit, and as a share of one core (the rest went to the browsers, and to
        # whatever else shares the machine).
        "server_cpu_per_edit_ms": 1000 * cpu_s / max(len(ran["edit_ms"]), 1),
        # The browsers' (and this driver's) CPU in the same rounds, per edit.
        "client_cpu_per_edit_ms": 1000
        * ran.get("edit_client_cpu_s", 0.0)
        / max(len(ran["edit_ms"]), 1),
        "server_busy_ratio": cpu_s / wall_s if wall_s else float("nan"),
        "server_rss_mib": memory.get("rss_mib", float("nan")),
        "server_peak_rss_mib": memory.get("peak_rss_mib", float("nan")),
    }
    return {f"load{sessions}_{name}": float(value) for name, value in figures.items()}


__all__ = [
    "Expected",
    "Plan",
    "classify",
    "expected_results",
    "indistinct_pairs",
    "load_figures",
    "make_plans",
    "run_load",
]
