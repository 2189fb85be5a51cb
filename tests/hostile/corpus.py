"""The hostile-input corpus: every bad (or merely unusual) file a user may hand the
loader, the command line or the app, built by the tests (nothing is downloaded),
each with the outcome it must have.

A :class:`Case` names its builder (the file's bytes, built once per process), the
file name it is given as, and its outcome: ``"refused"`` (one line that contains
``fragment`` and says what is accepted), ``"works"`` (a prediction) or
``"warns"`` (a prediction with a quality-check warning that contains
``fragment``). Archive cases (zips and DICOM) also promise that nothing is written
outside a temporary folder that is gone afterwards.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

import nibabel as nib
import numpy as np

from hyperfusion.data.templates import load_template
from tests.hostile import archives

Outcome = Literal["refused", "works", "warns"]
# Voxels of the 0.5 mm case: the 2 mm template's box at 0.5 mm (over the limit).
HALF_MM_SHAPE = (396, 468, 380)


@dataclass(frozen=True)
class Case:
    """One hostile input and what must happen to it.

    Attributes:
        name: the test id.
        filename: the name it is uploaded or saved as.
        build: its bytes (called once per process, see :meth:`data`).
        outcome: ``"refused"``, ``"works"`` or ``"warns"``.
        fragment: part of the refusal's line, or of a QC warning (``"warns"``).
        archive: a zip or DICOM upload (the file-system checks apply).
        slow: its tests take more than a few seconds (marked ``slow``).
    """

    name: str
    filename: str
    build: Callable[[], bytes]
    outcome: Outcome
    fragment: str = ""
    archive: bool = False
    slow: bool = False

    def data(self) -> bytes:
        """The file's bytes."""
        return _data(self.name)


# NIfTI builders --------------------------------------------------------------------


@lru_cache(maxsize=1)
def _template_arrays() -> tuple[np.ndarray, np.ndarray]:
    img = load_template(2)
    return np.asarray(img.dataobj, dtype=np.float32), np.asarray(img.affine)


def template() -> nib.Nifti1Image:
    """The 2 mm MNI152 template as float32 (in memory it is float, its header says
    uint8: written as it is, it would be rounded)."""
    data, affine = _template_arrays()
    return nib.Nifti1Image(data.copy(), affine)


def _nii(img: nib.Nifti1Image, gz: bool = True) -> bytes:
    raw = img.to_bytes()
    return gzip.compress(raw, compresslevel=1, mtime=0) if gz else raw


def _on_template(data: np.ndarray) -> bytes:
    return _nii(nib.Nifti1Image(data, template().affine))


def _template_data(dtype: type = np.float32) -> np.ndarray:
    return np.asarray(template().dataobj).astype(dtype)


def _raw_header(shape: tuple[int, ...], dtype: type = np.int16) -> nib.Nifti1Header:
    header = nib.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header.set_qform(template().affine, code=1)
    header.set_sform(template().affine, code=1)
    return header


def _raw(header: nib.Nifti1Header, payload: bytes = b"\0" * 4096) -> bytes:
    """A single-file NIfTI of a header as it is (nibabel would repair it on save)
    followed by ``payload``."""
    size = int(header["sizeof_hdr"])
    header["vox_offset"] = size + 4
    return header.binaryblock + b"\0" * 4 + payload


def reoriented(codes: str) -> nib.Nifti1Image:
    """The 2 mm template stored with axes ``codes`` (e.g. ``"LIA"``): the same
    image in the world, other voxel order."""
    img = template()
    now = nib.orientations.io_orientation(img.affine)
    wanted = nib.orientations.axcodes2ornt(tuple(codes))
    return img.as_reoriented(nib.orientations.ornt_transform(now, wanted))


