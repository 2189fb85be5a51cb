"""The two prediction tasks, each said once: what it predicts, from which inputs, and
how its outputs are read, trained and scored.

Code that differs between the tasks asks the task object (``task.classes``,
``task.tabular(...)``, ``task.read_output(...)``) instead of branching on its name;
this module is the only place that knows the names' meanings.

>>> get_task("ad").classes
('CN', 'MCI', 'AD')
>>> task_of_target("brain-age").name
'brain-age'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from hyperfusion.config import AD_CLASSES, TrainConfig
from hyperfusion.data.ehr_preprocessing import sex_onehot
from hyperfusion.data.ehr_schema import AD_FEATURES, BRAIN_AGE_FEATURES
from hyperfusion.data.resampling import (
    ad_hemispheres,
    brain_age_volume,
    merge_hemispheres,
)
from hyperfusion.errors import UnknownModelError
from hyperfusion.metrics import classification_metrics, regression_metrics


@dataclass(frozen=True)
class Task:
    """What every task has; :class:`ClassificationTask` and :class:`RegressionTask`
    say how outputs are read.

    Attributes:
        name: the key used in file names, cards and ``metrics.json`` (``"ad"``).
        title: what a user reads (``"CN / MCI / AD diagnosis"``).
        targets: what an explanation can be asked for: the classes, or the task's
            name for a regression.
        tabular_features: the names of the tabular vector's entries, in order.
        image_views: the network sees this many views of one image (the AD model
            one hemisphere each, averaged); maps of the views merge into one volume.
        selection_metric: the validation metric that picks the best epoch.
        higher_is_better: the direction of ``selection_metric``.
        unit: the unit of the output a user reads.
    """

    name: str
    title: str
    short_title: str
    targets: tuple[str, ...]
    tabular_features: tuple[str, ...]
    image_views: int
    selection_metric: str
    higher_is_better: bool
    unit: str

    @property
    def classes(self) -> tuple[str, ...]:
        """The class labels, in output order (empty for a regression)."""
        return ()

    # Inputs -----------------------------------------------------------------------

    def tabular(self, preprocessor: Any, records: Sequence[Mapping[str, object]]):
        """The tabular input ``(N, F)`` float32 of validated records."""
        raise NotImplementedError

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        """The network's views of one loaded image: ``(V, X, Y, Z)`` float32."""
        raise NotImplementedError

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        """A ``(V, X, Y, Z)`` stack of per-view maps as one volume on the grid."""
        raise NotImplementedError

    # Outputs ----------------------------------------------------------------------

    def read_output(self, raw: Tensor) -> Tensor:
        """What a user reads from the network's raw output ``(B, C)``:
        probabilities ``(B, C)`` or values ``(B,)``."""
        raise NotImplementedError

    def target_index(self, target: str) -> int:
        """The output column an explanation target names."""
        if target not in self.targets:
            raise UnknownModelError(
                f"Unknown target '{target}' for {self.title}; accepted: "
                f"{', '.join(self.targets)}"
            )
        return self.targets.index(target)

    # Training and scoring ---------------------------------------------------------

    def targets_of(self, df: pd.DataFrame) -> np.ndarray:
        """The training targets of a cohort's rows."""
        raise NotImplementedError

    def loss(self, cfg: TrainConfig, device: torch.device) -> nn.Module:
        """The training loss; it takes ``(raw output, targets_of(...))``."""
        raise NotImplementedError

    def loss_input(self, raw: Tensor) -> Tensor:
        """The raw output as the loss takes it."""
        return raw

    def score(self, targets: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        """Every metric of outputs (logits or values) against targets."""
        raise NotImplementedError

    def selection_score(self, metrics: Mapping[str, Any]) -> float:
        """The model-selection criterion, higher is better."""
        value = float(metrics[self.selection_metric])
        return value if self.higher_is_better else -value


@dataclass(frozen=True)
class ClassificationTask(Task):
    """A task whose network outputs one logit per class."""

    @property
    def classes(self) -> tuple[str, ...]:
        return self.targets

    def tabular(self, preprocessor: Any, records: Sequence[Mapping[str, object]]):
        return preprocessor.transform(records)

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        return ad_hemispheres(img, grid)

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        return merge_hemispheres(maps)

    def read_output(self, raw: Tensor) -> Tensor:
        return torch.softmax(raw, dim=1)

    def targets_of(self, df: pd.DataFrame) -> np.ndarray:
        return np.array([self.classes.index(d) for d in df["DX"]], dtype=np.int64)

    def loss(self, cfg: TrainConfig, device: torch.device) -> nn.Module:
        weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
        return nn.CrossEntropyLoss(weight=weights)

    def score(self, targets: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        return classification_metrics(targets, outputs)


@dataclass(frozen=True)
class RegressionTask(Task):
    """A task whose network outputs one value ``(B, 1)``."""

    def tabular(self, preprocessor: Any, records: Sequence[Mapping[str, object]]):
        if len(records) == 0:
            return np.zeros((0, len(self.tabular_features)), dtype=np.float32)
        return np.stack([sex_onehot(r) for r in records])

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        return brain_age_volume(img, grid)[None]

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        return maps[0]

    def read_output(self, raw: Tensor) -> Tensor:
        return raw[:, 0]

    def targets_of(self, df: pd.DataFrame) -> np.ndarray:
        return df["AGE"].to_numpy(dtype=np.float32)

    def loss(self, cfg: TrainConfig, device: torch.device) -> nn.Module:
        return nn.MSELoss()

    def loss_input(self, raw: Tensor) -> Tensor:
        return raw[:, 0]

    def score(self, targets: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        return regression_metrics(np.asarray(targets, dtype=np.float64), outputs)


AD = ClassificationTask(
    name="ad",
    title="CN / MCI / AD diagnosis",
    short_title="Diagnosis",
    targets=AD_CLASSES,
    tabular_features=AD_FEATURES,
    image_views=2,
    selection_metric="balanced_accuracy",
    higher_is_better=True,
    unit="probability",
)
BRAIN_AGE = RegressionTask(
    name="brain-age",
    title="Brain age",
    short_title="Brain age",
    targets=("brain-age",),
    tabular_features=BRAIN_AGE_FEATURES,
    image_views=1,
    selection_metric="mae",
    higher_is_better=False,
    unit="years",
)
TASKS: dict[str, Task] = {t.name: t for t in (AD, BRAIN_AGE)}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)


def get_task(name: str | Task) -> Task:
    """The task called ``name`` (a :class:`Task` is returned as it is)."""
    if isinstance(name, Task):
        return name
    if name in TASKS:
        return TASKS[name]
    close = difflib.get_close_matches(str(name), TASK_NAMES, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise UnknownModelError(
        f"Unknown task '{name}'{hint}; accepted: {', '.join(TASK_NAMES)}"
    )


def task_of_target(target: str) -> Task:
    """The task an explanation target belongs to (a class, or ``"brain-age"``)."""
    for task in TASKS.values():
        if target in task.targets:
            return task
    accepted = ", ".join(t for task in TASKS.values() for t in task.targets)
    raise UnknownModelError(f"Unknown target '{target}'; accepted: {accepted}")


__all__ = [
    "AD",
    "BRAIN_AGE",
    "TASKS",
    "TASK_NAMES",
    "ClassificationTask",
    "RegressionTask",
    "Task",
    "get_task",
    "task_of_target",
]
