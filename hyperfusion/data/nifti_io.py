"""NIfTI reading: check and load one user T1 volume (the MRI boundary).

Everything a user uploads passes through :func:`load_mri` once; nothing downstream
re-checks. The header is parsed and checked against
:data:`hyperfusion.config.MRI_LIMITS` before any voxel data is read, gzip data is
decompressed in bounded chunks, the image comes back as a clean float32 RAS+ volume,
and every failure is an :class:`~hyperfusion.errors.InvalidMRIError` with one line a
user can act on.
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import nibabel as nib
import numpy as np

from hyperfusion.config import MRI_LIMITS, MRILimits
from hyperfusion.errors import InvalidMRIError

Source = str | os.PathLike | bytes | nib.Nifti1Image

_ACCEPTED = "a single 3D T1 volume as NIfTI-1/NIfTI-2 .nii or .nii.gz is accepted"
# Bytes a file may hold beyond what its header describes (gzip bombs stop here).
TRAILING_MARGIN = 1024**2
_CHUNK = 1024**2
_GZIP_MAGIC = b"\x1f\x8b"
_NIFTI2_MAGIC = b"n+2\x00\r\n\x1a\n"
# NIfTI datatype codes of scalar integer/float voxels, with their numpy type.
_DTYPES: dict[int, np.dtype] = {
    2: np.dtype(np.uint8),
    4: np.dtype(np.int16),
    8: np.dtype(np.int32),
    16: np.dtype(np.float32),
    64: np.dtype(np.float64),
    256: np.dtype(np.int8),
    512: np.dtype(np.uint16),
    768: np.dtype(np.uint32),
    1024: np.dtype(np.int64),
    1280: np.dtype(np.uint64),
}
_AFFINE_ACCEPTED = (
    "an image with a valid qform/sform (as written by FSL, SPM or ANTs) is accepted"
)
_TEXT_FIELDS = ("descrip", "aux_file", "db_name", "intent_name")
_CONVERT = "convert it to a single .nii.gz first"
_PAIR_HINT = (
    f"{_CONVERT} (nibabel: nib.save(nib.load('scan.hdr'), 'scan.nii.gz'), or"
    " FSL: fslchfiletype NIFTI_GZ scan)"
)
# Other image formats by their first bytes: what the file is, and how to convert it.
_OTHER_FORMATS = (
    (b"CDF\x01", "a MINC-1 image"),
    (b"CDF\x02", "a MINC-1 image"),
    (b"\x89HDF\r\n\x1a\n", "a MINC-2 (HDF5) image"),
)
_MINC_HINT = (
    f"{_CONVERT} (MINC tools: mnc2nii -nii scan.mnc scan.nii, or nibabel:"
    " nib.save(nib.load('scan.mnc'), 'scan.nii.gz'))"
)


def _fail(message: str) -> InvalidMRIError:
    return InvalidMRIError(" ".join(message.split()))


@dataclass(frozen=True)
class _HeaderInfo:
    """What the checked header says about the file."""

    klass: type[nib.Nifti1Image]
    shape: tuple[int, ...]
    data_offset: int
    data_bytes: int

    @property
    def expected_bytes(self) -> int:
        return self.data_offset + self.data_bytes


def _shape_error(shape: tuple[int, ...], limits: MRILimits) -> str | None:
    """Why an image of ``shape`` is refused, or None when it is accepted."""
    shown = "x".join(str(d) for d in shape)
    if any(d < 1 for d in shape):
        return f"the header declares an impossible image size {shown}; {_ACCEPTED}"
    if any(d > limits.max_dim for d in shape):
        return (
            f"the image is {shown} voxels, more than {limits.max_dim} along an axis;"
            f" {_ACCEPTED}"
        )
    if len(shape) < 3:
        return (
            f"the image is {len(shape)}D ({shown} voxels); {_ACCEPTED},"
            f" at least {limits.min_dim} voxels along each axis"
        )
    volumes = math.prod(shape[3:])
    if volumes > 1:
        return (
            f"the image has {volumes} volumes ({shown}); a single 3D T1 volume is"
            " accepted (extract one volume first)"
        )
    if min(shape[:3]) < limits.min_dim:
        return (
            f"the image is {shown} voxels; a 3D volume with at least"
            f" {limits.min_dim} voxels along each axis is accepted"
        )
    if math.prod(shape) > limits.max_voxels:
        return (
            f"the image has {math.prod(shape):,} voxels ({shown}), more than"
            f" {limits.max_voxels:,}; {_ACCEPTED} (resample it to about 1 mm)"
        )
    return None


def _dtype_error(code: int) -> str | None:
    if code in _DTYPES:
        return None
    name = nib.nifti1.data_type_codes.label.get(code, "unknown")
    return (
        f"voxel datatype {name} (code {code}) is not supported; integer or"
        " floating-point intensities are accepted"
    )


def _parse_header(block: bytes, limits: MRILimits) -> _HeaderInfo:
    """Check a NIfTI-1/2 header from the first bytes of a file, without its data."""
    if len(block) < 4:
        raise _fail(f"the file is empty or not a NIfTI image; {_ACCEPTED}")
    endian = None
    size = 0
    for order in ("<", ">"):
        size = int(np.frombuffer(block[:4], dtype=f"{order}i4")[0])
        if size in (348, 540):
            endian = order
            break
    if endian is None:
        other = next(
            (what for magic, what in _OTHER_FORMATS if block.startswith(magic)), None
        )
        if other is not None:
            raise _fail(f"the file is {other}, not NIfTI; {_MINC_HINT}; {_ACCEPTED}")
        raise _fail(f"the file is not a NIfTI image (no NIfTI header); {_ACCEPTED}")
    if len(block) < size:
        raise _fail(f"the file is truncated inside its NIfTI header; {_ACCEPTED}")
    if size == 348:
        magic = block[344:348]
        if magic == b"ni1\x00":
            raise _fail(
                f"the file is the header of a NIfTI .hdr/.img pair, which is not"
                f" accepted; {_PAIR_HINT}; {_ACCEPTED}"
            )
        if magic == b"\x00" * 4:
            raise _fail(
                f"the file is an Analyze 7.5 header (.hdr/.img), which is not"
                f" accepted; {_PAIR_HINT}; {_ACCEPTED}"
            )
        if magic != b"n+1\x00":
            raise _fail(
                f"the file is not a NIfTI image (its header's magic is not n+1);"
                f" {_ACCEPTED}"
            )
        header: nib.Nifti1Header = nib.Nifti1Header(
            block[:348], endianness=endian, check=False
        )
        klass: type[nib.Nifti1Image] = nib.Nifti1Image
    else:
        if block[4:12] != _NIFTI2_MAGIC:
            raise _fail(
                f"the file is not a NIfTI image (bad NIfTI-2 magic); {_ACCEPTED}"
            )
        header = nib.Nifti2Header(block[:540], endianness=endian, check=False)
        klass = nib.Nifti2Image
    dim = [int(d) for d in header["dim"]]
    if not 1 <= dim[0] <= 7:
        raise _fail(
            f"the header declares {dim[0]} dimensions (1 to 7 are valid); {_ACCEPTED}"
        )
    shape = tuple(dim[1 : dim[0] + 1])
    problem = _shape_error(shape, limits)
    if problem is None:
        problem = _dtype_error(int(header["datatype"]))
    if problem is not None:
        raise _fail(problem)
    offset = float(header["vox_offset"])
    if not (math.isfinite(offset) and 0 <= offset <= limits.max_decompressed_bytes):
        raise _fail(f"the header declares an invalid data offset {offset}; {_ACCEPTED}")
    offset_int = max(int(offset), size + 4)
    data_bytes = math.prod(shape) * _DTYPES[int(header["datatype"])].itemsize
    return _HeaderInfo(klass, shape, offset_int, data_bytes)


def _read_upto(stream: BinaryIO, n: int) -> bytes:
    """Read at most ``n`` bytes, fewer only at the end of the stream."""
    parts = []
    while n > 0:
        part = stream.read(min(n, _CHUNK))
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _read_stream(stream: BinaryIO, limits: MRILimits) -> tuple[_HeaderInfo, BinaryIO]:
    """Read one (possibly decompressing) stream: header first, then bounded data."""
    head = _read_upto(stream, 540)
    info = _parse_header(head, limits)
    if info.expected_bytes > limits.max_decompressed_bytes:
        raise _fail(
            f"the image holds {info.expected_bytes:,} bytes of data, more than"
            f" {limits.max_decompressed_bytes:,}; {_ACCEPTED}"
        )
    cap = min(limits.max_decompressed_bytes, info.expected_bytes + TRAILING_MARGIN)
    buffer = io.BytesIO()
    buffer.write(head)
    total = len(head)
    while total <= cap:
        part = stream.read(min(_CHUNK, cap + 1 - total))
        if not part:
            break
        buffer.write(part)
        total += len(part)
    _check_length(info, total, limits)
    buffer.seek(0)
    return info, buffer


def _check_length(info: _HeaderInfo, total: int, limits: MRILimits) -> None:
    """Refuse files shorter than their header says, or far longer (gzip bombs)."""
    cap = min(limits.max_decompressed_bytes, info.expected_bytes + TRAILING_MARGIN)
    if total > cap:
        raise _fail(
            f"the file holds more data than its header describes (over {cap:,}"
            f" bytes, a possible gzip bomb); {_ACCEPTED}"
        )
    if total < info.expected_bytes:
        raise _fail(
            f"the file is truncated: its header declares {info.expected_bytes:,}"
            f" bytes but it holds {total:,}; {_ACCEPTED}"
        )


def _read_source(fileobj: BinaryIO, limits: MRILimits) -> tuple[_HeaderInfo, BinaryIO]:
    """Sniff gzip and read a file-like object with the checks of :func:`load_mri`."""
    magic = fileobj.read(2)
    fileobj.seek(0)
    if magic != _GZIP_MAGIC:
        return _read_stream(fileobj, limits)
    try:
        with gzip.GzipFile(fileobj=fileobj, mode="rb") as stream:
            return _read_stream(stream, limits)
    except (OSError, EOFError, zlib.error) as exc:
        raise _fail(
            f"the gzip data is corrupt or truncated ({exc}); {_ACCEPTED}"
        ) from exc


def _open_bytes(data: bytes, limits: MRILimits) -> nib.Nifti1Image:
    if len(data) > limits.max_file_bytes:
        raise _fail(
            f"the file is {len(data):,} bytes, more than {limits.max_file_bytes:,};"
            f" {_ACCEPTED}"
        )
    if data[:2] == _GZIP_MAGIC:
        info, stream = _read_source(io.BytesIO(data), limits)
        return _from_stream(info, stream)
    # Uncompressed bytes are already in memory: check them without a copy.
    info = _parse_header(data[:540], limits)
    _check_length(info, len(data), limits)
    return _from_stream(info, io.BytesIO(data))


def _open_path(path: Path, limits: MRILimits) -> nib.Nifti1Image:
    try:
        with path.open("rb") as fileobj:
            size = os.fstat(fileobj.fileno()).st_size
            if size > limits.max_file_bytes:
                raise _fail(
                    f"{path.name} is {size:,} bytes, more than"
                    f" {limits.max_file_bytes:,}; {_ACCEPTED}"
                )
            info, stream = _read_source(fileobj, limits)
    except FileNotFoundError as exc:
        raise _fail(f"no file at {path}; {_ACCEPTED}") from exc
    except IsADirectoryError as exc:
        raise _fail(f"{path} is a folder, not a file; {_ACCEPTED}") from exc
    except OSError as exc:
        raise _fail(f"{path.name} could not be read ({exc}); {_ACCEPTED}") from exc
    return _from_stream(info, stream)


class _QuietRepairs(logging.Filter):
    """Holds back the header repairs nibabel logs (to stderr by default: a second
    line beside a refusal) while this module's thread reads a user's file."""

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.reading, "on", False)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        self.reading.on = True
        try:
            yield
        finally:
            self.reading.on = False


_QUIET = _QuietRepairs()
nib.imageglobals.logger.addFilter(_QUIET)


def _from_stream(info: _HeaderInfo, stream: BinaryIO) -> nib.Nifti1Image:
    try:
        with _QUIET.quiet():
            return info.klass.from_stream(stream)
    except Exception as exc:  # nibabel raises many types; the user sees one
        raise _fail(f"the NIfTI file could not be read ({exc}); {_ACCEPTED}") from exc


def _float_data(img: nib.Nifti1Image) -> np.ndarray:
    """Scaled voxel data as a 3D float32 array, non-finite voxels set to 0."""
    if isinstance(img.dataobj, np.ndarray):  # in memory: never touch the caller's
        data = np.array(img.dataobj, dtype=np.float32)
    else:
        try:
            data = np.asarray(img.get_fdata(dtype=np.float32, caching="unchanged"))
        except Exception as exc:
            raise _fail(
                f"the voxel data could not be read ({exc}); {_ACCEPTED}"
            ) from exc
        if not data.flags.writeable:
            data = data.copy()
    data = data.reshape(data.shape[:3])
    finite = np.isfinite(data)
    if not finite.any():
        raise _fail(
            "the image holds no finite values (all NaN or infinite); a T1 volume"
            " with brain signal is accepted"
        )
    data[~finite] = 0.0
    low, high = float(data.min()), float(data.max())
    if low == high:
        raise _fail(
            f"the image has no signal (every voxel is {low:g}); a T1 volume with"
            " brain signal is accepted"
        )
    return data


def _checked_affine(img: nib.Nifti1Image) -> np.ndarray:
    problem = "the header's voxel-to-world affine is missing or degenerate"
    try:
        affine = np.asarray(img.affine, dtype=np.float64)
    except Exception as exc:  # garbage quaternions and the like
        raise _fail(f"{problem} ({exc}); {_AFFINE_ACCEPTED}") from exc
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise _fail(f"{problem}; {_AFFINE_ACCEPTED}")
    sizes = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    if not ((sizes >= 1e-3) & (sizes <= 1e3)).all():
        shown = " x ".join(f"{s:.3g}" for s in sizes)
        raise _fail(f"the header's voxel sizes {shown} mm are implausible; {_ACCEPTED}")
    if abs(np.linalg.det(affine[:3, :3] / sizes)) < 1e-3:
        raise _fail(f"{problem}; {_AFFINE_ACCEPTED}")
    return affine


def _canonical(
    img: nib.Nifti1Image, data: np.ndarray, affine: np.ndarray
) -> nib.Nifti1Image:
    """A fresh RAS+ image of ``data``: only geometry is copied from ``img``."""
    clean = nib.Nifti1Image(data, affine)
    clean.set_data_dtype(np.float32)
    try:
        xyz_unit = img.header.get_xyzt_units()[0]
    except KeyError:  # an invalid unit code
        xyz_unit = "unknown"
    clean.header.set_xyzt_units(xyz=xyz_unit if xyz_unit != "unknown" else "mm")
    codes = (int(img.header["sform_code"]), int(img.header["qform_code"]))
    code = next((c for c in codes if c in (1, 2, 3, 4, 5)), 1)
    clean.set_sform(affine, code=code)
    clean.set_qform(affine, code=code)
    canonical = nib.as_closest_canonical(clean)
    if not canonical.dataobj.flags.c_contiguous:  # C order resamples ~4x faster
        canonical = nib.Nifti1Image(
            np.ascontiguousarray(canonical.dataobj), canonical.affine, canonical.header
        )
    for field in _TEXT_FIELDS:
        canonical.header[field] = b""
    canonical.header.extensions.clear()
    # An image read before (e.g. by preprocessing) keeps the axes it was stored in.
    stored = img.extra.get("original_axcodes") or nib.aff2axcodes(affine)
    canonical.extra["original_axcodes"] = tuple(stored)
    return canonical


def load_mri(source: Source, *, limits: MRILimits = MRI_LIMITS) -> nib.Nifti1Image:
    """Read and check one T1 volume; the single entry point for user images.

    Reads NIfTI-1 and NIfTI-2, ``.nii`` or ``.nii.gz``, from a path, from bytes (an
    upload, kept in memory) or from a nibabel image. The header is checked against
    ``limits`` before any voxel data is read and gzip data is decompressed in
    bounded chunks, so hostile files fail fast with bounded memory.

    Args:
        source: a path, the file's bytes, or a ``Nifti1Image``/``Nifti2Image``.
        limits: size bounds; the default is :data:`hyperfusion.config.MRI_LIMITS`.

    Returns:
        A 3D float32 ``Nifti1Image`` in the closest canonical (RAS+) orientation,
        with non-finite voxels set to 0 and the header's free-text fields (descrip,
        aux_file, db_name, intent_name) and extensions dropped. Its ``extra`` dict
        holds ``"original_axcodes"`` (e.g. ``("L", "P", "S")``) for quality checks.

    Raises:
        InvalidMRIError: the input is not a readable single-volume 3D NIfTI within
            ``limits``, or it holds no signal.

    Example:
        >>> img = load_mri(nib.Nifti1Image(np.eye(8)[None].repeat(8, 0), np.eye(4)))
        >>> img.shape, img.dataobj.dtype.name
        ((8, 8, 8), 'float32')
    """
    if isinstance(source, bytes | bytearray | memoryview):
        img = _open_bytes(bytes(source), limits)
    elif isinstance(source, str | os.PathLike):
        img = _open_path(Path(source), limits)
    elif isinstance(source, nib.Nifti1Image):  # also Nifti2Image
        problem = _shape_error(tuple(int(d) for d in source.shape), limits)
        if problem is None:
            problem = _dtype_error(int(source.header["datatype"]))
        if problem is not None:
            raise _fail(problem)
        img = source
    else:
        raise _fail(
            f"cannot read an MRI from a {type(source).__name__}; a file path, the"
            " file's bytes or a nibabel Nifti1Image is accepted"
        )
    with np.errstate(all="ignore"):  # garbage headers: refuse, do not warn
        affine = _checked_affine(img)
        data = _float_data(img)
        try:
            return _canonical(img, data, affine)
        except Exception as exc:
            raise _fail(
                f"the image could not be reoriented to RAS ({exc}); {_ACCEPTED}"
            ) from exc


__all__ = ["TRAILING_MARGIN", "load_mri"]
