"""One checkpoint on its test subjects: the split rebuilt and checked, the metrics
recomputed from the float16 weights, the reference outputs, the reliability bins
and the localisation; and every checkpoint of the cohorts' tasks in turn
(:func:`evaluate`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hyperfusion.data.datasets import cohort_arrays, load_cohort, truth_arrays
from hyperfusion.errors import CohortError, WeightsError
from hyperfusion.evaluate.explanation_block import measure_explanations
from hyperfusion.evaluate.localisation import (
    EXPLAINED,
    cam_protocol,
    measure_cams,
    part_with_truth,
)
from hyperfusion.evaluate.schema import (
    Cohort,
    Metrics,
    ModelResult,
    ReferenceOutputs,
    ReliabilityBin,
    Scores,
    SeedResult,
)
from hyperfusion.evaluate.summary import acceptance, aggregate, ranking
from hyperfusion.evaluate.transfer import measure_transfer, transfer_checks
from hyperfusion.metrics import ROUND_DIGITS, reliability_bins, softmax
from hyperfusion.models.checkpoint import Checkpoint, find_cards, load_checkpoint
from hyperfusion.models.registry import MODEL_NAMES, get_spec
from hyperfusion.tasks import AD, TASKS, Task
from hyperfusion.train.data import SplitData, predict, split_data
from hyperfusion.train.run import evaluate_checkpoint, prepare_cohort
from hyperfusion.train.splits import split_summary

REFERENCE_SUBJECTS = 4  # test subjects whose raw outputs metrics.json keeps
# The cohort record of a held-out evaluation, from the first card's trained_on.
HELD_OUT_ITEMS = (
    "description",
    "synthetic",
    "cohort_seed",
    "n_subjects",
    "split_seed",
    "n_train",
    "n_val",
    "n_test",
)


def detect_task(df: pd.DataFrame) -> Task:
    """The cohort's task: its README's, else the classification when DX has two or
    more groups, the regression otherwise."""
    name = df.attrs.get("cohort", {}).get("task")
    if name in TASKS:
        return TASKS[name]
    diagnosed = df["DX"].dropna().nunique() >= 2
    return next(t for t in TASKS.values() if bool(t.classes) == diagnosed)


class CohortCache:
    """Cohort frames, splits and image arrays, loaded once per evaluation."""

    def __init__(self, cohort: Path, cache_dir: Path | None, progress: bool) -> None:
        self.cohort, self.cache_dir, self.progress = cohort, cache_dir, progress
        self._splits: dict[tuple[str, int], tuple[pd.DataFrame, pd.Series]] = {}
        self._arrays: dict[tuple[Any, ...], np.ndarray] = {}

    def split(self, task: Task, seed: int) -> tuple[pd.DataFrame, pd.Series]:
        if (task.name, seed) not in self._splits:
            self._splits[(task.name, seed)] = prepare_cohort(
                task.name, self.cohort, seed
            )
        return self._splits[(task.name, seed)]

    def images(self, task: Task, seed: int, grid: Any) -> np.ndarray:
        key = ("images", task.name, seed, grid)
        if key not in self._arrays:
            df, _ = self.split(task, seed)
            self._arrays[key] = cohort_arrays(
                df, task.name, grid, self.cache_dir, progress=self.progress
            )
        return self._arrays[key]

    def truth(self, df: pd.DataFrame, grid: Any) -> np.ndarray:
        key = ("truth", tuple(df["PTID"]), grid)
        if key not in self._arrays:
            self._arrays[key] = truth_arrays(
                df, grid, self.cache_dir, progress=self.progress
            )
        return self._arrays[key]


def _test_split(
    card_path: Path,
    trained_on: dict[str, Any],
    cohorts: CohortCache,
    df: pd.DataFrame,
    split: pd.Series,
) -> pd.Series:
    """The card's split, checked against the card's hash of its test PTIDs."""
    seed = int(trained_on.get("split_seed", 0))
    expected = trained_on.get("test_ptids_sha256")
    if split_summary(df, split, seed)["test_ptids_sha256"] != expected:
        raise CohortError(
            f"{card_path.name} was not trained on {cohorts.cohort}: its test "
            "split differs; accepted: the cohort the checkpoint was trained on "
            "(or --unseen for a cohort generated with a new seed)"
        )
    return split


def _unseen_split(
    card_path: Path,
    trained_on: dict[str, Any],
    cohorts: CohortCache,
    df: pd.DataFrame,
) -> pd.Series:
    """Every subject of a cohort generated with a seed the card never saw."""
    cohort_seed = df.attrs.get("cohort", {}).get("seed")
    if cohort_seed is not None and cohort_seed == trained_on.get("cohort_seed"):
        raise CohortError(
            f"{cohorts.cohort} has the seed {card_path.name} was trained on "
            f"({cohort_seed}); accepted: a cohort generated with another seed"
        )
    return pd.Series("test", index=df.index)


def _test_part(
    ckpt: Checkpoint,
    df: pd.DataFrame,
    split: pd.Series,
    images: np.ndarray | None,
    limit: int | None = None,
) -> SplitData:
    """The (first ``limit``) test subjects as the network's inputs."""
    rows = np.flatnonzero((split == "test").to_numpy())[:limit]
    part = df.iloc[rows].reset_index(drop=True)
    return split_data(
        ckpt.card["task"],
        part,
        None if images is None else images[rows],
        ckpt.preprocessor,
    )


