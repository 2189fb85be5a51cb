"""The healthy reference image of the reference-based maps (Integrated Gradients,
occlusion, deletion curves): the cohort's mean cognitively normal (CN) brain.

An all-zero baseline is an empty skull to this network, which reads missing tissue as
atrophy; the mean CN image of the training split, on each model's grid and in its
views (the AD network's two hemispheres), is what "healthy" means to the models.

It is made once from the training split of the cohort the shipped checkpoints were
trained on (``python -m hyperfusion explain --make-baseline --cohort cohorts/ad
--cohort cohorts/brain-age``) and shipped as ``weights/healthy_baseline.safetensors``
(float16, about 200 kB); how it was made travels in the file's metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hyperfusion.config import AD_CLASSES
from hyperfusion.errors import CohortError, WeightsError
from hyperfusion.tasks import TASKS, Task, get_task

BASELINE_FILE = "healthy_baseline.safetensors"
HEALTHY = AD_CLASSES[0]  # "CN"
MODEL = "hyperfusion"  # whose cards say which split was the training split
REMAKE = (
    "python -m hyperfusion explain --make-baseline --cohort cohorts/ad "
    "--cohort cohorts/brain-age"
)


def baseline_path(weights_dir: Path) -> Path:
    """Where the baseline of a weights folder lives."""
    return Path(weights_dir) / BASELINE_FILE


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from safetensors import safe_open

    with safe_open(path, framework="numpy") as f:
        arrays = {k: f.get_tensor(k).astype(np.float32) for k in f.keys()}  # noqa: SIM118
        meta = dict(f.metadata() or {})
    for arr in arrays.values():
        arr.setflags(write=False)
    return arrays, meta


def healthy_baseline(task: str | Task, weights_dir: Path, shape: tuple) -> np.ndarray:
    """The task's healthy image as the network's views ``(V, X, Y, Z)`` float32
    (read-only).

    Raises:
        WeightsError: the file is missing, lacks the task, or was made for another
            grid than ``shape``.
    """
    task = get_task(task)
    path = baseline_path(weights_dir)
    if not path.is_file():
        raise WeightsError(f"{path} is missing; make it with {REMAKE}")
    arrays, _ = _load(str(path), path.stat().st_mtime)
    found = arrays.get(task.name)
    if found is None or tuple(found.shape) != tuple(shape):
        got = "absent" if found is None else "x".join(map(str, found.shape))
        raise WeightsError(
            f"{path.name} holds no {task.title} baseline of shape "
            f"{'x'.join(map(str, shape))} ({got}); remake it with {REMAKE}"
        )
    return found


def baseline_note(weights_dir: Path) -> dict[str, Any]:
    """How the shipped baseline was made (the file's metadata), ``{}`` without one."""
    path = baseline_path(weights_dir)
    if not path.is_file():
        return {}
    _, meta = _load(str(path), path.stat().st_mtime)
    return json.loads(meta.get("made", "{}"))


def _split_seed(weights_dir: Path, task: Task) -> tuple[int, Any]:
    """The training split of the shipped checkpoints (one for all seeds) and the
    network's grid."""
    from hyperfusion.models.checkpoint import find_cards, load_checkpoint

    cards = find_cards(weights_dir, task.name, MODEL)
    if not cards:
        raise WeightsError(f"no {task.title} checkpoints in {weights_dir}")
    seeds = {json.loads(c.read_text())["trained_on"]["split_seed"] for c in cards}
    if len(seeds) != 1:
        raise WeightsError(
            f"the {task.title} checkpoints were trained on {len(seeds)} different "
            "splits; accepted: one training split for every seed"
        )
    return seeds.pop(), load_checkpoint(cards[0]).model.cfg.grid


def mean_healthy_views(
    cohort: Path, task: Task, weights_dir: Path, cache_dir: Path | None
) -> tuple[np.ndarray, dict[str, Any]]:
    """The mean of the network inputs of the CN training subjects (every training
    subject when the cohort has no diagnosis groups), and a note of how."""
    from hyperfusion.data.datasets import cohort_arrays
    from hyperfusion.train.run import prepare_cohort

    seed, grid = _split_seed(weights_dir, task)
    df, split = prepare_cohort(task.name, cohort, seed)
    train = (split == "train").to_numpy()
    healthy = train & (df["DX"] == HEALTHY).to_numpy()
    if not healthy.any():
        raise CohortError(f"{cohort} has no {HEALTHY} subject in its training split")
    images = cohort_arrays(df, task.name, grid, cache_dir, progress=False)[healthy]
    views = images.astype(np.float64).mean(axis=0)
    views = views if images.ndim == 5 else views[None]  # brain age: one view
    info = df.attrs.get("cohort", {})
    note = {
        "what": f"mean z-scored model input of the {HEALTHY} training subjects",
        "cohort": str(cohort),
        "cohort_seed": info.get("seed"),
        "synthetic": True,
        "split_seed": seed,
        "n_subjects": int(healthy.sum()),
        "grid": f"{'x'.join(map(str, grid.shape))} at {grid.voxel_mm:g} mm",
        "views": task.image_views,
    }
    return views.astype(np.float32), note


def make_baseline(
    cohorts: Mapping[str, Path], weights_dir: Path, cache_dir: Path | None = None
) -> Path:
    """Compute every task's baseline from its cohort (task name -> folder) and write
    ``weights_dir/healthy_baseline.safetensors`` (float16, notes in its metadata)."""
    from safetensors.numpy import save_file

    arrays, notes = {}, {}
    for name, cohort in cohorts.items():
        views, note = mean_healthy_views(
            Path(cohort), TASKS[name], weights_dir, cache_dir
        )
        arrays[name] = views.astype(np.float16)
        notes[name] = note
    path = baseline_path(weights_dir)
    save_file(arrays, str(path), metadata={"made": json.dumps(notes, sort_keys=True)})
    _load.cache_clear()
    return path


__all__ = [
    "BASELINE_FILE",
    "baseline_note",
    "baseline_path",
    "healthy_baseline",
    "make_baseline",
    "mean_healthy_views",
]
