"""README.md's measured block (``hyperfusion.evaluate.readme``): generated from the
shipped metrics, never edited by hand; each figure follows its file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hyperfusion.errors import MarkerError
from hyperfusion.evaluate.readme import (
    BEGIN,
    END,
    HELD_OUT_FILE,
    README_FILE,
    UNSEEN_FILE,
    block_of,
    measured_block,
    regenerate_readme,
    update_readme,
)
from hyperfusion.evaluate.schema import Metrics, Stat, read_metrics
from hyperfusion.evaluate.transfer_records import Example, Gap, Transfer
from hyperfusion.tasks import AD


@pytest.fixture(scope="module")
def held_out() -> Metrics:
    report = read_metrics(HELD_OUT_FILE)
    assert report is not None, f"{HELD_OUT_FILE} is missing"
    return report


@pytest.fixture(scope="module")
def unseen() -> Metrics | None:
    return read_metrics(UNSEEN_FILE)


def flat(text: str) -> str:
    """The block with its wrapped lines joined (one space between words)."""
    return " ".join(text.split())


def with_mean(report: Metrics, task: str, model: str, metric: str, mean: float):
    """``report`` with one model's aggregate mean of ``metric`` set to ``mean``."""
    result = report.models[task][model]
    stats = {**result.aggregate.metrics}
    stats[metric] = replace(stats[metric], mean=mean)
    aggregate = replace(result.aggregate, metrics=stats)
    models = {**report.models[task], model: replace(result, aggregate=aggregate)}
    return replace(report, models={**report.models, task: models})


def a_transfer() -> Transfer:
    """A hand-built transfer block with figures found nowhere else."""
    return Transfer(
        model="hyperfusion",
        subjects="the held-out test split of the AD cohort (225 subjects, 61 CN)",
        cn_mae=Stat(5.4321, 0.2468, 3),
        brain_age_test_mae=Stat(4.9753, 0.1357, 3),
        gap={
            "AD": Gap(7.77, 3.33, 50),
            "CN": Gap(-1.11, 4.44, 61),
            "MCI": Gap(2.22, 5.55, 114),
        },
        examples={
            "SYN_0060": Example("AD", 81.0, 89.87, 8.87),
            "SYN_0025": Example("CN", 68.0, 66.66, -1.34),
        },
    )


def test_readme_block_is_generated_from_the_shipped_metrics(held_out, unseen):
    """A retrain that forgets to regenerate the README fails here: rerun
    ``python -m hyperfusion evaluate`` (it rewrites the block)."""
    text = README_FILE.read_text("utf-8")
    assert block_of(text) == measured_block(held_out, unseen)


def test_a_changed_table_metric_changes_its_row_and_the_margins(held_out, unseen):
    task, metric = AD.name, AD.selection_metric
    old = held_out.models[task]["hyperfusion"].aggregate.metrics[metric]
    before = flat(measured_block(held_out, unseen))
    changed = with_mean(held_out, task, "hyperfusion", metric, old.mean + 0.0421)
    after = flat(measured_block(changed, unseen))
    old_row = f"| HyperFusion | {old.mean:.3f} ± {old.sd:.3f} |"
    new_row = f"| HyperFusion | {old.mean + 0.0421:.3f} ± {old.sd:.3f} |"
    assert old_row in before and new_row not in before
    assert new_row in after and old_row not in after
    image = held_out.models[task]["image-only"].aggregate.metrics[metric].mean
    old_margin = f"(+{100 * (old.mean - image):.1f} points)"
    new_margin = f"(+{100 * (old.mean + 0.0421 - image):.1f} points)"
    assert old_margin in before and old_margin not in after
    assert new_margin in after


def test_a_changed_unseen_metric_changes_the_unseen_sentence(held_out, unseen):
    if unseen is None:
        pytest.skip("no weights/metrics-unseen.json shipped")
    task, metric = AD.name, AD.selection_metric
    old = unseen.models[task]["image-only"].aggregate.metrics[metric].mean
    changed = with_mean(unseen, task, "image-only", metric, 0.4321)
    after = flat(measured_block(held_out, changed))
    assert "0.432 for Image only" in after
    assert f"{old:.3f} for Image only" not in after
    assert "the ranking holds" in after  # still below HyperFusion


def test_a_lost_ranking_is_said(held_out, unseen):
    if unseen is None:
        pytest.skip("no weights/metrics-unseen.json shipped")
    changed = with_mean(unseen, AD.name, "image-only", AD.selection_metric, 0.99)
    after = flat(measured_block(held_out, changed))
    assert "the ranking does not hold" in after and "the ranking holds" not in after


