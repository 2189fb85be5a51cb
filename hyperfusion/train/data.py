"""Model inputs of one split, batches, predictions and their scores.

Shared by training (validation each epoch, final metrics) and the evaluation CLI, so
that both compute test metrics through the same code: AD predictions average the
logits of the two hemispheres; brain-age predictions are years.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from hyperfusion.data.ehr_parsing import validate_ehr
from hyperfusion.data.ehr_preprocessing import EHRPreprocessor
from hyperfusion.data.ehr_schema import FIELDS, EHRRecord
from hyperfusion.tasks import Task, get_task

EVAL_BATCH = 64


@dataclass(frozen=True)
class SplitData:
    """What the models see of one split.

    Attributes:
        images: AD ``(N, 2, X, Y, Z)`` hemisphere pairs, brain age ``(N, X, Y, Z)``,
            float16; ``None`` for models without an image (tabular-only).
        tabular: ``(N, F)`` float32: the 16-value EHR vector (AD) or the sex one-hot
            ``[Female, Male]`` (brain age).
        targets: AD class indices (int64, CN 0 / MCI 1 / AD 2); brain age in years
            (float32).
        ptids: the subjects, in row order.
    """

    images: np.ndarray | None
    tabular: np.ndarray
    targets: np.ndarray
    ptids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ptids)


def split_data(
    task: str | Task,
    df: pd.DataFrame,
    images: np.ndarray | None,
    preprocessor: EHRPreprocessor,
) -> SplitData:
    """Bundle the rows of ``df`` (and the matching rows of ``images``): the task's
    tabular inputs and targets."""
    task = get_task(task)
    return SplitData(
        images=images,
        tabular=task.tabular(preprocessor, df).astype(np.float32),
        targets=task.targets_of(df),
        ptids=tuple(df["PTID"]),
    )


def image_batch(
    data: SplitData,
    idx: np.ndarray,
    device: torch.device,
    hemispheres: np.ndarray | int | None = None,
) -> Tensor | None:
    """Images of rows ``idx`` as ``(B, 1, X, Y, Z)`` float32 (AD: the hemisphere(s)
    given, one per row or one for all); ``None`` without images."""
    if data.images is None:
        return None
    if data.images.ndim == 5:
        which = 0 if hemispheres is None else hemispheres
        batch = data.images[idx, which]
    else:
        batch = data.images[idx]
    return torch.from_numpy(batch.astype(np.float32)).unsqueeze(1).to(device)


def tabular_batch(data: SplitData, idx: np.ndarray, device: torch.device) -> Tensor:
    """Tabular inputs of rows ``idx`` as a float32 tensor."""
    return torch.from_numpy(data.tabular[idx]).to(device)


@torch.no_grad()
def predict(
    model: nn.Module,
    data: SplitData,
    device: torch.device,
    batch_size: int = EVAL_BATCH,
) -> np.ndarray:
    """Eval-mode outputs for every row, in order.

    Returns:
        AD: logits ``(N, 3)`` float64, the mean of both hemispheres' logits;
        brain age: ages ``(N,)`` float64 in years.
    """
    was_training = model.training
    model.eval()
    outputs = []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        tab = tabular_batch(data, idx, device)
        if data.images is not None and data.images.ndim == 5:
            right = model(image_batch(data, idx, device, 0), tab)
            left = model(image_batch(data, idx, device, 1), tab)
            out = (right + left) / 2
        else:
            out = model(image_batch(data, idx, device), tab)
        outputs.append(out.float().cpu().numpy().astype(np.float64))
    model.train(was_training)
    result = np.concatenate(outputs)
    return result[:, 0] if result.shape[1] == 1 else result


def score(task: str | Task, data: SplitData, outputs: np.ndarray) -> dict[str, Any]:
    """Metrics of :func:`predict`'s outputs against the split's targets."""
    return get_task(task).score(data.targets, outputs)


def reference_record(df: pd.DataFrame) -> EHRRecord:
    """The median patient of ``df``: numeric medians (integer fields rounded),
    the most common sex; ``None`` where a field is never known.

    The app uses it as the reference EHR of the shipped model.
    """
    record: dict[str, Any] = {}
    for field in FIELDS:
        if field.name not in df:
            record[field.name] = None
            continue
        values = df[field.name].dropna()
        if values.empty:
            record[field.name] = None
        elif field.kind == "category":
            counts = Counter(values.astype(str))
            record[field.name] = min(counts, key=lambda k: (-counts[k], k))
        else:
            median = float(np.median(values.to_numpy(dtype=np.float64)))
            record[field.name] = (
                float(round(median)) if field.integer else round(median, 4)
            )
    return validate_ehr(record)


__all__ = [
    "EVAL_BATCH",
    "SplitData",
    "image_batch",
    "predict",
    "reference_record",
    "score",
    "split_data",
    "tabular_batch",
]
