"""The evaluation CLI reproduces the cards' test metrics, records the reliability
bins and measures localisation; metrics.json follows the schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperfusion.cli import main as cli_main
from hyperfusion.errors import WeightsError
from hyperfusion.evaluate.localisation import gradcam_localisation
from hyperfusion.evaluate.schema import (
    Metrics,
    ReliabilityBin,
    Scores,
    SeedResult,
    read_metrics,
)
from hyperfusion.evaluate.summary import (
    acceptance,
    aggregate,
    pool_reliability,
    ranking,
)
from hyperfusion.explain.methods import METHODS
from hyperfusion.train.data import SplitData
from hyperfusion.train.run import RunSpec, train_run
from tests.metrics_example import model_result
from tests.train.tiny_cohort import TINY_AD, TINY_BRAIN_AGE, TINY_TRAIN


@pytest.fixture(scope="module")
def weights(tiny_ad_cohort, tiny_brain_age_cohort, tmp_path_factory) -> Path:
    """Tiny checkpoints: HyperFusion-AD seeds 0 and 1, HyperFusion-BrainAge seed 0."""
    root = tmp_path_factory.mktemp("eval")
    runs = [
        ("ad", tiny_ad_cohort, TINY_AD, 0),
        ("ad", tiny_ad_cohort, TINY_AD, 1),
        ("brain-age", tiny_brain_age_cohort, TINY_BRAIN_AGE, 0),
    ]
    for task, cohort, net, seed in runs:
        spec = RunSpec(
            task,
            "hyperfusion",
            cohort,
            out=root / "weights",
            runs_dir=root / "runs",
            seed=seed,
            net=net,
            train=TINY_TRAIN,
            progress=False,
        )
        train_run(spec)
    return root / "weights"


def test_evaluate_reproduces_the_stored_test_metrics(
    weights, tiny_ad_cohort, tiny_brain_age_cohort, tmp_path, capsys
):
    out, results = tmp_path / "metrics.json", tmp_path / "RESULTS.md"
    argv = [
        "--cohort",
        str(tiny_ad_cohort),
        "--cohort",
        str(tiny_brain_age_cohort),
        "--weights",
        str(weights),
        "--out",
        str(out),
        "--results",
        str(results),
        "--cache-dir",
        str(weights.parent / "runs" / "cache"),
        "--quiet",
    ]
    assert cli_main(["evaluate", *argv]) == 0
    assert "WARNING" not in capsys.readouterr().err
    report = json.loads(out.read_text())
    assert "SYNTHETIC" in report["label"]
    for task, name, seeds in (
        ("ad", "hyperfusion", 2),
        ("brain-age", "hyperfusion", 1),
    ):
        entry = report["models"][task][name]
        assert len(entry["seeds"]) == seeds
        for seed, result in entry["seeds"].items():
            card = json.loads((weights / task / f"{name}-seed{seed}.json").read_text())
            assert result["reproduced"] is True
            assert result["test"] == card["metrics"]["test"]
    ad = report["models"]["ad"]["hyperfusion"]
    assert ad["aggregate"]["balanced_accuracy"]["n"] == 2
    assert "localisation" in ad["seeds"]["0"]
    assert ad["seeds"]["0"]["gradcam_layer"] == "trunk.blocks.2"
    assert set(ad["seeds"]["0"]["localisation_extra"]) == {
        "trunk.cam_tap",
        "trunk.blocks.1",
    }
    assert ad["seeds"]["0"]["hirescam_layer"] == "trunk.blocks.1"
    assert set(ad["seeds"]["0"]["localisation_hirescam"]) == {
        "trunk.blocks.1",
        "trunk.blocks.2",
    }
    assert "hirescam_layer" in ad["aggregate"]
    for result in ad["seeds"].values():  # the bins the ECE was computed from
        bins = result["reliability"]
        assert sum(b["count"] for b in bins) == result["test"]["n"]
        gap = sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in bins)
        assert gap / result["test"]["n"] == pytest.approx(
            result["test"]["ece"], abs=1e-5
        )
    pooled = ad["aggregate"]["reliability"]
    assert sum(b["count"] for b in pooled) == sum(
        r["test"]["n"] for r in ad["seeds"].values()
    )
    brain = report["models"]["brain-age"]["hyperfusion"]
    assert "reliability" not in brain["seeds"]["0"]  # a regression has no classes
    assert "reliability" not in brain["aggregate"]
    # The file reads back through the schema and writes back byte for byte.
    again = tmp_path / "again.json"
    read_metrics(out).write(again)
    assert again.read_bytes() == out.read_bytes()
    text = results.read_text()
    assert "| hyperfusion | 2 |" in text and "MAE (years)" in text
    assert "| HiResCAM | `trunk.blocks.1` (the app's) |" in text
    # Every map method measured, the default chosen on validation; the baseline
    # the folder lacked was made from the training split.
    block = report["explanations"]
    assert set(block) - {"default_method", "protocol", "selection"} == set(METHODS)
    assert block["default_method"] in METHODS
    assert METHODS[block["default_method"]].cached
    for name in METHODS:
        stats = block[name]
        assert set(stats["seeds"]) == {"0", "1"} and stats["latency_ms"] > 0
        assert stats["mass_ratio"]["n"] == 2
    assert (weights / "healthy_baseline.safetensors").is_file()
    assert "## Explanations" in text and "Chosen on the validation split" in text
    _check_transfer(report, tiny_ad_cohort)


def _check_transfer(report: dict, ad_cohort: Path) -> None:
    """The brain-age model read on the AD cohort's test split, by diagnosis."""
    import pandas as pd

    block = report["transfer"]
    ad_seed0 = report["models"]["ad"]["hyperfusion"]["seeds"]["0"]
    # Every AD test subject is in exactly one diagnosis group.
    assert sum(g["n"] for g in block["gap"].values()) == ad_seed0["test"]["n"]
    assert (
        block["brain_age_test_mae"]
        == (report["models"]["brain-age"]["hyperfusion"]["aggregate"]["mae"])
    )
    assert block["cn_mae"]["n"] == 1  # one brain-age seed was trained
    examples = pd.read_csv(Path("assets/examples/examples.csv"))
    assert set(block["examples"]) == set(examples["PTID"])
    for ptid, ex in block["examples"].items():
        row = examples[examples["PTID"] == ptid].iloc[0]
        assert ex["age"] == row["AGE"] and ex["dx"] == row["DX"]
        # Rounded to 6 decimals each: the gap is the difference within 2e-6.
        assert ex["gap"] == pytest.approx(ex["brain_age"] - ex["age"], abs=2e-6)
    targets = [c["target"] for c in report["acceptance"]]
    assert (
        any("CN < MCI < AD" in t for t in targets if "gap" in t)
        or len(block["gap"]) < 3
    )


