"""The layout of ``weights/metrics.json`` (and ``metrics-unseen.json``), typed.

``python -m hyperfusion.evaluate`` builds these dataclasses and writes them with
:meth:`Metrics.write`; the model card and the app read the file with
:func:`read_metrics`. Every key has one spelling. A file that does not follow the
layout raises :class:`~hyperfusion.errors.WeightsError` with one line naming the
first wrong key, so a misspelt key is never silently read as "not measured".

The layout (``?``: the key may be absent; objects are written with sorted keys)::

    {"label": str, "unseen": bool,
     "cohorts": {task: Cohort}, "gradcam": CamProtocol,
     "models": {task: {model: {"seeds": {"0": SeedResult, ...},
                               "aggregate": Aggregate}}},
     "acceptance": [{"target": str, "value": float, "unit": str, "passed": bool}],
     "explanations"?: Explanations, "transfer"?: Transfer}

    SeedResult = {"seed": int, "test": Scores, "val": Scores | null,
                  "reproduced": bool | null, "epochs_run": int | null,
                  "time_s": float | null, "reference_outputs"?: {"ptids", "outputs"},
                  "reliability"?: [Bin], CamResults?}
    Scores     = {<metric>: float | null, ..., "n": int, "confusion_matrix"?: [[int]]}
    Aggregate  = {<metric>: Stat, ..., "training": {"epochs_run": Stat,
                  "time_s": Stat}, "reliability"?: [Bin], CamSummary?}
    Stat       = {"mean": float | null, "sd": float | null, "n": int}
    Bin        = {"lower", "upper", "confidence", "accuracy": float, "count": int}
    CamResults = {"gradcam_layer": str, "localisation": Localisation,
                  "localisation_extra": {layer: Localisation},
                  "hirescam_layer": str, "localisation_hirescam": {layer: ...}}

``Explanations`` (each map method's measured quality and the default method) is laid
out in :mod:`hyperfusion.evaluate.explanation_records`; ``Transfer`` (the brain-age
model on the AD cohort) in :mod:`hyperfusion.evaluate.transfer_records`.
``<metric>`` is a key of
:data:`hyperfusion.metrics.METRIC_LABELS`; a task is a key of
:data:`hyperfusion.tasks.TASKS`. ``CamSummary`` has the keys of ``CamResults`` with
:class:`LocalisationStats` (``{}`` for a layer no seed could measure).

The values inside (:class:`Scores`, :class:`Stat`, :class:`ReliabilityBin`, the
localisation records...) are defined in :mod:`hyperfusion.evaluate.records` and
importable from here; :mod:`hyperfusion.evaluate.checked_json` does the checked
reading.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hyperfusion.errors import WeightsError
from hyperfusion.evaluate.checked_json import (
    Fields,
    LayoutError,
    flag,
    integer,
    number,
    read_object,
    text,
)
from hyperfusion.evaluate.explanation_records import Explanations
from hyperfusion.evaluate.records import (
    LOC_KEYS,
    CamResults,
    CamSummary,
    Localisation,
    LocalisationStats,
    ReferenceOutputs,
    ReliabilityBin,
    Scores,
    Stat,
    TrainingStats,
    json_values,
    metric_keys,
    reliability_json,
)
from hyperfusion.evaluate.transfer_records import Transfer
from hyperfusion.tasks import TASK_NAMES

EVALUATE = "python -m hyperfusion.evaluate"


@dataclass(frozen=True)
class SeedResult:
    """One checkpoint (one training seed) on the test subjects.

    Attributes:
        seed: the training seed.
        test: the metrics recomputed now.
        val: the validation metrics its card recorded at training time.
        reproduced: ``test`` equals the card's test metrics (None on an unseen
            cohort, where the card has none to compare with).
        epochs_run, time_s: from the card's training record.
        reference_outputs: the first test subjects' outputs (held-out split only).
        reliability: the test split's reliability bins (classification only).
        cams: the localisation (the model whose maps are measured only).
    """

    seed: int
    test: Scores
    val: Scores | None
    reproduced: bool | None
    epochs_run: int | None
    time_s: float | None
    reference_outputs: ReferenceOutputs | None = None
    reliability: tuple[ReliabilityBin, ...] | None = None
    cams: CamResults | None = None

    @classmethod
    def read(cls, f: Fields) -> SeedResult:
        return cls(
            seed=f.get("seed", integer),
            test=f.nested("test", Scores.read),
            val=f.nested("val", Scores.read, null=True),
            reproduced=f.get("reproduced", flag, null=True),
            epochs_run=f.get("epochs_run", integer, null=True),
            time_s=f.get("time_s", number, null=True),
            reference_outputs=f.nested(
                "reference_outputs", ReferenceOutputs.read, absent=True
            ),
            reliability=f.sequence("reliability", ReliabilityBin.read, absent=True),
            cams=CamResults.read(f) if "gradcam_layer" in f.data else None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "seed": self.seed,
            "test": self.test.to_json(),
            "val": None if self.val is None else self.val.to_json(),
            "reproduced": self.reproduced,
            "epochs_run": self.epochs_run,
            "time_s": self.time_s,
        }
        if self.reference_outputs is not None:
            out["reference_outputs"] = self.reference_outputs.to_json()
        if self.reliability is not None:
            out["reliability"] = reliability_json(self.reliability)
        if self.cams is not None:
            out.update(self.cams.to_json())
        return out


@dataclass(frozen=True)
class Aggregate:
    """A model over its seeds.

    Attributes:
        metrics: metric -> :class:`Stat` of the seeds' test values.
        training: epochs run and training time.
        reliability: the seeds' reliability bins pooled (classification only).
        cams: the localisation over seeds (the model whose maps are measured).
    """

    metrics: dict[str, Stat]
    training: TrainingStats
    reliability: tuple[ReliabilityBin, ...] | None = None
    cams: CamSummary | None = None

    @classmethod
    def read(cls, f: Fields) -> Aggregate:
        training = f.nested("training", TrainingStats.read)
        reliability = f.sequence("reliability", ReliabilityBin.read, absent=True)
        cams = CamSummary.read(f) if "gradcam_layer" in f.data else None
        metrics = {k: f.nested(k, Stat.read) for k in metric_keys(f)}
        return cls(metrics, training, reliability, cams)

    def to_json(self) -> dict[str, Any]:
        out = {k: v.to_json() for k, v in self.metrics.items()}
        out["training"] = self.training.to_json()
        if self.reliability is not None:
            out["reliability"] = reliability_json(self.reliability)
        if self.cams is not None:
            out.update(self.cams.to_json())
        return out


@dataclass(frozen=True)
class ModelResult:
    """One model: its seeds (by seed, as text) and their aggregate."""

    seeds: dict[str, SeedResult]
    aggregate: Aggregate

    @classmethod
    def read(cls, f: Fields) -> ModelResult:
        return cls(
            f.mapping("seeds", SeedResult.read), f.nested("aggregate", Aggregate.read)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seeds": json_values(self.seeds),
            "aggregate": self.aggregate.to_json(),
        }


@dataclass(frozen=True)
class Cohort:
    """What a task's cohort was; a key without a value is left out.

    Held-out evaluation records the split (``split_seed``, ``n_train``...), an
    unseen cohort the seed the checkpoints were trained on instead.
    """

    description: str | None = None
    synthetic: bool | None = None
    cohort_seed: int | None = None
    n_subjects: int | None = None
    split_seed: int | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    trained_on_cohort_seed: int | None = None

    @classmethod
    def read(cls, f: Fields) -> Cohort:
        ints = ("cohort_seed", "n_subjects", "split_seed", "n_train", "n_val")
        return cls(
            f.get("description", text, absent=True),
            f.get("synthetic", flag, absent=True),
            *(f.get(k, integer, absent=True) for k in ints),
            f.get("n_test", integer, absent=True),
            f.get("trained_on_cohort_seed", integer, absent=True),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class CamProtocol:
    """How the localisation was measured, in words."""

    models: str
    layer: str
    subjects: str
    target: str
    region: str
    chance: str

    @classmethod
    def read(cls, f: Fields) -> CamProtocol:
        keys = ("models", "layer", "subjects", "target", "region", "chance")
        return cls(*(f.get(k, text) for k in keys))

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Check:
    """One acceptance (or ranking) target and whether it was met."""

    target: str
    value: float
    unit: str
    passed: bool

    @classmethod
    def read(cls, f: Fields) -> Check:
        return cls(
            f.get("target", text),
            f.get("value", number),
            f.get("unit", text),
            f.get("passed", flag),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Metrics:
    """The whole file: what was measured, on which cohorts, and the checks.

    Attributes:
        label: the caveat shown beside every number (synthetic data).
        unseen: measured on new cohorts (every subject a test subject).
        cohorts: task -> its cohort.
        gradcam: how localisation was measured.
        models: task -> model -> its seeds and aggregate.
        acceptance: the acceptance targets (held out) or the ranking (unseen).
        explanations: the map methods' measured quality (absent: not measured).
        transfer: the brain-age model on the AD cohort (absent: not measured).
    """

    label: str
    unseen: bool
    cohorts: dict[str, Cohort]
    gradcam: CamProtocol
    models: dict[str, dict[str, ModelResult]] = field(default_factory=dict)
    acceptance: tuple[Check, ...] = ()
    explanations: Explanations | None = None
    transfer: Transfer | None = None

    def task_models(self, task: str) -> dict[str, ModelResult]:
        """Model name -> result for one task (empty when it was not evaluated)."""
        return self.models.get(task, {})

    @classmethod
    def read(cls, f: Fields) -> Metrics:
        def models(t: Fields) -> dict[str, ModelResult]:
            return {name: t.nested(name, ModelResult.read) for name in t.data}

        return cls(
            label=f.get("label", text),
            unseen=f.get("unseen", flag),
            cohorts=f.mapping("cohorts", Cohort.read, TASK_NAMES),
            gradcam=f.nested("gradcam", CamProtocol.read),
            models=f.mapping("models", models, TASK_NAMES),
            acceptance=f.sequence("acceptance", Check.read),
            explanations=f.nested("explanations", Explanations.read, absent=True),
            transfer=f.nested("transfer", Transfer.read, absent=True),
        )

    @classmethod
    def from_json(cls, data: object, source: str = "metrics.json") -> Metrics:
        """Parse the file's content.

        Raises:
            WeightsError: ``data`` does not follow the layout (one line naming the
                first wrong key).
        """
        try:
            return read_object(cls.read, data, "")
        except LayoutError as exc:
            raise WeightsError(
                f"{source} does not have the layout {EVALUATE} writes: {exc}; rerun "
                "the evaluation"
            ) from None

    def to_json(self) -> dict[str, Any]:
        out = {
            "label": self.label,
            "unseen": self.unseen,
            "cohorts": json_values(self.cohorts),
            "gradcam": self.gradcam.to_json(),
            "models": {t: json_values(m) for t, m in self.models.items()},
            "acceptance": [c.to_json() for c in self.acceptance],
        }
        if self.explanations is not None:
            out["explanations"] = self.explanations.to_json()
        if self.transfer is not None:
            out["transfer"] = self.transfer.to_json()
        return out

    def write(self, path: Path) -> None:
        """Write the file (indented, keys sorted, so reruns diff cleanly)."""
        content = json.dumps(self.to_json(), indent=1, sort_keys=True)
        Path(path).write_text(content + "\n")


def read_metrics(path: Path) -> Metrics | None:
    """The file at ``path``, or None when it does not exist (nothing evaluated yet).

    Raises:
        WeightsError: the file is not JSON or does not follow the layout.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsError(
            f"{path.name} is unreadable ({str(exc).splitlines()[0]}); rerun {EVALUATE}"
        ) from None
    return Metrics.from_json(data, path.name)


__all__ = [
    "Aggregate",
    "CamProtocol",
    "CamResults",
    "CamSummary",
    "Check",
    "Cohort",
    "Explanations",
    "LOC_KEYS",
    "Localisation",
    "LocalisationStats",
    "Metrics",
    "ModelResult",
    "ReferenceOutputs",
    "ReliabilityBin",
    "Scores",
    "SeedResult",
    "Stat",
    "TrainingStats",
    "Transfer",
    "read_metrics",
]
