"""Behaviour of the MRI input layer: reading, checking, resampling, splitting."""

from __future__ import annotations

import gzip
import io
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.config import AD_GRID_DEMO, BRAIN_AGE_GRID_DEMO, Grid, MRILimits
from hyperfusion.data.mri import (
    TRAILING_MARGIN,
    ad_hemispheres,
    brain_age_volume,
    grid_image,
    load_mri,
    merge_hemispheres,
    normalise,
    to_grid,
    to_input_space,
)
from hyperfusion.errors import InvalidMRIError

AFFINE_2MM = np.array(
    [[2.0, 0, 0, -20.0], [0, 2.0, 0, -24.0], [0, 0, 2.0, -18.0], [0, 0, 0, 1]]
)


def _volume(rng: np.random.Generator, shape=(20, 24, 18)) -> np.ndarray:
    """A brain-like float32 volume: textured ellipsoid on a zero background."""
    grids = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    inside = sum(g**2 for g in grids) < 0.8
    vol = (100 + 20 * rng.standard_normal(shape)) * inside
    return vol.astype(np.float32)


def _encode(img: nib.Nifti1Image, gz: bool) -> bytes:
    raw = img.to_bytes()
    return gzip.compress(raw, compresslevel=1) if gz else raw


def _header_bytes(shape: tuple[int, ...], datatype: int = 2) -> bytes:
    """A NIfTI-1 single-file header (plus extension flag) declaring ``shape``."""
    hdr = nib.Nifti1Header()
    hdr["dim"][0] = len(shape)
    hdr["dim"][1 : len(shape) + 1] = shape
    hdr["datatype"] = datatype
    hdr["bitpix"] = 8
    hdr["vox_offset"] = 352
    hdr["pixdim"][1:4] = 1.0
    hdr["sform_code"] = 1
    hdr.set_sform(np.eye(4))
    return hdr.binaryblock + b"\x00" * 4


