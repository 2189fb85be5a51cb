"""Affine (12 degrees of freedom) registration of a brain to the MNI152 template.

SimpleITK, Mattes mutual information, multi-resolution. The stripped brain is
registered to nilearn's skull-stripped MNI152 2009 template on its 2 mm grid (the
moving image is block-averaged to about 2 mm first, which keeps a 1 mm head well
inside the time budget; the models read 3-4 mm grids). The initialisation is robust
to where and how a head lies in the scanner: centres of mass matched, the scale
from the ratio of brain volumes, then a short coarse run from each of seven
rotations (none, and 20 degrees either way about each axis) whose best result
seeds a similarity (7 dof) stage at 8 and 4 mm and a full affine stage at 4 and 2 mm.

Transforms are 4x4 matrices in RAS millimetres. ``template_to_input`` maps a point
of MNI152 space to the input's world space (what resampling onto the template grid
needs); its inverse, ``input_to_template``, is what the figures describe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np
from scipy.spatial.transform import Rotation

from hyperfusion.data.sitk_bridge import ras_lps, to_sitk
from hyperfusion.data.templates import load_template
from hyperfusion.errors import PreprocessingError

if TYPE_CHECKING:
    import SimpleITK as sitk

FIXED_RESOLUTION = 2
MOVING_VOXEL_MM = 2.0
START_DEGREES = (
    (0.0, 0.0, 0.0),
    (20.0, 0.0, 0.0),
    (-20.0, 0.0, 0.0),
    (0.0, 20.0, 0.0),
    (0.0, -20.0, 0.0),
    (0.0, 0.0, 20.0),
    (0.0, 0.0, -20.0),
)
HISTOGRAM_BINS = 32
SAMPLING_FRACTION = 0.1
START_ITERATIONS = 25
STAGE_ITERATIONS = 100


@dataclass(frozen=True)
class Registration:
    """An affine registration to MNI152.

    Attributes:
        template_to_input: 4x4 RAS mm: an MNI152 point -> the input's world.
        metric: the final Mattes mutual information (negative; lower is better).
        start_degrees: the rotation start the optimisation kept.
    """

    template_to_input: np.ndarray
    metric: float
    start_degrees: tuple[float, float, float]

    @property
    def input_to_template(self) -> np.ndarray:
        """4x4 RAS mm: an input point -> MNI152."""
        return np.linalg.inv(self.template_to_input)


def _method(
    shrink: list[int], sigma_mm: list[float], iterations: int, seed: int
) -> sitk.ImageRegistrationMethod:
    import SimpleITK as sitk

    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(HISTOGRAM_BINS)
    method.SetMetricSamplingStrategy(method.RANDOM)
    # SimpleITK reads a seed of 0 as "the wall clock": shift ours by one.
    method.SetMetricSamplingPercentage(SAMPLING_FRACTION, seed + 1)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0,
        minStep=1e-3,
        numberOfIterations=iterations,
        relaxationFactor=0.5,
        gradientMagnitudeTolerance=1e-6,
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel(shrink)
    method.SetSmoothingSigmasPerLevel(sigma_mm)
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    return method


def transform_matrix(transform: sitk.Transform) -> np.ndarray:
    """The 4x4 LPS matrix of any affine-type SimpleITK transform (composites
    included), read off the images of the origin and the unit vectors."""
    origin = np.asarray(transform.TransformPoint((0.0, 0.0, 0.0)))
    out = np.eye(4)
    for axis in range(3):
        unit = [0.0, 0.0, 0.0]
        unit[axis] = 1.0
        out[:3, axis] = np.asarray(transform.TransformPoint(unit)) - origin
    out[:3, 3] = origin
    return out


def affine_transform(matrix_lps: np.ndarray, centre: np.ndarray) -> sitk.Transform:
    """A SimpleITK ``AffineTransform`` equal to a 4x4 LPS matrix, centred."""
    import SimpleITK as sitk

    out = sitk.AffineTransform(3)
    linear = matrix_lps[:3, :3]
    out.SetCenter(centre.tolist())
    out.SetMatrix(linear.ravel().tolist())
    out.SetTranslation((matrix_lps[:3, 3] + linear @ centre - centre).tolist())
    return out


def _brain_ml(image: sitk.Image) -> float:
    import SimpleITK as sitk

    array = sitk.GetArrayViewFromImage(image)
    return float((array > 0).sum()) * float(np.prod(image.GetSpacing())) / 1000.0


def _initial(fixed: sitk.Image, moving: sitk.Image) -> sitk.Similarity3DTransform:
    """Centres of mass matched, scale from the brains' volume ratio."""
    import SimpleITK as sitk

    init = sitk.CenteredTransformInitializer(
        fixed,
        moving,
        sitk.Similarity3DTransform(),
        sitk.CenteredTransformInitializerFilter.MOMENTS,
    )
    out = sitk.Similarity3DTransform(init)
    ratio = _brain_ml(moving) / max(_brain_ml(fixed), 1e-6)
    out.SetScale(float(np.clip(ratio ** (1 / 3), 0.7, 1.4)))
    return out


