"""The benchmark runs on the shipped weights and reports every number it promises.

No wall-clock threshold: times depend on the machine. The test checks the report's
shape and its arithmetic (each ratio is the quotient of the two medians it names).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from hyperfusion import bench, bench_browser
from hyperfusion.bench_browser import server
from hyperfusion.cli import main

MAPS = ("hirescam", "cam", "ig", "ig_smoothgrad", "occlusion", "gradcam", "xgradcam")
SLOW_MAPS = ("ig", "ig_smoothgrad", "occlusion")  # a full pass each: repeats // 5
TIMINGS = {
    "load_first_ms",
    "load_ms",
    "prepare_ms",
    "qc_1mm_head_ms",
    "preprocess_1mm_full_ms",
    "ad_forward_ms",
    "ad_edit_ms",
    "brain_age_forward_ms",
    "brain_age_edit_ms",
    "predict_new_image_ms",
    "predict_edit_ms",
    "sweep_batched_ms",
    "sweep_full_forwards_ms",
    "gradcam_ad_ms",
    "gradcam_brain_age_ms",
    "hirescam_ad_ms",
    "hirescam_brain_age_ms",
    *(f"map_{m}_ad_ms" for m in MAPS),
    *(f"map_{m}_brain_age_ms" for m in SLOW_MAPS),
}
ONCE = {
    "load_first_ms",
    "load_ms",
    "prepare_ms",
    "preprocess_1mm_full_ms",
    "sweep_full_forwards_ms",
    *(f"map_{m}_{t}_ms" for m in SLOW_MAPS for t in ("ad", "brain_age")),
}
UNITS = ("_ms", "_s", "_ratio", "_mib")


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.mark.slow  # loads both ensembles twice and runs every stage three times
def test_bench_json_has_every_number_and_consistent_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--repeats", "2", "--sweep-size", "4", "--device", "cpu"]
    assert main(["bench", *argv, "--json", str(out)]) == 0
    report = json.loads(out.read_text())

    assert report["schema"] == bench.SCHEMA and report["version"] == 2
    machine = report["machine"]
    assert machine["device"] == "CPU" and machine["cpu"]
    assert machine["torch"] and _positive(machine["torch_threads"])
    assert report["config"] == {"repeats": 2, "sweep_size": 4, "device": "cpu"}

    timings = report["timings"]
    assert set(timings) == TIMINGS
    for name, t in timings.items():
        assert all(_positive(t[k]) for k in ("median_ms", "min_ms", "max_ms")), name
        assert t["min_ms"] <= t["median_ms"] <= t["max_ms"], name
        # Load, prepare and the unbatched sweep run repeats // 5 times (at least 1),
        # the full preprocessing of a 1 mm head once.
        assert t["runs"] == (1 if name in ONCE else 2), name

    assert set(report["ratios"]) == set(bench.RATIOS)
    for name, r in report["ratios"].items():
        assert (r["slow"], r["fast"]) == bench.RATIOS[name]
        quotient = timings[r["slow"]]["median_ms"] / timings[r["fast"]]["median_ms"]
        # The JSON keeps full float precision: only the last bit may differ.
        assert r["value"] == pytest.approx(quotient, rel=1e-12), name
    assert _positive(report["memory"]["peak_rss_mib"])
    # Every figure by name, each named with its unit; no browser run was asked.
    figures = report["figures"]
    assert set(figures) == TIMINGS | set(bench.RATIOS) | {"peak_rss_mib"}
    assert all(name.endswith(UNITS) and _positive(v) for name, v in figures.items())
    assert (
        figures["sweep_speedup_ratio"]
        == report["ratios"]["sweep_speedup_ratio"]["value"]
    )
    assert figures["ad_edit_ms"] == timings["ad_edit_ms"]["median_ms"]
    assert "browser" not in report

    table = capsys.readouterr().out
    assert all(name in table for name in TIMINGS | set(bench.RATIOS))


# The browser run's bookkeeping (the run itself: tests/browser/test_bench_browser.py).


def test_browser_figures_come_from_the_samples_named_with_their_units():
    samples = {
        "cold_start_s": [9.0, 7.0, 8.0],
        "edit_ms": [float(v) for v in range(1, 21)],
        "page_switch_ms": {"Patient": [300.0, 500.0, 400.0], "What if": [900.0]},
        # Frames with a new figure every 20 ms, then one late frame.
        "scrub_drags": [{"stamps": [0.0, 20.0, 40.0, 60.0, 140.0]}],
        "concurrent_edit_ms": [100.0, 300.0],
    }
    memory = {"rss_mib": 600.0, "peak_rss_mib": 700.0}
    figures = bench_browser._summary(samples, memory)
    assert all(name.endswith(UNITS) for name in figures)
    assert figures["cold_start_s"] == 8.0
    assert figures["edit_p50_ms"] == 10.5
    assert figures["edit_p95_ms"] == pytest.approx(19.05)
    assert figures["page_switch_patient_ms"] == 400.0
    assert figures["page_switch_what_if_ms"] == 900.0
    assert figures["page_switch_max_ms"] == 900.0
    assert figures["page_switch_p50_ms"] == 450.0
    assert figures["scrub_fps_ratio"] == pytest.approx(4 / 0.14)
    assert figures["scrub_frame_p50_ms"] == 20.0
    assert figures["concurrent_edit_p50_ms"] == 200.0
    assert figures["server_rss_mib"] == 600.0
    assert figures["server_peak_rss_mib"] == 700.0


def test_the_server_runs_locally_headless_and_its_memory_is_read():
    command = server.server_command(8765)
    assert command[1:5] == ["-m", "streamlit", "run", str(server.APP_SCRIPT)]
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags == {
        "--server.address": "127.0.0.1",
        "--server.port": "8765",
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
    }
    memory = server.process_memory_mib(os.getpid())
    if Path("/proc").exists():
        assert 0 < memory["rss_mib"] <= memory["peak_rss_mib"]


def test_browser_and_browser_only_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--browser", "--browser-only"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
