"""Resampling onto the model grids, normalisation, hemispheres and maps back."""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.config import AD_GRID_DEMO, BRAIN_AGE_GRID_DEMO, Grid
from hyperfusion.data.resampling import (
    ad_hemispheres,
    brain_age_volume,
    grid_image,
    merge_hemispheres,
    normalise,
    to_grid,
    to_input_space,
)
from hyperfusion.errors import InvalidMRIError
from tests.data.conftest import AFFINE_2MM, volume

# --- resampling and normalisation ------------------------------------------------


def _ramp_image(affine: np.ndarray, shape: tuple[int, int, int]) -> nib.Nifti1Image:
    """An image whose value at every voxel is x + 2y + 3z of its world position."""
    ijk = np.indices(shape).reshape(3, -1)
    world = affine[:3, :3] @ ijk + affine[:3, 3:4]
    values = (world[0] + 2 * world[1] + 3 * world[2]).reshape(shape)
    return nib.Nifti1Image(values.astype(np.float32), affine)


def _grid_world(grid: Grid) -> np.ndarray:
    ijk = np.indices(grid.shape).reshape(3, -1)
    return (grid.affine[:3, :3] @ ijk + grid.affine[:3, 3:4]).reshape(3, *grid.shape)


def test_to_grid_interpolates_linearly_and_zeroes_outside() -> None:
    src = _ramp_image(AFFINE_2MM, (20, 24, 18))  # x in [-20, 18] mm
    grid = Grid((16, 8, 8), 3.0, (-31.0, -9.0, -9.0))  # x in [-31, 14] mm

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        out = to_grid(src, grid, antialias=False)

    assert out.shape == grid.shape and out.dtype == np.float32
    x, y, z = _grid_world(grid)
    inside = x >= -20
    np.testing.assert_allclose(out[inside], (x + 2 * y + 3 * z)[inside], atol=1e-3)
    assert (out[x < -21] == 0).all()


def test_antialiasing_keeps_a_linear_ramp_away_from_the_edges() -> None:
    """A Gaussian prefilter leaves a linear function unchanged (its mean is the
    centre value) wherever the kernel (3 sd) stays inside the image."""
    src = _ramp_image(AFFINE_2MM, (20, 24, 18))  # x -20..18, y -24..22, z -18..16
    grid = Grid((6, 6, 5), 4.0, (-10.0, -10.0, -6.0))  # >= 6 mm inside every face
    out = to_grid(src, grid)
    x, y, z = _grid_world(grid)
    # FWHM sqrt(4^2 - 2^2) = 3.5 mm: sd 1.5 mm; the kernel (4 sd) reaches 6 mm.
    np.testing.assert_allclose(out, x + 2 * y + 3 * z, rtol=1e-4, atol=1e-3)


def test_a_sub_voxel_shift_barely_changes_the_model_input() -> None:
    """Point-sampling a 2 mm image on the 4 mm grid reads every other voxel; shifted
    by 0.02 mm it reads interpolated ones and gains a shell of tiny non-zero voxels
    that the brain's z-scoring counts. Smoothed to the grid's resolution first,
    a 0.02 mm shift moves the z-scored input by about gradient x shift: under 0.01
    (the z-scored brain changes by ~1 per 5 mm at 4 mm resolution)."""
    from nilearn.datasets import load_mni152_template

    template = load_mni152_template(resolution=2)
    shifted_affine = template.affine.copy()
    shifted_affine[0, 3] += 0.02
    shifted = nib.Nifti1Image(template.get_fdata(dtype=np.float32), shifted_affine)
    grid = BRAIN_AGE_GRID_DEMO
    change = {
        aa: np.abs(
            normalise(to_grid(template, grid, antialias=aa))
            - normalise(to_grid(shifted, grid, antialias=aa))
        ).mean()
        for aa in (True, False)
    }
    assert change[True] < 0.01
    assert change[False] > 10 * change[True]  # what the prefilter is for


def test_normalise_zscores_brain_and_keeps_background(rng) -> None:
    vol = volume(rng)
    before = vol.copy()

    out = normalise(vol)

    brain = vol != 0
    assert out.dtype == np.float32 and out is not vol
    np.testing.assert_array_equal(vol, before)
    assert abs(float(out[brain].mean())) < 1e-5
    assert abs(float(out[brain].std()) - 1) < 1e-5
    assert (out[~brain] == 0).all()
    expected = (vol[brain] - vol[brain].mean()) / vol[brain].std()
    np.testing.assert_allclose(out[brain], expected, atol=1e-4)


def test_normalise_refuses_almost_empty_volumes() -> None:
    vol = np.zeros((10, 10, 10), np.float32)
    vol[0, 0, :9] = np.arange(1, 10)  # 9 of 1000 voxels: under 1%
    with pytest.raises(InvalidMRIError, match="signal"):
        normalise(vol)
    vol[0, 1, :] = 6.0
    assert np.count_nonzero(normalise(vol)) == 19


def test_normalise_refuses_constant_brain() -> None:
    with pytest.raises(InvalidMRIError, match="same intensity"):
        normalise(np.ones((8, 8, 8)))


# --- hemispheres -------------------------------------------------------------------

# x centres -36, -28, ..., 28, 36: the right half holds x = 4, 12, 20, 28, 36.
SMALL_AD_GRID = Grid((10, 6, 6), 8.0, (-36.0, -20.0, -20.0))
HEAD_AFFINE = np.array(
    [[2.0, 0, 0, -60.0], [0, 2.0, 0, -60.0], [0, 0, 2.0, -60.0], [0, 0, 0, 1]]
)


