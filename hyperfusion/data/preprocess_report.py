"""The preprocessing report: steps, their figures, and what counts as plausible.

:func:`hyperfusion.data.preprocess.preprocess_scan` records one :class:`StepReport`
per step (name, ran or skipped and why, seconds, figures) into a
:class:`PreprocessReport`; a progress callback sees each step start (status
``"running"``) and end. Each :class:`Figure` carries the range it is expected in and
is flagged (``ok=False``) outside it, the way fMRIPrep's reports flag a figure; the
ranges of the registration's figures live here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from hyperfusion.data.series import SeriesInfo

Status = Literal["running", "ran", "skipped"]
STEP_TITLES = {
    "dicom": "DICOM series to NIfTI",
    "brain_extraction": "Brain extraction",
    "bias_correction": "Bias-field correction (N4)",
    "registration": "Affine registration to MNI152",
}
# Plausible after registration (the QC's smoothed correlation inside the template's
# brain mask): the template moved and realigned comes back at 0.997, bundled cohort
# subjects (other brains: atrophy, noise, head size) moved and realigned at
# 0.92-0.95; below 0.8 the registration has most likely failed.
MIN_REGISTERED_CORRELATION = 0.8
SCALE_RANGE = (0.8, 1.25)
MAX_ROTATION_DEG = 20.0


@dataclass(frozen=True)
class Figure:
    """One measured value of a step, and whether it is plausible."""

    name: str
    label: str
    value: float
    unit: str = ""
    expected: str = ""
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (the value to 4 significant digits; None if infinite)."""
        return {
            "name": self.name,
            "label": self.label,
            "value": float(f"{self.value:.4g}") if math.isfinite(self.value) else None,
            "unit": self.unit,
            "expected": self.expected,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class StepReport:
    """What one step did.

    Attributes:
        name: ``dicom``, ``brain_extraction``, ``bias_correction`` or
            ``registration``.
        status: ``"running"`` (only in a progress call), ``"ran"`` or ``"skipped"``.
        reason: why it ran or was skipped, in one sentence.
        seconds: wall-clock time, checks included.
        figures: its measured values.
    """

    name: str
    status: Status
    reason: str = ""
    seconds: float = 0.0
    figures: tuple[Figure, ...] = ()

    @property
    def title(self) -> str:
        """The step's name for people."""
        return STEP_TITLES[self.name]

    @property
    def ran(self) -> bool:
        """Whether the step changed the image."""
        return self.status == "ran"

    def warnings(self) -> list[str]:
        """One line per implausible figure."""
        return [
            f"{self.title}: {f.label} {f.value:.3g}{f.unit and ' ' + f.unit} is"
            f" implausible (expected {f.expected}); check the overlays before"
            " trusting a prediction"
            for f in self.figures
            if not f.ok
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "figures": [f.to_dict() for f in self.figures],
        }


@dataclass(frozen=True)
class PreprocessReport:
    """Every step, in order, and the DICOM series used (if any)."""

    mode: str
    steps: tuple[StepReport, ...]
    series: SeriesInfo | None = None

    @property
    def seconds(self) -> float:
        """The pipeline's total time."""
        return sum(s.seconds for s in self.steps)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every implausible figure, one line each."""
        return tuple(w for s in self.steps for w in s.warnings())

    def step(self, name: str) -> StepReport:
        """The report of one step."""
        return next(s for s in self.steps if s.name == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no identifiers: see ``hyperfusion.data.dicom``)."""
        return {
            "mode": self.mode,
            "steps": [s.to_dict() for s in self.steps],
            "ran": [s.name for s in self.steps if s.ran],
            "series": None if self.series is None else self.series.to_dict(),
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[StepReport], None]


class StepRecorder:
    """Collects step reports, times them and tells ``progress``."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done: list[StepReport] = []
        self._started = 0.0

    def start(self, name: str) -> None:
        self._started = time.perf_counter()
        if self.progress is not None:
            self.progress(StepReport(name, "running"))

    def finish(
        self, name: str, ran: bool, reason: str, figures: tuple[Figure, ...] = ()
    ) -> None:
        seconds = time.perf_counter() - self._started
        report = StepReport(name, "ran" if ran else "skipped", reason, seconds, figures)
        self.done.append(report)
        if self.progress is not None:
            self.progress(report)


def range_text(low: float, high: float, unit: str) -> str:
    return f"{low:g} to {high:g} {unit}".strip()


def registration_figures(
    input_to_template: np.ndarray, correlation: float
) -> tuple[Figure, ...]:
    """The registration's figures, flagged when implausible."""
    from hyperfusion.data.registration import affine_figures

    a = affine_figures(input_to_template)
    low, high = SCALE_RANGE
    out = [
        Figure(
            "correlation",
            "correlation with the template",
            correlation,
            expected=f"at least {MIN_REGISTERED_CORRELATION:g}",
            ok=correlation >= MIN_REGISTERED_CORRELATION,
        )
    ]
    for axis in "xyz":
        value = a[f"scale_{axis}"]
        out.append(
            Figure(
                f"scale_{axis}",
                f"scale along {axis}",
                value,
                expected=range_text(low, high, ""),
                ok=low <= value <= high,
            )
        )
    angle = a["rotation_deg"]
    out.append(
        Figure(
            "rotation_deg",
            "rotation",
            angle,
            "degrees",
            f"at most {MAX_ROTATION_DEG:g} degrees",
            angle <= MAX_ROTATION_DEG,
        )
    )
    for axis in "xyz":
        out.append(
            Figure(
                f"rotation_{axis}_deg",
                f"rotation about {axis}",
                a[f"rotation_{axis}_deg"],
                "degrees",
            )
        )
    for axis in "xyz":
        out.append(
            Figure(
                f"translation_{axis}_mm",
                f"translation along {axis}",
                a[f"translation_{axis}_mm"],
                "mm",
            )
        )
    det = a["determinant"]
    out.append(
        Figure(
            "determinant",
            "determinant",
            det,
            expected="positive (not a mirror image)",
            ok=det > 0,
        )
    )
    return tuple(out)


__all__ = [
    "MAX_ROTATION_DEG",
    "MIN_REGISTERED_CORRELATION",
    "SCALE_RANGE",
    "STEP_TITLES",
    "Figure",
    "PreprocessReport",
    "Progress",
    "StepRecorder",
    "StepReport",
    "range_text",
    "registration_figures",
]
