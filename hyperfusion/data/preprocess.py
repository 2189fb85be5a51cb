"""Any scan into the image contract: a pipeline of small, skippable steps.

:func:`preprocess_scan` reads a NIfTI, a DICOM folder, a zip or ``.dcm`` files
(:func:`~hyperfusion.data.scan_input.read_scan`), then runs

1. ``dicom``: DICOM series -> NIfTI (the 3D T1-like series is chosen and named);
2. ``brain_extraction``: deepbet (:mod:`hyperfusion.data.brain_extraction`);
3. ``bias_correction``: N4, only when asked for;
4. ``registration``: affine to MNI152 (:mod:`hyperfusion.data.registration`) and
   resampling onto the template grid,

and returns the image ready for ``Engine.prepare``, with a report and the transform
that takes maps back to the scan's own space. Modes: ``"auto"`` skips what the
checks say is done (an already skull-stripped input skips extraction, one already in
MNI152 space skips registration: such an input passes unchanged), ``"full"`` runs
every step, ``"none"`` only reads the file. Each step reports its name, whether it
ran and why, its seconds and its figures, each figure flagged when implausible;
``progress`` is called when a step starts (status ``"running"``) and when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import nibabel as nib
import numpy as np

from hyperfusion.config import SCAN_LIMITS, Grid, ScanLimits
from hyperfusion.data.brain_extraction import (
    MASK_ML_RANGE,
    STRIPPED_ML_RANGE,
    extract_brain,
    looks_skull_stripped,
    signal_mask,
)
from hyperfusion.data.preprocess_report import (
    Figure,
    PreprocessReport,
    Progress,
    StepRecorder,
    range_text,
    registration_figures,
)
from hyperfusion.data.qc import quality_check
from hyperfusion.data.scan_input import LoadedScan, ScanSource, read_scan
from hyperfusion.errors import PreprocessingError

Mode = Literal["auto", "none", "full"]
MODES: tuple[str, ...] = ("auto", "none", "full")
# An input counts as in MNI152 space (auto skips registration) when the QC finds
# none of its alignment problems and its brain's centre of mass lies within this
# distance of the template brain's (the bundled cohort: at most 2.7 mm; a 5 mm
# shift passes the QC's correlation test but not this one).
ALIGNED_CENTRE_MM = 4.0


@dataclass(frozen=True)
class PreprocessResult:
    """The scan in the image contract, and how it got there.

    Attributes:
        image: skull-stripped, in MNI152 space (on the template grid when the
            registration ran; the input unchanged when every step was skipped).
        original: the input as read (RAS), the space maps go back to.
        report: the steps and their figures.
        template_to_input: 4x4 RAS mm from MNI152 to ``original``'s world, or
            ``None`` when the registration did not run (identity).
        mask: the brain mask on ``original``'s grid, when extraction ran.
    """

    image: nib.Nifti1Image
    original: nib.Nifti1Image
    report: PreprocessReport
    template_to_input: np.ndarray | None = None
    mask: nib.Nifti1Image | None = field(default=None, repr=False)

    def to_input_space(self, vol: np.ndarray, grid: Grid) -> nib.Nifti1Image:
        """A map on a model grid resampled onto the original scan's grid."""
        from hyperfusion.data.resampling import to_input_space

        return to_input_space(vol, grid, self.original, self.template_to_input)


def check_mode(mode: str, resolution: int = 1) -> Mode:
    """``mode`` when it is one of :data:`MODES` (and ``resolution`` 1 or 2 mm).

    Raises:
        PreprocessingError: another value.
    """
    if mode not in MODES:
        raise PreprocessingError(
            f"unknown preprocessing mode {str(mode)[:20]!r}; auto, none or full is"
            " accepted"
        )
    if resolution not in (1, 2):
        raise PreprocessingError(
            f"the template grid must be 1 or 2 mm, not {str(resolution)[:20]!r}"
        )
    return mode  # type: ignore[return-value]


