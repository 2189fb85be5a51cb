"""The benchmark runs on the shipped weights and reports every number it promises.

No wall-clock threshold: times depend on the machine. The test checks the report's
shape and its arithmetic (each ratio is the quotient of the two medians it names).
"""

from __future__ import annotations

import json
import math

import pytest

from hyperfusion import bench
from hyperfusion.cli import main

TIMINGS = {
    "load.first",
    "load",
    "prepare",
    "qc.1mm_head",
    "ad.forward",
    "ad.edit",
    "brain-age.forward",
    "brain-age.edit",
    "predict.new_image",
    "predict.edit",
    "sweep.batched",
    "sweep.full_forwards",
    "gradcam.ad",
    "gradcam.brain-age",
    "hirescam.ad",
    "hirescam.brain-age",
}


ONCE = {"load.first", "load", "prepare", "sweep.full_forwards"}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


@pytest.mark.slow  # loads both ensembles twice and runs every stage three times
def test_bench_json_has_every_number_and_consistent_ratios(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["--repeats", "2", "--sweep-size", "4", "--device", "cpu"]
    assert main(["bench", *argv, "--json", str(out)]) == 0
    report = json.loads(out.read_text())

    assert report["schema"] == bench.SCHEMA and report["version"] == 1
    machine = report["machine"]
    assert machine["device"] == "CPU" and machine["cpu"]
    assert machine["torch"] and _positive(machine["torch_threads"])
    assert report["config"] == {"repeats": 2, "sweep_size": 4, "device": "cpu"}

    timings = report["timings_ms"]
    assert set(timings) == TIMINGS
    for name, t in timings.items():
        assert all(_positive(t[k]) for k in ("median_ms", "min_ms", "max_ms")), name
        assert t["min_ms"] <= t["median_ms"] <= t["max_ms"], name
        # Load, prepare and the unbatched sweep run repeats // 5 times (at least 1).
        assert t["runs"] == (1 if name in ONCE else 2), name

    assert set(report["ratios"]) == set(bench.RATIOS)
    for name, r in report["ratios"].items():
        assert (r["slow"], r["fast"]) == bench.RATIOS[name]
        quotient = timings[r["slow"]]["median_ms"] / timings[r["fast"]]["median_ms"]
        # The JSON keeps full float precision: only the last bit may differ.
        assert r["value"] == pytest.approx(quotient, rel=1e-12), name
    assert _positive(report["memory"]["peak_rss_mib"])

    table = capsys.readouterr().out
    assert all(name in table for name in TIMINGS | set(bench.RATIOS))