def _truncated_gzip() -> bytes:
    whole = _nii(template())
    return whole[: len(whole) // 3]


def _gzip_bomb() -> bytes:
    """A 16^3 image followed by 1 GiB of zeros: 1,024 gzip members of 1 MiB each
    (one stream to a reader), about 1 MB on disk."""
    small = nib.Nifti1Image(np.ones((16, 16, 16), np.float32), np.eye(4)).to_bytes()
    return gzip.compress(small, mtime=0) + gzip.compress(bytes(1024**2), mtime=0) * 1024


def _huge_nifti2() -> bytes:
    header = nib.Nifti2Header()
    header.set_data_shape((2**31, 2**31, 1))
    header.set_data_dtype(np.int16)
    return _raw(header)


def _zero_voxels() -> bytes:
    header = _raw_header((16, 16, 16), np.float32)
    header.set_qform(None, code=0)
    header.set_sform(np.diag([0.0, 2.0, 2.0, 1.0]), code=1)
    return _raw(header, np.ones(16**3, np.float32).tobytes())


def _negative_voxels() -> bytes:
    """The template with its voxel sizes stored as -2 mm (the qform alone places
    it): read as 2 mm, as nibabel and FSL read them."""
    data = _template_data()
    header = _raw_header(data.shape, np.float32)
    header.set_sform(None, code=0)
    header["pixdim"][1:4] = -2.0
    return _raw(header, data.tobytes(order="F"))


def _rgb() -> bytes:
    header = _raw_header((32, 32, 32), np.uint8)
    header["datatype"], header["bitpix"] = 128, 24  # RGB24
    return _raw(header, bytes(3 * 32**3))


def _non_brain() -> bytes:
    """A textured box filling the template's grid: a 3D image, not a brain."""
    rng = np.random.default_rng(0)
    return _on_template(rng.uniform(50, 100, template().shape).astype(np.float32))


def _half_mm() -> bytes:
    """A 0.5 mm head box (the template's field of view) as a valid header on
    nothing: refused from its header, before any voxel is read."""
    header = _raw_header(HALF_MM_SHAPE, np.int16)
    affine = template().affine @ np.diag([0.25, 0.25, 0.25, 1.0])
    header.set_qform(affine, code=1)
    header.set_sform(affine, code=1)
    return _raw(header)


@lru_cache(maxsize=1)
def half_mm_brain() -> nib.Nifti1Image:
    """The 1 mm template's brain box at 0.5 mm (306 x 378 x 318 voxels, 37 M):
    under the voxel limit, so it is read, resampled and predicted on."""
    from hyperfusion.data.templates import load_brain_mask

    img = load_template(1)
    inside = np.argwhere(np.asarray(load_brain_mask(1).dataobj) > 0)
    low = np.maximum(inside.min(axis=0) - 4, 0)
    high = inside.max(axis=0) + 5
    data = np.asarray(img.dataobj, dtype=np.float32)[tuple(map(slice, low, high))]
    data = np.round(255 * data / data.max()).astype(np.uint8)
    for axis in range(3):
        data = np.repeat(data, 2, axis=axis)
    affine = img.affine @ np.diag([0.5, 0.5, 0.5, 1.0])
    affine[:3, 3] = (img.affine @ [*low, 1])[:3] - 0.25
    return nib.Nifti1Image(data, affine)


def _analyze() -> bytes:
    header = nib.AnalyzeHeader()
    header.set_data_shape((32, 32, 32))
    header.set_data_dtype(np.int16)
    return header.binaryblock + bytes(2 * 32**3)


def _nifti_pair() -> bytes:
    header = (
        nib.nifti1.Nifti1PairHeader()
    )  # magic "ni1": the header of a .hdr/.img pair
    header.set_data_shape((32, 32, 32))
    return header.binaryblock


def _nifti2() -> bytes:
    img = template()
    return _nii(nib.Nifti2Image(np.asarray(img.dataobj), img.affine))


def _four_d() -> bytes:
    data = np.repeat(_template_data()[..., None], 5, axis=3)
    return _on_template(data)


def _with(*values: tuple[tuple[slice, ...], float]) -> Callable[[], bytes]:
    def build() -> bytes:
        data = _template_data()
        for where, value in values:
            data[where] = value
        return _on_template(data)

    return build


def _filled(value: float) -> Callable[[], bytes]:
    return lambda: _on_template(np.full(template().shape, value, np.float32))


SOME = (slice(40, 50), slice(50, 60), slice(35, 45))  # inside the brain
OTHERS = (slice(55, 65), slice(60, 70), slice(40, 50))

NIFTI_CASES: tuple[Case, ...] = (
    Case(
        "text named .nii.gz",
        "scan.nii.gz",
        lambda: b"not an image\n" * 64,
        "refused",
        "not a NIfTI image",
    ),
    Case(
        "png named .nii",
        "scan.nii",
        lambda: b"\x89PNG\r\n\x1a\n" + bytes(600),
        "refused",
        "not a NIfTI image",
    ),
    Case(
        "truncated gzip",
        "scan.nii.gz",
        _truncated_gzip,
        "refused",
        "truncated",
    ),
    Case("gzip bomb", "scan.nii.gz", _gzip_bomb, "refused", "gzip bomb"),
    Case(
        "header claiming a billion voxels",
        "scan.nii",
        lambda: _raw(_raw_header((1024, 1024, 1024))),
        "refused",
        "1,073,741,824",
    ),
    Case(
        "nifti-2 header claiming 2^62 voxels",
        "scan.nii",
        _huge_nifti2,
        "refused",
        "more than 1024 along an axis",
    ),
    Case("zero voxel size", "scan.nii", _zero_voxels, "refused", "voxel sizes"),
    Case("negative voxel size", "scan.nii", _negative_voxels, "works"),
    Case("all NaN", "scan.nii.gz", _filled(np.nan), "refused", "no finite values"),
    Case("all Inf", "scan.nii.gz", _filled(np.inf), "refused", "no finite values"),
    Case("all zero", "scan.nii.gz", _filled(0.0), "refused", "no signal"),
    Case(
        "some NaN and Inf voxels",
        "scan.nii.gz",
        _with((SOME, np.nan), (OTHERS, np.inf)),
        "works",
    ),
    Case(
        "2D",
        "scan.nii.gz",
        lambda: _nii(nib.Nifti1Image(np.ones((64, 64), np.float32), np.eye(4))),
        "refused",
        "2D",
    ),
    Case("4D", "scan.nii.gz", _four_d, "refused", "5 volumes"),
    Case(
        "complex voxels",
        "scan.nii.gz",
        lambda: _on_template(_template_data(np.complex64)),
        "refused",
        "complex64",
    ),
    Case("RGB voxels", "scan.nii", _rgb, "refused", "RGB"),
    Case("NIfTI-2", "scan.nii.gz", _nifti2, "works"),
    Case("LAS orientation", "scan.nii.gz", lambda: _nii(reoriented("LAS")), "works"),
    Case(
        "LIA orientation",
        "scan.nii.gz",
        lambda: _nii(reoriented("LIA")),
        "warns",
        "permuted axes (LIA)",
    ),
    Case(
        "non-brain image",
        "scan.nii.gz",
        _non_brain,
        "warns",
        "does not look like a skull-stripped T1",
    ),
    Case("0.5 mm head", "scan.nii", _half_mm, "refused", "resample it"),
    Case(
        "0.5 mm brain", "scan.nii.gz", lambda: _nii(half_mm_brain()), "works", slow=True
    ),
    Case("Analyze header", "scan.hdr", _analyze, "refused", "convert"),
    Case("NIfTI pair header", "scan.hdr", _nifti_pair, "refused", "convert"),
    Case("MINC-1", "scan.mnc", lambda: b"CDF\x01" + bytes(1000), "refused", "mnc2nii"),
    Case(
        "MINC-2",
        "scan.mnc",
        lambda: b"\x89HDF\r\n\x1a\n" + bytes(1000),
        "refused",
        "mnc2nii",
    ),
)


# Archives ----------------------------------------------------------------------------


def _tiny_files() -> bytes:
    return archives.zip_of({f"DICOM/IM{i:05d}": b"x" for i in range(20_000)})


def _zip(members: dict[str, bytes], links: tuple[str, ...] = ()) -> Callable:
    return lambda: archives.zip_of(members, links)


SLICE = b"\0" * 128 + b"DICM" + b"\0" * 64
ARCHIVE_CASES: tuple[Case, ...] = tuple(
    Case(name, filename, build, outcome, fragment, archive=True)
    for name, filename, build, outcome, fragment in (
        (
            "zip bomb",
            "session.zip",
            archives.zip_bomb,
            "refused",
            "unpacks to 1,153,433,600 bytes",
        ),
        (
            "zip with a '../' path",
            "session.zip",
            _zip({"DICOM/IM1.dcm": SLICE, "DICOM/../../escaped.dcm": SLICE}),
            "refused",
            "'..' component",
        ),
        (
            "zip with an absolute path",
            "session.zip",
            _zip({"DICOM/IM1.dcm": SLICE, archives.ABSOLUTE_TARGET: SLICE}),
            "refused",
            "absolute path",
        ),
        (
            "zip with a symbolic link",
            "session.zip",
            _zip({"DICOM/IM1.dcm": SLICE}, links=("DICOM/IM2.dcm",)),
            "refused",
            "symbolic link",
        ),
        (
            "zip of 20,000 tiny files",
            "session.zip",
            _tiny_files,
            "refused",
            "20,000 files",
        ),
        ("nested zips", "session.zip", archives.nested_zip, "refused", "another zip"),
        (
            "truncated zip",
            "session.zip",
            lambda: archives.dicom_t1()[:200_000],
            "refused",
            "not a readable zip",
        ),
        (
            "empty zip",
            "session.zip",
            lambda: b"PK\x05\x06" + bytes(18),
            "refused",
            "no files",
        ),
        (
            "DICOM series with missing slices",
            "session.zip",
            archives.dicom_missing_slices,
            "refused",
            "unevenly spaced",
        ),
        (
            "mixed DICOM series",
            "session.zip",
            archives.dicom_mixed_series,
            "warns",
            "tilted",
        ),
        (
            "DICOM report (no image)",
            "report.dcm",
            archives.dicom_report,
            "refused",
            "no image",
        ),
        (
            "DICOM with unreadable compression",
            "session.zip",
            archives.dicom_compressed,
            "refused",
            "JPEG XL",
        ),
    )
)

CASES: tuple[Case, ...] = NIFTI_CASES + ARCHIVE_CASES
BY_NAME: dict[str, Case] = {case.name: case for case in CASES}


@cache
def _data(name: str) -> bytes:
    return BY_NAME[name].build()


def params(cases: tuple[Case, ...] = CASES, outcome: str | None = None) -> list:
    """``pytest.param`` of each case (id: its name; ``slow`` cases marked)."""
    import pytest

    return [
        pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else [])
        for c in cases
        if outcome is None or c.outcome == outcome
    ]


# EHR -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EHRCase:
    """A hostile EHR: the ``--ehr`` file's bytes, the fragment of the CLI's line,
    and the link parameter that carries the same value into the app (``None``:
    a link cannot carry it)."""

    name: str
    text: bytes
    fragment: str
    link: tuple[str, str] | None = None


EHR_CASES: tuple[EHRCase, ...] = (
    EHRCase(
        "out of range", b'{"AGE": 250}', "250 years is out of range", ("AGE", "250")
    ),
    EHRCase("NaN", b'{"AGE": NaN}', "NaN", ("AGE", "NaN")),
    EHRCase(
        "Infinity", b'{"ABETA": Infinity}', "Infinity is not a JSON", ("ABETA", "inf")
    ),
    EHRCase("text", b'{"AGE": "seventy"}', "is not a number", ("AGE", "seventy")),
    EHRCase("unknown field", b'{"AGEE": 70}', "did you mean 'AGE'", ("AGEE", "70")),
    EHRCase("malformed JSON", b'{"AGE": 70,', "not valid JSON"),
    EHRCase("not an object", b"[70, 1]", "accepted: an object"),
    EHRCase("not UTF-8", b"\xff\xfe{", "not valid JSON"),
)