def _read_step(
    source: ScanSource, limits: ScanLimits, steps: StepRecorder
) -> LoadedScan:
    steps.start("dicom")
    loaded = read_scan(source, limits=limits)
    if loaded.dicom is None:
        steps.finish("dicom", False, "the input is a NIfTI image")
        return loaded
    conversion = loaded.dicom
    found = Figure("series_found", "DICOM series found", len(conversion.candidates))
    steps.finish(
        "dicom",
        True,
        f"{conversion.reason} (converted with {conversion.converter})",
        (found,),
    )
    return loaded


def _extraction_step(
    img: nib.Nifti1Image, mode: Mode, device: str | None, steps: StepRecorder
) -> tuple[nib.Nifti1Image, nib.Nifti1Image | None]:
    steps.start("brain_extraction")
    stripped, volume = looks_skull_stripped(img)
    signal = Figure("signal_volume_ml", "signal volume", volume, "ml")
    if mode == "none":
        steps.finish("brain_extraction", False, "preprocessing is off (mode none)")
        return img, None
    high = STRIPPED_ML_RANGE[1]
    if mode == "auto" and stripped:
        reason = (
            f"already skull-stripped: {volume:.0f} ml hold signal, a brain's volume"
            f" (a head with skull and scalp holds more than {high:.0f} ml)"
        )
        steps.finish("brain_extraction", False, reason, (signal,))
        return img, None
    result = extract_brain(img, device)
    low_ml, high_ml = MASK_ML_RANGE
    mask_figure = Figure(
        "mask_volume_ml",
        "brain mask volume",
        result.volume_ml,
        "ml",
        range_text(low_ml, high_ml, "ml"),
        low_ml <= result.volume_ml <= high_ml,
    )
    reason = (
        "every step was requested (mode full)"
        if mode == "full"
        else f"not skull-stripped: {volume:.0f} ml hold signal, more than a brain's"
        f" {high:.0f} ml (skull, scalp or background)"
    )
    steps.finish("brain_extraction", True, reason, (signal, mask_figure))
    return result.brain, result.mask


def _bias_step(
    img: nib.Nifti1Image,
    mask: nib.Nifti1Image | None,
    wanted: bool,
    mode: Mode,
    steps: StepRecorder,
) -> nib.Nifti1Image:
    steps.start("bias_correction")
    if mode == "none" or not wanted:
        why = "preprocessing is off (mode none)" if mode == "none" else "not requested"
        steps.finish("bias_correction", False, why)
        return img
    from hyperfusion.data.bias_correction import correct_bias

    if mask is None:  # a stripped input: its voxels holding signal
        mask = nib.Nifti1Image(signal_mask(img).astype(np.uint8), img.affine)
    out = correct_bias(img, mask)
    steps.finish("bias_correction", True, "requested (N4 inside the brain mask)")
    return out


def centre_offset_mm(img: nib.Nifti1Image) -> float:
    """Distance (mm) from the centre of the voxels holding signal in ``img``
    (:func:`~hyperfusion.data.brain_extraction.signal_mask`) to the centre of the
    MNI152 brain mask; infinite for an empty image."""
    from hyperfusion.data.templates import load_brain_mask

    def centre(image: nib.Nifti1Image, inside: np.ndarray) -> np.ndarray:
        ijk = np.vstack([np.nonzero(inside), np.ones(int(inside.sum()))])
        return (np.asarray(image.affine) @ ijk)[:3].mean(axis=1)

    inside = signal_mask(img)
    if not inside.any():
        return float("inf")
    mask_img = load_brain_mask(2)
    template = centre(mask_img, np.asarray(mask_img.dataobj) > 0)
    return float(np.linalg.norm(centre(img, inside) - template))


