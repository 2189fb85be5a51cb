"""NIfTI reading: the checks and the output of load_mri, including hostile input."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from hyperfusion.config import MRILimits
from hyperfusion.data.nifti_io import TRAILING_MARGIN, load_mri
from hyperfusion.errors import InvalidMRIError
from tests.data.conftest import AFFINE_2MM, volume


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
    """Run ``call``; it must raise InvalidMRIError with bounded memory (a check that
    reads no more than it needs: nothing near a header's claimed size)."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidMRIError) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
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
    vol = volume(rng)
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
    vol = volume(rng)
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
    vol = volume(rng)
    vol[0, 0, 0] = np.nan
    src = nib.Nifti1Image(vol, AFFINE_2MM)

    img = load_mri(src)

    assert np.isnan(vol[0, 0, 0])  # the caller's array is untouched
    assert np.asarray(img.dataobj)[0, 0, 0] == 0.0


def test_partial_nans_become_zero(rng) -> None:
    vol = volume(rng)
    vol[:5] = np.nan
    vol[6, 6, 6] = np.inf

    data = np.asarray(load_mri(nib.Nifti1Image(vol, AFFINE_2MM).to_bytes()).dataobj)

    assert np.isfinite(data).all()
    assert (data[:5] == 0).all() and data[6, 6, 6] == 0
    np.testing.assert_array_equal(data[7:], vol[7:])


def test_private_header_text_is_dropped(rng) -> None:
    src = nib.Nifti1Image(volume(rng), AFFINE_2MM)
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
    vol = volume(rng)[..., None]
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
    data = _encode(nib.Nifti1Image(volume(rng), AFFINE_2MM), gz)
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
    vol = np.stack([volume(rng)] * 5, axis=-1)
    data = gzip.compress(nib.Nifti1Image(vol, AFFINE_2MM).to_bytes())
    err = _raises_bounded(lambda: load_mri(data))
    assert "has 5 volumes" in str(err)
    assert "a single 3D T1 volume is accepted" in str(err)


def test_five_volume_image_object_is_refused(rng) -> None:
    vol = np.stack([volume(rng)] * 5, axis=-1)
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
    vol = volume(rng)
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
    path.write_bytes(nib.Nifti1Image(volume(rng), AFFINE_2MM).to_bytes())
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
    good = nib.Nifti1Image(volume(rng, (10, 10, 10)), AFFINE_2MM).to_bytes()
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


def test_load_mri_output_round_trips_through_bytes(rng) -> None:
    img = load_mri(nib.Nifti1Image(volume(rng), AFFINE_2MM))
    again = load_mri(io.BytesIO(img.to_bytes()).getvalue())
    np.testing.assert_array_equal(np.asarray(again.dataobj), np.asarray(img.dataobj))
