"""The loaded browser run's bookkeeping (the run itself:
tests/browser/test_load_browser.py): each session's own patient, how a shown result
is judged, the figures' names, the server's process tree, the command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hyperfusion.bench_browser import format_browser_table, load, server
from hyperfusion.cli import main
from hyperfusion.cli.bench import _session_counts
from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_schema import FIELD_BY_NAME
from hyperfusion.errors import HyperFusionError

UNITS = ("_ms", "_s", "_ratio", "_mib", "_count")
SUBJECTS = ["S1", "S2", "S3", "S4", "S5", "S6"]


def test_every_session_has_its_own_patient_and_every_edit_changes_it() -> None:
    plans = load.make_plans(30, 5, SUBJECTS)
    assert [p.index for p in plans] == list(range(30))
    patients = {(p.subject, p.education, p.ages[-1]) for p in plans}
    assert len(patients) == 30  # no two sessions end on the same patient
    assert len({(p.subject, p.education) for p in plans}) == 30
    age, education = FIELD_BY_NAME["AGE"], FIELD_BY_NAME["PTEDUCAT"]
    for plan in plans:
        assert len(plan.ages) == 6
        assert all(a != b for a, b in zip(plan.ages, plan.ages[1:], strict=False))
        assert all(age.low <= a <= age.high for a in plan.ages)
        assert education.low <= plan.education <= education.high
        # The link is what the app reads: a valid record, the plan's values.
        record = validate_ehr({"AGE": plan.params(2)["AGE"]}, require=False)
        assert record["AGE"] == plan.ages[2]
        assert plan.params(0)["subject"] == plan.subject


def test_a_shown_result_is_the_sessions_own_another_sessions_or_wrong() -> None:
    own = load.Expected((0.2, 0.7, 0.1), 71.0)
    other = load.Expected((0.5, 0.4, 0.1), 68.0)
    shown = {"probs": [0.2 + 5e-6, 0.7, 0.1], "age": 71.0}
    assert load.classify(shown, own, [other]) == "ok"
    assert load.classify({"probs": [0.5, 0.4, 0.1], "age": 68.0}, own, [other]) == (
        "cross"
    )
    assert load.classify({"probs": [0.2, 0.7, 0.1], "age": 71.2}, own, [other]) == (
        "wrong"
    )
    assert load.classify({"probs": [0.2 + 1e-4, 0.7, 0.1], "age": 71}, own, []) == (
        "wrong"
    )
    assert load.classify({"probs": None, "age": None}, own, [other]) == "wrong"
    assert load.classify({}, own, [other]) == "wrong"  # the page could not be read


def test_results_too_close_to_tell_apart_are_counted() -> None:
    a = load.Expected((0.2, 0.7, 0.1), 71.0)
    near = load.Expected((0.2 + 5e-5, 0.7, 0.1 - 5e-5), 71.04)  # within DISTINCT
    far = load.Expected((0.3, 0.6, 0.1), 71.0)
    assert load.indistinct_pairs([[a], [far]]) == 0
    assert load.indistinct_pairs([[a, near], [far]]) == 0  # one session's own steps
    assert load.indistinct_pairs([[a], [near], [far]]) == 1


def test_the_figures_are_named_with_the_count_and_their_units() -> None:
    class Live:
        def __init__(self, errors: list[str]) -> None:
            self.errors = errors

    ran = {
        "lives": [Live([]), Live(["edit 1: TimeoutError"])],
        "open_s": 12.5,
        "edit_ms": [100.0, 300.0, 200.0],
        "switch_ms": [900.0, 1100.0],
        "edit_cpu_s": 0.09,  # the server's CPU while the 3 edits ran
        "edit_client_cpu_s": 0.9,  # the browsers'
        "edit_wall_s": 0.6,
    }
    results = ["ok", "ok", "cross", "wrong", "ok"]
    memory = {"rss_mib": 900.0, "peak_rss_mib": 950.0, "processes": 1.0}
    figures = load.load_figures(8, ran, results, memory)
    assert all(name.startswith("load8_") for name in figures)
    assert all(name.endswith(UNITS) for name in figures)
    assert figures["load8_edit_p50_ms"] == 200.0
    assert figures["load8_switch_p95_ms"] == pytest.approx(1090.0)
    assert figures["load8_errors_count"] == 1
    assert figures["load8_cross_session_count"] == 1
    assert figures["load8_wrong_result_count"] == 2  # the cross-session one too
    assert figures["load8_server_rss_mib"] == 900.0
    assert figures["load8_server_cpu_per_edit_ms"] == pytest.approx(30.0)
    assert figures["load8_server_busy_ratio"] == pytest.approx(0.15)
    assert figures["load8_client_cpu_per_edit_ms"] == pytest.approx(300.0)


def _fake_proc(root: Path, parents: dict[int, int]) -> None:
    """``/proc/<pid>/stat`` files: a name with spaces and brackets, the parent,
    then utime = 100 and stime = 50 clock ticks."""
    for pid, ppid in parents.items():
        folder = root / str(pid)
        folder.mkdir()
        rest = " ".join(["0"] * 9)  # pgrp ... cmajflt
        (folder / "stat").write_text(f"{pid} (a (b) c) S {ppid} {rest} 100 50 0 0\n")


def test_the_process_tree_follows_children_and_grandchildren(tmp_path: Path) -> None:
    _fake_proc(tmp_path, {1: 0, 10: 1, 11: 10, 12: 11, 20: 1, 30: 20})
    assert sorted(server.process_tree(10, tmp_path)) == [10, 11, 12]
    assert server.process_tree(99, tmp_path) == [99]
    ticks = os.sysconf("SC_CLK_TCK")
    assert server.process_tree_cpu_s(10, tmp_path) == pytest.approx(3 * 150 / ticks)
    if Path("/proc").exists():
        # The tree's memory is read between two reads of this process's own: other
        # threads may allocate or free meanwhile, but (moving one way) not past both.
        before = server.process_memory_mib(os.getpid())["rss_mib"]
        mine = server.process_tree_memory_mib(os.getpid())
        after = server.process_memory_mib(os.getpid())["rss_mib"]
        assert mine["processes"] >= 1
        assert mine["rss_mib"] >= min(before, after)


def test_the_loaded_runs_are_chosen_on_the_command_line(capsys) -> None:
    assert _session_counts("8,30") == (8, 30)
    assert _session_counts("0") == () and _session_counts("") == ()
    with pytest.raises(SystemExit):
        main(["bench", "--browser-only", "--load-sessions", "eight"])
    assert "session counts separated by commas" in capsys.readouterr().err


def test_the_table_shows_counts_whole_and_the_loaded_runs() -> None:
    checks = {
        "results_checked": 40,
        "indistinct_pairs": 0,
        "weights_unchanged": True,
        "load_average_before": [3.5, 3.0, 2.5],
        "errors": ["session 3: to Explain: TimeoutError"],
    }
    block = {
        "environment": {"chromium": "120", "load_average_before": [1.0, 1.0, 1.0]},
        "figures": {"load8_errors_count": 1.0, "load8_edit_p95_ms": 812.34},
        "checks": {},
        "load": {"8": {"checks": checks}},
    }
    table = format_browser_table(block)
    assert "load8_errors_count" in table and table.count(" 1\n") >= 1
    assert "812.3" in table
    assert "load 8: 40 results checked" in table and "3.50, 3.00, 2.50" in table
    assert "session 3: to Explain: TimeoutError" in table


def test_a_run_stops_when_training_rewrites_the_checked_weights(tmp_path: Path) -> None:
    (tmp_path / "ad").mkdir()
    checkpoint = tmp_path / "ad" / "hyperfusion-seed0.safetensors"
    checkpoint.write_bytes(b"old")
    (tmp_path / "ad" / "tabular-only-seed0.safetensors").write_bytes(b"other")
    before = load._weights_state(tmp_path)
    assert [name for name, *_ in before] == ["ad/hyperfusion-seed0.safetensors"]
    load._same_weights(before, "now", tmp_path)  # nothing changed
    (tmp_path / "ad" / "tabular-only-seed0.safetensors").write_bytes(b"not checked")
    load._same_weights(before, "now", tmp_path)
    checkpoint.write_bytes(b"retrained")
    os.utime(checkpoint, ns=(1, 1))  # another time, whatever the clock's resolution
    with pytest.raises(HyperFusionError, match="ad/hyperfusion-seed0.safetensors"):
        load._same_weights(before, "during the run", tmp_path)
