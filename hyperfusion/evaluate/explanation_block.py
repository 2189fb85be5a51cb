"""The ``explanations`` block of ``metrics.json``: every map method measured on
HyperFusion-AD's MCI and AD subjects (all seeds), the HiResCAM layer and the default
method chosen on the validation split by :data:`RULE`, test figures reported.

On an unseen cohort (no validation split) the methods are measured on its first
:data:`~hyperfusion.evaluate.explanations.UNSEEN_SUBJECTS` MCI and AD subjects at
the layers the held-out evaluation chose, and no default is chosen there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from hyperfusion.evaluate.explanation_records import (
    Explanations,
    MethodQuality,
    QualityStats,
    Selection,
)
from hyperfusion.evaluate.explanations import (
    DELETION_FRACTIONS,
    RANDOMISED_SUBJECTS,
    SANITY_CORR,
    UNSEEN_SUBJECTS,
    VALIDATION_SUBJECTS,
    Subjects,
    held_out_candidates,
    latency_ms,
    measure_seed,
    over_seeds,
    subjects_of,
    validation_candidates,
)
from hyperfusion.evaluate.localisation import (
    EXPLAINED,
    TRUTH_THRESHOLD,
    part_with_truth,
)
from hyperfusion.explain.baseline import (
    baseline_note,
    baseline_path,
    healthy_baseline,
    make_baseline,
)
from hyperfusion.explain.ensemble import Explainer
from hyperfusion.explain.integrated import IG_STEPS, SMOOTH_SAMPLES, SMOOTH_STEPS
from hyperfusion.explain.methods import FALLBACK_DEFAULT, METHODS
from hyperfusion.explain.occlusion import PATCHES
from hyperfusion.explain.settings import measured_choices
from hyperfusion.models.checkpoint import Checkpoint, find_cards, load_checkpoint
from hyperfusion.tasks import AD

RULE = (
    f"eligible: randomisation_corr <= {SANITY_CORR} and deletion_auc < "
    "random_deletion_auc (means over seeds); HiResCAM's layer: the eligible "
    "candidate with the highest mass_ratio (ties: pointing_game); default: of the "
    "eligible methods computed from the cache (the Patient page redraws the map on "
    "every EHR edit), the highest mass_ratio (ties: pointing_game)"
)
Candidate = tuple[str, str]


def _ok(stats: QualityStats) -> bool:
    corr = stats.mean("randomisation_corr")
    deletion, random = stats.mean("deletion_auc"), stats.mean("random_deletion_auc")
    if corr is None or deletion is None or random is None:
        return False
    return corr <= SANITY_CORR and deletion < random


def _score(stats: QualityStats) -> tuple[float, float]:
    return (stats.mean("mass_ratio") or 0.0, stats.mean("pointing_game") or 0.0)


def select(
    stats: Mapping[Candidate, QualityStats],
) -> tuple[dict[str, str], str, list[Candidate], Candidate]:
    """:data:`RULE` applied to the validation figures: ``(layers, default,
    eligible, best overall)`` with ``layers`` role -> layer."""
    eligible = [c for c, s in stats.items() if _ok(s)]
    pool = eligible or list(stats)
    best = max(pool, key=lambda c: _score(stats[c]))
    hires = [c for c in pool if c[0] == "hirescam"] or [
        c for c in stats if c[0] == "hirescam"
    ]
    layer = max(hires, key=lambda c: _score(stats[c]))[1]
    finalists = [
        c
        for c in pool
        if METHODS[c[0]].cached and (c[0] != "hirescam" or c[1] == layer)
    ]
    default = (
        max(finalists, key=lambda c: _score(stats[c]))[0]
        if finalists
        else FALLBACK_DEFAULT
    )
    return {"hirescam": layer}, default, eligible, best


def protocol(unseen: bool, n_subjects: int, weights_dir: Path) -> dict[str, str]:
    """How the block was measured, in words."""
    where = "the new cohort" if unseen else "the test split"
    first = f"the first {n_subjects} " if unseen else ""
    steps = ", ".join(f"{f:.0%}" for f in DELETION_FRACTIONS)
    return {
        "models": "/".join(EXPLAINED) + ", every seed, each its own maps",
        "subjects": f"{first}MCI and AD subjects of {where}; validation: the first "
        f"{VALIDATION_SUBJECTS} MCI and AD subjects of the validation split",
        "target": "the true class (CAM family: its logit; others: its probability)",
        "region": f"ground-truth map > {TRUTH_THRESHOLD:g} x its maximum",
        "mass_ratio": "mean share of the positive map inside the region / the "
        "region's mean share of the crop (an empty map: 0 inside)",
        "pointing_game": "share of subjects whose map maximum lies within 1 model "
        "voxel (26-neighbourhood) of the region",
        "deletion": f"P(true class) with {steps} of the brain voxels replaced by "
        "the healthy baseline, highest map value first (ties: random) vs one "
        "random order per subject; area over the fraction",
        "randomisation": "Spearman over the brain voxels of the signed map with "
        "the map after re-initialising every layer after the explained one "
        f"(the image: all); the first {RANDOMISED_SUBJECTS} subjects",
        "latency": "one map of one image by the whole ensemble as the app makes "
        "it (CAM family from the cached features), median ms on the evaluating "
        "machine",
        "baseline": f"weights/healthy_baseline.safetensors: {_note(weights_dir)}",
        "settings": f"Integrated Gradients: {IG_STEPS} Gauss-Legendre steps; "
        f"SmoothGrad: {SMOOTH_SAMPLES} noisy copies x {SMOOTH_STEPS} steps; "
        f"occlusion: {'x'.join(map(str, PATCHES))} patches per hemisphere",
    }


def _note(weights_dir: Path) -> str:
    """How the AD baseline was made, in one line."""
    note = baseline_note(weights_dir).get(AD.name, {})
    if not note:
        return "no note"
    return (
        f"{note['what']} (n = {note['n_subjects']}, cohort seed "
        f"{note['cohort_seed']}, split seed {note['split_seed']}, {note['grid']})"
    )


def _subjects(
    ckpt: Checkpoint, cache: Any, part: str, unseen: bool, limit: int | None
) -> Subjects:
    """One seed's MCI and AD subjects of a split part (unseen: of the cohort)."""
    seed = int(ckpt.card.get("trained_on", {}).get("split_seed", 0))
    df, split = cache.split(AD, seed)
    if unseen:
        split = pd.Series("test", index=df.index)
    grid = ckpt.model.cfg.grid
    images = cache.images(AD, seed, grid)
    data, truth = part_with_truth(
        df, split, part, images, ckpt.preprocessor, grid, cache.truth
    )
    return subjects_of(data, truth, limit)


