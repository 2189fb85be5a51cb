"""The ``explanations`` block of ``metrics.json``, typed: how far each map method
can be trusted, per seed and over seeds, and which method is the default.

Layout (``?``: may be absent; read through :mod:`hyperfusion.evaluate.schema`)::

    "explanations": {"default_method": str | null, "protocol": {str: str},
                     "selection"?: Selection, <method>: MethodQuality, ...}
    MethodQuality = {"layer": str, "latency_ms": float | null,
                     <quality key>: Stat, ..., "seeds": {"0": Quality, ...}}
    Quality       = {"n": int, "n_randomised": int, <quality key>: float | null}
    Selection     = {"rule": str, "split": str, "subjects": int,
                     "eligible": [str], "best_overall": str,
                     "candidates": {<method>: {<layer>: QualityStats}}}

``<method>`` is a name of :data:`hyperfusion.explain.methods.METHODS`; the quality
keys are :data:`QUALITY_KEYS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperfusion.evaluate.checked_json import (
    Fields,
    LayoutError,
    as_list,
    integer,
    number,
    text,
)
from hyperfusion.evaluate.records import Stat, json_values
from hyperfusion.explain.methods import METHOD_NAMES

QUALITY_KEYS = (
    "mass_ratio",
    "pointing_game",
    "deletion_auc",
    "random_deletion_auc",
    "randomisation_corr",
)
QUALITY_LABELS = {
    "mass_ratio": "Mass in region (× chance)",
    "pointing_game": "Pointing game",
    "deletion_auc": "Deletion AUC",
    "random_deletion_auc": "Random deletion AUC",
    "randomisation_corr": "Randomisation corr.",
    "latency_ms": "Latency (ms)",
}


@dataclass(frozen=True)
class Quality:
    """One seed, one method: the values over its subjects (None: not measured).

    ``n`` subjects measured; ``n_randomised`` of them for ``randomisation_corr``.
    """

    n: int
    n_randomised: int
    mass_ratio: float | None = None
    pointing_game: float | None = None
    deletion_auc: float | None = None
    random_deletion_auc: float | None = None
    randomisation_corr: float | None = None

    @classmethod
    def read(cls, f: Fields) -> Quality:
        values = (f.get(k, number, null=True) for k in QUALITY_KEYS)
        return cls(f.get("n", integer), f.get("n_randomised", integer), *values)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "n_randomised": self.n_randomised}
        return out | {k: getattr(self, k) for k in QUALITY_KEYS}


@dataclass(frozen=True)
class QualityStats:
    """:class:`Quality` over seeds: a :class:`Stat` per quality key."""

    mass_ratio: Stat
    pointing_game: Stat
    deletion_auc: Stat
    random_deletion_auc: Stat
    randomisation_corr: Stat

    @classmethod
    def over(cls, seeds: Sequence[Quality]) -> QualityStats:
        return cls(*(Stat.over([getattr(s, k) for s in seeds]) for k in QUALITY_KEYS))

    @classmethod
    def read(cls, f: Fields) -> QualityStats:
        return cls(*(f.nested(k, Stat.read) for k in QUALITY_KEYS))

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k).to_json() for k in QUALITY_KEYS}

    def mean(self, key: str) -> float | None:
        """The mean over seeds of one quality key."""
        return getattr(self, key).mean


@dataclass(frozen=True)
class MethodQuality:
    """One method on the test subjects: the layer it explained, the app's latency
    (the whole ensemble, one image) and the quality per seed and over seeds."""

    layer: str
    latency_ms: float | None
    stats: QualityStats
    seeds: dict[str, Quality]

    @classmethod
    def read(cls, f: Fields) -> MethodQuality:
        return cls(
            f.get("layer", text),
            f.get("latency_ms", number, null=True),
            QualityStats.read(f),
            f.mapping("seeds", Quality.read),
        )

    def to_json(self) -> dict[str, Any]:
        out = {"layer": self.layer, "latency_ms": self.latency_ms}
        return out | self.stats.to_json() | {"seeds": json_values(self.seeds)}


@dataclass(frozen=True)
class Selection:
    """How the default method and the HiResCAM layer were chosen: every candidate
    measured on the validation split, the rule, what passed it."""

    rule: str
    split: str
    subjects: int
    eligible: tuple[str, ...]
    best_overall: str
    candidates: dict[str, dict[str, QualityStats]]

    @classmethod
    def read(cls, f: Fields) -> Selection:
        def layers(g: Fields) -> dict[str, QualityStats]:
            return {k: g.nested(k, QualityStats.read) for k in g.data}

        eligible = f.get("eligible", as_list)
        return cls(
            f.get("rule", text),
            f.get("split", text),
            f.get("subjects", integer),
            tuple(text(e, f.path("eligible")) for e in eligible),
            f.get("best_overall", text),
            _methods(f, "candidates", layers),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "split": self.split,
            "subjects": self.subjects,
            "eligible": list(self.eligible),
            "best_overall": self.best_overall,
            "candidates": {m: json_values(c) for m, c in self.candidates.items()},
        }


def _methods(f: Fields, key: str, reader: Any) -> dict[str, Any]:
    """The object at ``key``: method name -> ``reader`` of its value."""
    found = f.mapping(key, reader)
    _check_names(f.path(key), found)
    return found


def _check_names(where: str, names: Any) -> None:
    for name in names:
        if name not in METHOD_NAMES:
            raise LayoutError(
                f"{where}.{name} is not a map method; accepted: "
                f"{', '.join(METHOD_NAMES)}"
            )


def _text_map(value: object, where: str) -> dict[str, str]:
    """An object of strings."""
    f = Fields(value, where)
    return {k: f.get(k, text) for k in f.data}


@dataclass(frozen=True)
class Explanations:
    """The whole block: the default method (None on an unseen cohort, which has no
    validation split to choose on), the protocol in words, the selection and
    each method's quality."""

    default_method: str | None
    protocol: dict[str, str]
    methods: dict[str, MethodQuality] = field(default_factory=dict)
    selection: Selection | None = None

    @classmethod
    def read(cls, f: Fields) -> Explanations:
        default = f.get("default_method", text, null=True)
        if default is not None:
            _check_names("explanations.default_method", [default])
        protocol = f.get("protocol", _text_map)
        selection = f.nested("selection", Selection.read, absent=True)
        names = f.unasked()
        _check_names(f.where, names)
        methods = {k: f.nested(k, MethodQuality.read) for k in names}
        return cls(default, protocol, methods, selection)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "default_method": self.default_method,
            "protocol": dict(self.protocol),
        }
        if self.selection is not None:
            out["selection"] = self.selection.to_json()
        return out | json_values(self.methods)


__all__ = [
    "QUALITY_KEYS",
    "QUALITY_LABELS",
    "Explanations",
    "MethodQuality",
    "Quality",
    "QualityStats",
    "Selection",
]