def _head_with_blob(centre_mm: tuple[float, float, float]) -> nib.Nifti1Image:
    """A uniform ball of radius 50 mm with a bright Gaussian blob at ``centre_mm``."""
    ijk = np.indices((61, 61, 61)).reshape(3, -1)
    world = (HEAD_AFFINE[:3, :3] @ ijk + HEAD_AFFINE[:3, 3:4]).reshape(3, 61, 61, 61)
    ball = (world**2).sum(0) < 50**2
    dist2 = sum((world[a] - centre_mm[a]) ** 2 for a in range(3))
    vol = ball * (1.0 + 10.0 * np.exp(-dist2 / (2 * 4.0**2)))
    return nib.Nifti1Image(vol.astype(np.float32), HEAD_AFFINE)


def test_right_blob_appears_in_half_0() -> None:
    pair = ad_hemispheres(_head_with_blob((20.0, -12.0, 4.0)), SMALL_AD_GRID)

    assert pair.shape == (2, 5, 6, 6) and pair.dtype == np.float32
    # x = 20 is right-half index 2; y = -12 is index 1; z = 4 is index 3.
    assert np.unravel_index(pair[0].argmax(), pair[0].shape) == (2, 1, 3)
    assert pair[1].max() < pair[0].max() / 2


def test_left_blob_appears_mirrored_in_half_1() -> None:
    pair = ad_hemispheres(_head_with_blob((-20.0, 12.0, -4.0)), SMALL_AD_GRID)

    # x = -20 mirrors onto x = +20 (index 2); y = 12 is index 4; z = -4 is index 2.
    assert np.unravel_index(pair[1].argmax(), pair[1].shape) == (2, 4, 2)
    assert pair[0].max() < pair[1].max() / 2


def test_halves_share_one_normalisation() -> None:
    img = _head_with_blob((20.0, -12.0, 4.0))
    pair = ad_hemispheres(img, SMALL_AD_GRID)
    whole = normalise(to_grid(img, SMALL_AD_GRID))

    np.testing.assert_array_equal(merge_hemispheres(pair), whole)


def test_merge_inverts_split(rng) -> None:
    vol = rng.standard_normal((10, 6, 6)).astype(np.float32)
    half = 5
    right, left = vol[half:], vol[:half]
    pair = np.stack([right, left[::-1]])

    merged = merge_hemispheres(pair)

    np.testing.assert_array_equal(merged, vol)
    # Mirroring: the voxel next to the midline on the left sits at index 0 of half 1.
    assert pair[1][0, 2, 3] == vol[half - 1, 2, 3]


def test_ad_hemispheres_on_the_demo_grid() -> None:
    img = _head_with_blob((0.0, 0.0, 0.0))
    pair = ad_hemispheres(img, AD_GRID_DEMO)
    assert pair.shape == (2, *AD_GRID_DEMO.hemisphere().shape)


def test_asymmetric_grid_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="centred"):
        ad_hemispheres(_head_with_blob((0, 0, 0)), Grid((10, 6, 6), 8.0, (0, 0, 0)))


def test_brain_age_volume_is_normalised_on_the_grid() -> None:
    vol = brain_age_volume(_head_with_blob((0.0, 0.0, 0.0)), BRAIN_AGE_GRID_DEMO)
    assert vol.shape == BRAIN_AGE_GRID_DEMO.shape and vol.dtype == np.float32
    brain = vol != 0
    assert abs(float(vol[brain].mean())) < 1e-4
    assert abs(float(vol[brain].std()) - 1) < 1e-4


# --- back to input space -----------------------------------------------------------


def test_grid_image_carries_the_grid_affine(rng) -> None:
    vol = rng.random(SMALL_AD_GRID.shape)
    img = grid_image(vol, SMALL_AD_GRID)
    np.testing.assert_array_equal(img.affine, SMALL_AD_GRID.affine)
    np.testing.assert_array_equal(np.asarray(img.dataobj), vol.astype(np.float32))
    with pytest.raises(ValueError, match="does not match"):
        grid_image(vol[:-1], SMALL_AD_GRID)


def test_to_input_space_puts_values_at_the_same_world_position() -> None:
    grid = Grid((12, 12, 12), 4.0, (-22.0, -22.0, -22.0))  # [-22, 22] mm
    x, y, z = _grid_world(grid)
    vol = (x + 2 * y + 3 * z).astype(np.float32)
    lps = np.array(
        [[-3.0, 0, 0, 30.0], [0, -3.0, 0, 30.0], [0, 0, 3.0, -30.0], [0, 0, 0, 1]]
    )
    reference = nib.Nifti1Image(np.zeros((21, 21, 21, 1), np.float32), lps)

    out = to_input_space(vol, grid, reference)

    assert out.shape == (21, 21, 21)
    np.testing.assert_array_equal(out.affine, lps)
    ijk = np.indices(out.shape).reshape(3, -1)
    wx, wy, wz = (lps[:3, :3] @ ijk + lps[:3, 3:4]).reshape(3, *out.shape)
    data = np.asarray(out.dataobj)
    inside = (np.abs(wx) <= 22) & (np.abs(wy) <= 22) & (np.abs(wz) <= 22)
    np.testing.assert_allclose(data[inside], (wx + 2 * wy + 3 * wz)[inside], atol=1e-3)
    outside = (np.abs(wx) > 23) | (np.abs(wy) > 23) | (np.abs(wz) > 23)
    assert (data[outside] == 0).all()