def _selection(stats: Mapping[Candidate, QualityStats], n: int):
    layers, default, eligible, best = select(stats)
    candidates: dict[str, dict[str, QualityStats]] = {}
    for (method, layer), found in stats.items():
        candidates.setdefault(method, {})[layer] = found
    named = tuple(f"{m}@{layer}" for m, layer in eligible)
    record = Selection(RULE, "validation", n, named, "@".join(best), candidates)
    return layers, default, record


def measure_explanations(
    weights_dir: Path,
    cache: Any,
    unseen: bool = False,
    log: Callable[[str], None] | None = None,
    cohorts: Mapping[str, Path] | None = None,
) -> Explanations | None:
    """The ``explanations`` block for the checkpoints of :data:`EXPLAINED` in
    ``weights_dir`` on ``cache``'s cohort (None without such checkpoints).

    Without a healthy baseline in ``weights_dir``, a held-out evaluation makes it
    from the training splits of ``cohorts`` (task name -> folder); an unseen one
    (whose cohort has no training split of the checkpoints) skips the block."""
    say = log or (lambda text: print(text, file=sys.stderr))
    ckpts = [load_checkpoint(c) for c in find_cards(weights_dir, *EXPLAINED)]
    if not ckpts:
        return None
    if not baseline_path(weights_dir).is_file():
        if unseen or not cohorts:
            say(f"explanations skipped: no {baseline_path(weights_dir)}")
            return None
        model = EXPLAINED[1]  # the cards that say which split trained
        trained = {
            t: c for t, c in cohorts.items() if find_cards(weights_dir, t, model)
        }
        made = make_baseline(trained, weights_dir, cache.cache_dir)
        say(f"explanations: made {made}")
    cfg = ckpts[0].model.cfg
    baseline = healthy_baseline(AD, weights_dir, (AD.image_views, *cfg.input_shape))
    layers, default, selection = dict(measured_choices(weights_dir).layers), None, None
    if not unseen:
        per_seed = []
        for ck in ckpts:
            say(f"explanations: validation, seed {ck.seed}")
            subjects = _subjects(ck, cache, "val", False, VALIDATION_SUBJECTS)
            found = validation_candidates(ck.model)
            per_seed.append(measure_seed(ck.model, subjects, baseline, found, ck.seed))
        layers, default, selection = _selection(over_seeds(per_seed), len(subjects))
    seeds: dict[str, dict] = {}
    for ck in ckpts:
        say(f"explanations: {'new cohort' if unseen else 'test'}, seed {ck.seed}")
        limit = UNSEEN_SUBJECTS if unseen else None
        subjects = _subjects(ck, cache, "test", unseen, limit)
        found = held_out_candidates(ck.model, layers)
        seeds[str(ck.seed)] = measure_seed(ck.model, subjects, baseline, found, ck.seed)
    explainer = Explainer(weights_dir, layers=layers)
    models = [ck.model for ck in ckpts]
    methods = {}
    for candidate in held_out_candidates(models[0], layers):
        per = {s: found[candidate] for s, found in seeds.items()}
        methods[candidate[0]] = MethodQuality(
            candidate[1],
            latency_ms(explainer, models, subjects, candidate[0]),
            QualityStats.over(list(per.values())),
            per,
        )
    info = protocol(unseen, len(subjects), weights_dir)
    return Explanations(default, info, methods, selection)


__all__ = ["RULE", "measure_explanations", "protocol", "select"]