def _best_start(
    fixed: sitk.Image,
    moving: sitk.Image,
    base: sitk.Similarity3DTransform,
    seed: int,
) -> tuple[sitk.Transform, tuple[float, float, float]]:
    """A short coarse similarity run from each rotation start; the best one."""
    import SimpleITK as sitk

    best: tuple[float, sitk.Transform, tuple[float, float, float]] | None = None
    for degrees in START_DEGREES:
        start = sitk.Similarity3DTransform(base)
        rotation = Rotation.from_euler("xyz", degrees, degrees=True).as_matrix()
        start.SetMatrix((rotation * base.GetScale()).ravel().tolist())
        method = _method([4], [4.0], START_ITERATIONS, seed)
        method.SetInitialTransform(start, inPlace=False)
        result = method.Execute(fixed, moving)
        value = method.GetMetricValue()
        if best is None or value < best[0]:
            best = (value, result, degrees)
    assert best is not None
    return best[1], best[2]


def _moving_image(brain: nib.Nifti1Image) -> sitk.Image:
    import SimpleITK as sitk

    moving = to_sitk(brain)
    factors = [max(1, round(MOVING_VOXEL_MM / s)) for s in moving.GetSpacing()]
    return sitk.BinShrink(moving, factors) if max(factors) > 1 else moving


def register_to_template(brain: nib.Nifti1Image, *, seed: int = 0) -> Registration:
    """Register a skull-stripped brain (zero background) to MNI152, affinely.

    Args:
        brain: a 3D image with the brain only (e.g. ``extract_brain(...).brain``).
        seed: the metric's sampling seed (the same seed gives the same result).

    Returns:
        A :class:`Registration`.

    Raises:
        PreprocessingError: the optimisation failed (e.g. an empty image).
    """
    fixed = to_sitk(load_template(FIXED_RESOLUTION))
    moving = _moving_image(brain)
    try:
        base = _initial(fixed, moving)
        similarity, degrees = _best_start(fixed, moving, base, seed)
        method = _method([4, 2], [4.0, 2.0], STAGE_ITERATIONS, seed)
        method.SetInitialTransform(similarity, inPlace=False)
        similarity = method.Execute(fixed, moving)
        centre = np.asarray(base.GetCenter())
        affine = affine_transform(transform_matrix(similarity), centre)
        method = _method([2, 1], [2.0, 0.0], STAGE_ITERATIONS, seed)
        method.SetInitialTransform(affine, inPlace=False)
        result = method.Execute(fixed, moving)
        metric = float(method.GetMetricValue())
    except RuntimeError as exc:
        raise PreprocessingError(
            "registration to the MNI152 template failed (too little brain signal);"
            " a T1 of a whole brain is accepted"
        ) from exc
    matrix = ras_lps(transform_matrix(result))
    if not np.isfinite(matrix).all() or abs(np.linalg.det(matrix[:3, :3])) < 1e-3:
        raise PreprocessingError(
            "registration to the MNI152 template diverged; a T1 of a whole brain"
            " is accepted"
        )
    return Registration(matrix, metric, degrees)


