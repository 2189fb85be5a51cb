"""Maps drawn over the scan itself rather than over the model's coarse grid.

A map on a model grid (3 mm for the AD crop, 4 mm for brain age) is resampled onto
the scan's own voxels with trilinear interpolation (smooth, where nearest-neighbour
upsampling shows the model's blocks), clipped to the brain (zero where the scan is
background), and the model's field of view is given as a box in millimetres so that
it can be outlined on the whole brain.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from hyperfusion.config import Grid
from hyperfusion.data.resampling import to_input_space

Bounds = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]


def is_axis_aligned(affine: np.ndarray) -> bool:
    """Whether a voxel-to-RAS affine has no rotation and positive steps."""
    linear = np.asarray(affine, dtype=np.float64)[:3, :3]
    off = np.abs(linear - np.diag(np.diag(linear))).max()
    return bool(off <= 1e-6 and (np.diag(linear) > 0).all())


def display_image(img: nib.Nifti1Image) -> nib.Nifti1Image:
    """The scan on an axis-aligned RAS grid (itself when it already is one; else
    resampled linearly onto its bounding box at its finest voxel size)."""
    if is_axis_aligned(img.affine):
        return img
    from nilearn.image import resample_img

    step = float(np.min(np.linalg.norm(np.asarray(img.affine)[:3, :3], axis=0)))
    corners = np.array(np.meshgrid(*[[0, n - 1] for n in img.shape[:3]])).reshape(3, -1)
    mm = (np.asarray(img.affine) @ np.vstack([corners, np.ones(corners.shape[1])]))[:3]
    lo, hi = mm.min(axis=1), mm.max(axis=1)
    affine = np.diag([step, step, step, 1.0])
    affine[:3, 3] = lo
    shape = tuple(
        int(np.floor((h - lo_) / step)) + 1 for lo_, h in zip(lo, hi, strict=True)
    )
    return resample_img(
        img,
        target_affine=affine,
        target_shape=shape,
        interpolation="linear",
        force_resample=True,
        copy_header=True,
    )


def map_on_scan(volume: np.ndarray, grid: Grid, scan: nib.Nifti1Image) -> np.ndarray:
    """``volume`` (on ``grid``) on the scan's voxels: trilinear, zero outside the
    model's grid and where the scan is background. float32, the scan's shape."""
    data = to_input_space(volume, grid, scan).get_fdata(dtype=np.float32)
    brain = np.asarray(scan.dataobj, dtype=np.float32) != 0
    return np.where(brain, data, 0.0).astype(np.float32)


def grid_bounds(grid: Grid) -> Bounds:
    """The box a grid covers in RAS mm (voxel edges), per axis ``(low, high)``.

    >>> grid_bounds(Grid((2, 2, 2), 3.0, (0.0, 0.0, 0.0)))[0]
    (-1.5, 4.5)
    """
    half = grid.voxel_mm / 2
    return tuple(  # type: ignore[return-value]
        (o - half, o + (n - 1) * grid.voxel_mm + half)
        for o, n in zip(grid.origin_mm, grid.shape, strict=True)
    )


__all__ = ["display_image", "grid_bounds", "is_axis_aligned", "map_on_scan"]