def _raises_bounded(
    call: Callable[[], object], max_bytes: int = 8 * 1024**2
) -> InvalidMRIError:
    """Run ``call``; it must raise InvalidMRIError fast and with bounded memory."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(InvalidMRIError) as info:
            call()
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5.0
    assert peak < max_bytes, f"peak allocation {peak:,} bytes"
    message = str(info.value)
    assert message and "\n" not in message
    assert type(info.value) is InvalidMRIError
    return info.value


# --- reading ---------------------------------------------------------------------


@pytest.mark.parametrize("nifti2", [False, True], ids=["nifti1", "nifti2"])
@pytest.mark.parametrize("gz", [False, True], ids=["nii", "nii.gz"])
@pytest.mark.parametrize("via", ["bytes", "path", "str"])
def test_round_trip(tmp_path: Path, rng, nifti2: bool, gz: bool, via: str) -> None:
    vol = _volume(rng)
    klass = nib.Nifti2Image if nifti2 else nib.Nifti1Image
    data = _encode(klass(vol, AFFINE_2MM), gz)
    if via == "bytes":
        source: object = data
    else:
        path = tmp_path / ("t1.nii.gz" if gz else "t1.nii")
        path.write_bytes(data)
        source = path if via == "path" else str(path)

    img = load_mri(source)

    assert isinstance(img, nib.Nifti1Image)
    assert img.shape == vol.shape
    assert img.dataobj.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(img.dataobj), vol)
    np.testing.assert_allclose(img.affine, AFFINE_2MM)


def test_integer_data_is_scaled_to_float32(rng) -> None:
    vol = rng.integers(1, 1000, size=(10, 10, 10)).astype(np.int16)
    src = nib.Nifti1Image(vol, AFFINE_2MM)
    src.header.set_slope_inter(0.5, 10.0)

    img = load_mri(gzip.compress(src.to_bytes()))

    np.testing.assert_allclose(np.asarray(img.dataobj), vol * 0.5 + 10.0)
    assert img.dataobj.dtype == np.float32


def test_big_endian_file(rng) -> None:
    vol = _volume(rng)
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_shape(vol.shape)
    hdr.set_data_dtype(np.float32)
    hdr["vox_offset"] = 352
    hdr.set_sform(AFFINE_2MM, code=1)
    data = hdr.binaryblock + b"\x00" * 4 + vol.astype(">f4").tobytes(order="F")
    assert data[:4] == (348).to_bytes(4, "big")

    img = load_mri(data)

    np.testing.assert_array_equal(np.asarray(img.dataobj), vol)
    np.testing.assert_allclose(img.affine, AFFINE_2MM)


def test_nibabel_image_input_is_not_modified(rng) -> None:
    vol = _volume(rng)
    vol[0, 0, 0] = np.nan
    src = nib.Nifti1Image(vol, AFFINE_2MM)

    img = load_mri(src)

    assert np.isnan(vol[0, 0, 0])  # the caller's array is untouched
    assert np.asarray(img.dataobj)[0, 0, 0] == 0.0


def test_partial_nans_become_zero(rng) -> None:
    vol = _volume(rng)
    vol[:5] = np.nan
    vol[6, 6, 6] = np.inf

    data = np.asarray(load_mri(nib.Nifti1Image(vol, AFFINE_2MM).to_bytes()).dataobj)

    assert np.isfinite(data).all()
    assert (data[:5] == 0).all() and data[6, 6, 6] == 0
    np.testing.assert_array_equal(data[7:], vol[7:])


def test_private_header_text_is_dropped(rng) -> None:
    src = nib.Nifti1Image(_volume(rng), AFFINE_2MM)
    src.header["descrip"] = b"Doe^John 1950-01-01"
    src.header["aux_file"] = b"john.nii"
    src.header["db_name"] = b"hospital"
    src.header["intent_name"] = b"patient"
    src.header.extensions.append(nib.nifti1.Nifti1Extension(6, b"Doe John comment"))

    img = load_mri(gzip.compress(src.to_bytes()))

    for field in ("descrip", "aux_file", "db_name", "intent_name"):
        assert img.header[field].item() == b""
    assert len(img.header.extensions) == 0
    assert b"Doe" not in img.to_bytes()


def test_lps_image_is_reoriented_to_ras_at_the_same_world_position(rng) -> None:
    vol = rng.random((12, 14, 10)).astype(np.float32) + 1
    lps = np.array(
        [[-2.0, 0, 0, 30.0], [0, -3.0, 0, 40.0], [0, 0, 2.5, -10.0], [0, 0, 0, 1]]
    )
    ijk = (3, 5, 7)
    world = lps @ np.array([*ijk, 1.0])

    img = load_mri(nib.Nifti1Image(vol, lps).to_bytes())

    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert img.extra["original_axcodes"] == ("L", "P", "S")
    new_ijk = np.linalg.inv(img.affine) @ world
    np.testing.assert_allclose(new_ijk[:3], np.round(new_ijk[:3]), atol=1e-9)
    i, j, k = (int(round(v)) for v in new_ijk[:3])
    assert (i, j, k) == (12 - 1 - 3, 14 - 1 - 5, 7)
    assert np.asarray(img.dataobj)[i, j, k] == vol[ijk]


def test_single_volume_4d_is_squeezed(rng) -> None:
    vol = _volume(rng)[..., None]
    img = load_mri(nib.Nifti1Image(vol, AFFINE_2MM).to_bytes())
    assert img.shape == vol.shape[:3]


# --- hostile input -----------------------------------------------------------------


def test_text_file_named_nii_gz(tmp_path: Path) -> None:
    path = tmp_path / "scan.nii.gz"
    path.write_text("patient notes, not an image\n" * 50)
    err = _raises_bounded(lambda: load_mri(path))
    assert "not a NIfTI" in str(err)


def test_gzipped_text_is_not_nifti() -> None:
    data = gzip.compress(b"hello world " * 100)
    err = _raises_bounded(lambda: load_mri(data))
    assert "not a NIfTI" in str(err)


@pytest.mark.parametrize("gz", [False, True], ids=["nii", "nii.gz"])
@pytest.mark.parametrize("keep", [0.5, 0.001])
def test_truncated_file(tmp_path: Path, rng, gz: bool, keep: float) -> None:
    data = _encode(nib.Nifti1Image(_volume(rng), AFFINE_2MM), gz)
    path = tmp_path / ("t1.nii.gz" if gz else "t1.nii")
    path.write_bytes(data[: int(len(data) * keep)])
    _raises_bounded(lambda: load_mri(path))


def test_empty_bytes() -> None:
    _raises_bounded(lambda: load_mri(b""))


def test_2d_image_is_refused() -> None:
    data = nib.Nifti1Image(np.ones((64, 64), np.float32), np.eye(4)).to_bytes()
    err = _raises_bounded(lambda: load_mri(data))
    assert "2D" in str(err)


def test_single_slice_is_refused() -> None:
    data = nib.Nifti1Image(np.ones((64, 64, 1), np.float32), np.eye(4)).to_bytes()
    err = _raises_bounded(lambda: load_mri(data))
    assert "64x64x1" in str(err)


def test_five_volumes_are_refused(rng) -> None:
    vol = np.stack([_volume(rng)] * 5, axis=-1)
    data = gzip.compress(nib.Nifti1Image(vol, AFFINE_2MM).to_bytes())
    err = _raises_bounded(lambda: load_mri(data))
    assert "has 5 volumes" in str(err)
    assert "a single 3D T1 volume is accepted" in str(err)


def test_five_volume_image_object_is_refused(rng) -> None:
    vol = np.stack([_volume(rng)] * 5, axis=-1)
    with pytest.raises(InvalidMRIError, match="5 volumes"):
        load_mri(nib.Nifti1Image(vol, AFFINE_2MM))


def test_header_claiming_1e10_voxels_is_refused_before_reading() -> None:
    data = _header_bytes((3000, 3000, 1200)) + b"\x00" * 1024
    err = _raises_bounded(lambda: load_mri(data), max_bytes=1024**2)
    assert "3000x3000x1200" in str(err)


def test_header_over_max_voxels_is_refused_before_reading() -> None:
    data = gzip.compress(_header_bytes((1000, 1000, 1000)) + b"\x00" * 1024)
    err = _raises_bounded(lambda: load_mri(data), max_bytes=1024**2)
    assert "1,000,000,000 voxels" in str(err)


def test_nifti2_header_with_huge_dims_is_refused() -> None:
    hdr = nib.Nifti2Header()
    hdr.set_data_shape((2**40, 2**20, 2))
    data = hdr.binaryblock + b"\x00" * 4
    _raises_bounded(lambda: load_mri(data), max_bytes=1024**2)


@pytest.mark.parametrize("code", [0, 1, 32, 128, 1234])
def test_unsupported_datatype_is_refused(code: int) -> None:
    data = _header_bytes((16, 16, 16), datatype=code) + b"\x00" * 16**3 * 16
    err = _raises_bounded(lambda: load_mri(data))
    assert f"code {code}" in str(err)


def test_hdr_img_pair_header_is_refused() -> None:
    hdr = nib.Nifti1Pair(np.ones((8, 8, 8), np.float32), np.eye(4)).header
    err = _raises_bounded(lambda: load_mri(hdr.binaryblock))
    assert ".hdr/.img" in str(err)


@pytest.mark.parametrize(
    "srow_x", [[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 0.0, 0.0], [np.nan, 0.0, 0.0, 0.0]]
)
def test_degenerate_affine_is_refused(rng, srow_x: list[float]) -> None:
    vol = _volume(rng)
    hdr = nib.Nifti1Header()
    hdr.set_data_shape(vol.shape)
    hdr.set_data_dtype(np.float32)
    hdr["vox_offset"] = 352
    hdr["sform_code"] = 1
    hdr["srow_x"], hdr["srow_y"] = srow_x, [2.0, 2.0, 0.0, 0.0]
    hdr["srow_z"] = [0.0, 0.0, 2.0, 0.0]
    data = hdr.binaryblock + b"\x00" * 4 + vol.tobytes(order="F")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = _raises_bounded(lambda: load_mri(data))
    assert "affine" in str(err) or "voxel sizes" in str(err)


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0, 7.0])
def test_volume_without_signal_is_refused(value: float) -> None:
    data = nib.Nifti1Image(np.full((16, 16, 16), value, np.float32), np.eye(4))
    err = _raises_bounded(lambda: load_mri(data.to_bytes()))
    assert "signal" in str(err) or "no finite values" in str(err)


def _gzip_bomb(header: bytes, zeros: int) -> bytes:
    """A valid header followed by ``zeros`` zero bytes, compressed in a stream."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    out = [packer.compress(header)]
    chunk = b"\x00" * 1024**2
    for _ in range(zeros // len(chunk)):
        out.append(packer.compress(chunk))
    out.append(packer.flush())
    return b"".join(out)


def test_gzip_bomb_is_stopped_by_limits() -> None:
    bomb = _gzip_bomb(_header_bytes((64, 64, 64)), 256 * 1024**2)
    assert len(bomb) < 1024**2
    limits = MRILimits(max_decompressed_bytes=128 * 1024)
    err = _raises_bounded(lambda: load_mri(bomb, limits=limits), max_bytes=1024**2)
    assert "bytes" in str(err)


def test_gzip_bomb_is_stopped_past_the_declared_size() -> None:
    bomb = _gzip_bomb(_header_bytes((16, 16, 16)), 256 * 1024**2)
    err = _raises_bounded(
        lambda: load_mri(bomb), max_bytes=2 * TRAILING_MARGIN + 4 * 1024**2
    )
    assert "more data than its header describes" in str(err)


def test_file_over_max_file_bytes_is_refused(tmp_path: Path, rng) -> None:
    path = tmp_path / "t1.nii"
    path.write_bytes(nib.Nifti1Image(_volume(rng), AFFINE_2MM).to_bytes())
    with pytest.raises(InvalidMRIError, match="bytes, more than"):
        load_mri(path, limits=MRILimits(max_file_bytes=1000))


def test_missing_file_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(InvalidMRIError, match="no file"):
        load_mri(tmp_path / "missing.nii.gz")
    with pytest.raises(InvalidMRIError, match="folder"):
        load_mri(tmp_path)
    with pytest.raises(InvalidMRIError, match="cannot read an MRI from a int"):
        load_mri(5)  # type: ignore[arg-type]


def test_corrupted_headers_raise_only_invalid_mri_error(rng) -> None:
    good = nib.Nifti1Image(_volume(rng, (10, 10, 10)), AFFINE_2MM).to_bytes()
    fuzz = np.random.default_rng(1)
    for _ in range(300):
        data = bytearray(good)
        for pos in fuzz.integers(0, 352, size=fuzz.integers(1, 6)):
            data[pos] = int(fuzz.integers(0, 256))
        try:
            img = load_mri(bytes(data))
        except InvalidMRIError as err:
            assert "\n" not in str(err)
        else:
            assert img.ndim == 3 and img.dataobj.dtype == np.float32


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
        out = to_grid(src, grid)

    assert out.shape == grid.shape and out.dtype == np.float32
    x, y, z = _grid_world(grid)
    inside = x >= -20
    np.testing.assert_allclose(out[inside], (x + 2 * y + 3 * z)[inside], atol=1e-3)
    assert (out[x < -21] == 0).all()


def test_normalise_zscores_brain_and_keeps_background(rng) -> None:
    vol = _volume(rng)
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


def test_load_mri_output_round_trips_through_bytes(rng) -> None:
    img = load_mri(nib.Nifti1Image(_volume(rng), AFFINE_2MM))
    again = load_mri(io.BytesIO(img.to_bytes()).getvalue())
    np.testing.assert_array_equal(np.asarray(again.dataobj), np.asarray(img.dataobj))