def _reference_outputs(
    ckpt: Checkpoint, df: pd.DataFrame, split: pd.Series, images: np.ndarray | None
) -> ReferenceOutputs:
    """The outputs on the first test subjects (logits or years), so a fast test
    can regenerate just those subjects and check the shipped weights."""
    data = _test_part(ckpt, df, split, images, REFERENCE_SUBJECTS)
    out = np.round(predict(ckpt.model, data, _device(ckpt)), 5).tolist()
    rows = tuple(tuple(r) if isinstance(r, list) else r for r in out)
    return ReferenceOutputs(data.ptids, rows)


def _reliability(
    ckpt: Checkpoint, df: pd.DataFrame, split: pd.Series, images: np.ndarray | None
) -> tuple[ReliabilityBin, ...]:
    """The test subjects' top-label reliability bins, from the probabilities the
    ECE is computed from."""
    data = _test_part(ckpt, df, split, images)
    probs = softmax(predict(ckpt.model, data, _device(ckpt)))
    return tuple(
        ReliabilityBin(
            lower=round(b["lower"], ROUND_DIGITS),
            upper=round(b["upper"], ROUND_DIGITS),
            confidence=round(b["confidence"], ROUND_DIGITS),
            accuracy=round(b["accuracy"], ROUND_DIGITS),
            count=int(b["count"]),
        )
        for b in reliability_bins(data.targets, probs)
    )


def _device(ckpt: Checkpoint) -> Any:
    return next(ckpt.model.parameters()).device


def evaluate_card(
    card_path: Path, cohorts: CohortCache, gradcam: bool = True, unseen: bool = False
) -> SeedResult:
    """Recompute one checkpoint's test metrics (and HyperFusion-AD's localisation).

    ``unseen``: the cohort is a new one (another generator seed), and every subject
    of it is the test set; the card's own test split is not rebuilt.
    """
    ckpt = load_checkpoint(card_path)
    card = ckpt.card
    task, name = TASKS[card["task"]], card["model"]
    trained_on = card.get("trained_on", {})
    seed = int(trained_on.get("split_seed", 0))
    df, split = cohorts.split(task, seed)
    if unseen:
        split = _unseen_split(card_path, trained_on, cohorts, df)
    else:
        split = _test_split(card_path, trained_on, cohorts, df, split)
    grid = ckpt.model.cfg.grid
    uses_image = get_spec(task.name, name).uses_image
    images = cohorts.images(task, seed, grid) if uses_image else None
    test = evaluate_checkpoint(ckpt, df, split, images, parts=("test",))["test"]
    stored, val = (card.get("metrics", {}).get(p) for p in ("test", "val"))
    training = card.get("training", {})
    reference = None if unseen else _reference_outputs(ckpt, df, split, images)
    bins = _reliability(ckpt, df, split, images) if task.classes else None
    cams = None
    if gradcam and (task.name, name) == EXPLAINED and images is not None:
        data, truth = part_with_truth(
            df, split, "test", images, ckpt.preprocessor, grid, cohorts.truth
        )
        cams = measure_cams(ckpt.model, data, truth, _device(ckpt))
    return SeedResult(
        seed=card["seed"],
        test=Scores.of(test),
        val=None if val is None else Scores.of(val),
        reproduced=None if unseen else stored == test,
        epochs_run=training.get("epochs_run"),
        time_s=training.get("time_s"),
        reference_outputs=reference,
        reliability=bins,
        cams=cams,
    )


