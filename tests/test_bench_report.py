"""The README's performance block is written from a benchmark run's figures."""

from __future__ import annotations

import math

import pytest

from hyperfusion.bench_report import (
    PERFORMANCE,
    TARGETS,
    Target,
    performance_block,
    performance_rows,
    update_readme,
)
from hyperfusion.errors import MarkerError

RUN = {
    "machine": {"device": "CPU", "cpu": "Test CPU", "cpu_count": 2, "torch": "2.x"},
    "figures": {
        "edit_p50_ms": 80.0,
        "edit_p95_ms": 250.0,
        "ad_edit_ms": 1.2,
        "brain_age_edit_ms": 0.6,
        "sweep_speedup_ratio": 377.0,
        "scrub_fps_ratio": math.nan,
    },
}


def test_each_measured_target_is_a_row_with_its_verdict():
    rows = {
        label: (value, ok) for label, value, _, ok in performance_rows(RUN["figures"])
    }
    assert rows["Edit → updated prediction on screen, p50"] == ("80.0 ms", True)
    assert rows["Edit → screen, p95"] == ("250 ms", False)
    # A target over several figures adds them: 1.2 + 0.6 ms against 2 ms.
    assert rows["Cached EHR edit, both tasks' ensembles (model time)"] == (
        "1.8 ms",
        True,
    )
    # "At least" targets: 377x is short of 500x.
    assert rows["64-value sweep, batched vs 64 full forwards"] == ("377×", False)
    # Not measured (absent or NaN): left out, not filled in.
    assert not any("Scrubbing" in label for label in rows)
    assert not any("Page switch" in label for label in rows)


def test_limits_read_as_the_issue_states_them():
    by_label = {t.label: t for t in TARGETS}
    assert by_label["Edit → screen, p95"].limit_text() == "≤ 200 ms"
    assert by_label["Scrubbing a field (no server request)"].limit_text() == "≥ 30 fps"
    assert Target("x", ("a",), 0, unit="").met(0.0)
    assert not Target("x", ("a",), 0, unit="").met(1.0)


def test_the_block_names_the_machine_and_the_source_and_counts_the_targets():
    block = performance_block(RUN, "docs/bench-cpu.json")
    assert "Test CPU, 2 cores" in block
    assert "[docs/bench-cpu.json](docs/bench-cpu.json)" in block
    assert "2 of 4 targets met" in block
    assert "| Edit → screen, p95 | 250 ms | ≤ 200 ms | **no** |" in block


def test_update_rewrites_only_between_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    before, after = "# Title\r\nintro\n", "\n## Next\ntext"
    readme.write_bytes(
        (before + PERFORMANCE.begin + "\nold\n" + PERFORMANCE.end + after).encode()
    )
    assert update_readme(RUN, "b.json", readme)
    text = readme.read_bytes().decode()
    assert text.startswith(before + PERFORMANCE.begin + "\n")
    assert text.endswith(PERFORMANCE.end + after)
    assert "old" not in text and "250 ms" in text
    assert not update_readme(RUN, "b.json", readme)  # unchanged the second time
    (tmp_path / "bare.md").write_text("no markers\n")
    with pytest.raises(MarkerError):
        update_readme(RUN, "b.json", tmp_path / "bare.md")


def test_the_readmes_block_is_the_shipped_benchmark_runs() -> None:
    """README.md's performance block is what docs/bench-cpu.json gives, so a figure
    there cannot be edited by hand or outlive a new run."""
    import json

    from hyperfusion.bench_report import README_FILE

    source = "docs/bench-cpu.json"
    report = json.loads((README_FILE.parent / source).read_text())
    readme = README_FILE.read_text()
    assert PERFORMANCE.block_of(readme) == performance_block(report, source)


def test_counts_are_unitless_upper_limits() -> None:
    """Errors and cross-session results are counts that must stay at most their
    limit (a target read as 'at least 0 ms' once let any count pass)."""
    counts = [t for t in TARGETS if all(f.endswith("_count") for f in t.figures)]
    assert len(counts) >= 3
    for target in counts:
        assert target.at_most and target.unit == "", target.label
        assert not target.met(target.limit + 1)
