"""The training-time measurement (``hyperfusion.train.timing``): each shipped run
priced from its model type's quiet timing and its own epochs, and README.md's
training-time block written from the measurement's JSON, never by hand."""

from __future__ import annotations

import json

import pytest

from hyperfusion.errors import MarkerError
from hyperfusion.train.timing import (
    TIMING_FILE,
    TRAINING_TIME,
    price_runs,
    read_cards,
    timing_report,
    training_time_block,
    update_readme,
)
from tests.conftest import REPO_ROOT

TYPES = {
    "ad/hyperfusion": {"epoch_s": 5.0, "fixed_s": 10.0},
    "brain-age/concat": {"epoch_s": 20.0, "fixed_s": 4.0},
}


def card(task: str, model: str, seed: int, epochs: int, time_s: float) -> dict:
    return {
        "task": task,
        "model": model,
        "seed": seed,
        "training": {"epochs_run": epochs, "time_s": time_s},
    }


CARDS = [
    card("ad", "hyperfusion", 0, 3, 30.0),  # priced 10 + 3 x 5 = 25
    card("ad", "hyperfusion", 1, 10, 90.0),  # 60
    card("brain-age", "concat", 0, 15, 250.0),  # 4 + 15 x 20 = 304
]


def test_each_run_is_priced_from_its_own_epochs() -> None:
    runs = price_runs(CARDS, TYPES)
    assert [r["run"] for r in runs] == [
        "ad/hyperfusion-seed0",
        "ad/hyperfusion-seed1",
        "brain-age/concat-seed0",
    ]
    assert [r["priced_s"] for r in runs] == [25.0, 60.0, 304.0]


def test_the_report_sums_every_run_and_checks_only_the_quiet_ones() -> None:
    runs = price_runs(CARDS, TYPES)
    report = timing_report(TYPES, runs, ["ad/hyperfusion-seed1"], quiet_wall_s=95.0)
    assert report["priced_total_s"] == 389.0 and report["cards_total_s"] == 370.0
    check = report["quiet_check"]
    assert check == {
        "runs": ["ad/hyperfusion-seed1"],
        "priced_s": 60.0,
        "card_s": 90.0,
        "wall_s": 95.0,
    }


def test_the_block_says_the_reports_figures() -> None:
    report = timing_report(TYPES, price_runs(CARDS, TYPES), ["ad/hyperfusion-seed1"])
    text = " ".join(training_time_block(report, "t.json").split())
    assert "**6 minutes** for all of them" in text  # 389 s
    assert "each of the 3 shipped runs" in text
    assert "the 1 runs trained" in text and "priced at 60 s against the 90 s" in text
    assert "[t.json](t.json)" in text


def test_the_readme_block_follows_the_shipped_measurement() -> None:
    report = json.loads((REPO_ROOT / TIMING_FILE).read_text())
    readme = (REPO_ROOT / "README.md").read_text()
    assert TRAINING_TIME.block_of(readme) == training_time_block(
        report, TIMING_FILE.as_posix()
    )
    priced = {r["run"] for r in report["runs"]}
    shipped = {
        f"{c['task']}/{c['model']}-seed{c['seed']}"
        for c in read_cards(REPO_ROOT / "weights")
    }
    assert priced == shipped  # every shipped run, and only those, is priced


def test_update_readme_changes_only_the_block(tmp_path) -> None:
    report = timing_report(TYPES, price_runs(CARDS, TYPES), [])
    readme = tmp_path / "README.md"
    head, tail = "# T\n\n", "\nrest\n"
    readme.write_text(f"{head}{TRAINING_TIME.begin}\nold\n{TRAINING_TIME.end}{tail}")
    assert update_readme(report, "t.json", readme) is True
    text = readme.read_text()
    assert text.startswith(head + TRAINING_TIME.begin) and text.endswith(tail)
    assert "old" not in text
    assert update_readme(report, "t.json", readme) is False
    readme.write_text("no markers\n")
    with pytest.raises(MarkerError):
        update_readme(report, "t.json", readme)