def _cohort(cohort: Path, first_card: Path, unseen: bool) -> Cohort:
    """What ``metrics.json`` records of a task's cohort."""
    trained_on = json.loads(first_card.read_text())["trained_on"]
    if not unseen:
        return Cohort(**{k: trained_on.get(k) for k in HELD_OUT_ITEMS})
    info = load_cohort(cohort).attrs.get("cohort", {})
    return Cohort(
        description=f"new synthetic cohort, seed {info.get('seed')}",
        synthetic=True,
        cohort_seed=info.get("seed"),
        n_subjects=info.get("n_subjects"),
        trained_on_cohort_seed=trained_on.get("cohort_seed"),
    )


def label(unseen: bool) -> str:
    """The caveat ``metrics.json`` carries."""
    where = (
        "every subject of a synthetic cohort generated with a new seed"
        if unseen
        else "the held-out synthetic test split"
    )
    return (
        f"SYNTHETIC data: metrics on {where}; they say nothing about performance on "
        "real patients."
    )


def evaluate(
    weights_dir: Path,
    cohorts: list[Path],
    cache_dir: Path | None = None,
    gradcam: bool = True,
    progress: bool = True,
    unseen: bool = False,
    explanations: bool = True,
) -> Metrics:
    """Evaluate every checkpoint in ``weights_dir`` whose task has a cohort.

    ``unseen``: the cohorts were generated with seeds the checkpoints never saw;
    every subject is a test subject and the acceptance checks become the ranking
    of HyperFusion against the single modalities. ``explanations``: also measure
    every map method (:mod:`hyperfusion.evaluate.explanation_block`; needs
    ``gradcam``).

    Returns:
        The content of ``metrics.json``.
    """
    by_task = {detect_task(load_cohort(c)).name: Path(c) for c in cohorts}
    models: dict[str, dict[str, ModelResult]] = {}
    recorded: dict[str, Cohort] = {}
    caches: dict[str, CohortCache] = {}
    for task, cohort in ((TASKS[t], c) for t, c in by_task.items()):
        cache = caches[task.name] = CohortCache(cohort, cache_dir, progress)
        for name in MODEL_NAMES[task.name]:
            cards = find_cards(weights_dir, task.name, name)
            if not cards:
                continue
            seeds = [evaluate_card(path, cache, gradcam, unseen) for path in cards]
            models.setdefault(task.name, {})[name] = ModelResult(
                {str(s.seed): s for s in seeds}, aggregate(seeds)
            )
            recorded[task.name] = _cohort(cohort, cards[0], unseen)
    if not models:
        raise WeightsError(
            f"no trained checkpoints in {weights_dir} for the cohorts' tasks "
            f"({', '.join(by_task)}); accepted: a folder written by "
            "hyperfusion.train"
        )
    block = None
    if gradcam and explanations and EXPLAINED[0] in caches:
        log = None if progress else (lambda text: None)
        cache = caches[EXPLAINED[0]]
        block = measure_explanations(weights_dir, cache, unseen, log, by_task)
    transfer = None
    if AD.name in caches:
        transfer = measure_transfer(weights_dir, caches[AD.name], models, unseen)
    checks = ranking(models) if unseen else acceptance(models)
    checks += transfer_checks(transfer) if transfer is not None else []
    return Metrics(
        label=label(unseen),
        unseen=unseen,
        cohorts=recorded,
        gradcam=cam_protocol(unseen),
        models=models,
        acceptance=tuple(checks),
        explanations=block,
        transfer=transfer,
    )


__all__ = ["CohortCache", "detect_task", "evaluate", "evaluate_card"]
