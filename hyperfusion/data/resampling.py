"""Resampling: a loaded T1 volume onto the model grids, and maps back.

The functions take an image from :func:`hyperfusion.data.nifti_io.load_mri` and
return new arrays: :func:`to_grid` resamples onto a model grid, :func:`normalise`
z-scores the brain, :func:`ad_hemispheres` and :func:`brain_age_volume` build the two
networks' image inputs, and :func:`grid_image` and :func:`to_input_space` take a map
on a model grid back to MNI152 or to the uploaded image's space.
"""

from __future__ import annotations

import nibabel as nib
import numpy as np

from hyperfusion.config import Grid
from hyperfusion.errors import InvalidMRIError


def _antialiased(img: nib.Nifti1Image, voxel_mm: float) -> nib.Nifti1Image:
    """Gaussian prefilter so that a coarser grid samples a band-limited image.

    FWHM per axis ``sqrt(voxel_mm**2 - source**2)`` mm (none where the source is as
    coarse): a 1 mm and a 2 mm image of the same brain then give the same model
    input, and a sub-voxel shift changes it smoothly, where plain point sampling of
    a 2 mm image on a 4 mm grid reads every other voxel and nothing in between.
    """
    from nilearn.image import smooth_img

    source = nib.affines.voxel_sizes(img.affine)
    fwhm = np.sqrt(np.clip(voxel_mm**2 - source**2, 0.0, None))
    if not np.any(fwhm > 0.25 * source):
        return img
    return smooth_img(img, fwhm)


def to_grid(img: nib.Nifti1Image, grid: Grid, antialias: bool = True) -> np.ndarray:
    """Resample an image onto a model grid (linear interpolation, 0 outside its FOV).

    Args:
        img: a 3D image, usually from
            :func:`~hyperfusion.data.nifti_io.load_mri`.
        grid: the target box in MNI152 RAS mm.
        antialias: smooth to the grid's resolution first (model inputs); off for
            maps that must keep their values (ground-truth regions).

    Returns:
        float32 array of ``grid.shape``; a new array.

    Example:
        >>> g = Grid((8, 8, 8), 2.0, (0.0, 0.0, 0.0))
        >>> to_grid(grid_image(np.ones((8, 8, 8), np.float32), g), g).shape
        (8, 8, 8)
    """
    from nilearn.image import resample_img

    if antialias:
        img = _antialiased(img, grid.voxel_mm)
    resampled = resample_img(
        img,
        target_affine=grid.affine,
        target_shape=grid.shape,
        interpolation="linear",
        fill_value=0.0,
        force_resample=True,
        copy_header=True,
    )
    return np.asarray(resampled.get_fdata(dtype=np.float32), dtype=np.float32)


def normalise(vol: np.ndarray) -> np.ndarray:
    """Z-score a volume over its non-zero (brain) voxels; background stays 0.

    Models are trained on skull-stripped images normalised this way, so intensity
    scale differences between scanners do not reach them.

    Args:
        vol: a 3D array; zero and non-finite voxels count as background.

    Returns:
        A new float32 array of the same shape with mean 0 and standard deviation 1
        over the non-zero voxels.

    Raises:
        InvalidMRIError: fewer than 1% of voxels are non-zero, or they are constant.

    Example:
        >>> out = normalise(np.array([0.0, 1.0, 3.0] * 10))
        >>> float(out[1]), float(out[2]), float(out[0])
        (-1.0, 1.0, 0.0)
    """
    vol = np.asarray(vol)
    brain = np.isfinite(vol) & (vol != 0)
    count = int(brain.sum())
    if count < 0.01 * vol.size:
        raise InvalidMRIError(
            f"only {count} of {vol.size} voxels inside the model's field of view hold"
            " signal; a skull-stripped T1 in MNI152 space is accepted"
        )
    values = vol[brain].astype(np.float64)
    mean, std = values.mean(), values.std()
    if not std > 0:
        raise InvalidMRIError(
            "every brain voxel has the same intensity; a T1 volume with tissue"
            " contrast is accepted"
        )
    out = np.zeros(vol.shape, dtype=np.float32)
    out[brain] = ((values - mean) / std).astype(np.float32)
    return out


def _check_symmetric(grid: Grid) -> int:
    """The x index of the midline of a grid whose x range is symmetric about 0."""
    if grid.shape[0] % 2:
        raise ValueError("a grid split at the midline needs an even x size")
    centre = grid.origin_mm[0] + (grid.shape[0] - 1) * grid.voxel_mm / 2
    if abs(centre) > 1e-6 * max(1.0, grid.voxel_mm):
        raise ValueError(f"the grid's x range is not centred on x = 0 ({centre} mm)")
    return grid.shape[0] // 2