def _misalignment(
    img: nib.Nifti1Image, codes: tuple[str, ...]
) -> tuple[list[str], list[Figure]]:
    """Why ``img`` is not in MNI152 space (empty when it is), and the figures."""
    from hyperfusion.data import qc

    m = quality_check(img, codes).metrics
    offset = centre_offset_mm(img)
    checks = [
        (
            m["correlation"] < qc.MIN_CORRELATION,
            f"correlation with the template {m['correlation']:.2f}",
        ),
        (m["axes_permuted"] > 0, f"axes stored as {''.join(codes)}"),
        (m["obliquity_deg"] > qc.MAX_OBLIQUITY_DEG, "axes tilted from the world's"),
        (m["fov_coverage"] < qc.MIN_FOV_COVERAGE, "part of the brain outside"),
        (offset > ALIGNED_CENTRE_MM, f"brain centre {offset:.1f} mm off"),
    ]
    figures = [
        Figure("correlation_before", "correlation with the template", m["correlation"]),
        Figure("centre_offset_mm", "brain centre offset", offset, "mm"),
    ]
    return [why for bad, why in checks if bad], figures


def _registration_step(
    img: nib.Nifti1Image,
    codes: tuple[str, ...],
    mode: Mode,
    options: dict[str, Any],
    steps: StepRecorder,
) -> tuple[nib.Nifti1Image, np.ndarray | None]:
    steps.start("registration")
    if mode == "none":
        steps.finish("registration", False, "preprocessing is off (mode none)")
        return img, None
    problems, before = _misalignment(img, codes)
    if mode == "auto" and not problems:
        reason = "already in MNI152 space (the QC finds it aligned with the template)"
        steps.finish("registration", False, reason, tuple(before))
        return img, None
    from hyperfusion.data.registration import (
        register_to_template,
        resample_to_template,
    )

    registration = register_to_template(img, seed=options["seed"])
    mask = options["mask"]
    if mask is None:
        mask = nib.Nifti1Image(signal_mask(img).astype(np.uint8), img.affine)
    out = resample_to_template(img, registration, options["resolution"], mask)
    after = quality_check(out).metrics["correlation"]
    figures = (*before, *registration_figures(registration.input_to_template, after))
    reason = (
        "every step was requested (mode full)"
        if mode == "full"
        else f"not in MNI152 space: {'; '.join(problems)}"
    )
    steps.finish("registration", True, reason, figures)
    return out, registration.template_to_input


def preprocess_scan(
    source: ScanSource,
    mode: Mode = "auto",
    *,
    bias_correction: bool = False,
    resolution: int = 1,
    device: str | None = None,
    progress: Progress | None = None,
    limits: ScanLimits = SCAN_LIMITS,
    seed: int = 0,
) -> PreprocessResult:
    """Bring any scan into the image contract, step by step.

    Args:
        source: what :func:`~hyperfusion.data.scan_input.read_scan` accepts.
        mode: ``"auto"``, ``"full"`` or ``"none"`` (see the module docstring).
        bias_correction: run N4 (off by default; never in mode ``"none"``).
        resolution: the template grid (1 or 2 mm) a registered image lands on.
        device: where deepbet runs (``None``: CUDA when available).
        progress: called with a ``"running"`` report as each step starts and with
            its final report as it ends.
        limits: bounds on DICOM uploads.
        seed: the registration's sampling seed.

    Returns:
        A :class:`PreprocessResult`.

    Raises:
        InvalidMRIError: the input cannot be read (``InvalidScanError`` for DICOM).
        PreprocessingError: an unknown mode, or a step failed.
    """
    mode = check_mode(mode, resolution)
    steps = StepRecorder(progress)
    loaded = _read_step(source, limits, steps)
    codes = tuple(loaded.image.extra.get("original_axcodes", ("R", "A", "S")))
    img, mask = _extraction_step(loaded.image, mode, device, steps)
    img = _bias_step(img, mask, bias_correction, mode, steps)
    options = {"seed": seed, "resolution": resolution, "mask": mask}
    img, template_to_input = _registration_step(img, codes, mode, options, steps)
    series = None if loaded.dicom is None else loaded.dicom.series
    return PreprocessResult(
        image=img,
        original=loaded.image,
        report=PreprocessReport(mode, tuple(steps.done), series),
        template_to_input=template_to_input,
        mask=mask,
    )


__all__ = [
    "ALIGNED_CENTRE_MM",
    "MODES",
    "Mode",
    "PreprocessResult",
    "centre_offset_mm",
    "check_mode",
    "preprocess_scan",
]
