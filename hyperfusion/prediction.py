"""A patient's predictions as the engine returns them, and their JSON form."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hyperfusion.tasks import AD, BRAIN_AGE, TASKS, get_task


@dataclass(frozen=True)
class Prediction:
    """One patient's predictions with the ensemble's spread as uncertainty."""

    probabilities: dict[str, float]
    probabilities_sd: dict[str, float]
    brain_age: float
    brain_age_sd: float
    age: float | None
    ad_model: str
    brain_age_model: str
    n_seeds: dict[str, int]
    trained: bool
    device: str
    latency_ms: float
    qc_warnings: tuple[str, ...] = ()
    per_seed: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def diagnosis(self) -> str:
        """The most probable class."""
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def brain_age_gap(self) -> float | None:
        """Predicted brain age minus the entered age (years), if the age is known."""
        return None if self.age is None else self.brain_age - self.age

    def to_dict(self, tasks: Iterable[str] = tuple(TASKS)) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``--json`` output and the app's export) of
        the predictions of ``tasks`` (default: both)."""
        kept = [get_task(t) for t in tasks]
        dropped = [t for t in TASKS.values() if t not in kept]
        out = {
            "brain_age": round(self.brain_age, 2),
            "brain_age_sd": round(self.brain_age_sd, 2),
            "brain_age_gap": None
            if self.brain_age_gap is None
            else round(self.brain_age_gap, 2),
            "diagnosis": self.diagnosis,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "probabilities_sd": {
                k: round(v, 4) for k, v in self.probabilities_sd.items()
            },
            "models": {AD.name: self.ad_model, BRAIN_AGE.name: self.brain_age_model},
            "ensemble_size": self.n_seeds,
            "trained": self.trained,
            "device": self.device,
            "latency_ms": round(self.latency_ms, 2),
            "qc_warnings": list(self.qc_warnings),
        }
        for task in dropped:
            for key in task.result_keys:
                out.pop(key)
            out["models"].pop(task.name)
            out["ensemble_size"].pop(task.name)
        return out