def test_changed_explanation_figures_appear(held_out):
    block = held_out.explanations
    if block is None:
        pytest.skip("the shipped metrics hold no explanations block")
    name = block.default_method
    found = block.methods[name]
    stats = replace(found.stats, mass_ratio=Stat(7.654, 0.1, 3))
    methods = {**block.methods, name: replace(found, stats=stats, latency_ms=987.0)}
    changed = replace(held_out, explanations=replace(block, methods=methods))
    before = flat(measured_block(held_out, None))
    after = flat(measured_block(changed, None))
    old = f"{found.stats.mass_ratio.mean:.1f}× chance in the region"
    assert old in before and old not in after
    assert "7.7× chance in the region" in after and "987 ms per map" in after


def test_a_failed_check_is_marked(held_out):
    check = replace(held_out.acceptance[0], passed=False, value=-12.5)
    changed = replace(held_out, acceptance=(check,))
    after = flat(measured_block(changed, None))
    assert f"- **FAIL**: {check.target} (−12.5 {check.unit})" in after
    assert "- pass:" not in after


def test_absent_blocks_are_left_out(held_out):
    bare = replace(held_out, explanations=None, transfer=None, acceptance=())
    text = flat(measured_block(bare, None))
    assert "Explanations:" not in text and "Adebayo" not in text
    assert "Brain-age transfer" not in text
    assert "never used before" not in text
    assert "Acceptance checks" not in text
    assert "| HyperFusion |" in text  # the tables stay


def test_the_transfer_block_is_quoted_when_present(held_out):
    text = flat(measured_block(replace(held_out, transfer=a_transfer()), None))
    assert "**Brain-age transfer.**" in text
    assert "its MAE is 5.43 ± 0.25 years against 4.98 ± 0.14" in text
    assert "own test split, 1.09× as large" in text  # 5.4321 / 4.9753
    assert "CN −1.1 ± 4.4 y (n = 61), MCI +2.2 ± 5.5 y (n = 114) and AD" in text
    assert "SYN_0025 (CN, 68 y) −1.3 y and SYN_0060 (AD, 81 y) +8.9 y" in text


def _readme(block: str, newline: str = "\n") -> bytes:
    head = f"# Title{newline}  trailing spaces  {newline}## Models{newline}"
    tail = f"{newline}## Data{newline}no final newline"
    return (head + BEGIN + newline + block + END + tail).encode()


def test_update_readme_leaves_everything_outside_the_markers_byte_identical(
    tmp_path, held_out, unseen
):
    path = tmp_path / "README.md"
    original = _readme("hand-edited 0.123\r\n", newline="\r\n")
    path.write_bytes(original)
    assert update_readme(path, held_out, unseen) is True
    new = path.read_bytes()
    head, tail = original.split(b"hand-edited 0.123\r\n")
    assert new.startswith(head) and new.endswith(tail)
    assert new[len(head) : len(new) - len(tail)].decode() == measured_block(
        held_out, unseen
    )
    assert update_readme(path, held_out, unseen) is False  # already up to date
    assert path.read_bytes() == new


@pytest.mark.parametrize(
    "text",
    ["no markers\n", f"{BEGIN}\nonly the start\n", f"{END}\nx\n{BEGIN}\n"],
)
def test_update_readme_refuses_a_readme_without_its_markers(tmp_path, held_out, text):
    path = tmp_path / "README.md"
    path.write_text(text)
    with pytest.raises(MarkerError):
        update_readme(path, held_out, None)
    assert path.read_text() == text


def test_regenerate_readme_reads_both_files_from_disk(tmp_path, held_out, unseen):
    readme, metrics = tmp_path / "README.md", tmp_path / "metrics.json"
    other = tmp_path / "metrics-unseen.json"
    readme.write_bytes(_readme("old\n"))
    assert regenerate_readme(readme, metrics, other) is False  # nothing evaluated
    assert readme.read_bytes() == _readme("old\n")
    changed = with_mean(held_out, AD.name, "hyperfusion", "macro_auc", 0.5432)
    changed.write(metrics)
    assert regenerate_readme(readme, metrics, other) is True
    assert block_of(readme.read_text()) == measured_block(changed, None)
    if unseen is not None:
        unseen.write(other)
        assert regenerate_readme(readme, metrics, other) is True
        assert block_of(readme.read_text()) == measured_block(changed, unseen)


def test_evaluate_regenerates_the_readme_only_for_the_shipped_files(tmp_path):
    from hyperfusion.cli.evaluate import _shipped

    assert _shipped(HELD_OUT_FILE) and _shipped(UNSEEN_FILE)
    assert not _shipped(tmp_path / "metrics.json")  # e.g. the tests' tiny weights
