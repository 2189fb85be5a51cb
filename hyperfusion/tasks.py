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
from typing import TYPE_CHECKING, Any

import numpy as np

from hyperfusion.config import AD_CLASSES, TrainConfig
from hyperfusion.data.ehr_schema import (
    AD_FEATURES,
    BRAIN_AGE_FEATURES,
    feature_field,
)
from hyperfusion.errors import CohortError, UnknownModelError
from hyperfusion.metrics import classification_metrics, regression_metrics

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from torch import Tensor, nn

    Records = Sequence[Mapping[str, object]] | pd.DataFrame

# torch, nilearn and scikit-learn are imported where they are used: the command
# line reads the task names before it knows whether it needs a model.


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
        image_label: what the network sees of the MRI, as a user reads it.
        selection_metric: the validation metric that picks the best epoch.
        higher_is_better: the direction of ``selection_metric``.
        selection_label, selection_digits, selection_unit: how it is written.
        unit: the unit of the output a user reads.
        result_keys: the keys of a prediction's JSON that belong to this task.
        reported_metrics: the test metrics a results table shows, in order (keys of
            :data:`hyperfusion.metrics.METRIC_LABELS`, written with
            ``selection_digits`` decimals).
        improvement_scale, improvement_unit: a difference of ``selection_metric``
            between two models, as a user reads it (x 100: ``"points"``).
    """

    name: str
    title: str
    short_title: str
    targets: tuple[str, ...]
    tabular_features: tuple[str, ...]
    image_views: int
    image_label: str
    selection_metric: str
    higher_is_better: bool
    selection_label: str
    selection_digits: int
    selection_unit: str
    unit: str
    result_keys: tuple[str, ...]
    reported_metrics: tuple[str, ...]
    improvement_scale: float
    improvement_unit: str

    @property
    def classes(self) -> tuple[str, ...]:
        """The class labels, in output order (empty for a regression)."""
        return ()

    @property
    def ehr_fields(self) -> tuple[str, ...]:
        """The EHR fields the tabular vector is made from, in its order."""
        return tuple(dict.fromkeys(feature_field(f) for f in self.tabular_features))

    # Inputs -----------------------------------------------------------------------

    def tabular(self, preprocessor: Any, records: Records) -> np.ndarray:
        """The tabular input ``(N, F)`` float32 of validated records (or of a
        cohort frame's rows), through the fitted EHR preprocessor."""
        raise NotImplementedError

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        """The network's views of one loaded image: ``(V, X, Y, Z)`` float32."""
        raise NotImplementedError

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        """A ``(V, X, Y, Z)`` stack of per-view maps as one volume on the grid."""
        raise NotImplementedError

    # Outputs ----------------------------------------------------------------------

    def read_output(self, raw: Tensor) -> Tensor:
        """What a user reads from the network's raw output ``(B, C)``, same shape:
        class probabilities, or the predicted values (years) as they are."""
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

    def usable_rows(self, df: pd.DataFrame, source: object) -> pd.DataFrame:
        """The rows of a cohort (read from ``source``) this task can train on."""
        return df

    def tabular_variance(self, preprocessor: Any) -> float:
        """Var(e) of the tabular input, for the hyperfan-in initialisation."""
        return 1.0

    def init_output(self, model: Any, targets: np.ndarray) -> None:
        """Start a new network's output where the training targets are."""

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

    def score_text(self, metrics: Mapping[str, Any]) -> str:
        """The selection metric as text, e.g. ``"MAE 4.98 years"``."""
        value = float(metrics[self.selection_metric])
        return (
            f"{self.selection_label} {value:.{self.selection_digits}f}"
            f"{self.selection_unit}"
        )

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

    def tabular(self, preprocessor: Any, records: Records) -> np.ndarray:
        return preprocessor.transform(records)

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        from hyperfusion.data.resampling import ad_hemispheres

        return ad_hemispheres(img, grid)

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        from hyperfusion.data.resampling import merge_hemispheres

        return merge_hemispheres(maps)

    def read_output(self, raw: Tensor) -> Tensor:
        return raw.softmax(dim=1)

    def targets_of(self, df: pd.DataFrame) -> np.ndarray:
        return np.array([self.classes.index(d) for d in df["DX"]], dtype=np.int64)

    def usable_rows(self, df: pd.DataFrame, source: object) -> pd.DataFrame:
        """Rows with a diagnosis; a cohort needs at least two diagnosis groups."""
        df = df[df["DX"].notna()].reset_index(drop=True)
        if df["DX"].nunique() < 2:
            raise CohortError(
                f"{source} has {df['DX'].nunique()} diagnosis group(s); accepted: "
                f"a cohort with {', '.join(self.classes)} in DX (is it a "
                "brain-age cohort?)"
            )
        return df

    def tabular_variance(self, preprocessor: Any) -> float:
        return float(preprocessor.embedding_variance_)

    def loss(self, cfg: TrainConfig, device: torch.device) -> nn.Module:
        import torch

        weights = torch.tensor(cfg.class_weights, dtype=torch.float32, device=device)
        return torch.nn.CrossEntropyLoss(weight=weights)

    def score(self, targets: np.ndarray, outputs: np.ndarray) -> dict[str, Any]:
        return classification_metrics(targets, outputs)


@dataclass(frozen=True)
class RegressionTask(Task):
    """A task whose network outputs one value ``(B, 1)``."""

    def tabular(self, preprocessor: Any, records: Records) -> np.ndarray:
        from hyperfusion.data.ehr_parsing import records_from_dataframe
        from hyperfusion.data.ehr_preprocessing import sex_onehot

        if not isinstance(records, Sequence):  # a cohort frame
            records = records_from_dataframe(records)
        if len(records) == 0:
            return np.zeros((0, len(self.tabular_features)), dtype=np.float32)
        return np.stack([sex_onehot(r) for r in records])

    def image_input(self, img: Any, grid: Any) -> np.ndarray:
        from hyperfusion.data.resampling import brain_age_volume

        return brain_age_volume(img, grid)[None]

    def merge_views(self, maps: np.ndarray) -> np.ndarray:
        return maps[0]

    def read_output(self, raw: Tensor) -> Tensor:
        return raw

    def targets_of(self, df: pd.DataFrame) -> np.ndarray:
        return df["AGE"].to_numpy(dtype=np.float32)

    def init_output(self, model: Any, targets: np.ndarray) -> None:
        """Set ``model.age_offset`` to the mean target, rounded to float16 (the
        checkpoints' storage) so that the start is representable."""
        import torch

        mean = float(np.mean(targets, dtype=np.float64))
        model.age_offset.fill_(float(torch.tensor(mean).half()))

    def loss(self, cfg: TrainConfig, device: torch.device) -> nn.Module:
        from torch import nn

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
    image_label="AD crop (hippocampi)",
    selection_metric="balanced_accuracy",
    higher_is_better=True,
    selection_label="balanced accuracy",
    selection_digits=3,
    selection_unit="",
    unit="probability",
    result_keys=("diagnosis", "probabilities", "probabilities_sd"),
    reported_metrics=("balanced_accuracy", "macro_f1", "macro_auc", "ece"),
    improvement_scale=100.0,
    improvement_unit="points",
)
BRAIN_AGE = RegressionTask(
    name="brain-age",
    title="Brain age",
    short_title="Brain age",
    targets=("brain-age",),
    tabular_features=BRAIN_AGE_FEATURES,
    image_views=1,
    image_label="Whole brain (brain age)",
    selection_metric="mae",
    higher_is_better=False,
    selection_label="MAE",
    selection_digits=2,
    selection_unit=" years",
    unit="years",
    result_keys=("brain_age", "brain_age_sd", "brain_age_gap"),
    reported_metrics=("mae", "r2", "bias_slope", "bias_corr"),
    improvement_scale=1.0,
    improvement_unit="years better",
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
