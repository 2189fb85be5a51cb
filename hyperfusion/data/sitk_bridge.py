"""nibabel <-> SimpleITK images, and RAS <-> LPS affines.

nibabel speaks RAS+ world millimetres and ``(x, y, z)`` arrays; SimpleITK (ITK)
speaks LPS and stores arrays as ``(z, y, x)``. Converting world points between the
two flips the signs of x and y, so a 4x4 transform ``M`` in one convention is
``F @ M @ F`` in the other, with ``F = diag(-1, -1, 1, 1)``. Only geometry and voxel
values cross this bridge: no header text or metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

if TYPE_CHECKING:
    import SimpleITK as sitk

FLIP_XY = np.diag([-1.0, -1.0, 1.0, 1.0])


def ras_lps(matrix: np.ndarray) -> np.ndarray:
    """A 4x4 world transform (or voxel-to-world affine, applied on the left) between
    RAS and LPS; the conversion is its own inverse.

    Example:
        >>> ras_lps(np.eye(4))[0, 0]
        np.float64(1.0)
    """
    return FLIP_XY @ np.asarray(matrix, dtype=np.float64) @ FLIP_XY


def to_sitk(img: nib.Nifti1Image, dtype: np.dtype = np.float32) -> sitk.Image:
    """A 3D nibabel image as a SimpleITK image with the same world geometry."""
    import SimpleITK as sitk

    data = np.asarray(img.dataobj, dtype=dtype).reshape(img.shape[:3])
    affine = FLIP_XY @ np.asarray(img.affine, dtype=np.float64)  # voxel -> LPS
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    out = sitk.GetImageFromArray(np.ascontiguousarray(data.transpose(2, 1, 0)))
    out.SetSpacing(spacing.tolist())
    out.SetOrigin(affine[:3, 3].tolist())
    out.SetDirection((affine[:3, :3] / spacing).ravel().tolist())
    return out


def sitk_affine(image: sitk.Image) -> np.ndarray:
    """The voxel-to-RAS 4x4 affine of a SimpleITK image."""
    direction = np.asarray(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = direction * np.asarray(image.GetSpacing(), dtype=np.float64)
    lps[:3, 3] = image.GetOrigin()
    return FLIP_XY @ lps


def from_sitk(image: sitk.Image) -> nib.Nifti1Image:
    """A 3D SimpleITK image as a float32 nibabel image (no header text)."""
    import SimpleITK as sitk

    data = sitk.GetArrayFromImage(image).astype(np.float32, copy=False)
    data = np.ascontiguousarray(data.reshape(data.shape[-3:]).transpose(2, 1, 0))
    out = nib.Nifti1Image(data, sitk_affine(image))
    out.header.set_xyzt_units(xyz="mm")
    return out


__all__ = ["FLIP_XY", "from_sitk", "ras_lps", "sitk_affine", "to_sitk"]