def ad_hemispheres(img: nib.Nifti1Image, grid: Grid) -> np.ndarray:
    """The AD network's two inputs: right half, and left half mirrored onto the right.

    The crop is normalised as a whole before splitting so both halves share one
    intensity scale.

    Args:
        img: an image from :func:`~hyperfusion.data.nifti_io.load_mri`.
        grid: an AD grid whose x range is symmetric about the midline (x = 0).

    Returns:
        float32 ``(2, X/2, Y, Z)``: index 0 is the right hemisphere (x > 0) as is,
        index 1 the left hemisphere flipped along x, so that both look like a right
        hemisphere (voxel 0 lies next to the midline in both).

    Raises:
        InvalidMRIError: the crop holds (almost) no signal.
    """
    half = _check_symmetric(grid)
    vol = normalise(to_grid(img, grid))
    return np.stack([vol[half:], vol[:half][::-1]]).astype(np.float32, copy=False)


def merge_hemispheres(pair: np.ndarray) -> np.ndarray:
    """Inverse of the split in :func:`ad_hemispheres`, e.g. for Grad-CAM maps.

    Args:
        pair: ``(2, X/2, Y, Z)``: ``[right, left mirrored onto right]``.

    Returns:
        A new ``(X, Y, Z)`` array on the full (symmetric) grid.

    Example:
        >>> v = np.arange(4.0).reshape(4, 1, 1)
        >>> merge_hemispheres(np.stack([v[2:], v[:2][::-1]])).ravel().tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    pair = np.asarray(pair)
    if pair.ndim != 4 or pair.shape[0] != 2:
        raise ValueError(f"expected an array of shape (2, X/2, Y, Z), got {pair.shape}")
    return np.concatenate([pair[1][::-1], pair[0]], axis=0)


def brain_age_volume(img: nib.Nifti1Image, grid: Grid) -> np.ndarray:
    """The brain-age network's input: the normalised whole brain on ``grid``.

    Returns:
        float32 array of ``grid.shape``.

    Raises:
        InvalidMRIError: the grid holds (almost) no signal.
    """
    return normalise(to_grid(img, grid))


def grid_image(vol: np.ndarray, grid: Grid) -> nib.Nifti1Image:
    """Wrap a volume on a model grid as a float32 image in MNI152 space.

    Example:
        >>> g = Grid((8, 8, 8), 2.0, (0.0, 0.0, 0.0))
        >>> grid_image(np.zeros((8, 8, 8)), g).affine[0, 0]
        np.float64(2.0)
    """
    vol = np.asarray(vol, dtype=np.float32)
    if vol.shape != tuple(grid.shape):
        raise ValueError(f"volume shape {vol.shape} does not match grid {grid.shape}")
    img = nib.Nifti1Image(vol, grid.affine)
    img.set_data_dtype(np.float32)
    img.header.set_xyzt_units(xyz="mm")
    img.set_sform(grid.affine, code=4)  # MNI152
    img.set_qform(grid.affine, code=4)
    return img


def to_input_space(
    vol: np.ndarray,
    grid: Grid,
    reference: nib.Nifti1Image,
    template_to_input: np.ndarray | None = None,
) -> nib.Nifti1Image:
    """Resample a map on a model grid onto ``reference``'s voxel grid.

    Used to export Grad-CAM maps in the space of the uploaded image (linear
    interpolation; 0 outside the model grid).

    Args:
        vol: array of ``grid.shape``.
        grid: the model grid ``vol`` lives on.
        reference: the image whose grid (affine and first three dims) to use.
        template_to_input: when ``reference`` was registered to MNI152, the 4x4
            RAS transform from MNI152 to its world space (the inverse of the
            registration), so that the map lands on the original scan.

    Returns:
        A float32 image with ``reference``'s affine and 3D shape.
    """
    from nilearn.image import resample_img

    source = grid_image(vol, grid)
    if template_to_input is not None:
        moved = np.asarray(template_to_input, dtype=np.float64) @ grid.affine
        source = nib.Nifti1Image(np.asarray(source.dataobj), moved)
    resampled = resample_img(
        source,
        target_affine=np.asarray(reference.affine),
        target_shape=tuple(reference.shape[:3]),
        interpolation="linear",
        fill_value=0.0,
        force_resample=True,
        copy_header=True,
    )
    data = np.asarray(resampled.get_fdata(dtype=np.float32), dtype=np.float32)
    out = nib.Nifti1Image(data, np.asarray(reference.affine))
    out.set_data_dtype(np.float32)
    out.header.set_xyzt_units(xyz="mm")
    return out


__all__ = [
    "ad_hemispheres",
    "brain_age_volume",
    "grid_image",
    "merge_hemispheres",
    "normalise",
    "to_grid",
    "to_input_space",
]
