"""The quality measures of the map methods on maps and networks whose answer is
known, the rule that picks the default method, and the ``explanations`` block's
round trip through ``metrics.json``."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from hyperfusion.errors import WeightsError
from hyperfusion.evaluate.explanation_block import select
from hyperfusion.evaluate.explanation_maps import modules_after, randomised
from hyperfusion.evaluate.explanation_quality import (
    curve_auc,
    deletion_order,
    dilated,
    mass_share,
    peak_voxel,
    pointing_hit,
    spearman,
)
from hyperfusion.evaluate.explanation_records import (
    Explanations,
    MethodQuality,
    Quality,
    QualityStats,
    Selection,
)
from hyperfusion.evaluate.explanations import Subjects, measure_seed
from hyperfusion.evaluate.localisation import cam_protocol
from hyperfusion.evaluate.schema import Metrics, read_metrics
from hyperfusion.evaluate.scoring import label
from hyperfusion.tasks import AD
from tests.tolerances import rounding_atol

CROP = (8, 6, 4)  # one view (hemisphere)


def _region(shape=CROP) -> np.ndarray:
    region = np.zeros(shape, dtype=bool)
    region[1:3, 2:4, 1:3] = True
    return region


def test_a_map_equal_to_the_truth_holds_all_its_mass_there_and_points_at_it():
    region = _region()
    truth_map = region.astype(np.float32)
    chance = region.mean()
    assert mass_share(truth_map, region) == 1.0
    assert mass_share(truth_map, region) / chance == pytest.approx(1 / chance)
    assert pointing_hit(truth_map, region)
    assert mass_share(np.zeros(CROP), region) == 0.0  # an empty map: nothing inside
    assert not pointing_hit(np.zeros(CROP), region)


def test_the_pointing_game_allows_one_voxel_and_no_more():
    region = np.zeros(CROP, dtype=bool)
    region[2, 2, 2] = True
    near, far = np.zeros(CROP), np.zeros(CROP)
    near[3, 3, 1], far[4, 2, 2] = 1.0, 1.0  # diagonal neighbour; two voxels away
    assert pointing_hit(near, region) and not pointing_hit(far, region)
    assert dilated(region).sum() == 27


def test_a_plateau_points_at_its_centre():
    vol = np.zeros((7, 1, 1))
    vol[2:5] = 1.0
    assert peak_voxel(vol) == (3, 0, 0)
    assert peak_voxel(-np.ones((2, 2))) is None


def test_randomisation_correlation_of_a_map_with_itself_is_one():
    gen = np.random.default_rng(0)
    a, where = gen.normal(size=CROP), np.ones(CROP, dtype=bool)
    assert spearman(a, a, where) == pytest.approx(1.0)
    assert spearman(a, -a, where) == pytest.approx(-1.0)
    assert spearman(a, np.zeros(CROP), where) is None  # constant: undefined


def test_deletion_ranks_the_highest_values_first_and_breaks_ties_at_random():
    vol = np.array([0.0, 3.0, 0.0, 1.0, 0.0])
    brain = np.array([True, True, True, True, False])
    order = deletion_order(vol, brain, np.random.default_rng(0))
    assert order[:2].tolist() == [1, 3] and set(order[2:]) == {0, 2}
    assert curve_auc(np.linspace(0, 1, 11), np.linspace(1, 0, 11)) == pytest.approx(0.5)


class _MaskedConv(nn.Module):
    """conv (1x1, weight 1) -> tap; class 2's logit is ``8 * mean(tap in the
    region)``: only the region is evidence, for AD."""

    def __init__(self, region: np.ndarray) -> None:
        super().__init__()
        self.conv = nn.Conv3d(1, 1, 1)
        nn.init.ones_(self.conv.weight)
        nn.init.zeros_(self.conv.bias)
        self.tap = nn.Identity()
        self.register_buffer("region", torch.from_numpy(region).float())

    def forward(self, image, tabular):
        a = self.tap(self.conv(image))[:, 0]
        inside = (a * self.region).sum(dim=(1, 2, 3)) / self.region.sum()
        zero = torch.zeros_like(inside)
        return torch.stack([zero, zero, 8.0 * inside - 4.0], dim=1)


def _subjects(n: int = 3) -> tuple[Subjects, np.ndarray]:
    gen = np.random.default_rng(1)
    region = _region()
    views = gen.uniform(0.5, 1.5, size=(n, 2, *CROP)).astype(np.float16)
    merged = AD.merge_views(np.stack([region, region]))
    subjects = Subjects(
        views,
        np.zeros((n, 1), np.float32),
        np.full(n, 2),
        np.repeat(merged[None], n, axis=0),
    )
    return subjects, np.full((2, *CROP), 0.2, np.float32)


def test_a_map_of_the_only_evidence_scores_as_the_truth_does():
    subjects, healthy = _subjects()
    model = _MaskedConv(_region()).eval()
    candidates = [("hirescam", "tap"), ("ig", "input"), ("occlusion", "input")]
    found = measure_seed(model, subjects, healthy, candidates, seed=0)
    hires = found[("hirescam", "tap")]
    chance = float(subjects.regions[0].mean())
    # Positive only inside the region: all the mass, the peak in it.
    assert hires.mass_ratio == pytest.approx(1 / chance, abs=rounding_atol(4))
    assert hires.pointing_game == 1.0 and hires.n == 3
    # Nothing with parameters runs after the tap: the "randomised" map is itself.
    assert hires.randomisation_corr == pytest.approx(1.0, abs=rounding_atol(4))
    for quality in found.values():
        assert quality.deletion_auc < quality.random_deletion_auc
    # The input methods' network had its conv re-initialised: the map changed.
    assert found[("ig", "input")].randomisation_corr < 0.999


def test_randomisation_resets_only_the_layers_after_the_explained_one():
    model = nn.Sequential(nn.Conv3d(1, 2, 1), nn.ReLU(), nn.Conv3d(2, 1, 1)).eval()

    class _Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = model

        def forward(self, image, tabular):
            return self.body(image).mean(dim=(2, 3, 4))

    net = _Wrapped().eval()
    image, tab = torch.ones(1, 1, 2, 2, 2), torch.zeros(1, 1)
    assert modules_after(net, "body.0", image, tab) == ["body.2"]
    assert modules_after(net, "input", image, tab) == ["body.0", "body.2"]
    twin = randomised(net, "body.0", image, tab, seed=0)
    assert torch.equal(twin.body[0].weight, net.body[0].weight)
    assert not torch.equal(twin.body[2].weight, net.body[2].weight)
    again = randomised(net, "body.0", image, tab, seed=0)
    assert torch.equal(again.body[2].weight, twin.body[2].weight)  # seeded


def _stats(mass, pointing=0.5, deletion=0.2, random=0.4, corr=0.0) -> QualityStats:
    q = Quality(10, 5, mass, pointing, deletion, random, corr)
    return QualityStats.over([q, q])


def test_the_default_is_the_best_eligible_cached_method_on_validation():
    stats = {
        ("hirescam", "trunk.stem"): _stats(5.0, corr=0.6),  # fails the sanity check
        ("hirescam", "trunk.blocks.1"): _stats(3.5),
        ("hirescam", "trunk.blocks.2"): _stats(2.0),
        ("gradcam", "trunk.blocks.2"): _stats(1.0, deletion=0.5),  # > random
        ("ig", "input"): _stats(4.5),  # best, but a full pass per edit
    }
    layers, default, eligible, best = select(stats)
    assert layers == {"hirescam": "trunk.blocks.1"}
    assert default == "hirescam" and best == ("ig", "input")
    assert ("hirescam", "trunk.stem") not in eligible
    assert ("gradcam", "trunk.blocks.2") not in eligible


def _block() -> Explanations:
    seeds = {"0": Quality(145, 32, 3.9, 0.85, 0.2, 0.4, 0.05)}
    stats = QualityStats.over(list(seeds.values()))
    methods = {
        "hirescam": MethodQuality("trunk.blocks.1", 12.5, stats, seeds),
        "gradcam": MethodQuality("trunk.blocks.2", 4.0, stats, seeds),
    }
    selection = Selection(
        "the rule", "validation", 64, ("hirescam@trunk.blocks.1",),
        "ig@input", {"hirescam": {"trunk.blocks.1": stats}},
    )  # fmt: skip
    return Explanations("hirescam", {"subjects": "test"}, methods, selection)


def example_metrics_with(block: Explanations | None) -> Metrics:
    return Metrics(label(False), False, {}, cam_protocol(False), explanations=block)


def test_the_explanations_block_round_trips_and_bad_names_are_refused(tmp_path):
    path = tmp_path / "metrics.json"
    metrics = example_metrics_with(_block())
    metrics.write(path)
    assert read_metrics(path) == metrics
    assert read_metrics(path).explanations.methods["hirescam"].latency_ms == 12.5
    data = json.loads(path.read_text())
    assert data["explanations"]["default_method"] == "hirescam"
    assert data["explanations"]["hirescam"]["mass_ratio"]["mean"] == 3.9
    # Without the block, the file reads as before (nothing measured).
    example_metrics_with(None).write(path)
    assert read_metrics(path).explanations is None
    bad = {
        "explanations.saliency is not a map method": ("saliency", {}),
        "explanations.hirescam.mass_ratio is missing": ("hirescam", "drop"),
    }
    for problem, (key, value) in bad.items():
        broken = json.loads(json.dumps(data))
        if value == "drop":
            del broken["explanations"][key]["mass_ratio"]
        else:
            broken["explanations"][key] = value
        path.write_text(json.dumps(broken))
        with pytest.raises(WeightsError, match=re.escape(problem)):
            read_metrics(path)


def test_an_unseen_block_has_no_default():
    block = replace(_block(), default_method=None, selection=None)
    metrics = example_metrics_with(block)
    assert Metrics.from_json(metrics.to_json()).explanations.default_method is None


def test_the_app_reads_the_default_and_the_layers_the_evaluation_chose(tmp_path):
    from hyperfusion.explain.settings import measured_choices

    assert measured_choices(tmp_path).default_method == "hirescam"  # no file yet
    assert not measured_choices(tmp_path).measured
    block = replace(_block(), default_method="gradcam")
    example_metrics_with(block).write(tmp_path / "metrics.json")
    choices = measured_choices(tmp_path)
    assert choices.measured and choices.default_method == "gradcam"
    assert choices.layers == {"hirescam": "trunk.blocks.1", "gradcam": "trunk.blocks.2"}
