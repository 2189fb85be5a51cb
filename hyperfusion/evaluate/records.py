"""The values ``metrics.json`` holds, typed: a split's scores, a statistic over
seeds, reliability bins, reference outputs and the localisation records.

:mod:`hyperfusion.evaluate.schema` assembles them into the file's layout (and
re-exports them); each class reads itself from checked JSON (``read``) and writes
itself back (``to_json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperfusion.evaluate.checked_json import (
    Fields,
    LayoutError,
    as_list,
    integer,
    number,
    text,
)
from hyperfusion.metrics import METRIC_LABELS, ROUND_DIGITS

LOC_KEYS = ("mass_inside", "chance", "chance_brain", "ratio", "ratio_brain")
_SCORE_KEYS = ("n", "confusion_matrix")  # a split's keys that are not metrics


def metric_keys(f: Fields) -> list[str]:
    """The keys left in ``f``, each a known metric name."""
    keys = f.unasked()
    for key in keys:
        if key not in METRIC_LABELS:
            raise LayoutError(
                f"{f.path(key)} is not a metric; accepted: {', '.join(METRIC_LABELS)}"
            )
    return keys


@dataclass(frozen=True)
class Stat:
    """Mean ± sd over seeds; ``n`` seeds had a value (0: mean and sd are None)."""

    mean: float | None
    sd: float | None
    n: int

    @classmethod
    def over(cls, values: Iterable[float | None]) -> Stat:
        """Mean ± sample sd (0 for one value) of the values that are not None,
        rounded to :data:`~hyperfusion.metrics.ROUND_DIGITS` decimals.

        >>> Stat.over([0.6, None, 0.7])
        Stat(mean=0.65, sd=0.070711, n=2)
        """
        clean = [v for v in values if v is not None]
        if not clean:
            return cls(None, None, 0)
        arr = np.asarray(clean, dtype=np.float64)
        sd = float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
        mean = round(float(arr.mean()), ROUND_DIGITS)
        return cls(mean, round(sd, ROUND_DIGITS), len(arr))

    @classmethod
    def read(cls, f: Fields) -> Stat:
        return cls(
            f.get("mean", number, null=True),
            f.get("sd", number, null=True),
            f.get("n", integer),
        )

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean, "sd": self.sd, "n": self.n}


@dataclass(frozen=True)
class Scores:
    """One split's metrics as :meth:`hyperfusion.tasks.Task.score` returns them.

    Attributes:
        values: metric -> value (None where undefined, e.g. an AUC without
            both classes).
        n: subjects scored.
        confusion_matrix: counts, rows true, columns predicted (classification).
    """

    values: dict[str, float | None]
    n: int
    confusion_matrix: tuple[tuple[int, ...], ...] | None = None

    @classmethod
    def of(cls, metrics: Mapping[str, Any]) -> Scores:
        """From :meth:`~hyperfusion.tasks.Task.score`'s dict (or a card's copy).

        >>> Scores.of({"mae": 4.2, "n": 12}).to_json()
        {'mae': 4.2, 'n': 12}
        """
        values = {k: v for k, v in metrics.items() if k not in _SCORE_KEYS}
        matrix = metrics.get("confusion_matrix")
        rows = None if matrix is None else tuple(tuple(r) for r in matrix)
        return cls(values, metrics["n"], rows)

    @classmethod
    def read(cls, f: Fields) -> Scores:
        matrix = f.get("confusion_matrix", as_list, absent=True)
        if matrix is not None:
            where = f.path("confusion_matrix")
            rows = [as_list(row, where) for row in matrix]
            matrix = tuple(tuple(integer(c, where) for c in row) for row in rows)
        n = f.get("n", integer)
        values = {k: f.get(k, number, null=True) for k in metric_keys(f)}
        return cls(values, n, matrix)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.values, "n": self.n}
        if self.confusion_matrix is not None:
            out["confusion_matrix"] = [list(row) for row in self.confusion_matrix]
        return out


@dataclass(frozen=True)
class ReliabilityBin:
    """One confidence bin of the top-label reliability diagram
    (:func:`hyperfusion.metrics.reliability_bins`)."""

    lower: float
    upper: float
    confidence: float
    accuracy: float
    count: int

    @classmethod
    def read(cls, f: Fields) -> ReliabilityBin:
        numbers = [f.get(k, number) for k in ("lower", "upper", "confidence")]
        return cls(*numbers, f.get("accuracy", number), f.get("count", integer))

    def to_json(self) -> dict[str, Any]:
        return {
            "lower": self.lower,
            "upper": self.upper,
            "confidence": self.confidence,
            "accuracy": self.accuracy,
            "count": self.count,
        }


@dataclass(frozen=True)
class ReferenceOutputs:
    """The outputs on the first test subjects (logits ``(4, C)`` or years ``(4,)``),
    which a fast test regenerates to check the shipped weights."""

    ptids: tuple[str, ...]
    outputs: tuple[Any, ...]

    @classmethod
    def read(cls, f: Fields) -> ReferenceOutputs:
        where = f.path("outputs")
        outputs = tuple(
            tuple(number(v, where) for v in row) if isinstance(row, list) else row
            for row in f.get("outputs", as_list)
        )
        for row in outputs:
            if not isinstance(row, tuple):
                number(row, where)
        ptids = f.get("ptids", as_list)
        return cls(tuple(text(p, f.path("ptids")) for p in ptids), outputs)

    def to_json(self) -> dict[str, Any]:
        outputs = [list(r) if isinstance(r, tuple) else r for r in self.outputs]
        return {"ptids": list(self.ptids), "outputs": outputs}


@dataclass(frozen=True)
class TrainingStats:
    """The training record over seeds."""

    epochs_run: Stat
    time_s: Stat

    @classmethod
    def read(cls, f: Fields) -> TrainingStats:
        return cls(f.nested("epochs_run", Stat.read), f.nested("time_s", Stat.read))

    def to_json(self) -> dict[str, Any]:
        return {
            "epochs_run": self.epochs_run.to_json(),
            "time_s": self.time_s.to_json(),
        }


@dataclass(frozen=True)
class Localisation:
    """One seed's map mass inside the true disease region against chance
    (:func:`hyperfusion.evaluate.localisation.gradcam_localisation`); ``n``
    subjects measured, and the five values None when it is 0."""

    n: int
    mass_inside: float | None = None
    chance: float | None = None
    chance_brain: float | None = None
    ratio: float | None = None
    ratio_brain: float | None = None

    @classmethod
    def read(cls, f: Fields) -> Localisation:
        n = f.get("n", integer)
        return cls(n, *(f.get(k, number, absent=n == 0) for k in LOC_KEYS))

    def to_json(self) -> dict[str, Any]:
        if self.n == 0:
            return {"n": 0}
        return {"n": self.n, **{k: getattr(self, k) for k in LOC_KEYS}}


@dataclass(frozen=True)
class LocalisationStats:
    """:class:`Localisation` over seeds: a :class:`Stat` per value."""

    mass_inside: Stat
    chance: Stat
    chance_brain: Stat
    ratio: Stat
    ratio_brain: Stat

    @classmethod
    def read(cls, f: Fields) -> LocalisationStats | None:
        """None for ``{}`` (no seed measured any subject)."""
        if not f.data:
            return None
        return cls(*(f.nested(k, Stat.read) for k in LOC_KEYS))

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k).to_json() for k in LOC_KEYS}


def _stats_json(stats: LocalisationStats | None) -> dict[str, Any]:
    return {} if stats is None else stats.to_json()


@dataclass(frozen=True)
class CamResults:
    """One seed's localisation: Grad-CAM at its layer and comparison layers, and
    HiResCAM at its layer and the Grad-CAM layer."""

    gradcam_layer: str
    localisation: Localisation
    localisation_extra: dict[str, Localisation]
    hirescam_layer: str
    localisation_hirescam: dict[str, Localisation]

    @classmethod
    def read(cls, f: Fields) -> CamResults:
        return cls(
            f.get("gradcam_layer", text),
            f.nested("localisation", Localisation.read),
            f.mapping("localisation_extra", Localisation.read),
            f.get("hirescam_layer", text),
            f.mapping("localisation_hirescam", Localisation.read),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "gradcam_layer": self.gradcam_layer,
            "localisation": self.localisation.to_json(),
            "localisation_extra": json_values(self.localisation_extra),
            "hirescam_layer": self.hirescam_layer,
            "localisation_hirescam": json_values(self.localisation_hirescam),
        }


@dataclass(frozen=True)
class CamSummary:
    """:class:`CamResults` over seeds (None: no seed measured that layer)."""

    gradcam_layer: str
    localisation: LocalisationStats
    localisation_extra: dict[str, LocalisationStats | None]
    hirescam_layer: str
    localisation_hirescam: dict[str, LocalisationStats | None]

    @classmethod
    def read(cls, f: Fields) -> CamSummary:
        return cls(
            f.get("gradcam_layer", text),
            f.nested("localisation", LocalisationStats.read),
            f.mapping("localisation_extra", LocalisationStats.read),
            f.get("hirescam_layer", text),
            f.mapping("localisation_hirescam", LocalisationStats.read),
        )

    def to_json(self) -> dict[str, Any]:
        extra, hires = self.localisation_extra, self.localisation_hirescam
        return {
            "gradcam_layer": self.gradcam_layer,
            "localisation": self.localisation.to_json(),
            "localisation_extra": {k: _stats_json(v) for k, v in extra.items()},
            "hirescam_layer": self.hirescam_layer,
            "localisation_hirescam": {k: _stats_json(v) for k, v in hires.items()},
        }


def json_values(items: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.to_json() for k, v in items.items()}


def reliability_json(bins: Sequence[ReliabilityBin]) -> list[dict[str, Any]]:
    return [b.to_json() for b in bins]


__all__ = [
    "LOC_KEYS",
    "CamResults",
    "CamSummary",
    "Localisation",
    "LocalisationStats",
    "ReferenceOutputs",
    "ReliabilityBin",
    "Scores",
    "Stat",
    "TrainingStats",
    "json_values",
    "metric_keys",
    "reliability_json",
]
