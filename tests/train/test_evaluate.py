"""The evaluation CLI reproduces the cards' test metrics and measures localisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hyperfusion.evaluate import acceptance, aggregate, gradcam_localisation, main
from hyperfusion.train.data import SplitData
from hyperfusion.train.run import RunSpec, train_run
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
    assert main(argv) == 0
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
    text = results.read_text()
    assert "| hyperfusion | 2 |" in text and "MAE (years)" in text


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
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "was not trained on" in err and err.count("\n") == 1


class _Toy(torch.nn.Module):
    """Conv -> tap -> pool: Grad-CAM of class 1 is the ReLU'd channel map."""

    gradcam_layer = "tap"

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
    assert out["mass_inside"] == pytest.approx(1 / 11, abs=1e-6)
    assert out["chance"] == pytest.approx(1 / 16)
    assert out["ratio"] == pytest.approx(16 / 11, abs=1e-4)
    assert out["n"] == 1


def test_aggregate_and_acceptance():
    entries = [{"test": {"balanced_accuracy": v, "n": 3}} for v in (0.6, 0.7)]
    agg = aggregate(entries)["balanced_accuracy"]
    assert agg["mean"] == pytest.approx(0.65) and agg["sd"] == pytest.approx(0.070711)
    models = {
        "ad": {
            "hyperfusion": {"aggregate": {"balanced_accuracy": {"mean": 0.7}}},
            "image-only": {"aggregate": {"balanced_accuracy": {"mean": 0.6}}},
            "tabular-only": {"aggregate": {"balanced_accuracy": {"mean": 0.68}}},
        }
    }
    checks = acceptance(models)
    assert [c["passed"] for c in checks] == [True, False]
