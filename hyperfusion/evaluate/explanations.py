"""How far each map method can be trusted: measured on HyperFusion-AD's MCI and AD
test subjects (every seed), chosen on the validation split, for ``metrics.json``'s
``explanations`` block.

Protocol (:func:`protocol` says it in the file):

- subjects: the MCI and AD subjects of a split part (every one on the test split,
  the first :data:`VALIDATION_SUBJECTS` on the validation split), each explained
  for its true class by each seed's network;
- ``mass_ratio``, ``pointing_game``: the map (both hemispheres, positive part)
  against the region where the ground truth exceeds
  :data:`~hyperfusion.evaluate.localisation.TRUTH_THRESHOLD` of its maximum;
- ``deletion_auc`` / ``random_deletion_auc``: P(true class) as 0, 10, ... 100 % of
  the brain voxels are replaced by the healthy baseline in the map's order / a
  random order, area over the fraction;
- ``randomisation_corr``: Spearman over the brain voxels between the signed map and
  the map after re-initialising every layer after the explained one, on the first
  :data:`RANDOMISED_SUBJECTS` subjects;
- ``latency_ms``: the app's map for one image (the whole ensemble, from the cached
  features where the method allows), median of repeated runs.

The selection (:func:`select`) runs every candidate on the validation split:
HiResCAM at each of :data:`HIRESCAM_CANDIDATES`, the other methods at their layers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from hyperfusion.evaluate.explanation_maps import (
    Candidate,
    candidate_maps,
    probabilities,
    randomised,
)
from hyperfusion.evaluate.explanation_quality import (
    curve_auc,
    deletion_images,
    deletion_order,
    mass_share,
    pointing_hit,
    spearman,
)
from hyperfusion.evaluate.explanation_records import Quality, QualityStats
from hyperfusion.evaluate.localisation import TRUTH_THRESHOLD
from hyperfusion.explain.cam import resolve_layer
from hyperfusion.explain.ensemble import Explainer, Net
from hyperfusion.explain.methods import METHOD_NAMES, METHODS
from hyperfusion.tasks import AD

BATCH = 8  # subjects per pass
DELETION_FRACTIONS = np.linspace(0.0, 1.0, 11)
DELETION_BATCH = 24  # images per deletion pass
VALIDATION_SUBJECTS = 64
RANDOMISED_SUBJECTS = 32
UNSEEN_SUBJECTS = 96  # an unseen cohort: its first MCI / AD subjects
# HiResCAM's layer is chosen among these on validation (the stem and blocks 1-3).
HIRESCAM_CANDIDATES = (
    "trunk.stem",
    "trunk.blocks.0",
    "trunk.blocks.1",
    "trunk.blocks.2",
)
SANITY_CORR = 0.3  # randomisation_corr above this fails Adebayo's check
RNG_SEED = 13
LATENCY_RUNS = {True: 5, False: 1}  # cached methods / the others


@dataclass(frozen=True)
class Subjects:
    """The MCI and AD subjects of one split part as one seed's network sees them.

    Attributes:
        views: ``(N, V, X, Y, Z)`` float16; tabular: ``(N, F)``; targets: ``(N,)``.
        regions: ``(N, *crop)`` bool, the true disease region on the task grid.
    """

    views: np.ndarray
    tabular: np.ndarray
    targets: np.ndarray
    regions: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def head(self, n: int | None) -> Subjects:
        """The first ``n`` subjects (all for None)."""
        return Subjects(*(a[:n] for a in self.__dict__.values()))


def subjects_of(data, truth: np.ndarray, limit: int | None = None) -> Subjects:
    """The MCI / AD rows of a split part (:func:`~hyperfusion.evaluate.localisation.
    part_with_truth`'s ``(data, truth)``) with their true regions."""
    rows = np.flatnonzero(data.targets > 0)[:limit]
    regions = []
    for t in truth[rows].astype(np.float32):
        merged = AD.merge_views(t)
        regions.append(merged > TRUTH_THRESHOLD * merged.max())
    return Subjects(
        data.images[rows], data.tabular[rows], data.targets[rows], np.stack(regions)
    )


class _Tally:
    """One candidate's per-subject values on one seed."""

    def __init__(self) -> None:
        self.inside, self.chance, self.hits = [], [], []
        self.deletion, self.random, self.corr = [], [], []

    def quality(self) -> Quality:
        def mean(values: list) -> float | None:
            return round(float(np.mean(values)), 4) if values else None

        ratio = None
        if self.inside and np.mean(self.chance) > 0:
            ratio = round(float(np.mean(self.inside) / np.mean(self.chance)), 4)
        return Quality(
            len(self.inside),
            len(self.corr),
            ratio,
            mean(self.hits),
            mean(self.deletion),
            mean(self.random),
            mean(self.corr),
        )


def _predict(model, views: np.ndarray, tab, target: int) -> np.ndarray:
    """P(target) of each image ``(K, V, X, Y, Z)`` (one subject's EHR)."""
    forward, out = probabilities(model, AD), []
    with torch.no_grad():
        for start in range(0, len(views), DELETION_BATCH):
            x = torch.from_numpy(views[start : start + DELETION_BATCH])
            t = tab.expand(x.shape[0], -1)
            out.append(forward(x, t)[:, target].numpy())
    return np.concatenate(out).astype(np.float64)


def _deletion(model, subject, maps, baseline, rng: list) -> tuple[dict, float]:
    """Each map's deletion AUC and the random order's, for one subject (``rng``:
    the seed of its tie-breaking; the random order's is ``[*rng, 1]``)."""
    views, tab, target, brain = subject
    inner = DELETION_FRACTIONS[1:-1]
    orders = {
        c: deletion_order(m, brain, np.random.default_rng(rng)) for c, m in maps.items()
    }
    random = np.random.default_rng([*rng, 1]).permutation(np.flatnonzero(brain))
    orders[None] = random
    images = [deletion_images(views, baseline, o, inner) for o in orders.values()]
    healthy = np.where(brain, baseline, views)
    ends = _predict(model, np.stack([views, healthy]), tab, target)
    probs = _predict(model, np.concatenate(images), tab, target)
    probs = probs.reshape(len(orders), -1)
    aucs = {
        c: curve_auc(DELETION_FRACTIONS, np.concatenate([[ends[0]], p, [ends[1]]]))
        for c, p in zip(orders, probs, strict=True)
    }
    return aucs, aucs.pop(None)


def measure_seed(
    model: nn.Module,
    subjects: Subjects,
    baseline: np.ndarray,
    candidates: Sequence[Candidate],
    seed: int,
) -> dict[Candidate, Quality]:
    """Every candidate's :class:`Quality` on ``subjects`` with one seed's network."""
    tallies = {c: _Tally() for c in candidates}
    base = torch.from_numpy(np.array(baseline, dtype=np.float32))
    probe = torch.from_numpy(subjects.views[:1, 0, None].astype(np.float32))
    probe_tab = torch.from_numpy(subjects.tabular[:1])
    twins = {
        layer: randomised(model, layer, probe, probe_tab, RNG_SEED + seed)
        for layer in dict.fromkeys(layer for _, layer in candidates)
    }
    for start in range(0, len(subjects), BATCH):
        idx = np.arange(start, min(start + BATCH, len(subjects)))
        views = torch.from_numpy(subjects.views[idx].astype(np.float32))
        tab = torch.from_numpy(subjects.tabular[idx])
        targets = torch.from_numpy(subjects.targets[idx]).long()
        maps = candidate_maps(model, AD, views, tab, targets, base, candidates)
        rand = idx < RANDOMISED_SUBJECTS
        twin_maps = {}
        for layer, twin in twins.items() if rand.any() else ():
            chosen = [c for c in candidates if c[1] == layer]
            found = candidate_maps(
                twin, AD, views[rand], tab[rand], targets[rand], base, chosen
            )
            twin_maps.update(found)
        for j, i in enumerate(idx):
            _tally_subject(model, subjects, i, j, maps, twin_maps, baseline, tallies)
    return {c: t.quality() for c, t in tallies.items()}


def _tally_subject(model, subjects, i, j, maps, twin_maps, baseline, tallies):
    """Mass, pointing, deletion and (when randomised) the correlation of subject
    ``i`` (row ``j`` of the batch's maps)."""
    views = subjects.views[i].astype(np.float32)
    brain = (views != 0) | (baseline != 0)
    region = subjects.regions[i]
    rng = [RNG_SEED, int(i)]  # the same tie-breaking for every candidate
    own = {c: m[j] for c, m in maps.items()}
    tab = torch.from_numpy(subjects.tabular[i : i + 1])
    subject = (views, tab, int(subjects.targets[i]), brain)
    aucs, random_auc = _deletion(model, subject, own, baseline, rng)
    for c, volume in own.items():
        tally = tallies[c]
        merged = AD.merge_views(volume)
        tally.inside.append(mass_share(merged, region))
        tally.chance.append(float(region.mean()))
        tally.hits.append(float(pointing_hit(merged, region)))
        tally.deletion.append(aucs[c])
        tally.random.append(random_auc)
        if c in twin_maps:
            corr = spearman(volume, twin_maps[c][j], brain)
            if corr is not None:
                tally.corr.append(corr)


def held_out_candidates(model: nn.Module, layers: dict[str, str]) -> list[Candidate]:
    """Every method at its layer (``layers``: role -> the layer chosen)."""
    return [(m, resolve_layer(model, METHODS[m].layer, layers)) for m in METHOD_NAMES]


def validation_candidates(model: nn.Module) -> list[Candidate]:
    """HiResCAM at each candidate layer the net has, the others at their layers."""
    names = dict(model.named_modules())
    hires = [("hirescam", layer) for layer in HIRESCAM_CANDIDATES if layer in names]
    return hires + [c for c in held_out_candidates(model, {}) if c[0] != "hirescam"]


def over_seeds(per_seed: Iterable[dict[Candidate, Quality]]) -> dict:
    """Candidate -> :class:`QualityStats` over seeds."""
    seeds = list(per_seed)
    return {c: QualityStats.over([s[c] for s in seeds]) for c in seeds[0]}


def latency_ms(
    explainer: Explainer,
    models: Sequence[nn.Module],
    subjects: Subjects,
    method: str,
) -> float:
    """The app's time for one map of the first subject by the whole ensemble
    (CAM family: from the cached features, after a first call), median in ms."""
    views = torch.from_numpy(subjects.views[0].astype(np.float32)).unsqueeze(1)
    tab = torch.from_numpy(subjects.tabular[:1])
    nets = [Net(m, tab) for m in models]
    with torch.no_grad():
        feats = [m.encode_image(views) for m in models]
    target = AD.classes[int(subjects.targets[0])]
    grid = models[0].cfg.grid
    args = (nets, views, AD, target, method, ("latency",), grid, feats)
    explainer.explain(*args)
    times = []
    for _ in range(LATENCY_RUNS[METHODS[method].cached]):
        start = time.perf_counter()
        explainer.explain(*args)
        times.append((time.perf_counter() - start) * 1000)
    return round(float(np.median(times)), 1)


__all__ = [
    "HIRESCAM_CANDIDATES",
    "SANITY_CORR",
    "Subjects",
    "latency_ms",
    "measure_seed",
    "over_seeds",
    "held_out_candidates",
    "subjects_of",
    "validation_candidates",
]
