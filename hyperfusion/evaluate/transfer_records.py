"""The layout of ``metrics.json``'s ``transfer`` block: the brain-age model read on
the AD cohort, by diagnosis, and on the bundled examples.

::

    "transfer"?: {"model": str, "subjects": str,
                  "cn_mae": Stat,                  # over training seeds
                  "brain_age_test_mae": Stat,      # the same seeds, own test split
                  "gap": {"CN" | "MCI" | "AD": Gap},   # the seeds' mean prediction
                  "examples": {PTID: Example}}
    Gap     = {"mean": float, "sd": float, "n": int}   # predicted - true age (years)
    Example = {"dx": str, "age": float, "brain_age": float, "gap": float}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hyperfusion.evaluate.checked_json import Fields, integer, number, text
from hyperfusion.evaluate.records import Stat, json_values


@dataclass(frozen=True)
class Gap:
    """Brain-age gap (predicted minus true age, years) of one diagnosis group."""

    mean: float
    sd: float
    n: int

    @classmethod
    def read(cls, f: Fields) -> Gap:
        return cls(f.get("mean", number), f.get("sd", number), f.get("n", integer))

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def text(self) -> str:
        """``"-1.2 ± 4.8 y"``: how the app quotes the reference."""
        return f"{self.mean:+.1f} ± {self.sd:.1f} y"


@dataclass(frozen=True)
class Example:
    """One bundled example subject read by the brain-age model (seeds' mean)."""

    dx: str
    age: float
    brain_age: float
    gap: float

    @classmethod
    def read(cls, f: Fields) -> Example:
        return cls(
            f.get("dx", text),
            f.get("age", number),
            f.get("brain_age", number),
            f.get("gap", number),
        )

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Transfer:
    """The brain-age model applied to the AD cohort, as the app applies it.

    Attributes:
        model: the brain-age model measured (registry name).
        subjects: which AD-cohort subjects, in words.
        cn_mae: MAE on the CN subjects, mean ± sd over the training seeds.
        brain_age_test_mae: the same seeds' MAE on the brain-age test split.
        gap: by diagnosis, the gap of the seeds' mean prediction (what the app
            shows).
        examples: the bundled examples' brain age and gap, by PTID.
    """

    model: str
    subjects: str
    cn_mae: Stat
    brain_age_test_mae: Stat
    gap: dict[str, Gap]
    examples: dict[str, Example]

    @classmethod
    def read(cls, f: Fields) -> Transfer:
        return cls(
            model=f.get("model", text),
            subjects=f.get("subjects", text),
            cn_mae=f.nested("cn_mae", Stat.read),
            brain_age_test_mae=f.nested("brain_age_test_mae", Stat.read),
            gap=f.mapping("gap", Gap.read),
            examples=f.mapping("examples", Example.read),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "subjects": self.subjects,
            "cn_mae": self.cn_mae.to_json(),
            "brain_age_test_mae": self.brain_age_test_mae.to_json(),
            "gap": json_values(self.gap),
            "examples": json_values(self.examples),
        }

    def mae_ratio(self) -> float | None:
        """CN MAE over the brain-age test MAE (the transfer's cost)."""
        own, cn = self.brain_age_test_mae.mean, self.cn_mae.mean
        return None if not own or cn is None else cn / own


__all__ = ["Example", "Gap", "Transfer"]