def test_evaluate_refuses_a_cohort_the_weights_were_not_trained_on(
    weights, tmp_path, capsys
):
    from tests.train.tiny_cohort import make_tiny_cohort

    other = make_tiny_cohort(tmp_path / "other", n=12, seed=5)
    argv = [
        "--cohort",
        str(other),
        "--weights",
        str(weights),
        "--out",
        str(tmp_path / "m.json"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--quiet",
    ]
    assert cli_main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err
    assert "was not trained on" in err and err.count("\n") == 1


def test_unseen_cohort_tests_every_subject(weights, tmp_path):
    from tests.train.tiny_cohort import make_tiny_cohort

    other = make_tiny_cohort(tmp_path / "other", n=12, seed=5)
    (other / "README.txt").write_text(
        "SYNTHETIC data generated by hyperfusion.synth, seed 5\ntask: ad\n"
    )
    out = tmp_path / "unseen.json"
    argv = ["--cohort", str(other), "--weights", str(weights), "--out", str(out)]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--quiet", "--unseen"]
    assert cli_main(["evaluate", *argv]) == 0
    report = json.loads(out.read_text())
    assert report["unseen"] is True and "new seed" in report["label"]
    assert report["cohorts"]["ad"]["cohort_seed"] == 5
    for result in report["models"]["ad"]["hyperfusion"]["seeds"].values():
        assert result["test"]["n"] == 12  # all subjects, not a split
        assert result["reproduced"] is None
        assert 0 < result["localisation"]["n"] <= 7  # at most the 7 MCI and AD
    text = (tmp_path / "RESULTS-unseen.md").read_text()
    assert "seed 5, never seen" in text


def test_ranking_compares_hyperfusion_with_each_single_modality():
    models = {
        "ad": {
            "hyperfusion": model_result({"balanced_accuracy": (0.70, 0.0)}),
            "image-only": model_result({"balanced_accuracy": (0.72, 0.0)}),
            "tabular-only": model_result({"balanced_accuracy": (0.60, 0.0)}),
        },
        "brain-age": {
            "hyperfusion": model_result({"mae": (5.0, 0.0)}),
            "image-only": model_result({"mae": (5.5, 0.0)}),
        },
    }
    checks = {c.target: c for c in ranking(models)}
    assert not checks[
        "ad: HyperFusion ranks above image-only (balanced_accuracy)"
    ].passed
    tab = checks["ad: HyperFusion ranks above tabular-only (balanced_accuracy)"]
    assert tab.passed and tab.value == pytest.approx(10.0) and tab.unit == "points"
    age = checks["brain-age: HyperFusion ranks above image-only (mae)"]
    assert age.passed and age.value == pytest.approx(0.5)
    assert age.unit == "years better"


class _Toy(torch.nn.Module):
    """Conv -> tap -> pool: Grad-CAM of class 1 is the ReLU'd channel map."""

    cam_layers = {"gradcam": "tap"}

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv3d(1, 1, 1, bias=False)
        torch.nn.init.ones_(self.conv.weight)
        self.tap = torch.nn.Identity()

    def forward(self, image, tabular):
        pooled = self.tap(self.conv(image)).mean(dim=(2, 3, 4))
        return torch.cat([-pooled, pooled], dim=1)


def test_localisation_counts_the_mass_inside_the_true_region():
    # One subject, a 2x2x2 hemisphere crop; the image is 1 in voxel (0,0,0) of the
    # right half and 3 in voxel (1,1,1) of the left half, 0.5 elsewhere.
    # Grad-CAM of class 1 weights the map by the mean gradient, 1/8: CAM = image/8.
    image = np.full((1, 2, 2, 2, 2), 0.5)
    image[0, 0, 0, 0, 0], image[0, 1, 1, 1, 1] = 1.0, 3.0
    truth = np.zeros_like(image)
    truth[0, 0, 0, 0, 0] = 2.0  # the region: the right voxel only
    data = SplitData(
        image.astype(np.float16), np.zeros((1, 1), np.float32), np.array([1]), ("a",)
    )
    out = gradcam_localisation(_Toy(), data, truth, torch.device("cpu"))
    # Mass: right 1 + 7 * 0.5 = 4.5, left 3 + 3.5 = 6.5; inside 1 -> 1/11.
    # Chance: 1 voxel of 16.
    assert out.mass_inside == pytest.approx(1 / 11, abs=1e-6)
    assert out.chance == pytest.approx(1 / 16)
    assert out.ratio == pytest.approx(16 / 11, abs=1e-4)
    assert out.n == 1


def _seed(seed: int, balanced_accuracy: float, bins=None) -> SeedResult:
    test = Scores({"balanced_accuracy": balanced_accuracy}, 3)
    return SeedResult(seed, test, None, True, 10, 60.0, reliability=bins)


def _transfer(ratio: float, gaps: tuple[float, float, float], example_gap: float):
    from hyperfusion.evaluate.records import Stat
    from hyperfusion.evaluate.transfer_records import Example, Gap, Transfer

    return Transfer(
        model="hyperfusion",
        subjects="test",
        cn_mae=Stat(5.0 * ratio, 0.1, 3),
        brain_age_test_mae=Stat(5.0, 0.1, 3),
        gap={
            dx: Gap(g, 4.0, 10) for dx, g in zip(("CN", "MCI", "AD"), gaps, strict=True)
        },
        examples={
            "SYN_1": Example("CN", 70.0, 70.0 + example_gap, example_gap),
            "SYN_2": Example("AD", 70.0, 90.0, 20.0),  # only CN examples count
        },
    )


@pytest.mark.parametrize(
    ("ratio", "gaps", "example_gap", "passed"),
    [
        (1.2, (-1.0, 1.0, 4.0), -9.0, (True, True, True)),
        (1.3, (-1.0, 1.0, 4.0), -9.0, (False, True, True)),
        (1.2, (-1.0, 1.0, 1.5), 9.0, (True, False, True)),  # AD only 2.5 above CN
        (1.2, (-1.0, 5.0, 4.0), 9.0, (True, False, True)),  # MCI above AD
        (1.2, (-1.0, 1.0, 4.0), 10.5, (True, True, False)),  # beyond 2 x MAE 5
    ],
)
def test_transfer_checks_apply_the_acceptance_rules(ratio, gaps, example_gap, passed):
    from hyperfusion.evaluate.transfer import transfer_checks

    checks = transfer_checks(_transfer(ratio, gaps, example_gap))
    assert tuple(c.passed for c in checks) == passed
    assert checks[0].value == pytest.approx(ratio, abs=1e-3)
    assert checks[1].value == pytest.approx(gaps[2] - gaps[0], abs=1e-2)


def test_aggregate_and_acceptance():
    agg = aggregate([_seed(0, 0.6), _seed(1, 0.7)])
    stat = agg.metrics["balanced_accuracy"]
    assert stat.mean == pytest.approx(0.65) and stat.sd == pytest.approx(0.070711)
    assert agg.training.time_s.mean == 60.0 and agg.reliability is None
    models = {
        "ad": {
            "hyperfusion": model_result({"balanced_accuracy": (0.7, 0.0)}),
            "image-only": model_result({"balanced_accuracy": (0.6, 0.0)}),
            "tabular-only": model_result({"balanced_accuracy": (0.68, 0.0)}),
        }
    }
    checks = acceptance(models)
    assert [c.passed for c in checks] == [True, False]
    assert checks[0].value == pytest.approx(10.0) and checks[0].unit == "points"


def test_pooled_reliability_bins_are_the_bins_of_all_seeds_together():
    # Seed 0: bin (0.6, 0.8] holds 2 subjects at mean confidence 0.7, 1 right;
    # seed 1: 2 subjects there at 0.75, both right, and 1 in (0.8, 1.0].
    a = (ReliabilityBin(0.6, 0.8, 0.7, 0.5, 2),)
    b = (ReliabilityBin(0.6, 0.8, 0.75, 1.0, 2), ReliabilityBin(0.8, 1.0, 0.9, 1.0, 1))
    pooled = pool_reliability([a, b])
    assert [(p.lower, p.count) for p in pooled] == [(0.6, 4), (0.8, 1)]
    assert pooled[0].confidence == pytest.approx(0.725)  # (2 * 0.7 + 2 * 0.75) / 4
    assert pooled[0].accuracy == pytest.approx(0.75)  # 3 of 4 right
    assert aggregate([_seed(0, 0.6, a), _seed(1, 0.7, b)]).reliability == pooled


def test_metrics_files_with_another_layout_are_refused_in_one_line(tmp_path):
    good = {
        "label": "x",
        "unseen": False,
        "cohorts": {},
        "gradcam": {
            k: "x"
            for k in ("models", "layer", "subjects", "target", "region", "chance")
        },
        "models": {},
        "acceptance": [],
    }
    assert Metrics.from_json(good).models == {}
    bad_layouts = {
        "label is missing": {k: v for k, v in good.items() if k != "label"},
        "models.AD is not a task": {**good, "models": {"AD": {}}},
        "acceptance[0].value is 'six'": {
            **good,
            "acceptance": [
                {"target": "t", "value": "six", "unit": "u", "passed": True}
            ],
        },
        "extra is not a key": {**good, "extra": 1},
    }
    for problem, data in bad_layouts.items():
        path = tmp_path / "metrics.json"
        path.write_text(json.dumps(data))
        with pytest.raises(WeightsError, match=re.escape(problem)) as info:
            read_metrics(path)
        assert "\n" not in str(info.value) and "metrics.json" in str(info.value)
    path.write_text("{not json")
    with pytest.raises(WeightsError, match="metrics.json is unreadable"):
        read_metrics(path)
    assert read_metrics(tmp_path / "absent.json") is None
