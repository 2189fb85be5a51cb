"""The shipped weights reproduce weights/metrics.json on a subset of the test split.

No cohort ships with the repository, but the generator is deterministic per subject:
the first test subjects of each cohort are regenerated from their seed and index,
run through the shipped checkpoints, and compared with the outputs that
``hyperfusion.evaluate`` stored when it wrote metrics.json.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hyperfusion.data.datasets import cohort_arrays, load_cohort
from hyperfusion.models.checkpoint import load_checkpoint
from hyperfusion.models.registry import get_spec
from hyperfusion.synth.cohort import generate_cohort
from hyperfusion.train.data import predict, split_data
from tests.conftest import REPO_ROOT
from tests.tolerances import assert_far, assert_within, network_atol, rounding_atol

WEIGHTS = REPO_ROOT / "weights"
METRICS = json.loads((WEIGHTS / "metrics.json").read_text())
CASES = [
    (task, name, seed)
    for task, models in METRICS["models"].items()
    for name in (("hyperfusion", "image-only") if task == "ad" else ("hyperfusion",))
    for seed in sorted(models.get(name, {}).get("seeds", {}))[:1]
]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The stored reference subjects of each task, regenerated from the cohort seed."""
    out = {}
    for task, models in METRICS["models"].items():
        entry = next(iter(models["hyperfusion"]["seeds"].values()))
        ptids = entry["reference_outputs"]["ptids"]
        info = METRICS["cohorts"][task]
        folder = tmp_path_factory.mktemp(task)
        generate_cohort(
            task,
            info["n_subjects"],
            info["cohort_seed"],
            folder,
            progress=False,
            overwrite=True,
            indices=[int(p.split("_")[1]) - 1 for p in ptids],
        )
        df = load_cohort(folder)
        assert list(df["PTID"]) == ptids
        out[task] = df
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("task", "name", "seed"), CASES)
def test_shipped_checkpoint_reproduces_its_stored_test_outputs(
    regenerated, task, name, seed
):
    ref = METRICS["models"][task][name]["seeds"][seed]["reference_outputs"]
    ckpt = load_checkpoint(WEIGHTS / task / f"{name}-seed{seed}.json", device="cpu")
    df = regenerated[task]
    assert list(df["PTID"]) == ref["ptids"]
    images = None
    if get_spec(task, name).uses_image:
        grid = ckpt.model.cfg.grid
        images = cohort_arrays(df, task, grid, None, workers=1, progress=False)
    data = split_data(task, df, images, ckpt.preprocessor)
    got = predict(ckpt.model, data, torch.device("cpu"))
    expected = np.asarray(ref["outputs"])
    # Stored rounded to 5 decimals, computed on another machine in float32: AD
    # logits of a few units, brain ages near 70 years, so a tolerance relative to the
    # output scale (network_atol: 7e-3 years at 70) rather than 2e-4 absolute.
    tol = rounding_atol(5) + network_atol(expected)
    assert_within(got, expected, tol, what=f"{task} {name} seed {seed}")
    # Weights of another seed or model would miss by far more than that.
    other = "1" if seed != "1" else "0"
    wrong = METRICS["models"][task][name]["seeds"][other]["reference_outputs"]
    assert_far(np.asarray(wrong["outputs"]), expected, tol, what="another seed")


def test_metrics_json_comes_from_the_shipped_cards():
    # Every seed in metrics.json has a card in weights/ and the card's test metrics.
    for task, models in METRICS["models"].items():
        for name, entry in models.items():
            for seed, result in entry["seeds"].items():
                card = json.loads(
                    (WEIGHTS / task / f"{name}-seed{seed}.json").read_text()
                )
                assert result["test"] == card["metrics"]["test"], (task, name, seed)
                assert result["reproduced"] is True