def resample_to_template(
    img: nib.Nifti1Image,
    registration: Registration,
    resolution: int = 1,
    mask: nib.Nifti1Image | None = None,
) -> nib.Nifti1Image:
    """``img`` brought onto the MNI152 template grid through ``registration``.

    Args:
        img: the registered image (any grid).
        registration: from :func:`register_to_template`.
        resolution: the template grid, 1 or 2 mm.
        mask: the brain on ``img``'s grid; when given, it is carried along (linear
            interpolation, kept above 0.5) and the output is 0 outside it, so the
            brain's edge is where the mask says and not wherever interpolation left
            a faint value (the models' normalisation counts every non-zero voxel as
            brain).

    Returns:
        float32 on the template grid (linear interpolation, 0 outside the input).
    """
    import SimpleITK as sitk

    template = load_template(resolution)
    grid = nib.Nifti1Image(np.zeros(template.shape, np.uint8), template.affine)
    reference = to_sitk(grid, np.uint8)
    transform = affine_transform(ras_lps(registration.template_to_input), np.zeros(3))

    def resample(image: nib.Nifti1Image) -> np.ndarray:
        out = sitk.Resample(
            to_sitk(image), reference, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32
        )
        return sitk.GetArrayFromImage(out).transpose(2, 1, 0)

    data = resample(img)
    if mask is not None:
        data = np.where(resample(mask) > 0.5, data, 0.0)
    out = np.ascontiguousarray(data, dtype=np.float32)
    return nib.Nifti1Image(out, np.asarray(template.affine))


def affine_figures(input_to_template: np.ndarray) -> dict[str, float]:
    """What an input -> MNI152 affine does, in words a reader can check.

    Returns:
        ``scale_x``, ``scale_y``, ``scale_z`` (the stretch along each MNI axis, from
        the polar decomposition: 1 = unchanged), ``rotation_deg`` (the total
        rotation angle), ``rotation_x_deg`` ... (its x-y-z Euler angles),
        ``translation_x_mm`` ... and ``determinant`` (< 0: a mirror image).

    Example:
        >>> figures = affine_figures(np.diag([1.1, 1.0, 1.0, 1.0]))
        >>> round(figures["scale_x"], 2), round(figures["rotation_deg"], 2)
        (1.1, 0.0)
    """
    linear = np.asarray(input_to_template, dtype=np.float64)[:3, :3]
    u, singular, vt = np.linalg.svd(linear)
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:  # a mirror: describe the nearest rotation
        rotation = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    stretch = u @ np.diag(singular) @ u.T  # linear = stretch @ rotation
    angle = np.degrees(np.arccos(np.clip((np.trace(rotation) - 1) / 2, -1.0, 1.0)))
    euler = Rotation.from_matrix(rotation).as_euler("xyz", degrees=True)
    figures = {f"scale_{a}": float(stretch[i, i]) for i, a in enumerate("xyz")}
    figures["rotation_deg"] = float(angle)
    figures.update({f"rotation_{a}_deg": float(euler[i]) for i, a in enumerate("xyz")})
    translation = np.asarray(input_to_template, dtype=np.float64)[:3, 3]
    figures.update(
        {f"translation_{a}_mm": float(translation[i]) for i, a in enumerate("xyz")}
    )
    figures["determinant"] = float(np.linalg.det(linear))
    return figures


__all__ = [
    "Registration",
    "affine_figures",
    "affine_transform",
    "register_to_template",
    "resample_to_template",
    "transform_matrix",
]
